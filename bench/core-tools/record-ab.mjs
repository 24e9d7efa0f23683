/**
 * A/B of the store's MSG record encoding (src/streams/file-record.ts
 * encodeMsgAt: header fields, subject, XADD's header block, a PAYLOAD (1) B
 * payload, the CRC) between two built trees, interleaved in one process,
 * ns of CPU per record; the records are compared byte for byte first:
 *   node bench/core-tools/record-ab.mjs <distA> <distB>
 * RUN=1: the records of XADD runs as the Redis face writes them: each
 * tree's XaddHead makes the block (`<ms>-<n>`, 64 a run, a new ms per run)
 * and its stamp is passed (a tree without stamps ignores it).
 * RANGE=1: the payload passed as a range of a larger buffer (as the XADD
 * fast path passes its value, a range of the read buffer), not whole.
 */
const [a, b] = process.argv.slice(2);
const A = await import(`${a}/src/streams/file-record.js`);
const B = await import(`${b}/src/streams/file-record.js`);
const run = process.env.RUN === '1';
const HA = run ? new (await import(`${a}/src/protocols/redis/xadd-head.js`)).XaddHead() : null;
const HB = run ? new (await import(`${b}/src/protocols/redis/xadd-head.js`)).XaddHead() : null;
const subject = run ? 'redis.stream.bench:redis-xadd-p64:1765080000000' : 'redis.stream.bench:x:1';
const field = Buffer.from('f');
const fixed = Buffer.from(
  'NATS/1.0\r\nRedis-Stream-Id: 1765080000000-123\r\nRedis-Field: f\r\n\r\n',
);
const payload = Buffer.alloc(Number(process.env.PAYLOAD ?? 1), 'x');
const range = process.env.RANGE === '1';
/** The payload's buffer and range: itself, or a range of a larger read buffer. */
const src = range ? Buffer.concat([Buffer.from('$16\r\n'), payload, Buffer.from('\r\n')]) : payload;
const ps = range ? 5 : 0;
const pe = ps + payload.length;
const MS = 1765080000000;
/** Record k's header block and stamp from head `h` (the fixed block when not RUN). */
const block = (h, k) => {
  if (h === null) return fixed;
  const ms = MS + (k >> 6);
  return h.ofParts(String(ms), 100 + (k & 63), field, 0, 1);
};
const len0 = A.HEADER + subject.length + block(HA, 0).length + payload.length;
const ra = Buffer.alloc(len0 * 256);
const rb = Buffer.alloc(len0 * 256);
for (let k = 0; k < 200; k++) {
  const ha = block(HA, k);
  const hb = block(HB, k);
  const t = MS + (k >> 6);
  A.encodeMsgAt(
    ra,
    k * len0,
    len0,
    123456 + k,
    t,
    subject,
    subject.length,
    ha,
    src,
    ps,
    pe,
    HA?.stamp ?? -1,
  );
  B.encodeMsgAt(
    rb,
    k * len0,
    len0,
    123456 + k,
    t,
    subject,
    subject.length,
    hb,
    src,
    ps,
    pe,
    HB?.stamp ?? -1,
  );
}
if (!ra.equals(rb)) throw new Error('the two trees encode different records');
const len = len0;
const arena = Buffer.alloc(len * 1024);
const res = { A: [], B: [] };
for (let r = 0; r < 9; r++)
  for (const [name, f, h] of [
    ['A', A.encodeMsgAt, HA],
    ['B', B.encodeMsgAt, HB],
  ]) {
    const N = 2_000_000;
    // CPU time, not the clock: the machine is shared, and time waiting for a core is not the code's.
    const t = process.cpuUsage();
    for (let k = 0; k < N; k++) {
      const hb = block(h, k);
      f(
        arena,
        (k & 1023) * len,
        len,
        k,
        MS + (k >> 6),
        subject,
        subject.length,
        hb,
        src,
        ps,
        pe,
        h?.stamp ?? -1,
      );
    }
    const u = process.cpuUsage(t);
    res[name].push(((u.user + u.system) * 1000) / N);
  }
const s = (v) => {
  v.sort((p, q) => p - q);
  return `${v[v.length >> 1].toFixed(1)} (${v[0].toFixed(1)}–${v[v.length - 1].toFixed(1)})`;
};
console.log(
  `${len} B record${run ? ' (XADD runs, the block made per record)' : ''}${range ? ', payload a range' : ''}: A ${s(res.A)} ns, B ${s(res.B)} ns`,
);
