// XACK from the bytes read to its group record, the two ways a session takes it
// (bench/PROFILE.md, "Issue 16 — rgroup8 (round 13)"), in one build, in turn:
//  args:   the reader's `next` (a Buffer per argument, copied from the shared read),
//          the key's stream name (lookupNow's streamNameOf), the group's name,
//          access.ts strictIds with the group's memo, the ack record from the texts;
//  ranges: parser.ts `peekXack` (ranges of the read), the key's name (stream-args
//          nameAt), the group's name, strictIdsAt, the record from the ranges.
// The PEL work after (the same both ways) is left out. ns per XACK of COUNT IDs
// (as ioredis writes them, each read from a shared read: push transient, release),
// medians of `runs` (min–max).
//   node bench/core-tools/redis-xack-parse.mjs [dist=dist] [count=10] [runs=9]
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2] ?? 'dist');
const count = Number(process.argv[3] ?? 10);
const runs = Number(process.argv[4] ?? 9);
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { RespReader } = await imp('src/protocols/redis/parser.js');
const access = await imp('src/protocols/redis/groups/access.js');
const { GroupState } = await imp('src/protocols/redis/groups/state.js');
const { MIN_ID } = await imp('src/protocols/redis/groups/ids.js');
const { keyOfCanonical } = await imp('src/protocols/redis/groups/streams-view.js');
const { recordAt } = await imp('src/protocols/redis/groups/record-bytes.js');
const { streamNameOf } = await imp('src/protocols/redis/stream-map.js');
const { nameAt } = await imp('src/protocols/redis/commands/stream-args.js');

const K = 64; // distinct XACKs, cycled
const wires = [];
const state = new GroupState('g', MIN_ID, 0, 0);
for (let k = 0; k < K; k++) {
  const ids = Array.from({ length: count }, (_, i) => `${1765097503000 + k}-${i}`);
  const args = ['XACK', 'bench:group:stream', 'bench-group', ...ids];
  wires.push(
    Buffer.from(`*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`),
  );
}
const scratch = Buffer.alloc(16 * 1024);
let sink = 0;
/** Each XACK's IDs as its read kept them in the group's memo (texts and keys). */
const kept = wires.map((w) => {
  const r = new RespReader();
  r.push(w);
  return r
    .next()
    .slice(3)
    .map((a) => [a, keyOfCanonical(a, 0, a.length)]);
});
/** The memo as the XACK's read leaves it (the same work both ways). */
function remember(k) {
  const mem = state.recentKeys();
  for (const [a, key] of kept[k]) mem.add(a, 0, a.length, key);
}
function viaArgs(r, w) {
  r.push(w, true);
  const args = r.next();
  const n = streamNameOf(args[1]);
  const g = args[2].toString('latin1');
  const ack = access.strictIds(args, 3, state);
  sink += recordAt({ o: 'ack', ids: ack.ids }, scratch, ack.texts) + n.name.length + g.length;
  r.release();
}
let lastG = null;
let lastGName = '';
function viaRanges(r, w) {
  r.push(w, true);
  if (!r.peekXack()) throw new Error('not taken');
  const b = r.buffer;
  const x = r.xack;
  const name = nameAt(b, x.keyStart, x.keyEnd);
  let g = lastGName;
  if (
    lastG === null ||
    lastG.length !== x.groupEnd - x.groupStart ||
    b.compare(lastG, 0, lastG.length, x.groupStart, x.groupEnd) !== 0
  ) {
    g = b.toString('latin1', x.groupStart, x.groupEnd);
    lastG = Buffer.from(b.subarray(x.groupStart, x.groupEnd));
    lastGName = g;
  }
  const ack = access.strictIdsAt(b, x.starts, x.ends, x.count, state);
  sink += recordAt({ o: 'ack', ids: ack.ids }, scratch, ack.texts) + name.length + g.length;
  r.skipPeeked();
  r.release();
}
const ways = { args: viaArgs, ranges: viaRanges };
const N = 200_000;
function round(fn) {
  const r = new RespReader();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    remember(i % K);
    fn(r, wires[i % K]);
  }
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / N;
}
for (let i = 0; i < 3; i++) for (const fn of Object.values(ways)) round(fn);
const res = { args: [], ranges: [] };
for (let k = 0; k < runs; k++) for (const [w, fn] of Object.entries(ways)) res[w].push(round(fn));
for (const [w, v] of Object.entries(res)) {
  v.sort((a, b) => a - b);
  console.log(
    `${w.padEnd(7)} ${v[v.length >> 1].toFixed(0)} ns/XACK (${v[0].toFixed(0)}–${v[v.length - 1].toFixed(0)}), ${(v[v.length >> 1] / count).toFixed(0)} ns/entry`,
  );
}
if (sink === 0) console.log('');
