// The parts of an XREADGROUP `>` of COUNT entries that name each entry by
// its ID, as read-new.ts and store.ts do them: the ID key of each entry
// (streams-view.ts idOf), the read record's bytes (record-bytes.ts
// recordAt) and each entry's reply (storedEntryReply, made and encoded).
// A build with view.idEnd finds each ID's end once and gives the record
// the entries' header blocks; an older build does what it did. CPU ns per
// entry, in one build.
//   node bench/core-tools/redis-read-ids.mjs <dist> [count=10] [reads=100000] [runs=5]
// Then XACK's part of the same: its COUNT ID arguments read (access.ts
// strictId each, or strictIds) and its record's bytes: CPU ns per ID.
// Run two builds in turn to compare (bench/PROFILE.md, "xack (round 12)").
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { storedEntries } from './redis-entries.mjs';

const dist = path.resolve(process.argv[2] ?? 'dist');
const count = Number(process.argv[3] ?? 10);
const reads = Number(process.argv[4] ?? 100000);
const runs = Number(process.argv[5] ?? 5);
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { MappedStreams } = await imp('src/protocols/redis/groups/streams-view.js');
const { recordAt } = await imp('src/protocols/redis/groups/record-bytes.js');
const { encode } = await imp('src/protocols/redis/groups/store.js');
const enc = await imp('src/protocols/redis/encoder.js');
const access = await imp('src/protocols/redis/groups/access.js');

const view = new MappedStreams(null);
const kept = typeof view.idEnd === 'function';
const entries = storedEntries(1000, 's');
const scratch = Buffer.allocUnsafe(16 * 1024);
const out = Buffer.allocUnsafe(64 * 1024);
let sink = 0;
function once(at, check) {
  const taken = new Array(count);
  for (let j = 0; j < count; j++) {
    const m = entries[(at + j) % 1000];
    if (kept) {
      const idEnd = view.idEnd(m);
      taken[j] = { id: view.idOf(null, m, idEnd), seq: m.seq, msg: m, idEnd };
    } else taken[j] = { id: view.idOf(null, m), seq: m.seq, msg: m };
  }
  const n = new Array(count);
  for (let j = 0; j < count; j++) n[j] = [taken[j].id, taken[j].seq];
  const op = { o: 'read', c: 'consumer-1', t: 1733550000123, n, last: taken[count - 1].id, er: at };
  const len = kept ? recordAt(op, scratch, taken) : recordAt(op, scratch);
  if (check && !scratch.subarray(0, len).equals(encode(op))) throw new Error('record bytes differ');
  const parts = new Array(count);
  for (let j = 0; j < count; j++) {
    const e = taken[j];
    parts[j] = kept ? view.entry(null, e.msg, e.idEnd) : view.entry(null, e.msg);
  }
  const r = enc.R.array(parts);
  sink += enc.encodeAt(r, 2, out, 0) - enc.encodedSize(r, 2) + len;
}
for (let i = 0; i < 1000; i++) once(i, true);
for (let i = 0; i < reads; i++) once(i, false); // warm
const res = [];
for (let r = 0; r < runs; r++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < reads; i++) once(i, false);
  const c = process.cpuUsage(c0);
  res.push(((c.user + c.system) * 1000) / (reads * count));
}
res.sort((a, b) => a - b);
console.log(
  `${kept ? 'kept ' : 'base '}${dist}: ${res[runs >> 1].toFixed(1)} ns/entry (${res[0].toFixed(1)}–${res[runs - 1].toFixed(1)})${sink === 0 ? ' BAD' : ''}`,
);

// XACK: COUNT IDs as a client sends them back.
const ackArgs = [];
for (let i = 0; i < 1000; i++) {
  const a = [Buffer.from('XACK'), Buffer.from('s'), Buffer.from('g')];
  for (let j = 0; j < count; j++)
    a.push(Buffer.from(`1733550000${String((i + j) % 1000).padStart(3, '0')}-${(i + j) % 7}`));
  ackArgs.push(a);
}
const hasIds = typeof access.strictIds === 'function';
function ackOnce(at, check) {
  const args = ackArgs[at % 1000];
  let len;
  let ids;
  if (hasIds) {
    const ack = access.strictIds(args, 3);
    ids = ack.ids;
    len = recordAt({ o: 'ack', ids }, scratch, ack.texts);
  } else {
    ids = [];
    for (let i = 3; i < args.length; i++) ids.push(access.strictId(args[i]));
    len = recordAt({ o: 'ack', ids }, scratch);
  }
  if (check && !scratch.subarray(0, len).equals(encode({ o: 'ack', ids })))
    throw new Error('ack bytes differ');
  sink += len;
}
for (let i = 0; i < 1000; i++) ackOnce(i, true);
for (let i = 0; i < reads; i++) ackOnce(i, false);
const ackRes = [];
for (let r = 0; r < runs; r++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < reads; i++) ackOnce(i, false);
  const c = process.cpuUsage(c0);
  ackRes.push(((c.user + c.system) * 1000) / (reads * count));
}
ackRes.sort((a, b) => a - b);
console.log(
  `  ack ${hasIds ? 'texts' : 'keys '}: ${ackRes[runs >> 1].toFixed(1)} ns/ID (${ackRes[0].toFixed(1)}–${ackRes[runs - 1].toFixed(1)})`,
);
