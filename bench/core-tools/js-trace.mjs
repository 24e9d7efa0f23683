/**
 * js-pub-async (1 KiB) against a node run under V8 trace flags (NF,
 * default `--no-sparkplug --trace-deopt`), its stdout and stderr to
 * <trace>: js-cpu's warm-up, then R rounds (each a new stream, as js-cpu's
 * rounds); <trace>.keys gets the trace's line count before each round and
 * after the last (R0, R1, ...). Prints each round's msgs/s and the node's
 * CPU µs per message. Per round, deopts and optimised compiles:
 *   NF="--trace-deopt-verbose --trace-opt" node bench/core-tools/js-trace.mjs <dist> <trace> [msgs] [rounds]
 *   awk over <trace>.keys, or: bench/PROFILE.md, "Issue 16 — shapes (round 14)".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { startTracedNode } from './trace-node.mjs';

const [dist, trace, msgsS = '100000', roundsS = '2'] = process.argv.slice(2);
const { freePort } = await import(`${dist}/bench/servers.js`);
const { warmUpJetStream } = await import(`${dist}/bench/jetstream.js`);
const { runJetStream } = await import(`${dist}/src/bench/jetstream.js`);
const { parseServerUrl } = await import(`${dist}/src/bench/protocol.js`);
const nport = await freePort();
const node = startTracedNode(dist, trace, nport, '--no-sparkplug --trace-deopt', []);
const child = node.child;
const url = `nats://127.0.0.1:${nport}`;
const lines = node.lines;
const cpu = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (+x[11] + +x[12]) / 100;
};
process.on('exit', () => {
  try {
    child.kill('SIGKILL');
  } catch {}
});
const net = await import('node:net');
for (let i = 0; ; i++) {
  const ok = await new Promise((r) => {
    const s = net.connect(nport, '127.0.0.1', () => {
      s.destroy();
      r(true);
    });
    s.on('error', () => r(false));
  });
  if (ok) break;
  if (i > 100) throw new Error('no server');
  await new Promise((r) => setTimeout(r, 100));
}
await warmUpJetStream(url, 20000);
writeFileSync(trace + '.keys', `R0 ${lines()}\n`);
for (let r = 1; r <= Number(roundsS); r++) {
  const c0 = cpu();
  const res = await runJetStream('js-pub-async', {
    server: parseServerUrl(url),
    msgs: Number(msgsS),
    size: 1024,
  });
  const c = cpu() - c0;
  writeFileSync(trace + '.keys', `R${r} ${lines()}\n`, { flag: 'a' });
  console.log(
    `round ${r} rate ${Math.round(res.msgsPerSec)} cpu/msg ${((c * 1e6) / res.done).toFixed(2)} us`,
  );
}
await node.stop();
