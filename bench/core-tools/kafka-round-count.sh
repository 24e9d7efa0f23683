#!/bin/bash
# Writer rounds and O_DSYNC writes of one Kafka produce run (bench/core-tools/kafka-drive.mjs),
# counted by `perf stat` on the node's system calls during the measured part:
#   bench/core-tools/kafka-round-count.sh <main.js> <dist> <msgs> [partitions] [acks]
# "marks" are the 32-byte synced-mark pwrite64s (one per writer round and store), "writes" the
# other pwrite64s and the pwritevs (segment writes and fills). Needs perf with syscall tracepoints.
# bench/PROFILE.md, "Issue 16 — kwriter (round 12)".
set -e
MAIN=$1 DIST=$2 N=$3 P=${4:-8} A=${5:--1}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp) GO=$(mktemp -u)
trap 'rm -f "$OUT" "$OUT.stat" "$GO"' EXIT
WAITGO=$GO node "$HERE/kafka-drive.mjs" "$MAIN" "$DIST" "$N" "$P" "$A" >"$OUT" 2>&1 &
for _ in $(seq 1 240); do grep -q PID "$OUT" && break; sleep 0.5; done
PID=$(awk '/PID/{print $2}' "$OUT")
perf stat -x, -o "$OUT.stat" -p "$PID" \
  -e syscalls:sys_enter_pwrite64 --filter 'count == 32' \
  -e syscalls:sys_enter_pwrite64 --filter 'count != 32' \
  -e syscalls:sys_enter_pwritev -e syscalls:sys_enter_epoll_pwait &
SP=$!
sleep 0.5
touch "$GO"
for _ in $(seq 1 480); do grep -q '^rate' "$OUT" && break; sleep 0.5; done
kill -INT $SP 2>/dev/null || true
wait $SP 2>/dev/null || true
wait
mapfile -t C < <(grep syscalls "$OUT.stat" | cut -d, -f1)
echo "$(grep '^rate' "$OUT") marks ${C[0]} writes $((C[1] + C[2])) epoll_pwait ${C[3]} records/round $(awk -v n="$N" -v r="${C[0]}" 'BEGIN{printf "%.1f", n/r}')"
