#!/bin/bash
# perf (on-CPU samples, all threads) of the XADD row's steady state: a fresh node under
# --perf-basic-prof, 3 warm-up runs of WARM (20000) XADDs to the row's warm-up keys (40 B),
# then <n> to the row's key (34 B), 16 B values, -P 64, 50 conns; perf records the measured part.
#   bench/core-tools/redis-xadd-perf.sh <dist> <n> <out.data> [server args]
# Read: perf report -i <out.data> --no-children --sort comm,sym ; per thread: --tid <tid>
dist=$1; n=$2; out=$3; shift 3
d=$(mktemp -d /tmp/weft-xadd-perf.XXXX)
. "$(dirname "$0")/redis-node.sh"
start_redis_node $dist $d /dev/null --perf-basic-prof -- "$@"
V=xxxxxxxxxxxxxxxx
for i in 0 1 2; do
  redis-benchmark -p $port -n ${WARM:-20000} -P 64 -c 50 -q XADD bench:redis-xadd-p64-warm$i:176508000000$i '*' f $V >/dev/null 2>&1
done
perf record -F ${FREQ:-4999} ${PERF_G:-} -p $pid -o $out -q >/dev/null 2>&1 &
pp=$!
sleep 0.3
c0=$(cpu_ns)
redis-benchmark -p $port -n $n -P 64 -c 50 -q XADD bench:redis-xadd-p64:1765080000000 '*' f $V >/dev/null 2>&1
c1=$(cpu_ns)
kill -INT $pp; wait $pp 2>/dev/null
for t in /proc/$pid/task/*; do echo "tid $(basename $t) $(cat $t/comm) $(awk '{print $1}' $t/schedstat)"; done > $out.threads
kill -INT $pid; wait $pid 2>/dev/null
rm -rf $d   # /tmp/perf-<pid>.map stays for perf report (remove it after)
echo "$dist $(( (c1 - c0) / n )) ns/XADD (all threads, incl. perf's overhead)"
