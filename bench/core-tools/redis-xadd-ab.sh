#!/bin/bash
# Interleaved A/B (ABBA) of node CPU per XADD between two built trees, R rounds of each:
#   bench/core-tools/redis-xadd-ab.sh <baseDist> <dist> <R> <row|steady> <n> [server args]
# row: redis-xadd-row.sh (the row's shape: fresh node, 5k warm-up, n to a new stream, schedstat;
# ROW3=1: the bench's warm-up now, 3 runs of n to fresh streams);
# steady: redis-xadd-cpu.sh with a new KEY each run (20k warm-up, n measured). Prints each run,
# the load after each round, then each side's values sorted (median and band read off them).
A=$1; B=$2; R=$3; tool=$4; n=$5; shift 5
SA=("$@")
here=$(dirname "$0")
run() {
  if [ "$tool" = row ]; then "$here/redis-xadd-row.sh" "$1" "$n" "" "${SA[@]}"
  else KEY=bench:x:$RANDOM "$here/redis-xadd-cpu.sh" "$1" "$n" - "${SA[@]}"; fi
}
out=$(mktemp /tmp/weft-xadd-ab.XXXX)
for i in $(seq "$R"); do
  if [ $((i % 2)) = 1 ]; then order="$A $B"; else order="$B $A"; fi
  for d in $order; do run "$d" | tee -a "$out"; done
  echo "load $(cut -d' ' -f1 /proc/loadavg)"
done
for d in "$A" "$B"; do echo "$d: $(grep "^$d " "$out" | awk '{print $2}' | sort -n | tr '\n' ' ')"; done
# row: the main thread's too (the last field)
[ "$tool" = row ] && for d in "$A" "$B"; do echo "$d main: $(grep "^$d " "$out" | awk '{print $NF}' | sort -n | tr '\n' ' ')"; done
rm -f "$out"
