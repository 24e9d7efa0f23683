/**
 * What one durable write costs on this disk, by way of making it durable:
 * n sequential writes of `size` bytes (a writer round's run of records),
 * each durable before the next, one child process per way and round (the
 * ways rotate within a round, so the machine's noise falls on all of
 * them), one bpftrace for the whole run counting each child's block I/Os
 * by kind (WS data, WSM the inode, F a cache flush).
 *
 * Ways (all "durable when the call returns", the guarantee the writer's
 * acks rest on):
 *   dsync-fill     O_DSYNC pwrite into zeros written and synced ahead (what the writer does)
 *   fds-fill       pwrite + fdatasync into the same
 *   dsync-append   O_DSYNC pwrite growing the file
 *   fds-append     pwrite + fdatasync growing the file
 *   dsync-falloc   O_DSYNC pwrite into fallocate'd (unwritten) space (`fallocate -l`; Node has no fallocate)
 *   direct-fill    O_DIRECT|O_DSYNC into zeros: 4 KiB-aligned start (the tail block rewritten), 512 B-aligned end,
 *                  from a buffer aligned by probing (Node gives no address)
 *   dsync-mark     dsync-fill plus the synced mark's 32-byte pwrite to another file after each write
 *   dsync-markdir  dsync-mark with the mark in another directory (its inode in another inode-table block)
 *   dsync-stat     dsync-fill with an fstat before each write (the mtime queried: multigrain timestamps go fine)
 *   direct512-fill direct-fill with a 512 B-aligned start (a partial file-system block rewritten)
 *   dsync-dfill    dsync-fill into zeros written with O_DIRECT (a fill that leaves no zero pages cached)
 * References, NOT durable (no cache flush; the lower bound of the data write alone):
 *   direct-nosync    O_DIRECT into zeros, no O_DSYNC
 *   buffered-nosync  pwrite into the page cache only
 *
 *   node bench/core-tools/dsync-ways.mjs <dir on the store's disk> [size] [n] [rounds] [way,way,...]
 * READBACK=1 also reads each write back through a plain descriptor, as the
 * store's read windows would (a column of its own; its CPU is in the CPU column).
 * Prints, per way: median (min–max over rounds) of the wall time per write
 * (mean, and p50 / p90 within a run), the process's CPU per write (user +
 * system: the total is the scheduler's exact run time, the split between
 * the two is sampled at the 250 Hz tick, so only the total is shown), and
 * block I/Os per write by kind. Needs root and bpftrace for the I/O
 * counts (without, they read "-"). bench/PROFILE.md, "Issue 16 — jsdsync (round 13)".
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ALL = [
  'dsync-fill',
  'fds-fill',
  'dsync-append',
  'fds-append',
  'dsync-falloc',
  'direct-fill',
  'dsync-mark',
  'dsync-stat',
  'dsync-markdir',
  'direct512-fill',
  'dsync-dfill',
  'direct-nosync',
  'buffered-nosync',
];
const c = fs.constants;

if (process.argv[2] === '--child') {
  const [, , , way, file, sizeArg, nArg] = process.argv;
  const size = Number(sizeArg);
  const n = Number(nArg);
  const direct = way.startsWith('direct');
  const align = way === 'direct512-fill' ? 511 : 4095;
  let flags = c.O_RDWR;
  if (!['fds-fill', 'fds-append', 'direct-nosync', 'buffered-nosync'].includes(way))
    flags |= c.O_DSYNC;
  if (direct) flags |= c.O_DIRECT;
  const fd = fs.openSync(file, flags);
  let buf = Buffer.alloc(size + 8192, 7);
  if (direct) {
    // An O_DIRECT read into a misaligned buffer fails with EINVAL: probe
    // 16-byte steps until one works (a Buffer's memory does not move).
    const big = Buffer.allocUnsafeSlow(size + 16384);
    let at = -1;
    for (let o = 0; o < 4096 && at < 0; o += 16) {
      try {
        fs.readSync(fd, big, o, 4096, 0);
        at = o;
      } catch {}
    }
    if (at < 0) throw new Error('no aligned offset found');
    buf = big.subarray(at);
    buf.fill(7);
  }
  const markPath =
    way === 'dsync-mark' ? `${file}.mark` : way === 'dsync-markdir' ? `${file}.d/mark` : null;
  const markFd = markPath === null ? -1 : fs.openSync(markPath, c.O_RDWR | c.O_CREAT, 0o644);
  if (process.env.SHOW_INODES)
    console.error(way, fs.statSync(file).ino, markPath && fs.statSync(markPath).ino);
  const mark = Buffer.alloc(32, 1);
  // READBACK=1: after each write, read what it wrote through a plain descriptor (as the
  // store's read windows do): from the page cache, or from the disk after an O_DIRECT write.
  const readFd = process.env.READBACK ? fs.openSync(file, 'r') : -1;
  const back = Buffer.alloc(size);
  let readUs = 0;
  const lat = new Float64Array(n);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    if (way === 'dsync-stat') fs.fstatSync(fd);
    if (direct) {
      const from = pos & ~align;
      const end = (pos + size + 511) & ~511;
      fs.writeSync(fd, buf, 0, end - from, from);
    } else {
      fs.writeSync(fd, buf, 0, size, pos);
      if (way === 'fds-fill' || way === 'fds-append') fs.fdatasyncSync(fd);
    }
    if (markFd >= 0) fs.writeSync(markFd, mark, 0, 32, 0);
    lat[i] = Number(process.hrtime.bigint() - s) / 1e3;
    if (readFd >= 0) {
      const r = process.hrtime.bigint();
      fs.readSync(readFd, back, 0, size, pos);
      readUs += Number(process.hrtime.bigint() - r) / 1e3;
    }
    pos += size;
  }
  const cu = process.cpuUsage(c0);
  const wall = (Number(process.hrtime.bigint() - t0) / 1e3 - readUs) / n;
  lat.sort();
  process.stdout.write(
    JSON.stringify({
      pid: process.pid,
      wall,
      p50: lat[n >> 1],
      p90: lat[Math.floor(n * 0.9)],
      cpu: (cu.user + cu.system) / n,
      read: readUs / n,
    }),
  );
  process.exit(0);
}

const dir = process.argv[2] ?? '.';
const size = Number(process.argv[3] ?? 9000);
const n = Number(process.argv[4] ?? 400);
const rounds = Number(process.argv[5] ?? 4);
const ways = (process.argv[6] ?? ALL.join(',')).split(',');
const span = size * n + 65536;
const file = path.join(dir, `dsync-ways-${process.pid}.tmp`);

/** The file as the way wants it before the timed writes (made here, not counted). */
function prepare(way) {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.mark`, { force: true });
  fs.rmSync(`${file}.d`, { force: true, recursive: true });
  if (way === 'dsync-markdir') fs.mkdirSync(`${file}.d`);
  if (way.endsWith('-append')) fs.writeFileSync(file, '');
  else if (way === 'dsync-falloc') execFileSync('fallocate', ['-l', String(span), file]);
  else if (way === 'dsync-dfill') {
    const fd = fs.openSync(file, c.O_RDWR | c.O_CREAT | c.O_TRUNC | c.O_DIRECT, 0o644);
    const big = Buffer.alloc((1 << 20) + 4096);
    let at = -1;
    for (let o = 0; o < 4096 && at < 0; o += 16) {
      try {
        fs.writeSync(fd, big, o, 4096, 0);
        at = o;
      } catch {}
    }
    const z = big.subarray(at, at + (1 << 20));
    for (let p = 0; p < span; p += z.length) fs.writeSync(fd, z, 0, z.length, p);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  } else {
    const fd = fs.openSync(file, 'w');
    const z = Buffer.alloc(1 << 20);
    for (let p = 0; p < span; p += z.length)
      fs.writeSync(fd, z, 0, Math.min(z.length, span - p), p);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  const dfd = fs.openSync(dir, 'r');
  fs.fsyncSync(dfd);
  fs.closeSync(dfd);
}

// One bpftrace for the run: block I/Os queued, by process and kind.
const BT = `tracepoint:block:block_bio_queue { @io[pid, args->rwbs] = count(); }
tracepoint:block:block_rq_issue /strncmp(args->rwbs, "F", 1) == 0/ { @fl = count(); }
END { clear(@fl); }`;
let bt = null;
let btOut = null;
if (process.getuid?.() === 0) {
  try {
    execFileSync('which', ['bpftrace'], { stdio: 'ignore' });
    btOut = path.join(os.tmpdir(), `dsync-ways-${process.pid}.bt.txt`);
    const btFile = path.join(os.tmpdir(), `dsync-ways-${process.pid}.bt`);
    fs.writeFileSync(btFile, BT);
    bt = spawn('bpftrace', ['-o', btOut, btFile], { stdio: 'ignore' });
    // Attached once its output file says so.
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      if (fs.existsSync(btOut) && fs.readFileSync(btOut, 'utf8').includes('Attaching')) break;
    }
  } catch {
    bt = null;
  }
}

const res = new Map(ways.map((w) => [w, []]));
for (let r = 0; r < rounds; r++) {
  const order = ways.map((_, i) => ways[(i + r) % ways.length]);
  for (const way of order) {
    prepare(way);
    const child = spawn(
      process.execPath,
      [new URL(import.meta.url).pathname, '--child', way, file, String(size), String(n)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    await once(child, 'exit');
    res.get(way).push(JSON.parse(out));
  }
}
fs.rmSync(file, { force: true });
fs.rmSync(`${file}.mark`, { force: true });
fs.rmSync(`${file}.d`, { force: true, recursive: true });

/** Block I/Os per write of each child, by kind. */
const ios = new Map();
if (bt !== null) {
  bt.kill('SIGINT');
  await once(bt, 'exit');
  for (const line of fs.readFileSync(btOut, 'utf8').split('\n')) {
    const m = /^@io\[(\d+), ([A-Z]+)\]: (\d+)/.exec(line);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (!ios.has(pid)) ios.set(pid, {});
    ios.get(pid)[m[2]] = Number(m[3]);
  }
  fs.rmSync(btOut, { force: true });
}

const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const band = (xs, d = 0) =>
  `${med(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
const load = os.loadavg()[0].toFixed(1);
console.log(
  `${size} B × ${n} writes, ${rounds} rounds, load ${load}, ${new Date().toISOString().slice(11, 16)} UTC`,
);
const rb = process.env.READBACK ? ' read-back µs |' : '';
console.log(`| way | wall µs/write | p50 | p90 | CPU µs/write | block I/Os per write |${rb}`);
console.log(`|---|--:|--:|--:|--:|---|${rb ? '--:|' : ''}`);
for (const way of ways) {
  const rs = res.get(way);
  const kinds = {};
  for (const x of rs) {
    for (const [k, v] of Object.entries(ios.get(x.pid) ?? {})) kinds[k] = (kinds[k] ?? 0) + v;
  }
  const io =
    Object.keys(kinds).length === 0
      ? '-'
      : Object.entries(kinds)
          .sort()
          .map(([k, v]) => `${k} ${(v / (n * rs.length)).toFixed(2)}`)
          .join(', ');
  console.log(
    `| ${way} | ${band(rs.map((x) => x.wall))} | ${band(rs.map((x) => x.p50))} | ${band(rs.map((x) => x.p90))} | ${band(
      rs.map((x) => x.cpu),
      1,
    )} | ${io} |${rb ? ` ${band(rs.map((x) => x.read))} |` : ''}`,
  );
}
