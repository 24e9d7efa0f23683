/**
 * `weft server --workers N` against one worker and nats-server (docs/workers.md):
 * what a second process buys where it should (many connections: publishers
 * in parallel) and what it costs where it could hurt (one connection's
 * request-reply latency, 1→1 pub/sub that may cross workers).
 *
 *   node dist/bench/workers.js [--workers 2] [--msgs 1000000] [--pubs 4] [--rounds 3] [--only pubN,pubsub,reqrep]
 *
 * Each row reports throughput and the server's CPU per message: the CPU
 * seconds of the server's whole process tree (primary and workers, from
 * /proc) over the messages, which is far less sensitive than msgs/s to the
 * load other processes put on the machine. The load average is printed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCpuMs } from '../src/bench/idle.js';
import { type BenchResult, headline, runBench, type Workload } from '../src/bench/runner.js';
import {
  ensureNatsServer,
  killAll,
  type ServerProc,
  startNatsServer,
  startWeft,
} from './servers.js';

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** The process and its descendants (the primary's workers), from /proc. */
function tree(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const [p, pp] of parent) if (pp === out[i]) out.push(p);
  }
  return out;
}

/** CPU ms so far of the process and each of its descendants, by pid. */
function treeCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of tree(pid)) {
    try {
      out.set(p, readCpuMs(p));
    } catch {}
  }
  return out;
}

/** CPU ms used between two readings: the total, and per process ("pid:ms"). */
function cpuSpent(a: Map<number, number>, b: Map<number, number>): { ms: number; split: string } {
  let ms = 0;
  const parts: string[] = [];
  for (const [pid, v] of b) {
    const d = v - (a.get(pid) ?? 0);
    ms += d;
    parts.push(`${pid}:${d}ms`);
  }
  return { ms, split: parts.join(' ') };
}

interface Row {
  id: string;
  label: string;
  run(server: ServerProc, msgs: number): Promise<{ msgs: number; rate: number; extra: string }>;
}

function one(workload: Workload, subs: number) {
  return async (server: ServerProc, msgs: number) => {
    const r = await runBench({ workload, server: server.url, msgs, size: 16, subs });
    if (!r.complete) throw new Error(`${workload}: ${r.ended} ${r.errors.join('; ')}`);
    const extra =
      r.latency !== undefined
        ? `p50 ${r.latency.p50.toFixed(0)} µs, p99 ${r.latency.p99.toFixed(0)} µs`
        : '';
    return { msgs: r.sub?.received ?? r.msgs, rate: headline(r), extra };
  };
}

function rows(pubs: number): Row[] {
  return [
    {
      id: 'pubN',
      label: `publish only, ${pubs} connections at once, 16 B`,
      run: async (server, msgs) => {
        const each = Math.ceil(msgs / pubs);
        const t0 = performance.now();
        const rs: BenchResult[] = await Promise.all(
          Array.from({ length: pubs }, () =>
            runBench({ workload: 'pub', server: server.url, msgs: each, size: 16, subs: 0 }),
          ),
        );
        const ms = performance.now() - t0;
        for (const r of rs) if (!r.complete) throw new Error(`pub: ${r.ended}`);
        return { msgs: each * pubs, rate: (each * pubs * 1000) / ms, extra: '' };
      },
    },
    { id: 'pubsub', label: 'pub/sub 1→1, 16 B', run: one('pubsub', 1) },
    { id: 'fanout', label: 'fan-out 1→4, 16 B', run: one('fanout', 4) },
    { id: 'reqrep', label: 'request-reply, one connection each', run: one('reqrep', 0) },
  ];
}

async function waitWorkers(server: ServerProc, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const v = (await (await fetch(`http://127.0.0.1:${server.httpPort}/varz`)).json()) as {
        workers?: { list: unknown[] };
      };
      if (n <= 1 || v.workers?.list.length === n) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${server.name}: ${n} workers not ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '2' },
      msgs: { type: 'string', default: '1000000' },
      pubs: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '3' },
      only: { type: 'string' },
    },
  });
  const workers = Number(values.workers);
  const msgs = Number(values.msgs);
  const rounds = Number(values.rounds);
  const only = values.only?.split(',');
  const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const natsBin = ensureNatsServer(log);
  const servers: { name: string; start: () => Promise<ServerProc>; n: number }[] = [
    { name: 'weft', start: () => startWeft(mainJs, [], 'weft', true), n: 1 },
    {
      name: `weft --workers ${workers}`,
      start: () => startWeft(mainJs, ['--workers', String(workers)], `weft-w${workers}`, true),
      n: workers,
    },
    ...(natsBin === null
      ? []
      : [{ name: 'nats-server', start: () => startNatsServer(natsBin), n: 1 }]),
  ];
  const table = rows(Number(values.pubs)).filter((r) => only === undefined || only.includes(r.id));
  log(
    `${os.availableParallelism()} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start; ${rounds} interleaved rounds, medians`,
  );
  const results = new Map<string, { rate: number[]; cpuUs: number[]; extra: string[] }>();
  for (let round = 0; round < rounds; round++) {
    for (const s of servers) {
      const server = await s.start();
      try {
        if (s.n > 1) await waitWorkers(server, s.n);
        for (const row of table) {
          const n = row.id === 'reqrep' ? Math.max(1000, Math.round(msgs / 50)) : msgs;
          const cpu0 = treeCpu(server.pid);
          const r = await row.run(server, n);
          const spent = cpuSpent(cpu0, treeCpu(server.pid));
          const cpuMs = spent.ms;
          const key = `${row.id}|${s.name}`;
          const e = results.get(key) ?? { rate: [], cpuUs: [], extra: [] };
          e.rate.push(r.rate);
          e.cpuUs.push((cpuMs * 1000) / r.msgs);
          e.extra.push(r.extra);
          results.set(key, e);
          log(
            `round ${round + 1} ${row.id} ${s.name}: ${Math.round(r.rate)} msgs/s, ${((cpuMs * 1000) / r.msgs).toFixed(2)} µs CPU/msg ${r.extra} (CPU by process: ${spent.split})`,
          );
        }
      } finally {
        await server.stop();
      }
    }
  }
  const lines = [
    '| row | server | msgs/s (median, min–max) | server CPU µs/msg (median) | latency |',
    '|---|---|---|---|---|',
  ];
  for (const row of table) {
    for (const s of servers) {
      const e = results.get(`${row.id}|${s.name}`);
      if (e === undefined) continue;
      lines.push(
        `| ${row.label} | ${s.name} | ${Math.round(median(e.rate))} (${Math.round(Math.min(...e.rate))}–${Math.round(Math.max(...e.rate))}) | ${median(e.cpuUs).toFixed(2)} | ${e.extra[Math.floor(e.extra.length / 2)]} |`,
      );
    }
  }
  log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

process.on('exit', killAll);
main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    log(`workers bench: ${err.stack ?? err.message}`);
    process.exitCode = 1;
  },
);
