#!/bin/bash
# Node CPU per XADD (all threads' schedstat run time, /proc) in the shape of the redis-xadd rows
# (bench/redis-streams.ts): a fresh node, WARM (5000) XADDs to `w`, then <n> to a new stream
# `bench:redis-xadd-p64:1765080000000` (-P 64, 50 conns, 16 B values): the measured part holds
# the new stream and most of the path's first optimised compiles, as the row's does.
# With a trace file, the node runs under NF (default "--trace-opt --trace-deopt") and
# <trace>.keys gets the trace's line count where the measured part starts.
# ROW3=1: warm up as the bench does now (WARM_RUNS, bench/redis-streams.ts): 3 runs of <n> to
# fresh streams `bench:redis-xadd-p64-warm<i>:<ms>` (40 B keys), not 5000 to `w`. Prints the
# main thread's us/XADD last (schedstat).
#   bench/core-tools/redis-xadd-row.sh <dist> [n=100000] [trace-file|""] [server args]
dist=$1; n=${2:-100000}; tr=$3; shift 3
d=$(mktemp -d /tmp/weft-xadd-row.XXXX)
. "$(dirname "$0")/redis-node.sh"
if [ -n "$tr" ]; then start_redis_node $dist $d $tr ${NF:---trace-opt --trace-deopt} -- "$@"
else start_redis_node $dist $d /dev/null -- "$@"; fi
V=xxxxxxxxxxxxxxxx
if [ "$ROW3" = 1 ]; then
  for i in 0 1 2; do
    redis-benchmark -p $port -n $n -P 64 -c 50 -q XADD bench:redis-xadd-p64-warm$i:176508000000$i '*' f $V >/dev/null 2>&1
  done
else redis-benchmark -p $port -n ${WARM:-5000} -P 64 -c 50 -q XADD w '*' f $V >/dev/null 2>&1; fi
[ -n "$tr" ] && echo "MEASURE $(wc -l < $tr)" > $tr.keys
c0=$(cpu_ns); m0=$(awk '{print $1}' /proc/$pid/task/$pid/schedstat); t0=$(date +%s.%N)
redis-benchmark -p $port -n $n -P 64 -c 50 -q XADD bench:redis-xadd-p64:1765080000000 '*' f $V >/dev/null 2>&1
c1=$(cpu_ns); m1=$(awk '{print $1}' /proc/$pid/task/$pid/schedstat); t1=$(date +%s.%N)
kill -INT $pid; wait $pid 2>/dev/null
rm -rf $d
echo "$dist $(echo "($c1-$c0)/1000/$n" | bc -l | cut -c1-5) us/XADD $(echo "$n/($t1-$t0)" | bc | cut -d. -f1)/s main $(echo "($m1-$m0)/1000/$n" | bc -l | cut -c1-5)"
