// The per-entry parts of the redis-group-c10 loop in one build, CPU ns per
// entry (process.cpuUsage, 5 runs, median and min–max): an XREADGROUP's
// `idEnd` (where the ID ends in each entry's header block), `idOf` (its
// IdKey string), the read record's bytes, the entry's reply (made and
// encoded); then XACK's `pendingOf` of 10 pending IDs given as fresh equal
// strings. Run two builds in turn to compare (bench/PROFILE.md, "Issue 16 —
// rgroup10 (round 15)"):
//   node bench/core-tools/redis-group-parts.mjs <dist> [count=10] [reads=100000]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { storedEntries } from './redis-entries.mjs';

const dist = path.resolve(process.argv[2] ?? 'dist');
const count = Number(process.argv[3] ?? 10);
const reads = Number(process.argv[4] ?? 100000);
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { MappedStreams } = await imp('src/protocols/redis/groups/streams-view.js');
const { recordAt } = await imp('src/protocols/redis/groups/record-bytes.js');
const enc = await imp('src/protocols/redis/encoder.js');
const S = await imp('src/protocols/redis/groups/state.js');
const { idKey } = await imp('src/protocols/redis/groups/ids.js');

const view = new MappedStreams(null);
const entries = storedEntries(1000, 's');
const scratch = Buffer.allocUnsafe(16 * 1024);
const out = Buffer.allocUnsafe(64 * 1024);
let sink = 0;
const ends = entries.map((m) => view.idEnd(m));
const keys = entries.map((m, i) => view.idOf(null, m, ends[i]));
const takenAt = (at) =>
  Array.from({ length: count }, (_, j) => {
    const k = (at + j) % 1000;
    return { id: keys[k], seq: entries[k].seq, msg: entries[k], idEnd: ends[k] };
  });
const taken = Array.from({ length: 1000 }, (_, i) => takenAt(i));

// A group with 1,000 pending entries; XACKs of 10 of them, as strings equal to the PEL's keys.
const g = new S.GroupState('g', idKey(0n, 0n), 0, 0);
const n = keys.map((k, i) => [k, i + 1]);
S.apply(g, { o: 'read', c: 'c', t: 1, n, last: n[999][0], er: 1000 });
const fresh = (k) => Buffer.from(k, 'latin1').latin1Slice(0, k.length);
const acks = Array.from({ length: 100 }, (_, i) =>
  n.slice(i * count, i * count + count).map(([k]) => fresh(k)),
);

const parts = {
  idEnd: (at) => {
    for (let j = 0; j < count; j++) sink += view.idEnd(entries[(at + j) % 1000]);
  },
  idOf: (at) => {
    for (let j = 0; j < count; j++) {
      const k = (at + j) % 1000;
      sink += view.idOf(null, entries[k], ends[k]).length;
    }
  },
  record: (at) => {
    const t = taken[at % 1000];
    const op = { o: 'read', c: 'consumer-1', t: 1733550000123, n: t.map((e) => [e.id, e.seq]) };
    op.last = t[count - 1].id;
    op.er = at;
    sink += recordAt(op, scratch, t);
  },
  reply: (at) => {
    const t = taken[at % 1000];
    const p = t.map((e) => view.entry(null, e.msg, e.idEnd));
    const r = enc.R.array(p);
    sink += enc.encodeAt(r, 2, out, 0) - enc.encodedSize(r, 2);
  },
  pendingOf: (at) => {
    sink += S.pendingOf(g, acks[at % 100]).ids.length;
  },
};
const line = [];
for (const [name, f] of Object.entries(parts)) {
  for (let i = 0; i < reads; i++) f(i);
  const res = [];
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < reads; i++) f(i);
    const c = process.cpuUsage(c0);
    res.push(((c.user + c.system) * 1000) / (reads * count));
  }
  res.sort((a, b) => a - b);
  line.push(`${name} ${res[2].toFixed(1)} (${res[0].toFixed(1)}–${res[4].toFixed(1)})`);
}
console.log(`${dist}: ns/entry ${line.join(', ')}${sink === 0 ? ' BAD' : ''}`);
