/**
 * O_DSYNC writes to N files: what a writer round per stream costs when a
 * request touches N streams. Each round writes `size` bytes to each of the
 * N files (zero-filled first, as the writer fills ahead: file-fill.ts),
 * either all at once in the thread pool (`parallel`, as N stores' writers
 * do) or one after another on this thread (`serial`, as one job writing
 * every file would); prints the wall time and the process's CPU per round.
 *   node bench/core-tools/dsync-files.mjs <dir on the store's disk> [files] [size] [parallel|serial] [rounds]
 * Set UV_THREADPOOL_SIZE to try another pool size. bench/PROFILE.md, "Issue 16 — kwriter (round 12)".
 */
import * as fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] ?? '.';
const n = Number(process.argv[3] ?? 8);
const size = Number(process.argv[4] ?? 16384);
const mode = process.argv[5] ?? 'parallel';
const rounds = Number(process.argv[6] ?? 300);
const span = 8 << 20;
const files = [];
for (let i = 0; i < n; i++) {
  const p = path.join(dir, `dsync-files-${process.pid}-${i}.tmp`);
  fs.writeFileSync(p, Buffer.alloc(span));
  const fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_DSYNC);
  fs.fdatasyncSync(fd);
  files.push({ p, fd });
}
const buf = Buffer.alloc(size, 7);
const write = (fd, pos) =>
  new Promise((resolve, reject) =>
    fs.write(fd, buf, 0, size, pos, (e) => (e ? reject(e) : resolve())),
  );
const t0 = process.hrtime.bigint();
const c0 = process.cpuUsage();
for (let r = 0; r < rounds; r++) {
  const pos = (r * size) % (span - size);
  if (mode === 'serial') for (const f of files) fs.writeSync(f.fd, buf, 0, size, pos);
  else await Promise.all(files.map((f) => write(f.fd, pos)));
}
const wall = Number(process.hrtime.bigint() - t0) / 1e3 / rounds;
const cu = process.cpuUsage(c0);
console.log(
  `${n} files × ${size} B, ${mode}: ${wall.toFixed(0)} µs per round, ${((cu.user + cu.system) / rounds).toFixed(0)} µs CPU per round (pool ${process.env.UV_THREADPOOL_SIZE ?? 4})`,
);
for (const f of files) {
  fs.closeSync(f.fd);
  fs.unlinkSync(f.p);
}
