#!/bin/bash
# Server CPU per XADD (utime+stime, /proc) of <keys> runs of <n> XADDs on ONE fresh node,
# each run to a new stream (key1, key2, …; SAMEKEY=<key>: all to that one), as the
# redis-xadd rows do (a warm-up stream, then a measured new one): the 2nd number is the row's.
# With a trace file the node runs under NF (default --trace-deopt; e.g.
# NF="--trace-opt --trace-deopt"), and <trace>.keys gets the trace's line count at each run's start.
#   bench/core-tools/xadd-curve.sh <dist> <n> <keys> [trace-file]
dist=$1; n=$2; keys=$3; tr=$4
d=$(mktemp -d /tmp/weft-xadd-curve.XXXX)
for try in 1 2 3 4 5; do
  port=$((21000 + RANDOM % 20000))
  if [ -n "$tr" ]; then
    rm -f $tr.keys
    node ${NF:---trace-deopt} $dist/src/cli/main.js server --redis-port $port -p $((port+1)) --http-port -1 --mesh-port -1 --data-dir $d > $tr 2>&1 &
  else
    node $dist/src/cli/main.js server --redis-port $port -p $((port+1)) --http-port -1 --mesh-port -1 --data-dir $d >/dev/null 2>&1 &
  fi
  pid=$!
  for i in $(seq 100); do
    kill -0 $pid 2>/dev/null || break
    ss -ltnpH "sport = :$port" 2>/dev/null | grep -q "pid=$pid," && redis-cli -p $port ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  kill -0 $pid 2>/dev/null && break
done
kill -0 $pid 2>/dev/null || { echo "no node started" >&2; exit 1; }
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
out=""
for k in $(seq $keys); do
  [ -n "$tr" ] && echo "KEY $k $(wc -l < $tr)" >> $tr.keys
  c0=$(cpu)
  redis-benchmark -p $port -n $n -P 64 -c 50 -q XADD ${SAMEKEY:-key$k} '*' f v >/dev/null 2>&1
  c1=$(cpu)
  out="$out $(echo "($c1-$c0)*10000/$n" | bc -l | cut -c1-4)"
done
kill -INT $pid; wait $pid 2>/dev/null
rm -rf $d
echo "$dist us/XADD per run:$out"
