/**
 * The Kafka face's decode of a Produce request's record batches, in two
 * builds alternately (one child process per build and round): CPU ns per
 * record of `decodeBatch` (CRC-32C, records) over batches as the bench's
 * producer sends them (16 KiB, records with no key or headers).
 *   node bench/core-tools/kafka-decode-ab.mjs <base dist> <this dist> [size] [rounds]
 * bench/PROFILE.md, "Issue 16 — kafka5 (round 11)".
 */
import { fileURLToPath } from 'node:url';
import { printBestNs, runAb } from './ns-ab.mjs';

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
  printBestNs(n, per, () => {
    let k = 0;
    for (const b of splitBatches(batch)) k += decodeBatch(b, { maxBytes: 1 << 20 }).records.length;
    return k;
  });
} else {
  runAb(fileURLToPath(import.meta.url), baseDist, thisDist, sizeS, roundsS);
}
