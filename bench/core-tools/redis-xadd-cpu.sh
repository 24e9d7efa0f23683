#!/bin/bash
# Node CPU per XADD (utime+stime, /proc): a fresh node and data dir, 20k warm-up XADDs,
# then <n> measured (redis-benchmark -P 64 -c 50 XADD s * f v); profiled when a dir is given
# (the profile covers the whole run; see profile-self.mjs AFTER_IDLE_MS).
#   bench/core-tools/redis-xadd-cpu.sh <dist> <n> <profdir|-> [server args, e.g. --sync-interval 1s]
# KEY=<key> measures XADDs to a stream other than the warm-up's (as the bench row, which
# adds to a fresh `bench:<row>:<time>` stream per run): the stream's creation is measured too.
# VAL=<value> sets the field's value (default v; the row's is 16 x's).
dist=$1; n=$2; prof=$3; shift 3
d=$(mktemp -d /tmp/weft-xadd-cpu.XXXX)
pa=""; [ "$prof" != "-" ] && pa="--cpu-prof --cpu-prof-interval 200 --cpu-prof-dir=$prof"
. "$(dirname "$0")/redis-node.sh"
start_redis_node $dist $d /dev/null $pa -- "$@"
redis-benchmark -p $port -n 20000 -P 64 -c 50 -q XADD s '*' f ${VAL:-v} >/dev/null 2>&1
# profiled: a second's pause, for profile-self.mjs's AFTER_IDLE_MS to keep the measured part alone
[ "$prof" != "-" ] && sleep 1
c0=$(cpu); t0=$(date +%s.%N)
redis-benchmark -p $port -n $n -P 64 -c 50 -q XADD ${KEY:-s} '*' f ${VAL:-v} >/dev/null 2>&1
c1=$(cpu); t1=$(date +%s.%N)
len=$(redis-cli -p $port xlen ${KEY:-s})
kill -INT $pid; wait $pid
rm -rf $d
echo "$dist $(echo "($c1-$c0)*10000/$n" | bc -l | cut -c1-5) us/XADD $(echo "$n/($t1-$t0)" | bc | cut -d. -f1)/s xlen=$len"
