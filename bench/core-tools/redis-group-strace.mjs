// Syscalls of a Redis group's consume phase (XREADGROUP COUNT n + XACK, serial
// consumers: the redis-group-c<n> loop), counted by `strace -c -f -p <node>`
// around the consume alone; divided per command pair.
//   node bench/core-tools/redis-group-strace.mjs [distDir=dist] [entries=5000] [count=10] [consumers=4]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fillStream } from './redis-entries.mjs';

const dist = path.resolve(process.argv[2] ?? 'dist');
const entries = Number(process.argv[3] ?? 5000);
const count = Number(process.argv[4] ?? 10);
const consumers = Number(process.argv[5] ?? 4);
const { startWeft, freePort } = await import(
  pathToFileURL(path.join(dist, 'bench/servers.js')).href
);
const { Redis } = await import('ioredis');

async function consume(port, key, group) {
  const cs = Array.from({ length: consumers }, () => new Redis({ port, host: '127.0.0.1' }));
  let pairs = 0;
  await Promise.all(
    cs.map(async (c, i) => {
      for (;;) {
        const got = await c.xreadgroup(
          'GROUP',
          group,
          `c${i}`,
          'COUNT',
          count,
          'STREAMS',
          key,
          '>',
        );
        const list = got?.[0]?.[1] ?? [];
        if (list.length === 0) return;
        await c.xack(key, group, ...list.map((e) => e[0]));
        pairs++;
      }
    }),
  );
  for (const c of cs) c.disconnect();
  return pairs;
}
const port = await freePort();
const node = await startWeft(path.join(dist, 'src/cli/main.js'), [
  '--mesh-port',
  '-1',
  '--redis-port',
  String(port),
]);
try {
  const setup = new Redis({ port, host: '127.0.0.1' });
  const warm = Number(process.env.WARM ?? 2000); // WARM=<entries> drained before the measure
  // WARM_STREAMS=<n>: the warm-up spread over n streams and groups (default 1).
  const warmStreams = Number(process.env.WARM_STREAMS ?? 1);
  for (let k = 0; k < warmStreams; k++) {
    await fillStream(port, `warm${k}`, Math.ceil(warm / warmStreams));
    await setup.xgroup('CREATE', `warm${k}`, 'w', '0');
    await consume(port, `warm${k}`, 'w');
  }
  await fillStream(port, 'bench', entries);
  await setup.xgroup('CREATE', 'bench', 'g', '0');
  const out = [];
  // NO_STRACE=1: only the pause and the consume (for WEFT_BENCH_NODE_ARGS=--cpu-prof,
  // then profile-self.mjs with AFTER_IDLE_MS=400).
  // PERF=<file>: `perf record` of the node instead of strace (perf report -i <file> --sort tid,dso,sym).
  const st = process.env.PERF
    ? spawn(
        'perf',
        [
          'record',
          ...(process.env.PERF_G ? ['-g'] : []),
          '-F',
          '2000',
          '-o',
          process.env.PERF,
          '-p',
          String(node.pid),
        ],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      )
    : process.env.NO_STRACE
      ? null
      : spawn('strace', ['-c', '-f', '-p', String(node.pid)], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
  st?.stderr.on('data', (d) => out.push(d));
  await new Promise((r) => setTimeout(r, 500));
  const cpu = () => {
    const f = readFileSync(`/proc/${node.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return [Number(f[11]) * 10, Number(f[12]) * 10]; // ms (USER_HZ 100)
  };
  // per thread: user+sys ms, by thread name
  const threads = () => {
    const m = new Map();
    for (const t of readdirSync(`/proc/${node.pid}/task`)) {
      const st = readFileSync(`/proc/${node.pid}/task/${t}/stat`, 'utf8');
      const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.split(') ')[1].split(' ');
      const k = `${name}/${t}`;
      m.set(k, (Number(f[11]) + Number(f[12])) * 10);
    }
    return m;
  };
  const t0 = threads();
  const [u0, s0] = cpu();
  // COUNT_SIGNAL=1: SIGUSR2 to the node before and after (a --require'd counter writes its counts).
  if (process.env.COUNT_SIGNAL) process.kill(node.pid, 'SIGUSR2');
  const pairs = await consume(port, 'bench', 'g');
  const [u1, s1] = cpu();
  if (process.env.COUNT_SIGNAL) process.kill(node.pid, 'SIGUSR2');
  const t1 = threads();
  for (const [k, v] of t1) {
    const d = v - (t0.get(k) ?? 0);
    if (d > 0) console.log(`  thread ${k}: ${(d * 1000) / pairs} µs/pair`);
  }
  console.log(
    `node CPU: user ${((u1 - u0) * 1000) / pairs} µs/pair, sys ${((s1 - s0) * 1000) / pairs} µs/pair`,
  );
  if (st) {
    st.kill('SIGINT');
    await new Promise((r) => st.on('close', r));
  }
  setup.disconnect();
  console.log(`${pairs} XREADGROUP+XACK pairs (+0.5 s idle before)`);
  const text = Buffer.concat(out).toString();
  for (const line of text.split('\n')) {
    const m = line.trim().split(/\s+/);
    if (m.length >= 5 && /^\d/.test(m[0]) && /^\d+$/.test(m[3])) {
      const calls = Number(m[3]);
      console.log(
        `${m.at(-1).padEnd(18)} ${String(calls).padStart(8)}  ${(calls / pairs).toFixed(2)}/pair`,
      );
    } else if (line.includes('total')) console.log(line);
  }
} finally {
  await node.stop();
}
