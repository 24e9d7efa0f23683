# Sourced by the XADD tools: starts a node with a Redis port for a measuring run.
#   start_redis_node <dist> <data dir> <output file> [node flags...] -- [server args...]
# sets $port (the Redis port) and $pid; a random port, another one when it is taken
# (the node exits): never bench another process. cpu prints the node's CPU ticks.
start_redis_node() {
  local dist=$1 d=$2 out=$3
  shift 3
  local flags=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags+=("$1"); shift; done
  [ "$1" = "--" ] && shift
  for try in 1 2 3 4 5; do
    port=$((21000 + RANDOM % 20000))
    node "${flags[@]}" $dist/src/cli/main.js server --redis-port $port -p $((port+1)) --http-port -1 --mesh-port -1 --data-dir $d "$@" > $out 2>&1 &
    pid=$!
    for i in $(seq 100); do
      kill -0 $pid 2>/dev/null || break
      ss -ltnpH "sport = :$port" 2>/dev/null | grep -q "pid=$pid," && redis-cli -p $port ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    kill -0 $pid 2>/dev/null && break
  done
  kill -0 $pid 2>/dev/null || { echo "no node started" >&2; exit 1; }
}
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
# CPU time of all the node's threads in ns (schedstat): finer than cpu's 10 ms ticks, for
# runs of ~100k XADDs (0.1 us/XADD a tick).
cpu_ns() { cat /proc/$pid/task/*/schedstat 2>/dev/null | awk '{s+=$1} END {printf "%d", s}'; }
