#!/bin/bash
# Where the XADD row's CPU goes with a process's age: a fresh node, WARM (5000) XADDs to `w`,
# then four runs of <n> (100000) as the row's (-P 64, 50 conns, 16 B): a new stream, the same
# stream again, a second new stream, it again. Node CPU per XADD (all threads, schedstat) and
# the main thread's, and the rate, per run. Round 13 (xadd4): ~2.2 / 1.5 / 1.1 / 1.0 us: the
# row's first 100k pay the process's warm-up (compiles, baseline code), not the new stream.
#   bench/core-tools/redis-xadd-warm.sh <dist> [n] [server args]
dist=$1; n=${2:-100000}; shift; [ $# -gt 0 ] && shift
d=$(mktemp -d /tmp/weft-xadd-warm.XXXX)
. "$(dirname "$0")/redis-node.sh"
start_redis_node $dist $d /dev/null -- "$@"
V=xxxxxxxxxxxxxxxx
redis-benchmark -p $port -n ${WARM:-5000} -P 64 -c 50 -q XADD w '*' f $V >/dev/null 2>&1
main_ns() { awk '{print $1}' /proc/$pid/task/$pid/schedstat; }
line=""
for k in bench:redis-xadd-p64:1 bench:redis-xadd-p64:1 bench:redis-xadd-p64:2 bench:redis-xadd-p64:2; do
  c0=$(cpu_ns); m0=$(main_ns); t0=$(date +%s.%N)
  redis-benchmark -p $port -n $n -P 64 -c 50 -q XADD $k '*' f $V >/dev/null 2>&1
  c1=$(cpu_ns); m1=$(main_ns); t1=$(date +%s.%N)
  line="$line | $(echo "($c1-$c0)/1000/$n" | bc -l | cut -c1-5) (main $(echo "($m1-$m0)/1000/$n" | bc -l | cut -c1-5)) $(echo "$n/($t1-$t0)/1000" | bc)k/s"
done
kill -INT $pid; wait $pid 2>/dev/null
rm -rf $d
echo "$dist$line"
