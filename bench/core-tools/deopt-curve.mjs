/**
 * CPU per message of the 1st..Nth consume on ONE fresh Weft process, and
 * (with --trace) V8's deopt/opt trace of that process (issue 16, round 9, "deopt").
 *   node bench/core-tools/deopt-curve.mjs <dist> <push|pull|redis> <msgs> <n> [trace-file]
 * Each consume makes a new stream and consumer (a Redis group on a new key).
 * With a trace file the node runs under `--trace-deopt --trace-opt`, stdout to it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [dist, mode, msgsS, nS, trace] = process.argv.slice(2);
const msgs = Number(msgsS);
const n = Number(nS);
const W = fileURLToPath(new URL('../../dist/', import.meta.url));
const { runJetStream } = await import(path.join(W, 'src/bench/jetstream.js'));
const free = () =>
  new Promise((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
const cpu = (pid) => {
  const x = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ');
  return (Number(x[11]) + Number(x[12])) * 10; // ms
};
const port = await free();
const rport = await free();
const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-deopt-'));
const out = trace ? openSync(trace, 'w') : 'ignore';
const flags = trace ? (process.env.DEOPT_FLAGS ?? '--trace-deopt --trace-opt').split(' ') : [];
const child = spawn(
  process.execPath,
  [
    ...flags,
    path.join(dist, 'src/cli/main.js'),
    'server',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    '-1',
    '--mesh-port',
    '-1',
    '--redis-port',
    String(rport),
    '--data-dir',
    dir,
  ],
  { stdio: ['ignore', out, out] },
);
const up = async (p) => {
  for (let i = 0; i < 1200; i++) {
    const ok = await new Promise((res) => {
      const s = net.connect(p, '127.0.0.1', () => {
        s.destroy();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no server');
};
const row = [];
// The trace's length at each consume's start: split it with `head -c`.
const marks = [];
const mark = () => marks.push(trace ? statSync(trace).size : 0);
try {
  await up(port);
  await up(rport);
  if (mode === 'redis') {
    const { default: Redis } = await import('ioredis');
    const r = new Redis({ port: rport, host: '127.0.0.1' });
    for (let k = 0; k < n; k++) {
      const key = `k${k}`;
      for (let i = 0; i < msgs; i += 500) {
        const p = r.pipeline();
        for (let j = i; j < Math.min(msgs, i + 500); j++) p.xadd(key, '*', 'f', 'x'.repeat(16));
        await p.exec();
      }
      mark();
      await r.xgroup('CREATE', key, 'g', '0');
      const c0 = cpu(child.pid);
      let done = 0;
      for (;;) {
        const got = await r.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'STREAMS', key, '>');
        const list = got?.[0]?.[1] ?? [];
        if (list.length === 0) break;
        await r.xack(key, 'g', ...list.map((e) => e[0]));
        done += list.length;
      }
      row.push(((cpu(child.pid) - c0) * 1000) / done);
    }
    r.disconnect();
  } else {
    const server = { host: '127.0.0.1', port };
    for (let k = 0; k < n; k++) {
      let c0 = 0;
      let c = 0;
      mark();
      const res = await runJetStream(`js-consume-${mode}`, {
        server,
        msgs,
        size: 16,
        onPhase: (p) => {
          if (p === 'start') c0 = cpu(child.pid);
          else c = cpu(child.pid) - c0;
        },
      });
      row.push((c * 1000) / Math.max(1, res.done));
    }
  }
} finally {
  child.kill();
  rmSync(dir, { recursive: true, force: true });
}
if (trace) console.log(`trace offsets at each consume: ${marks.join(' ')}`);
console.log(
  `${mode} ${path.basename(path.dirname(dist)) || dist} ${row.map((x) => x.toFixed(2)).join(' ')}`,
);
