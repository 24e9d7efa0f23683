/**
 * Garbage collections during one Kafka produce run (or, with JS=1, the
 * JetStream yardstick), after kafka-drive's 20,000-record warm-up: counts by
 * kind and main-thread pause per 100k records, from gc-watch.mjs preloaded
 * into the node; and the node's CPU per record. ALLOC=1: also what the
 * measured run allocates, by function (bytes per record, alloc-watch.mjs:
 * V8's sampling heap profiler, freed objects included).
 *   node bench/core-tools/kafka-gc.mjs <main.js> <dist> <msgs> [partitions] [acks]
 * bench/PROFILE.md, "Issue 16 — kafka7 (round 13)".
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { argsOf, cpuSeconds, runMeasured, startKafkaNode } from './kafka-node.mjs';

const [mainJs, dist, msgsS, partsS = '1', acksS = '1'] = process.argv.slice(2);
const size = Number(process.env.SIZE ?? 1024);
const here = path.dirname(fileURLToPath(import.meta.url));
const file = `/tmp/gc-watch-${process.pid}.json`;
process.env.GC_WATCH_FILE = file;
const allocFile = `/tmp/alloc-watch-${process.pid}.heapprofile`;
process.env.ALLOC_WATCH_FILE = allocFile;
const alloc = process.env.ALLOC === '1' ? ` --import ${path.join(here, 'alloc-watch.mjs')}` : '';
process.env.WEFT_BENCH_NODE_ARGS = `${process.env.WEFT_BENCH_NODE_ARGS ?? ''} --import ${path.join(here, 'gc-watch.mjs')}${alloc}`;
const { createTopic, runKafkaProduce } = await import(`${dist}/src/bench/kafka-runner.js`);
const { node, server } = await startKafkaNode(dist, mainJs, argsOf(process.env.WEFT_ARGS));
await runKafkaProduce({ server, topic: 'warm', partitions: 1, msgs: 20000, size, acks: 1 });
await createTopic(server, 'bench', Number(partsS));
const settle = () => new Promise((r) => setTimeout(r, 120));
await settle();
const g0 = JSON.parse(readFileSync(file, 'utf8'));
if (alloc) process.kill(node.pid, 'SIGUSR2');
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
if (alloc) process.kill(node.pid, 'SIGUSR2');
await settle();
const g1 = JSON.parse(readFileSync(file, 'utf8'));
const per = (k) => (((g1[k] - g0[k]) * 1e5) / res.done).toFixed(1);
console.log(
  `rate ${Math.round(res.msgsPerSec)} cpu/rec ${(((b - a) * 1e6) / res.done).toFixed(2)} main/rec ${(((bm - am) * 1e6) / res.done).toFixed(2)} us; per 100k records: scavenge ${per('scavenge')} markCompact ${per('markCompact')} incremental ${per('incremental')} pause ${per('pauseMs')} ms (scavenges ${per('minorMs')}, major ${per('majorMs')} ms); scavenges' cost ${((((g1.scavengeCostUs - g0.scavengeCostUs) / 1000) * 1e5) / res.done).toFixed(1)} ms, kept ${((((g1.survivedBytes - g0.survivedBytes) / 1024) * 1e5) / res.done).toFixed(0)} KiB, promoted ${((((g1.promotedBytes - g0.promotedBytes) / 1024) * 1e5) / res.done).toFixed(0)} KiB`,
);
if (alloc) {
  for (let i = 0; i < 100 && !existsSync(allocFile); i++) await settle();
  allocSummary(JSON.parse(readFileSync(allocFile, 'utf8')), res.done);
  rmSync(allocFile);
}
await node.stop();

/** Sampled bytes by allocating function (self), per record, the top 25. */
function allocSummary(profile, records) {
  const by = new Map();
  let total = 0;
  const walk = (n) => {
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    const self = n.selfSize;
    if (self > 0) by.set(key, (by.get(key) ?? 0) + self);
    total += self;
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  console.log(`allocated ${(total / records).toFixed(0)} B per record (sampled), by function:`);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`${(v / records).toFixed(1).padStart(8)} B  ${k}`);
}
