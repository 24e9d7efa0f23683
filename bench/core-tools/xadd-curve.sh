#!/bin/bash
# Server CPU per XADD (utime+stime, /proc) of <keys> runs of <n> XADDs on ONE fresh node,
# each run to a new stream (key1, key2, …; SAMEKEY=<key>: all to that one), as the
# redis-xadd rows do (a warm-up stream, then a measured new one): the 2nd number is the row's.
# With a trace file the node runs under NF (default --trace-deopt; e.g.
# NF="--trace-opt --trace-deopt"), and <trace>.keys gets the trace's line count at each run's start.
#   bench/core-tools/xadd-curve.sh <dist> <n> <keys> [trace-file]
dist=$1; n=$2; keys=$3; tr=$4
d=$(mktemp -d /tmp/weft-xadd-curve.XXXX)
. "$(dirname "$0")/redis-node.sh"
if [ -n "$tr" ]; then rm -f $tr.keys; start_redis_node $dist $d $tr ${NF:---trace-deopt} --
else start_redis_node $dist $d /dev/null --; fi
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
