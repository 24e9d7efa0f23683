/**
 * Kafka produce on P partitions (default 8) against a node run under V8
 * trace flags (NF, default `--no-sparkplug --trace-generalization
 * --trace-deopt`; NF=" " for none), its stdout and stderr to <trace>: the
 * kafka-cpu warm-up (20,000 records of 1 KiB to a 1-partition topic), then
 * a new topic's run; <trace>.keys gets the trace's line count where the
 * measured run starts (MEASURE) and ends (END). Prints records/s and the
 * node's CPU µs per record (user+sys, and user). WARMSAME=n: n more
 * warm-up records to the same stream; WARM8=n: n records to another new
 * topic of WARMP (default P) partitions first (the process's new-stream
 * costs paid before the measured run).
 *   NF="..." node bench/core-tools/kafka-trace.mjs <dist> <trace> [msgs] [partitions] [acks]
 * bench/PROFILE.md, "Issue 16 — shapes (round 14)".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { startTracedNode } from './trace-node.mjs';

const [dist, trace, msgsS = '100000', partsS = '8', acksS = '1'] = process.argv.slice(2);
const { freePort } = await import(`${dist}/bench/servers.js`);
const { createTopic, runKafkaProduce } = await import(`${dist}/src/bench/kafka-runner.js`);
const port = await freePort(),
  nport = await freePort();
const node = startTracedNode(
  dist,
  trace,
  nport,
  '--no-sparkplug --trace-generalization --trace-deopt',
  ['--kafka-port', String(port)],
);
const child = node.child;
const server = { host: '127.0.0.1', port };
for (let i = 0; ; i++) {
  try {
    await createTopic(server, 'warm', 1);
    break;
  } catch (e) {
    if (i > 100) throw e;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const lines = node.lines;
await runKafkaProduce({ server, topic: 'warm', partitions: 1, msgs: 20000, size: 1024, acks: 1 });
if (process.env.WARMSAME)
  await runKafkaProduce({
    server,
    topic: 'warm',
    partitions: 1,
    msgs: Number(process.env.WARMSAME),
    size: 1024,
    acks: 1,
  });
if (process.env.WARM8) {
  const wp = Number(process.env.WARMP ?? partsS);
  await createTopic(server, 'warm8', wp);
  await runKafkaProduce({
    server,
    topic: 'warm8',
    partitions: wp,
    msgs: Number(process.env.WARM8),
    size: 1024,
    acks: Number(acksS),
  });
}
writeFileSync(trace + '.keys', `MEASURE ${lines()}\n`);
const cpu = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (+x[11] + +x[12]) / 100;
};
const ut = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return +x[11] / 100;
};
const c0 = cpu();
const u0 = ut();
await createTopic(server, 'bench', Number(partsS));
const res = await runKafkaProduce({
  server,
  topic: 'bench',
  partitions: Number(partsS),
  msgs: Number(msgsS),
  size: 1024,
  acks: Number(acksS),
});
writeFileSync(trace + '.keys', `END ${lines()}\n`, { flag: 'a' });
const c1 = cpu();
const u1 = ut();
console.log(
  'rate',
  Math.round(res.msgsPerSec),
  'cpu/rec us',
  (((c1 - c0) * 1e6) / res.done).toFixed(2),
  'user',
  (((u1 - u0) * 1e6) / res.done).toFixed(2),
);
await node.stop();
