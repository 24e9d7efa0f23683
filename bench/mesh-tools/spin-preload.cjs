/**
 * Experiment (preload for a Weft node, WEFT_BENCH_NODE_ARGS="--require <this>"):
 * after every socket write, keep the event loop polling (a setImmediate
 * chain: libuv's epoll_wait with timeout 0) for SPIN_US µs (default 200)
 * instead of sleeping, as Go's scheduler spins before it parks. Measures
 * what a node that does not let its CPU go idle between a request and its
 * reply would gain in round-trip latency, and what it costs in CPU.
 * Hooks `_writeGeneric`, which both the Writable's writes and Weft's direct
 * writes (Connection.flush below the Writable, round 11) go through.
 */
const net = require('node:net');
const SPIN_NS = BigInt(Number(process.env.SPIN_US ?? 200) * 1000);
let until = 0n;
let spinning = false;
const spin = () => {
  if (process.hrtime.bigint() < until) setImmediate(spin);
  else spinning = false;
};
const write = net.Socket.prototype._writeGeneric;
net.Socket.prototype._writeGeneric = function (...args) {
  until = process.hrtime.bigint() + SPIN_NS;
  if (!spinning) {
    spinning = true;
    setImmediate(spin);
  }
  return write.apply(this, args);
};
