/**
 * The Kafka face's own work per produced record, in two builds alternately
 * (one child process per build and round), without sockets or a store: a
 * batch as the bench's producer sends it (16 KiB, values of SIZE bytes, no
 * key or headers) decoded as produce.ts decodes it (CRC-32C, records, or
 * plain-batch.ts's spans where the build has it) and handed to the real
 * `appendBatch` (header blocks, value views, the durable promise), whose
 * stream is a stub that numbers the run and tells it at once. Each batch
 * has a millisecond of its own, as at 1 partition. CPU ns per record.
 *   node bench/core-tools/kafka-batch-ab.mjs <base dist> <this dist> [size] [rounds]
 * bench/PROFILE.md, "Issue 16 — kafka8 (round 14)".
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printBestNs, runAb } from './ns-ab.mjs';

const [baseDist, thisDist, sizeS = '1024', roundsS = '6', child] = process.argv.slice(2);
const size = Number(sizeS);

if (child === 'child') {
  const kafka = `${thisDist}/src/protocols/kafka`;
  const { encodeBatch, splitBatches, decodeBatch } = await import(`${kafka}/records.js`);
  const { appendBatch } = await import(`${kafka}/handlers/produce-append.js`);
  const plainFile = `${kafka}/plain-batch.js`;
  const decodePlain = existsSync(plainFile)
    ? (await import(plainFile)).decodePlainBatch
    : () => null;
  const value = Buffer.alloc(size, 0x61);
  const per = Math.ceil(16_384 / (size + 10));
  const t0 = Date.now();
  const batches = Array.from({ length: 256 }, (_, k) =>
    encodeBatch({
      baseTimestamp: t0 + k,
      records: Array.from({ length: per }, () => ({ value })),
    }),
  );
  const stream = {
    config: { max_msg_size: -1, max_age: 0 },
    state: () => ({ lastSeq: 0, firstSeq: 1 }),
    storeNotifyRun(_subject, _heads, values, _now, seqs, done) {
      for (let i = 0; i < values.length; i++) seqs[i] = i + 1;
      done(null, null);
      return true;
    },
  };
  const cs = { stream, consumers: { stored() {} } };
  const p = { cs, subject: 'bench.0' };
  const interest = { plain: [], queues: [] };
  const ctx = {
    shared: { host: { router: { deliver() {} } } },
    account: { sublist: { match: () => interest } },
  };
  const topics = { appended() {} };
  const n = Math.round(2e6 / per);
  printBestNs(n, per, (i) => {
    let k = 0;
    for (const b of splitBatches(batches[i & 255])) {
      const plain = decodePlain(b);
      const d = plain ?? decodeBatch(b, { maxBytes: 1 << 20 });
      k += appendBatch(ctx, topics, p, d).first;
    }
    return k;
  });
} else {
  runAb(fileURLToPath(import.meta.url), baseDist, thisDist, sizeS, roundsS);
}
