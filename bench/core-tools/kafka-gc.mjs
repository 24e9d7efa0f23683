/**
 * Garbage collections during one Kafka produce run (or, with JS=1, the
 * JetStream yardstick), after kafka-drive's 20,000-record warm-up: counts by
 * kind and main-thread pause per 100k records, from gc-watch.mjs preloaded
 * into the node; and the node's CPU per record.
 *   node bench/core-tools/kafka-gc.mjs <main.js> <dist> <msgs> [partitions] [acks]
 * bench/PROFILE.md, "Issue 16 — kafka7 (round 13)".
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { argsOf, cpuSeconds, runMeasured, startKafkaNode } from './kafka-node.mjs';

const [mainJs, dist, msgsS, partsS = '1', acksS = '1'] = process.argv.slice(2);
const size = Number(process.env.SIZE ?? 1024);
const here = path.dirname(fileURLToPath(import.meta.url));
const file = `/tmp/gc-watch-${process.pid}.json`;
process.env.GC_WATCH_FILE = file;
process.env.WEFT_BENCH_NODE_ARGS = `${process.env.WEFT_BENCH_NODE_ARGS ?? ''} --import ${path.join(here, 'gc-watch.mjs')}`;
const { createTopic, runKafkaProduce } = await import(`${dist}/src/bench/kafka-runner.js`);
const { node, server } = await startKafkaNode(dist, mainJs, argsOf(process.env.WEFT_ARGS));
await runKafkaProduce({ server, topic: 'warm', partitions: 1, msgs: 20000, size, acks: 1 });
await createTopic(server, 'bench', Number(partsS));
const settle = () => new Promise((r) => setTimeout(r, 120));
await settle();
const g0 = JSON.parse(readFileSync(file, 'utf8'));
const a = cpuSeconds(node.pid);
const am = cpuSeconds(node.pid, node.pid);
const res = await runMeasured(dist, node, server, {
  msgs: msgsS,
  size,
  parts: partsS,
  acks: acksS,
});
const b = cpuSeconds(node.pid);
const bm = cpuSeconds(node.pid, node.pid);
await settle();
const g1 = JSON.parse(readFileSync(file, 'utf8'));
const per = (k) => (((g1[k] - g0[k]) * 1e5) / res.done).toFixed(1);
console.log(
  `rate ${Math.round(res.msgsPerSec)} cpu/rec ${(((b - a) * 1e6) / res.done).toFixed(2)} main/rec ${(((bm - am) * 1e6) / res.done).toFixed(2)} us; per 100k records: scavenge ${per('scavenge')} markCompact ${per('markCompact')} incremental ${per('incremental')} pause ${per('pauseMs')} ms (major ${per('majorMs')} ms)`,
);
await node.stop();
