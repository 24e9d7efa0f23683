/**
 * One Kafka produce run (1 KiB or $SIZE bytes, acks and partitions as given) against a
 * fresh node (extra node flags in $WEFT_ARGS), after a 20,000-record warm-up; prints the node's pid, then,
 * once the file named by WAITGO exists (if set: attach perf or strace
 * first), the run's records/s and the node's CPU µs per record.
 *   node bench/core-tools/kafka-drive.mjs <main.js> <this dist> <msgs> [partitions] [acks]
 * bench/PROFILE.md, "Issue 16 — kafka1k (round 7)".
 */
import { existsSync } from 'node:fs';
import { argsOf, cpuSeconds, runMeasured, startKafkaNode } from './kafka-node.mjs';

const [mainJs, dist, msgsS, partsS = '1', acksS = '1'] = process.argv.slice(2);
const size = Number(process.env.SIZE ?? 1024);
const { createTopic, runKafkaProduce } = await import(`${dist}/src/bench/kafka-runner.js`);
const mainOf = (pid) => cpuSeconds(pid, pid);
const cpuOf = (pid) => cpuSeconds(pid);
const { node, server } = await startKafkaNode(dist, mainJs, argsOf(process.env.WEFT_ARGS));
// WARM_TOPICS=n: the warm-up spread over n topics (each a new stream: the first streams' deopts happen here).
for (let i = 0; i < Number(process.env.WARM_TOPICS ?? 1); i++) {
  if (i > 0) await createTopic(server, `warm${i}`, 1);
  await runKafkaProduce({
    server,
    topic: i > 0 ? `warm${i}` : 'warm',
    partitions: 1,
    msgs: 20000,
    size,
    acks: 1,
  });
}
await createTopic(server, 'bench', Number(partsS));
console.log('PID', node.pid);
if (process.env.WAITGO) {
  while (!existsSync(process.env.WAITGO)) await new Promise((r) => setTimeout(r, 100));
}
const a = cpuOf(node.pid);
const am = mainOf(node.pid);
// JS=1: JetStream async publish of the same size with the producer's window instead (the row's yardstick).
const res = await runMeasured(dist, node, server, {
  msgs: msgsS,
  size,
  parts: partsS,
  acks: acksS,
});
const b = cpuOf(node.pid);
const bm = mainOf(node.pid);
console.log(
  `rate ${Math.round(res.msgsPerSec)} cpu/rec ${(((b - a) * 1e6) / res.done).toFixed(2)} us main/rec ${(((bm - am) * 1e6) / res.done).toFixed(2)} us requests ${res.requests ?? '-'} done ${res.done}`,
);
await node.stop();
