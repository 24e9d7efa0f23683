// The ID handling of the group row's pairs, in one build: 4 consumers in turn, each
// XREADGROUP of COUNT entries (the key of each entry from its header block, the read
// applied to the group's state — and, where the build has it, the group's memo of
// the keys read, recent-keys.ts), then, three reads later, its XACK of those IDs as a
// client sends them (argument Buffers: access.ts strictIds, given the group's state
// where the build takes it; the PEL lookups and deletes: pendingOf + applyAck).
// CPU ns per entry, medians of `runs` (min–max). Run two builds in turn to compare
// (bench/PROFILE.md, "Issue 16 — rgroup7 (round 13)").
//   node bench/core-tools/redis-ack-keys.mjs <dist> [count=10] [runs=7]
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2] ?? 'dist');
const count = Number(process.argv[3] ?? 10);
const runs = Number(process.argv[4] ?? 7);
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { MappedStreams } = await imp('src/protocols/redis/groups/streams-view.js');
const S = await imp('src/protocols/redis/groups/state.js');
const access = await imp('src/protocols/redis/groups/access.js');
const { XADD_ID_AT } = await imp('src/protocols/redis/stream-map.js');
const { MIN_ID } = await imp('src/protocols/redis/groups/ids.js');

const view = new MappedStreams(null);
const N = 20000; // entries per run
const entries = [];
for (let i = 0; i < N; i++) {
  const head = `NATS/1.0\r\nRedis-Stream-Id: ${1733550000000 + (i >> 2)}-${i & 3}\r\nRedis-Field: f\r\n\r\n`;
  const win = Buffer.from(`${head}${'x'.repeat(16)}`, 'latin1');
  entries.push({
    seq: i + 1,
    headers: win.subarray(0, head.length),
    payload: win.subarray(head.length),
  });
}
// What the client sends back: the IDs' texts, one Buffer each (as the parser copies them).
const texts = entries.map((m) =>
  Buffer.from(m.headers.subarray(XADD_ID_AT, m.headers.indexOf(13, XADD_ID_AT))),
);
const memo = typeof S.GroupState.prototype.recentKeys === 'function';
const head = [Buffer.from('XACK'), Buffer.from('s'), Buffer.from('g')];
let sink = 0;

function read(g, at, c) {
  const n = new Array(count);
  for (let j = 0; j < count; j++) {
    const m = entries[at + j];
    const idEnd = view.idEnd(m);
    const id = view.idOf(null, m, idEnd);
    if (memo && idEnd >= 0) g.recentKeys().add(m.headers, XADD_ID_AT, idEnd, id);
    n[j] = [id, m.seq];
  }
  S.apply(g, { o: 'read', c: `c${c}`, t: 1, n, last: n[count - 1][0], er: -1 });
}
function ack(g, at) {
  const args = head.concat(texts.slice(at, at + count));
  const a = memo ? access.strictIds(args, 3, g) : access.strictIds(args, 3);
  const { ids, nacks } = S.pendingOf(g, a.ids);
  S.applyAck(g, ids, nacks);
  sink += ids.length;
}
function run() {
  const g = new S.GroupState('g', MIN_ID, 0, 0);
  const reads = N / count;
  for (let r = 0; r < reads; r++) {
    read(g, r * count, r & 3);
    if (r >= 3) ack(g, (r - 3) * count);
  }
  for (let r = reads - 3; r < reads; r++) ack(g, r * count);
  if (g.pel.size !== 0) throw new Error('PEL not empty');
}
for (let i = 0; i < 30; i++) run(); // warm
const res = [];
for (let k = 0; k < runs; k++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < 10; i++) run();
  const c = process.cpuUsage(c0);
  res.push(((c.user + c.system) * 1000) / (10 * N));
}
res.sort((a, b) => a - b);
console.log(
  `${memo ? 'memo' : 'base'} ${dist}: ${res[runs >> 1].toFixed(0)} ns/entry (${res[0].toFixed(0)}–${res[runs - 1].toFixed(0)})${sink === 0 ? ' BAD' : ''}`,
);
