// What bounds the redis-group-c10 row: the row's consume loop (4 serial
// consumers, XREADGROUP COUNT n then XACK of what they got) against one
// server, with, over the measured consume only:
//  - the server's main thread: CPU (utime+stime) / wall = utilisation, its
//    run-queue wait (schedstat) and voluntary context switches (wake-ups),
//    and the other threads' CPU;
//  - the client's own CPU (this process, all threads) and its run-queue wait;
//  - each command's round trip as the client sees it (p50/p90/p99, mean).
// Warmed as the row (WARM runs of the measured size on fresh streams).
//   node bench/core-tools/redis-group-lat.mjs weft|redis [entries=50000] [count=10] [consumers=4]
//   WARM=3 (runs), STRACE=1 (strace -c -f of the server over the consume: read/write/epoll counts;
//   slows both sides, use for counts only), WEFT_ARGS="--sync-interval 1s", DIST=dist
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fillStream } from './redis-entries.mjs';

const side = process.argv[2] ?? 'weft';
const entries = Number(process.argv[3] ?? 50000);
const count = Number(process.argv[4] ?? 10);
const consumers = Number(process.argv[5] ?? 4);
const warmRuns = Number(process.env.WARM ?? 3);
const dist = path.resolve(process.env.DIST ?? 'dist');
const { startWeft, startListening, freePort } = await import(
  pathToFileURL(path.join(dist, 'bench/servers.js')).href
);
const { Redis } = await import('ioredis');

function taskStats(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      const [run, wait, slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')
        .trim()
        .split(' ')
        .map(Number);
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const vol = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]);
      const invol = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)[1]);
      out.set(tid, {
        ut: Number(f[11]) / 100,
        sy: Number(f[12]) / 100,
        cpu: (Number(f[11]) + Number(f[12])) / 100,
        run,
        wait,
        slices,
        vol,
        invol,
      });
    } catch {}
  }
  return out;
}
function diff(a, b, pid) {
  const main = { run: 0, wait: 0, vol: 0, invol: 0, ut: 0, sy: 0 };
  let other = 0;
  for (const [tid, s] of b) {
    const p = a.get(tid) ?? { run: 0, wait: 0, vol: 0, invol: 0, cpu: 0 };
    if (tid === String(pid)) {
      main.run = (s.run - p.run) / 1e9;
      main.wait = (s.wait - p.wait) / 1e9;
      main.vol = s.vol - p.vol;
      main.ut = s.ut - p.ut;
      main.sy = s.sy - p.sy;
      main.invol = s.invol - p.invol;
    } else other += (s.run - p.run) / 1e9;
  }
  return { main, other };
}

async function consume(port, key, rtt) {
  const setup = new Redis({ port, host: '127.0.0.1' });
  await setup.xgroup('CREATE', key, 'g', '0');
  setup.disconnect();
  const cs = Array.from({ length: consumers }, () => new Redis({ port, host: '127.0.0.1' }));
  await Promise.all(cs.map((c) => c.ping()));
  let pairs = 0;
  const t0 = performance.now();
  await Promise.all(
    cs.map(async (c, i) => {
      for (;;) {
        const a = performance.now();
        const got = await c.xreadgroup('GROUP', 'g', `c${i}`, 'COUNT', count, 'STREAMS', key, '>');
        const b = performance.now();
        const list = got?.[0]?.[1] ?? [];
        if (list.length === 0) return;
        await c.xack(key, 'g', ...list.map((e) => e[0]));
        const d = performance.now();
        if (rtt) {
          rtt.read.push(b - a);
          rtt.ack.push(d - b);
        }
        pairs++;
      }
    }),
  );
  const ms = performance.now() - t0;
  for (const c of cs) c.disconnect();
  return { pairs, ms };
}
function pct(xs) {
  const s = Float64Array.from(xs).sort();
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))] * 1000;
  const mean = (s.reduce((x, y) => x + y, 0) / s.length) * 1000;
  return `p50 ${q(0.5).toFixed(0)} p90 ${q(0.9).toFixed(0)} p99 ${q(0.99).toFixed(0)} mean ${mean.toFixed(0)} µs`;
}

const port = await freePort();
let proc;
let tmp = null;
if (side === 'redis') {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'grouplat-redis-'));
  proc = await startListening(
    'redis-server',
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--dir',
      tmp,
    ],
    port,
  );
} else {
  const extra = (process.env.WEFT_ARGS ?? '').split(' ').filter(Boolean);
  proc = await startWeft(path.join(dist, 'src/cli/main.js'), [
    '--mesh-port',
    '-1',
    '--redis-port',
    String(port),
    ...extra,
  ]);
}
try {
  for (let w = 0; w < warmRuns; w++) {
    await fillStream(port, `warm${w}`, entries);
    await consume(port, `warm${w}`, null);
  }
  await fillStream(port, 'bench', entries);
  const rtt = { read: [], ack: [] };
  let st = null;
  let stOut = '';
  const sc = [
    'read',
    'write',
    'writev',
    'pwrite64',
    'epoll_wait',
    'epoll_pwait',
    'futex',
    'fdatasync',
  ];
  if (process.env.PERFSTAT) {
    const ev = sc.map((x) => `syscalls:sys_enter_${x}`).join(',');
    st = spawn(
      'perf',
      [
        'stat',
        ...(process.env.PERFSTAT === 'thread' ? ['--per-thread'] : []),
        '-x',
        ',',
        '-e',
        ev,
        '-p',
        String(proc.pid),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    st.stderr.on('data', (d) => {
      stOut += d;
    });
    await new Promise((r) => setTimeout(r, 500));
  } else if (process.env.STRACE) {
    st = spawn('strace', ['-c', '-f', '-p', String(proc.pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    st.stderr.on('data', (d) => {
      stOut += d;
    });
    await new Promise((r) => setTimeout(r, 500));
  }
  const s0 = taskStats(proc.pid);
  const c0 = taskStats(process.pid);
  const u0 = process.cpuUsage();
  const { pairs, ms } = await consume(port, 'bench', rtt);
  const u1 = process.cpuUsage(u0);
  const s1 = taskStats(proc.pid);
  const c1 = taskStats(process.pid);
  if (st) {
    st.kill('SIGINT');
    await new Promise((r) => st.on('close', r));
  }
  const sv = diff(s0, s1, proc.pid);
  const cl = diff(c0, c1, process.pid);
  const sec = ms / 1000;
  const n = pairs * count;
  const us = (x) => ((x / n) * 1e6).toFixed(2);
  console.log(
    `${side}: ${n} entries in ${ms.toFixed(0)} ms = ${(n / sec / 1000).toFixed(1)}k entries/s, ${pairs} pairs, wall per pair per consumer ${((ms * 1000 * consumers) / pairs).toFixed(0)} µs`,
  );
  console.log(
    `  server main thread: ${us(sv.main.run)} µs CPU/entry, busy ${((sv.main.run / sec) * 100).toFixed(0)} % of wall, run-queue wait ${((sv.main.wait / sec) * 100).toFixed(0)} % of wall (${us(sv.main.wait)} µs/entry), wake-ups ${(sv.main.vol / pairs / 2).toFixed(2)}/cmd, preempted ${(sv.main.invol / pairs / 2).toFixed(3)}/cmd, kernel share ${((sv.main.sy / (sv.main.ut + sv.main.sy)) * 100).toFixed(0)} % (10 ms ticks)`,
  );
  console.log(
    `  server other threads: ${us(sv.other)} µs CPU/entry (${((sv.other / sec) * 100).toFixed(0)} % of a core)`,
  );
  console.log(
    `  client (this process): ${(((u1.user + u1.system) / 1e6 / n) * 1e6).toFixed(2)} µs CPU/entry (${(((u1.user + u1.system) / 1e6 / sec) * 100).toFixed(0)} % of a core), main run-queue wait ${((cl.main.wait / sec) * 100).toFixed(0)} % of wall, wake-ups ${(cl.main.vol / pairs / 2).toFixed(2)}/cmd`,
  );
  console.log(`  RTT XREADGROUP ${pct(rtt.read)}`);
  console.log(`  RTT XACK       ${pct(rtt.ack)}`);
  if (st && process.env.PERFSTAT) {
    for (const l of stOut.split('\n')) {
      const f = l.split(',');
      const m = /sys_enter_(\w+)/.exec(l);
      if (m && process.env.PERFSTAT === 'thread')
        console.log(
          `  perf ${f[0].padEnd(18)} ${m[1].padEnd(12)} ${f[1].padStart(8)} calls = ${(Number(f[1]) / pairs / 2).toFixed(3)}/cmd`,
        );
      else if (m)
        console.log(
          `  perf ${m[1].padEnd(12)} ${f[0].padStart(8)} calls = ${(Number(f[0]) / pairs / 2).toFixed(3)}/cmd`,
        );
    }
  } else if (st) {
    const lines = stOut
      .split('\n')
      .filter((l) =>
        /\s(read|write|writev|epoll_wait|epoll_pwait|io_uring_enter|futex|pwrite64|fdatasync|fsync|total)$/.test(
          l,
        ),
      );
    for (const l of lines) {
      const f = l.trim().split(/\s+/);
      const calls = Number(f[3]);
      console.log(
        `  strace ${f[f.length - 1].padEnd(12)} ${String(calls).padStart(8)} calls = ${(calls / pairs / 2).toFixed(3)}/cmd`,
      );
    }
  }
} finally {
  await proc.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
