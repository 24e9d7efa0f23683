#!/bin/bash
# Node CPU per XADD (utime+stime, /proc): a fresh node and data dir, 20k warm-up XADDs,
# then <n> measured (redis-benchmark -P 64 -c 50 XADD s * f v); profiled when a dir is given
# (the profile covers the whole run; see profile-self.mjs AFTER_IDLE_MS).
#   bench/core-tools/redis-xadd-cpu.sh <dist> <n> <profdir|-> [server args, e.g. --sync-interval 1s]
# KEY=<key> measures XADDs to a stream other than the warm-up's (as the bench row, which
# adds to a fresh `bench:<row>:<time>` stream per run): the stream's creation is measured too.
dist=$1; n=$2; prof=$3; shift 3
d=$(mktemp -d /tmp/weft-xadd-cpu.XXXX)
pa=""; [ "$prof" != "-" ] && pa="--cpu-prof --cpu-prof-interval 200 --cpu-prof-dir=$prof"
# A random port; another one when it is taken (the node exits): never bench another process.
for try in 1 2 3 4 5; do
  port=$((21000 + RANDOM % 20000))
  node $pa $dist/src/cli/main.js server --redis-port $port -p $((port+1)) --http-port -1 --mesh-port -1 --data-dir $d "$@" 2>/dev/null &
  pid=$!
  for i in $(seq 100); do
    kill -0 $pid 2>/dev/null || break
    ss -ltnpH "sport = :$port" 2>/dev/null | grep -q "pid=$pid," && redis-cli -p $port ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  kill -0 $pid 2>/dev/null && break
done
kill -0 $pid 2>/dev/null || { echo "no node started" >&2; exit 1; }
redis-benchmark -p $port -n 20000 -P 64 -c 50 -q XADD s '*' f v >/dev/null 2>&1
# profiled: a second's pause, for profile-self.mjs's AFTER_IDLE_MS to keep the measured part alone
[ "$prof" != "-" ] && sleep 1
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
c0=$(cpu); t0=$(date +%s.%N)
redis-benchmark -p $port -n $n -P 64 -c 50 -q XADD ${KEY:-s} '*' f v >/dev/null 2>&1
c1=$(cpu); t1=$(date +%s.%N)
len=$(redis-cli -p $port xlen ${KEY:-s})
kill -INT $pid; wait $pid
rm -rf $d
echo "$dist $(echo "($c1-$c0)*10000/$n" | bc -l | cut -c1-5) us/XADD $(echo "$n/($t1-$t0)" | bc | cut -d. -f1)/s xlen=$len"
