/**
 * O_DSYNC writes one at a time against k in flight, as the file writer's
 * group commit rounds under sync `always`: `n` writes of `size` bytes each
 * into a zero-filled file (the writer fills ahead: file-fill.ts), with k = 1,
 * 2, 3 writes outstanding in the thread pool; prints the wall time per write.
 *   node bench/core-tools/dsync-inflight.mjs <dir on the store's disk> [size] [n] [runs]
 * bench/PROFILE.md, "Issue 16 — jspub3 (round 9)".
 */
import * as fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] ?? '.';
const size = Number(process.argv[3] ?? 10240);
const n = Number(process.argv[4] ?? 400);
const runs = Number(process.argv[5] ?? 3);
const file = path.join(dir, `dsync-inflight-${process.pid}.tmp`);
const buf = Buffer.alloc(size, 7);

async function run(k) {
  const z = fs.openSync(file, 'w');
  fs.writeSync(z, Buffer.alloc(size * n + 4096));
  fs.fsyncSync(z);
  fs.closeSync(z);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_DSYNC);
  let next = 0;
  const write = (i) =>
    new Promise((resolve, reject) =>
      fs.write(fd, buf, 0, size, i * size, (e) => (e ? reject(e) : resolve())),
    );
  const worker = async () => {
    while (next < n) await write(next++);
  };
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: k }, worker));
  const us = Number(process.hrtime.bigint() - t) / 1000 / n;
  fs.closeSync(fd);
  return us;
}

try {
  for (let r = 0; r < runs; r++) {
    const out = [];
    for (const k of [1, 2, 3]) out.push(`k=${k} ${(await run(k)).toFixed(0)} µs/write`);
    console.log(`${size} B:`, out.join('  '));
  }
} finally {
  fs.rmSync(file, { force: true });
}
