/**
 * CPU per record of each thread of a node during one Kafka produce run (or
 * JetStream async publish with JS=1), after a 20,000-record warm-up: the
 * main thread, V8's workers (GC, compiler) and the libuv pool, from
 * /proc/<pid>/task/<tid>/stat, one line per thread. All are named "node":
 * V8's workers have the lower ids, the libuv pool's threads the highest.
 *   node bench/core-tools/kafka-threads.mjs <main.js> <dist> <msgs> [partitions] [acks]
 * bench/PROFILE.md, "Issue 16 — kwriter (round 12)".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { argsOf, runMeasured, startKafkaNode } from './kafka-node.mjs';

const [mainJs, dist, msgsS, partsS = '1', acksS = '1'] = process.argv.slice(2);
const size = Number(process.env.SIZE ?? 1024);
const { createTopic, runKafkaProduce } = await import(`${dist}/src/bench/kafka-runner.js`);

/** Clock ticks of user and system time per thread id. */
function threads(pid) {
  const m = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(tid, { user: Number(f[11]), sys: Number(f[12]) });
    } catch {
      // The thread ended.
    }
  }
  return m;
}

const { node, server } = await startKafkaNode(dist, mainJs, argsOf(process.env.WEFT_ARGS));
await runKafkaProduce({ server, topic: 'warm', partitions: 1, msgs: 20000, size, acks: 1 });
await createTopic(server, 'bench', Number(partsS));
const before = threads(node.pid);
const res = await runMeasured(dist, node, server, {
  msgs: msgsS,
  size,
  parts: partsS,
  acks: acksS,
});
const after = threads(node.pid);
const perRec = (ticks) => ((ticks * 1e4) / res.done).toFixed(2); // 100 ticks a second
console.log(`rate ${Math.round(res.msgsPerSec)} done ${res.done}; µs per record:`);
for (const [tid, b] of after) {
  const a = before.get(tid) ?? { user: 0, sys: 0 };
  const name = tid === String(node.pid) ? 'main' : `thread ${tid}`;
  console.log(`  ${name.padEnd(14)} user ${perRec(b.user - a.user)} sys ${perRec(b.sys - a.sys)}`);
}
await node.stop();
