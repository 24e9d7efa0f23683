/**
 * The parser of two builds fed the same random 3.1.1 streams (a CONNECT,
 * then PUBLISH and PUBACK frames, well-formed and not, whole and split): the same
 * packets (fields, order, bytes) and the same error, or it exits 1.
 *   node bench/core-tools/mqtt-parse-eq.mjs /tmp/base10/dist dist [streams]
 */

import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const [a, b, nS] = process.argv.slice(2);
const load = async (d) =>
  (await import(path.join(path.resolve(d), 'src/protocols/mqtt/codec.js'))).MqttParser;
const A = await load(a);
const B = await load(b);
let seed = 12345;
const rnd = (n) => {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return (seed >>> 8) % n;
};
const connect = Buffer.from([0x10, 12, 0, 4, 77, 81, 84, 84, 4, 2, 0, 60, 0, 0]);
const varint = (n) => {
  const out = [];
  do {
    let x = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) x |= 0x80;
    out.push(x);
  } while (n > 0);
  return out;
};
function publish() {
  const qos = rnd(3);
  const topicBytes = [];
  const tl = rnd(6);
  for (let i = 0; i < tl; i++) {
    const k = rnd(20);
    topicBytes.push(k === 0 ? 0 : k === 1 ? 0xc3 : k === 2 ? 0xa9 : k === 3 ? 0xff : 97 + rnd(26));
  }
  const body = [topicBytes.length >> 8, topicBytes.length & 0xff, ...topicBytes];
  if (qos) body.push(rnd(256), rnd(256));
  for (let i = rnd(5); i > 0; i--) body.push(rnd(256));
  let cut = body.length;
  if (rnd(6) === 0) cut = rnd(body.length + 1);
  if (rnd(10) === 0) {
    body[0] = rnd(3);
    body[1] = rnd(256);
  }
  const b0 = 0x30 | (rnd(2) << 3) | (qos << 1) | rnd(2);
  return Buffer.from([b0, ...varint(cut), ...body.slice(0, cut)]);
}
function puback() {
  const len = rnd(5) === 0 ? rnd(4) : 2;
  return Buffer.from([0x40, len, ...Array.from({ length: len }, () => rnd(256))]);
}
const norm = (p) => JSON.parse(JSON.stringify(p));
const n = Number(nS ?? 20000);
let packets = 0;
let errors = 0;
for (let s = 0; s < n; s++) {
  const frames = [connect];
  for (let i = rnd(4) + 1; i > 0; i--) frames.push(rnd(4) === 0 ? puback() : publish());
  const stream = Buffer.concat(frames);
  const outA = [];
  const outB = [];
  const pa = new A((p) => outA.push(p));
  const pb = new B((p) => outB.push(p));
  const split = rnd(stream.length + 1);
  const chunks = rnd(2) ? [stream] : [stream.subarray(0, split), stream.subarray(split)];
  let ea = null;
  let eb = null;
  for (const c of chunks) {
    ea = pa.feed(Buffer.from(c)) ?? ea;
    eb = pb.feed(Buffer.from(c)) ?? eb;
  }
  const same =
    outA.length === outB.length &&
    outA.every(
      (p, i) =>
        isDeepStrictEqual(Object.keys(p), Object.keys(outB[i])) &&
        isDeepStrictEqual(norm(p), norm(outB[i])) &&
        (p.cmd !== 'publish' || Buffer.compare(p.payload, outB[i].payload) === 0),
    ) &&
    String(ea?.message) === String(eb?.message) &&
    ea?.reason === eb?.reason;
  if (!same) {
    console.log('DIFF', stream.toString('hex'), outA, outB, ea, eb);
    process.exit(1);
  }
  packets += outA.length;
  if (ea) errors++;
}
console.log(`${n} streams: same packets (${packets}) and errors (${errors}) from both`);
