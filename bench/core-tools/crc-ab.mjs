/**
 * A/B of the store's CRC-32 (src/streams/file-crc32.ts crc32) between two
 * built trees, interleaved in one process, ns per call for 40-128 B ranges:
 *   node bench/core-tools/crc-ab.mjs <distA> <distB>
 */
const [a, b] = process.argv.slice(2);
const A = await import(`${a}/src/streams/file-crc32.js`);
const B = await import(`${b}/src/streams/file-crc32.js`);
const buf = Buffer.alloc(4096);
for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919) & 0xff;
for (const len of [40, 64, 100, 128]) {
  const res = { base: [], new: [] };
  for (let r = 0; r < 7; r++)
    for (const [name, f] of [
      ['base', A.crc32],
      ['new', B.crc32],
    ]) {
      let x = 0;
      const N = 2_000_000;
      const t = process.hrtime.bigint();
      for (let k = 0; k < N; k++) x ^= f(buf, k & 63, (k & 63) + len);
      res[name].push(Number(process.hrtime.bigint() - t) / N);
      if (x === 42) console.log('');
    }
  const s = (v) => {
    v.sort((p, q) => p - q);
    return `${v[v.length >> 1].toFixed(1)} (${v[0].toFixed(1)}–${v[v.length - 1].toFixed(1)})`;
  };
  console.log(`${len} B: base ${s(res.base)} ns, slice-by-8 ${s(res.new)} ns`);
}
