/**
 * A/B of the store's MSG record encoding (src/streams/file-record.ts
 * encodeMsgAt: header fields, subject, XADD's header block, a PAYLOAD (1) B
 * payload, the CRC) between two built trees, interleaved in one process,
 * ns of CPU per record; the records are compared byte for byte first:
 *   node bench/core-tools/record-ab.mjs <distA> <distB>
 */
const [a, b] = process.argv.slice(2);
const A = await import(`${a}/src/streams/file-record.js`);
const B = await import(`${b}/src/streams/file-record.js`);
const subject = 'redis.stream.bench:x:1';
const headers = Buffer.from(
  'NATS/1.0\r\nRedis-Stream-Id: 1765080000000-123\r\nRedis-Field: f\r\n\r\n',
);
const payload = Buffer.alloc(Number(process.env.PAYLOAD ?? 1), 'x');
const len = A.HEADER + subject.length + headers.length + payload.length;
const ra = Buffer.alloc(len);
const rb = Buffer.alloc(len);
A.encodeMsgAt(ra, 0, len, 123456, 1765080000000, subject, subject.length, headers, payload);
B.encodeMsgAt(rb, 0, len, 123456, 1765080000000, subject, subject.length, headers, payload);
if (!ra.equals(rb)) throw new Error('the two trees encode different records');
const arena = Buffer.alloc(len * 1024);
const res = { A: [], B: [] };
for (let r = 0; r < 9; r++)
  for (const [name, f] of [
    ['A', A.encodeMsgAt],
    ['B', B.encodeMsgAt],
  ]) {
    const N = 2_000_000;
    // CPU time, not the clock: the machine is shared, and time waiting for a core is not the code's.
    const t = process.cpuUsage();
    for (let k = 0; k < N; k++)
      f(arena, (k & 1023) * len, len, k, 1765080000000, subject, subject.length, headers, payload);
    const u = process.cpuUsage(t);
    res[name].push(((u.user + u.system) * 1000) / N);
  }
const s = (v) => {
  v.sort((p, q) => p - q);
  return `${v[v.length >> 1].toFixed(1)} (${v[0].toFixed(1)}–${v[v.length - 1].toFixed(1)})`;
};
console.log(`${len} B record: A ${s(res.A)} ns, B ${s(res.B)} ns`);
