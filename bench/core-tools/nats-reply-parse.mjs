/**
 * The NATS parser's cost per `PUB <subject> <reply> 16` (64 to a read, as
 * the JetStream bench client writes them), two builds interleaved, 15 runs:
 *   node bench/core-tools/nats-reply-parse.mjs <base dist> <new dist> [same|unique]
 * `same`: one reply inbox for every publish (the bench's client); `unique`:
 * an inbox per publish (as nats.go and nats.js make them).
 */
import path from 'node:path';

const [baseDist, newDist, mode = 'same'] = process.argv.slice(2);
const load = (d) => import(path.resolve(d, 'src/protocols/nats/parser.js'));
const A = await load(baseDist);
const B = await load(newDist);
const limits = { maxPayload: 1 << 20, maxControlLine: 4096 };
const payload = 'x'.repeat(16);
const bufs = [];
let k = 0;
for (let b = 0; b < 64; b++) {
  let s = '';
  for (let i = 0; i < 64; i++) {
    const reply =
      mode === 'same'
        ? '_INBOX.wjs.k3j4h5g6.ack'
        : `_INBOX.Xy7pQ2aBcD3eFgH4iJ5kLm.${(k++).toString(36).padStart(8, '0')}`;
    s += `PUB js.bench.x ${reply} 16\r\n${payload}\r\n`;
  }
  bufs.push(Buffer.from(s));
}
let sink = 0;
const h = {
  onPub(_s, r, _hdr, _buf, _a, e) {
    sink += r.length + e;
  },
  onSub() {},
  onUnsub() {},
  onPing() {},
  onPong() {},
  onConnect() {},
  onRefused() {},
};
function run(P) {
  const p = new P.NatsParser(h, limits);
  const t = process.hrtime.bigint();
  for (let r = 0; r < 200; r++) for (const b of bufs) p.feed(b);
  return Number(process.hrtime.bigint() - t) / (200 * 64 * 64);
}
const res = { base: [], new: [] };
for (let i = 0; i < 15; i++) {
  res.base.push(run(A));
  res.new.push(run(B));
}
for (const [n, xs] of Object.entries(res)) {
  xs.sort((a, b) => a - b);
  console.log(`${mode} ${n}: min ${xs[0].toFixed(1)} median ${xs[7].toFixed(1)} ns per PUB`);
}
if (sink === 0) console.log('');
