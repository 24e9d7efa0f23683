/**
 * An ack subject's match in two builds' Sublist, in one process, rounds
 * interleaved: ns per ack, min and median of 15 rounds.
 *   node bench/core-tools/ack-match.mjs <base dist dir> [consumers]
 * Each consumer has its `$JS.ACK.<s>.<c>.>` oneOff subscription, beside
 * `$JS.API.>` and `_INBOX.abc.*`; 4,096 distinct ack subjects in turn, the
 * consumers alternating per ack.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = (d, f) => path.resolve(d, 'src/core', f);
const baseDir = process.argv[2];
const K = Number(process.argv[3] ?? 1);
const mods = { new: await import(dist(path.join(here, '../../dist'), 'sublist.js')) };
if (baseDir) mods.base = await import(dist(baseDir, 'sublist.js'));
const owner = { id: 1, kind: 'internal', echo: false, deliver() {} };
const plain = (subject) => ({ subject, queue: '', sid: subject, owner, max: 0, delivered: 0 });
const lists = {};
for (const [name, m] of Object.entries(mods)) {
  const sl = new m.Sublist();
  for (let c = 0; c < K; c++)
    sl.insert({ ...plain(`$JS.ACK.bench-stream.CONSUMER${c}XQ7.>`), oneOff: true });
  sl.insert(plain('$JS.API.>'));
  sl.insert(plain('_INBOX.abc.*'));
  lists[name] = sl;
}
const subjects = [];
for (let i = 0; i < 4096; i++) {
  const s = `$JS.ACK.bench-stream.CONSUMER${i % K}XQ7.1.${100000 + i}.${100000 + i}.1765000000123456789.${i}`;
  subjects.push(Buffer.from(s).toString('latin1'));
}
const N = 500_000;
const times = Object.fromEntries(Object.keys(lists).map((name) => [name, []]));
let matched = 0;
for (let rep = 0; rep < 15; rep++) {
  for (const name of rep % 2 ? Object.keys(lists).reverse() : Object.keys(lists)) {
    const sl = lists[name];
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) matched += sl.match(subjects[i & 4095]).plain.length;
    times[name].push(Number(process.hrtime.bigint() - t) / N);
  }
}
for (const [name, v] of Object.entries(times)) {
  v.sort((a, b) => a - b);
  console.log(
    `${K} consumer(s), ${name}: min ${v[0].toFixed(1)}, median ${v[v.length >> 1].toFixed(1)} ns per ack`,
  );
}
if (matched === 0) throw new Error('no ack matched its consumer');
