/**
 * Redis consumer groups, node CPU per entry: the CPU seconds (utime and
 * stime, from /proc/<pid>/stat) a node spends draining a stream through a
 * group — 4 consumers looping `XREADGROUP GROUP g c<i> COUNT n STREAMS s >`
 * and one XACK of what they got, the `redis-group-c<n>` rows' loop
 * (bench/redis-groups.ts) — divided by the entries, the fill (pipelined
 * XADDs) measured apart. Far less sensitive to a busy machine than
 * entries/s. Sides (this build, and `--base` another build) run
 * interleaved, round by round, each on a fresh node; medians with min–max.
 *
 * ```sh
 * npm run build
 * node dist/bench/redis-group-cpu.js --base /tmp/base/dist/src/cli/main.js --entries 20000 --count 10 --rounds 3
 * node dist/bench/redis-group-cpu.js --count 100 --server-args "--sync-interval 1s"
 * node dist/bench/redis-group-cpu.js --base /tmp/base/dist/src/cli/main.js --warm 50000   # as warm as the row (3 runs)
 * ```
 *
 * Linux only (/proc).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, type ServerProc, startWeft } from './servers.js';

const TICK = 100; // clock ticks per second (USER_HZ) on Linux

function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

const { values } = parseArgs({
  options: {
    main: { type: 'string' },
    base: { type: 'string' },
    entries: { type: 'string', default: '20000' },
    count: { type: 'string', default: '10' },
    consumers: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    // Entries drained through another group before the measure, in
    // `--warm-runs` streams and groups one after the other (as the row,
    // redis-groups.ts: 3 runs of the measured size). At 2k, or in one
    // group, TurboFan still compiles (and the new group deopts) during the
    // measure: up to ~2x the CPU per entry (bench/PROFILE.md, rgroup4).
    warm: { type: 'string', default: '2000' },
    'warm-runs': { type: 'string', default: '3' },
    'server-args': { type: 'string', default: '' },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const mainJs = values.main ?? path.join(here, '..', 'src', 'cli', 'main.js');
const entries = Number(values.entries);
const count = Number(values.count);
const consumers = Number(values.consumers);
const rounds = Number(values.rounds);
const serverArgs = values['server-args']!.split(' ').filter(Boolean);

const sides = [{ name: 'weft', mainJs }];
if (values.base) sides.push({ name: 'base', mainJs: values.base });

const samples = new Map<string, { fill: number[]; consume: number[]; rate: number[] }>();

async function fill(port: number, key: string, n: number): Promise<void> {
  const r = new Redis({ port, host: '127.0.0.1' });
  try {
    for (let i = 0; i < n; i += 500) {
      const p = r.pipeline();
      for (let j = i; j < Math.min(n, i + 500); j++) p.xadd(key, '*', 'f', 'x'.repeat(16));
      await p.exec();
    }
  } finally {
    r.disconnect();
  }
}

async function consume(port: number, key: string, group: string): Promise<number> {
  const clients = Array.from({ length: consumers }, () => new Redis({ port, host: '127.0.0.1' }));
  let done = 0;
  try {
    await Promise.all(
      clients.map(async (c, i) => {
        for (;;) {
          const got = (await c.xreadgroup(
            'GROUP',
            group,
            `c${i}`,
            'COUNT',
            count,
            'STREAMS',
            key,
            '>',
          )) as [string, [string, string[]][]][] | null;
          const list = got?.[0]?.[1] ?? [];
          if (list.length === 0) return;
          const acked = await c.xack(key, group, ...list.map((e) => e[0]));
          if (acked !== list.length) throw new Error(`XACK acked ${acked} of ${list.length}`);
          done += list.length;
        }
      }),
    );
  } finally {
    for (const c of clients) c.disconnect();
  }
  return done;
}

async function oneRun(side: { name: string; mainJs: string }): Promise<void> {
  const port = await freePort();
  let node: ServerProc | undefined;
  try {
    node = await startWeft(side.mainJs, [
      '--mesh-port',
      '-1',
      '--redis-port',
      String(port),
      ...serverArgs,
    ]);
    const setup = new Redis({ port, host: '127.0.0.1' });
    // Not measured: V8 compiles the hot paths.
    for (let w = 0; w < Number(values['warm-runs']); w++) {
      await fill(port, `warm${w}`, Number(values.warm));
      await setup.xgroup('CREATE', `warm${w}`, 'w', '0');
      await consume(port, `warm${w}`, 'w');
    }
    const a = cpuOf(node.pid);
    await fill(port, 'bench', entries);
    const b = cpuOf(node.pid);
    await setup.xgroup('CREATE', 'bench', 'g', '0');
    const t0 = performance.now();
    const c0 = cpuOf(node.pid);
    const done = await consume(port, 'bench', 'g');
    const c1 = cpuOf(node.pid);
    const ms = performance.now() - t0;
    setup.disconnect();
    if (done !== entries) throw new Error(`consumed ${done} of ${entries}`);
    const s = samples.get(side.name) ?? { fill: [], consume: [], rate: [] };
    s.fill.push(((b - a) * 1e6) / entries);
    s.consume.push(((c1 - c0) * 1e6) / entries);
    s.rate.push((done / ms) * 1000);
    samples.set(side.name, s);
    console.log(
      `  ${side.name.padEnd(6)} consume ${(((c1 - c0) * 1e6) / entries).toFixed(1)} µs/entry, ${Math.round((done / ms) * 1000)} entries/s; fill ${(((b - a) * 1e6) / entries).toFixed(1)} µs/XADD  load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
    );
  } finally {
    await node?.stop();
  }
}

for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? sides : [...sides].reverse();
  for (const s of order) await oneRun(s);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const band = (xs: number[], d = 1) =>
  `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
console.log(
  `\n${entries} entries, COUNT ${count}, ${consumers} consumers, ${rounds} rounds ${serverArgs.join(' ')}`,
);
console.log('| side | consume µs CPU/entry | entries/s | fill µs CPU/XADD |');
console.log('|---|---:|---:|---:|');
for (const [name, s] of samples) {
  console.log(`| ${name} | ${band(s.consume)} | ${band(s.rate, 0)} | ${band(s.fill)} |`);
}
