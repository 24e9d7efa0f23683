#!/bin/bash
# Node CPU per XADD (utime+stime, /proc): a fresh node and data dir, 20k warm-up XADDs,
# then <n> measured (redis-benchmark -P 64 -c 50 XADD s * f v); profiled when a dir is given.
#   bench/core-tools/redis-xadd-cpu.sh <dist> <n> <profdir|-> [server args, e.g. --sync-interval 1s]
dist=$1; n=$2; prof=$3; shift 3
port=$((21000 + RANDOM % 20000))
d=$(mktemp -d /tmp/weft-xadd-cpu.XXXX)
pa=""; [ "$prof" != "-" ] && pa="--cpu-prof --cpu-prof-interval 200 --cpu-prof-dir=$prof"
node $pa $dist/src/cli/main.js server --redis-port $port -p $((port+1)) --http-port -1 --mesh-port -1 --data-dir $d "$@" 2>/dev/null &
pid=$!
for i in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-benchmark -p $port -n 20000 -P 64 -c 50 -q XADD s '*' f v >/dev/null 2>&1
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
c0=$(cpu); t0=$(date +%s.%N)
redis-benchmark -p $port -n $n -P 64 -c 50 -q XADD s '*' f v >/dev/null 2>&1
c1=$(cpu); t1=$(date +%s.%N)
len=$(redis-cli -p $port xlen s)
kill -INT $pid; wait $pid
rm -rf $d
echo "$dist $(echo "($c1-$c0)*10000/$n" | bc -l | cut -c1-5) us/XADD $(echo "$n/($t1-$t0)" | bc | cut -d. -f1)/s xlen=$len"
