/**
 * A small payload copied into an output chunk: byte by byte, four bytes at a
 * time through DataViews (msg-output.ts `copySmall`), and by a native `set`
 * of a view. Min of 9 runs of 2M copies, ns per copy:
 *   node bench/core-tools/small-copy.mjs [bytes]
 */
const src = Buffer.alloc(16384, 7);
const dst = Buffer.alloc(65536);
const sv = new DataView(src.buffer, src.byteOffset, src.length);
const dv = new DataView(dst.buffer, dst.byteOffset, dst.length);
const n = Number(process.argv[2] ?? 32);
function bytes(from, at) {
  for (let i = from, e = from + n; i < e; i++) dst[at++] = src[i];
  return at;
}
function words(from, at) {
  let i = 0;
  for (; i + 4 <= n; i += 4) dv.setUint32(at + i, sv.getUint32(from + i));
  for (; i < n; i++) dst[at + i] = src[from + i];
  return at + n;
}
function native(from, at) {
  dst.set(new Uint8Array(src.buffer, src.byteOffset + from, n), at);
  return at + n;
}
for (const [name, f] of [
  ['bytes', bytes],
  ['words', words],
  ['native', native],
  ['bytes', bytes],
  ['words', words],
]) {
  let best = 1e9;
  for (let r = 0; r < 9; r++) {
    const t = process.hrtime.bigint();
    let at = 0;
    for (let i = 0; i < 2e6; i++) at = f((i * 37) & 8191, at & 32767);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 2e6);
  }
  console.log(`${n} B ${name.padEnd(6)} ${best.toFixed(1)} ns`);
}
