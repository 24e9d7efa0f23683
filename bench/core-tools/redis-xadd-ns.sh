#!/bin/bash
# Interleaved A/B (ABBA) of node CPU per XADD in the steady state, in ns from schedstat (finer than
# redis-xadd-cpu.sh's 10 ms ticks), all threads and the main thread: a fresh node per run, 20k
# XADDs to `s`, then <n> to a new key (KEY_LEN=long: the row's 34-byte key and 16 B values).
#   bench/core-tools/redis-xadd-ns.sh <baseDist> <dist> <R> <n> [server args]
A=$1; B=$2; R=$3; n=$4; shift 4
here=$(dirname "$0")
one() {
  local dist=$1 d v=v key=bench:x:$RANDOM
  [ "$KEY_LEN" = long ] && { v=xxxxxxxxxxxxxxxx; key=bench:redis-xadd-p64:17650800$RANDOM; }
  d=$(mktemp -d /tmp/weft-xadd-ns.XXXX)
  . "$here/redis-node.sh"
  start_redis_node $dist $d /dev/null -- "${SA[@]}"
  redis-benchmark -p $port -n 20000 -P 64 -c 50 -q XADD s '*' f $v >/dev/null 2>&1
  local c0 m0 c1 m1
  c0=$(cpu_ns); m0=$(awk '{print $1}' /proc/$pid/task/$pid/schedstat)
  redis-benchmark -p $port -n $n -P 64 -c 50 -q XADD $key '*' f $v >/dev/null 2>&1
  c1=$(cpu_ns); m1=$(awk '{print $1}' /proc/$pid/task/$pid/schedstat)
  kill -INT $pid; wait $pid 2>/dev/null
  rm -rf $d
  echo "$dist $(( (c1 - c0) / n )) $(( (m1 - m0) / n ))"
}
SA=("$@")
out=$(mktemp /tmp/weft-xadd-ns.XXXX)
for i in $(seq "$R"); do
  if [ $((i % 2)) = 1 ]; then order="$A $B"; else order="$B $A"; fi
  for d in $order; do one "$d" | tee -a "$out"; done
  echo "load $(cut -d' ' -f1 /proc/loadavg)"
done
for d in "$A" "$B"; do
  echo "$d ns all: $(grep "^$d " "$out" | awk '{print $2}' | sort -n | tr '\n' ' ') main: $(grep "^$d " "$out" | awk '{print $3}' | sort -n | tr '\n' ' ')"
done
rm -f "$out"
