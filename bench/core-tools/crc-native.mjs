/**
 * Where the store's JavaScript CRC-32 stops paying (file-crc32.ts
 * CRC_JS_MAX): CPU ns per call of crc32Table, zlib.crc32 and
 * @node-rs/crc32 (each with the `subarray` the store makes), median of 5
 * rounds, for 100–384 B:   node bench/core-tools/crc-native.mjs <dist>
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import zlib from 'node:zlib';

const dist = resolve(process.argv[2]);
const M = await import(`${dist}/src/streams/file-crc32.js`);
let rs = null;
try {
  rs = createRequire(`${dist}/`)('@node-rs/crc32').crc32;
} catch {}
const buf = Buffer.alloc(4096);
for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919) & 0xff;
for (const len of [100, 128, 150, 192, 256, 384]) {
  const out = [];
  for (const [name, f] of [
    ['js', (s, e) => M.crc32Table(buf, s, e)],
    ['zlib', zlib.crc32 && ((s, e) => zlib.crc32(buf.subarray(s, e)))],
    ['node-rs', rs && ((s, e) => rs(buf.subarray(s, e)))],
  ]) {
    if (!f) continue;
    const v = [];
    for (let r = 0; r < 5; r++) {
      const N = 1_000_000;
      const t = process.cpuUsage();
      let x = 0;
      for (let k = 0; k < N; k++) x ^= f(k & 63, (k & 63) + len);
      const u = process.cpuUsage(t);
      v.push(((u.user + u.system) * 1000) / N);
      if (x === 0.5) console.log('');
    }
    v.sort((a, b) => a - b);
    out.push(`${name} ${v[2].toFixed(0)}`);
  }
  console.log(`${len} B: ${out.join('  ')} ns`);
}
