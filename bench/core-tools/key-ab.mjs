/**
 * A/B of the XADD path's key memo (stream-args.ts `nameAt` on its kept key)
 * between two built trees, interleaved in one process, ns of CPU per call:
 * the row's 34-byte key at 64 places in a shared read buffer, a view of it
 * per read as the session passes it. Warmed first with the row's warm-up
 * keys (40 B), as the bench does.
 *   node bench/core-tools/key-ab.mjs <distA> <distB>
 */
const [a, b] = process.argv.slice(2);
const A = await import(`${a}/src/protocols/redis/commands/stream-args.js`);
const B = await import(`${b}/src/protocols/redis/commands/stream-args.js`);
const READ = Buffer.allocUnsafeSlow(64 * 1024);
/** 64 XADDs of `key` in READ; the key's offsets. */
function fill(key) {
  const cmd = Buffer.from(
    `*5\r\n$4\r\nXADD\r\n$${key.length}\r\n${key}\r\n$1\r\n*\r\n$1\r\nf\r\n$16\r\nxxxxxxxxxxxxxxxx\r\n`,
  );
  const at = [];
  for (let i = 0; i < 64; i++) {
    cmd.copy(READ, i * cmd.length);
    at.push(i * cmd.length + cmd.indexOf(key));
  }
  return { at, end: 64 * cmd.length, n: key.length };
}
function loop(f, k, reads) {
  let names = 0;
  for (let r = 0; r < reads; r++) {
    const buf = READ.subarray(0, k.end);
    for (const s of k.at) if (typeof f(buf, s, s + k.n) === 'string') names++;
  }
  return names;
}
for (let w = 0; w < 3; w++) {
  const k = fill(`bench:redis-xadd-p64-warm${w}:176508000000${w}`);
  loop(A.nameAt, k, 2000);
  loop(B.nameAt, k, 2000);
}
const res = { A: [], B: [] };
const READS = 20_000;
for (let r = 0; r < 9; r++)
  for (const [name, f] of [
    ['A', A.nameAt],
    ['B', B.nameAt],
  ]) {
    // Each side's memo is its own module's: fill for the row's key, then measure.
    const k = fill('bench:redis-xadd-p64:1765080000000');
    loop(f, k, 2);
    const t = process.cpuUsage();
    if (loop(f, k, READS) !== READS * 64) throw new Error('a key named no stream');
    const u = process.cpuUsage(t);
    res[name].push(((u.user + u.system) * 1000) / (READS * 64));
  }
const s = (v) => {
  v.sort((p, q) => p - q);
  return `${v[v.length >> 1].toFixed(1)} (${v[0].toFixed(1)}–${v[v.length - 1].toFixed(1)})`;
};
console.log(`nameAt, 34 B kept key: A ${s(res.A)} ns, B ${s(res.B)} ns`);
