/**
 * The Kafka face's decode of a Produce request's record batches, in two
 * builds alternately (one child process per build and round): CPU ns per
 * record of `decodeBatch` (CRC-32C, records) over batches as the bench's
 * producer sends them (16 KiB, records with no key or headers).
 *   node bench/core-tools/kafka-decode-ab.mjs <base dist> <this dist> [size] [rounds]
 * bench/PROFILE.md, "Issue 16 — kafka5 (round 11)".
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [baseDist, thisDist, sizeS = '100', roundsS = '6', child] = process.argv.slice(2);
const size = Number(sizeS);

if (child === 'child') {
  const { encodeBatch, splitBatches, decodeBatch } = await import(
    `${thisDist}/src/protocols/kafka/records.js`
  );
  const value = Buffer.alloc(size, 0x61);
  const per = Math.ceil(16_384 / (size + 10));
  const batch = encodeBatch({
    baseTimestamp: Date.now(),
    records: Array.from({ length: per }, () => ({ value })),
  });
  const n = Math.round(3e6 / per);
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let r = 0; r < 4; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      for (const b of splitBatches(batch))
        sink += decodeBatch(b, { maxBytes: 1 << 20 }).records.length;
    }
    const u = process.cpuUsage(t);
    // The best of the last three passes (the first warms the compiler).
    if (r > 0) best = Math.min(best, ((u.user + u.system) * 1000) / (n * per));
  }
  console.log(JSON.stringify({ ns: best, sink }));
} else {
  const me = fileURLToPath(import.meta.url);
  const out = { base: [], this: [] };
  for (let r = 0; r < Number(roundsS); r++) {
    const order = r % 2 === 0 ? ['base', 'this'] : ['this', 'base'];
    for (const side of order) {
      const dist = side === 'base' ? baseDist : thisDist;
      const res = JSON.parse(
        execFileSync(process.execPath, [me, baseDist, dist, sizeS, roundsS, 'child'], {
          encoding: 'utf8',
        }),
      );
      out[side].push(res.ns);
    }
  }
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  for (const [k, xs] of Object.entries(out))
    console.log(
      `${k.padEnd(5)} ${size} B: ${med(xs).toFixed(1)} ns/record (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`,
    );
}
