/**
 * Where the slow round trips of request-reply across a Weft chain spend
 * their time, per process on the path:
 *   NODES=3 node bench/mesh-tools/slow-rt.mjs <requests> <dist>[+<flag>,...] [...]
 * A bare requester (this process's main thread) and responder (a child
 * process), one request at a time, 16 B, 5,000 to warm up. During the
 * measured requests bpftrace (as root) prints every main-thread read and
 * write, every wake-up and every switch of the servers, the requester and
 * the responder; each round trip is then split per process into: waiting
 * to run after a wake-up (runnable, not on a CPU: the scheduler), running
 * from its read to its write, and the rest (kernel, the loop's own turn).
 * Printed: p50/p99 of the round trip, and the mean of each part over the
 * round trips at or over the p99 against the median round trips (p45–p55);
 * how often a wakee ran on the waker's CPU; how long each server runs from
 * its write until it sleeps. (Weft only: a nats-server's goroutines move
 * between its threads, so "read → write" has no one thread to follow.)
 * RAW=<file> keeps bpftrace's output.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { portOf, requester, responderSrc, startTarget } from './reqrep-kit.mjs';

const [n, ...targets] = process.argv.slice(2);
const requests = Number(n);

const or = (ids, field) => ids.map((t) => `${field} == ${t}`).join(' || ');

for (const spec of targets) {
  const { nodes } = await startTarget(spec, { nodes: 3 });
  const stopAll = () => Promise.all(nodes.map((x) => x.stop()));
  process.once('uncaughtException', async (e) => {
    await stopAll();
    throw e;
  });
  const resp = spawn(
    process.execPath,
    [
      '-e',
      responderSrc('Number(process.argv[1])', "process.stdout.write('ready\\n')"),
      String(portOf(nodes.at(-1))),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise((ok) => resp.stdout.once('data', ok));
  const names = new Map();
  nodes.forEach((x, i) => {
    names.set(x.pid, x.name ?? `s${i}`); // the main thread
  });
  names.set(resp.pid, 'resp');
  names.set(process.pid, 'req');
  const ids = [...names.keys()];
  const prog = readFileSync(new URL('./slow-rt.bt.template', import.meta.url), 'utf8')
    .replaceAll('REQ', String(process.pid))
    .replaceAll('WTIDS', or(ids, 'args->pid'))
    .replaceAll('NTIDS', or(ids, 'args->next_pid'))
    .replaceAll('PTIDS', or(ids, 'args->prev_pid'))
    .replaceAll('TIDS', or(ids, 'tid'));
  const btFile = `/tmp/slow-rt-${process.pid}.bt`;
  writeFileSync(btFile, prog);
  let out = '';
  let err = '';
  let bt;
  const t0s = new Array(requests);
  const t1s = new Array(requests);
  const record = (i, t0, t1) => {
    t0s[i] = t0;
    t1s[i] = t1;
  };
  await requester(portOf(nodes[0]), requests, record, async () => {
    bt = spawn('bpftrace', [btFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: String(requests * 8 + 4096) },
    });
    bt.exited = new Promise((ok) => bt.on('exit', ok));
    bt.exited.then(() => {
      if (!out.includes('READY')) throw new Error(`bpftrace: ${err}`);
    });
    bt.stdout.setEncoding('latin1');
    bt.stdout.on('data', (d) => {
      out += d;
    });
    await new Promise((ok) => {
      bt.stderr.on('data', (d) => {
        err += d;
      });
      // BEGIN prints READY once every probe is in place.
      const wait = () => (out.includes('READY') ? setTimeout(ok, 100) : setTimeout(wait, 20));
      wait();
    });
  });
  bt.kill('SIGINT');
  await bt.exited;
  rmSync(btFile, { force: true });
  if (process.env.RAW) writeFileSync(process.env.RAW, out);
  resp.kill();
  await stopAll();
  analyse(spec, names, out, t0s, t1s);
}

function analyse(label, names, text, t0s, t1s) {
  const lat = t0s.map((a, i) => Number(t1s[i] - a) / 1e3);
  const sorted = [...lat].sort((p, q) => p - q);
  const q = (v) => sorted[Math.min(sorted.length - 1, Math.ceil(v * sorted.length) - 1)];
  const p99 = q(0.99);
  const lo = q(0.45);
  const hi = q(0.55);
  const procs = [...new Set(names.values())];
  // @map[rt, tid]: value; round trip i is rt i + 1 (the requester's write counts it).
  const parts = lat.map(() =>
    Object.fromEntries(procs.map((p) => [p, { wait: 0, runq: 0, rw: 0, pre: 0 }])),
  );
  for (const m of text.matchAll(/^@(wait|runq|rw|pre)\[(\d+), (\d+)\]: (\d+)$/gm)) {
    const i = Number(m[2]) - 1;
    const who = names.get(Number(m[3]));
    if (i < 0 || i >= lat.length || who === undefined) continue;
    parts[i][who][m[1]] += m[1] === 'pre' ? Number(m[4]) : Number(m[4]) / 1e3;
  }
  const w2s = new Map();
  for (const m of text.matchAll(/^@w2ss\[(\d+)\]: count (\d+), average (\d+)/gm)) {
    const who = names.get(Number(m[1]));
    if (who !== undefined) w2s.set(who, `${(Number(m[3]) / 1e3).toFixed(1)} µs ×${m[2]}`);
  }
  const wakes = Number(text.match(/^@wakes: (\d+)/m)?.[1] ?? 0);
  const same = Number(text.match(/^@same: (\d+)/m)?.[1] ?? 0);
  const mean = (sel, f) => {
    const idx = lat.map((v, i) => [v, i]).filter(([v]) => sel(v));
    return idx.reduce((s, [, i]) => s + f(i), 0) / Math.max(1, idx.length);
  };
  const slow = (v) => v >= p99;
  const mid = (v) => v >= lo && v <= hi;
  const counted = Number(text.match(/^@rt: (\d+)/m)?.[1] ?? 0);
  console.log(
    `${label}: ${lat.length} round trips (${counted} counted by the probes), p50 ${q(0.5).toFixed(0)} p99 ${p99.toFixed(0)} p99.9 ${q(0.999).toFixed(0)} µs; wakee on the waker's CPU ${((100 * same) / Math.max(1, wakes)).toFixed(0)} %; load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
  );
  console.log(
    `  mean round trip µs, median ones → ≥ p99: ${mean(mid, (i) => lat[i]).toFixed(0)} → ${mean(slow, (i) => lat[i]).toFixed(0)}`,
  );
  let sum = [0, 0];
  for (const p of procs) {
    const ws = ['wait', 'runq', 'rw'].map((k) => [
      mean(mid, (i) => parts[i][p][k]),
      mean(slow, (i) => parts[i][p][k]),
    ]);
    // The requester's read → write runs from one round trip's reply to the next request:
    // between round trips (its clock starts just before the write), so not summed.
    if (p === 'req') ws[2] = [0, 0];
    sum = [sum[0] + ws[0][0] + ws[1][0] + ws[2][0], sum[1] + ws[0][1] + ws[1][1] + ws[2][1]];
    const pre = [mean(mid, (i) => parts[i][p].pre), mean(slow, (i) => parts[i][p].pre)];
    console.log(
      `  ${p.padEnd(4)} runnable after wake ${ws[0][0].toFixed(1)} → ${ws[0][1].toFixed(1)}, after preemption ${ws[1][0].toFixed(1)} → ${ws[1][1].toFixed(1)}, read→write ${ws[2][0].toFixed(1)} → ${ws[2][1].toFixed(1)}, preempted ${pre[0].toFixed(2)} → ${pre[1].toFixed(2)}; write → sleep ${w2s.get(p) ?? '-'}`,
    );
  }
  console.log(
    `  the rest (running outside read→write, kernel, wake-up IPIs): ${(mean(mid, (i) => lat[i]) - sum[0]).toFixed(0)} → ${(mean(slow, (i) => lat[i]) - sum[1]).toFixed(0)}`,
  );
}
