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
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let r = 0; r < 4; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      for (const b of splitBatches(batches[i & 255])) {
        const plain = decodePlain(b);
        const d = plain ?? decodeBatch(b, { maxBytes: 1 << 20 });
        sink += appendBatch(ctx, topics, p, d).first;
      }
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
