// An XREADGROUP reply of COUNT entries, made and encoded as the face does
// (stream-map.ts storedEntryReply per entry, the array, encodedSize, then
// encodeAt into a buffer): CPU ns per entry, in one build.
//   node bench/core-tools/redis-entry-reply.mjs <dist> [count=10] [replies=200000] [runs=5]
// Run two builds in turn to compare (bench/PROFILE.md, "rgroup6 (round 12)").
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { storedEntries } from './redis-entries.mjs';

const dist = path.resolve(process.argv[2] ?? 'dist');
const count = Number(process.argv[3] ?? 10);
const replies = Number(process.argv[4] ?? 200000);
const runs = Number(process.argv[5] ?? 5);
const sm = await import(pathToFileURL(path.join(dist, 'src/protocols/redis/stream-map.js')).href);
const enc = await import(pathToFileURL(path.join(dist, 'src/protocols/redis/encoder.js')).href);

// Stored as XADD writes them: one field `f`, 16 B values, in read-window-like buffers.
const entries = storedEntries(1000);
const out = Buffer.allocUnsafe(64 * 1024);
let sink = 0;
function once(at) {
  const parts = new Array(count);
  for (let j = 0; j < count; j++) parts[j] = sm.storedEntryReply(entries[(at + j) % 1000]);
  const r = enc.R.array([enc.R.array([enc.R.bulk(Buffer.from('bench')), enc.R.array(parts)])]);
  const n = enc.encodedSize(r, 2);
  sink += enc.encodeAt(r, 2, out, 0) - n;
}
// Same bytes as `encode` (the reference).
{
  const parts = entries.slice(0, count).map((e) => sm.storedEntryReply(e));
  const r = enc.R.array(parts);
  const n = enc.encodeAt(r, 2, out, 0);
  if (!out.subarray(0, n).equals(enc.encode(r, 2))) throw new Error('encodeAt differs from encode');
}
for (let i = 0; i < replies; i++) once(i); // warm
const res = [];
for (let r = 0; r < runs; r++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < replies; i++) once(i);
  const c = process.cpuUsage(c0);
  res.push(((c.user + c.system) * 1000) / (replies * count));
}
res.sort((a, b) => a - b);
console.log(
  `${dist}: ${res[runs >> 1].toFixed(1)} ns/entry (${res[0].toFixed(1)}–${res[runs - 1].toFixed(1)})${sink === 0 ? '' : ' BAD'}`,
);
