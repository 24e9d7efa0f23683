/**
 * The single-server rows of `npm run bench`: one nats-server and one Weft
 * node side by side (and a second pair with TLS required), the same load
 * generator for both. Each row runs its rounds back to back, alternating
 * the servers (nats, weft, nats, weft, …), so a change in the machine's load
 * hits both sides of the ratio; every round becomes a sample of the shared
 * row model (src/bench/rows.ts). The per-idle-connection row is measured once
 * per server, first, on fresh servers.
 */

import os from 'node:os';
import { openIdleConnections } from '../src/bench/idle.js';
import { formatProgress, markdownTable } from '../src/bench/report.js';
import type { RowSample } from '../src/bench/rows.js';
import { type BenchResult, headline, runBench, type Workload } from '../src/bench/runner.js';
import { bytes, int, micros, si } from '../src/bench/stats.js';
import { VERSION } from '../src/version.js';
import { settledRss } from './memory.js';
import { benchRows } from './row-adapters.js';
import { natsServerVersion, type ServerProc, startNatsServer, startWeft } from './servers.js';
import { startTlsServers } from './tls.js';

export interface Case {
  id: string;
  label: string;
  workload: Workload;
  size: number;
  subs: number;
  /** Share of --msgs this case publishes (requests for reqrep). */
  scale: number;
  /** Against a second pair of servers with TLS required on the client port (bench/tls.ts). */
  tls?: boolean;
}

export const CASES: Case[] = [
  { id: 'pub', label: 'publish only, 16 B', workload: 'pub', size: 16, subs: 0, scale: 1 },
  { id: 'pubsub', label: 'pub/sub 1→1, 16 B', workload: 'pubsub', size: 16, subs: 1, scale: 1 },
  {
    id: 'pubsub-1k',
    label: 'pub/sub 1→1, 1 KiB',
    workload: 'pubsub',
    size: 1024,
    subs: 1,
    scale: 0.25,
  },
  {
    id: 'pubsub-64k',
    label: 'pub/sub 1→1, 64 KiB',
    workload: 'pubsub',
    size: 64 * 1024,
    subs: 1,
    scale: 0.01,
  },
  { id: 'fanout', label: 'fan-out 1→4, 16 B', workload: 'fanout', size: 16, subs: 4, scale: 0.5 },
  {
    id: 'fanout-32',
    label: 'fan-out 1→32, 16 B',
    workload: 'fanout',
    size: 16,
    subs: 32,
    scale: 0.05,
  },
  { id: 'queue', label: 'queue group 1→4, 16 B', workload: 'queue', size: 16, subs: 4, scale: 1 },
  { id: 'reqrep', label: 'request-reply', workload: 'reqrep', size: 16, subs: 0, scale: 0.01 },
  {
    id: 'pubsub-tls',
    label: '1→1 pub/sub 16 B over TLS',
    workload: 'pubsub',
    size: 16,
    subs: 1,
    scale: 1,
    tls: true,
  },
];
export const SINGLE_IDS = [...CASES.map((c) => c.id), 'idle'];

type Side = 'nats' | 'weft';

export interface IdleResult {
  conns: number;
  opened: number;
  rssBefore: number;
  rssAfter: number;
  bytesPerConn: number;
  errors: string[];
}

export interface SingleMeasured {
  /** The last round of each row, by side (what renderTable shows). */
  results: Record<string, Partial<Record<Side, BenchResult>>>;
  /** Every round of each row, in order. */
  rounds: Record<string, Array<Partial<Record<Side, BenchResult>>>>;
  idle: Partial<Record<Side, IdleResult>>;
}

export interface SingleContext {
  natsBin: string;
  mainJs: string;
  msgs: number;
  conns: number;
  rounds: number;
  only: string[];
  problems: string[];
  samples: RowSample[];
  log: (line: string) => void;
  status: (text: string) => void;
  clearStatus: () => void;
  live: boolean;
}

export function newSingleMeasured(): SingleMeasured {
  return { results: {}, rounds: {}, idle: {} };
}

/** The single-server workloads: one nats-server, one Weft node, side by side. */
export async function runSingle(ctx: SingleContext, m: SingleMeasured): Promise<void> {
  const { log } = ctx;
  const servers: Partial<Record<Side, ServerProc>> = {};
  try {
    servers.nats = await startNatsServer(ctx.natsBin);
    log(
      `nats-server ${natsServerVersion(ctx.natsBin)} on ${servers.nats.url} (pid ${servers.nats.pid})`,
    );
    try {
      // No mesh listener: the single node must not take (or fight over) port 7422.
      servers.weft = await startWeft(ctx.mainJs, ['--mesh-port', '-1']);
      log(`weft ${VERSION} on ${servers.weft.url} (pid ${servers.weft.pid})`);
    } catch (err) {
      const why = `Weft node did not start: ${(err as Error).message}`;
      ctx.problems.push(why);
      log(why);
    }
    const sides = (['nats', 'weft'] as const).filter((s) => servers[s] !== undefined);

    // Memory first, on fresh servers, before the workloads grow their heaps.
    if (ctx.only.includes('idle')) {
      for (const side of sides) {
        m.idle[side] = await measureIdle(ctx, servers[side]!);
        const r = m.idle[side]!;
        log(
          `idle ${servers[side]!.name}: ${int(r.opened)} connections, ${bytes(r.bytesPerConn)} each`,
        );
        for (const e of r.errors.slice(0, 3)) ctx.problems.push(`idle ${side}: ${e}`);
      }
      const { nats, weft } = m.idle;
      const short = [nats, weft].some((r) => r !== undefined && r.opened < r.conns);
      const s: RowSample = {
        id: 'idle',
        label: `memory per idle connection, ${int(ctx.conns)} open (RSS)`,
        unit: 'B',
        ref: 'nats-server',
        better: 'lower',
      };
      if (nats) s.refValue = nats.bytesPerConn;
      if (weft) s.weftValue = weft.bytesPerConn;
      if (short) s.warning = 'not every connection opened';
      ctx.samples.push(s);
    }
    const cases = CASES.filter((c) => ctx.only.includes(c.id) && !c.tls);
    if (cases.length > 0) {
      // Not measured: lets V8 compile Weft's hot paths, and both servers size their buffers.
      for (const side of sides) await warmUp(ctx, servers[side]!);
    }
    await runRounds(ctx, m, cases, sides, (side) => servers[side]!);
  } finally {
    ctx.clearStatus();
    await Promise.all(Object.values(servers).map((s) => s?.stop()));
  }
}

/** The TLS workloads: a second nats-server and Weft node, TLS required, same certificates. */
export async function runTls(ctx: SingleContext, m: SingleMeasured): Promise<void> {
  const servers = await startTlsServers(ctx.natsBin, ctx.mainJs);
  try {
    for (const p of servers.problems) {
      ctx.problems.push(p);
      ctx.log(p);
    }
    const sides = (['nats', 'weft'] as const).filter((s) => servers[s] !== null);
    const tlsProc = (side: Side): ServerProc => {
      const s = servers[side]!;
      return { ...s, url: `tls://127.0.0.1:${s.port}?ca=${encodeURIComponent(servers.caFile)}` };
    };
    for (const side of sides) await warmUp(ctx, tlsProc(side));
    const cases = CASES.filter((c) => c.tls && ctx.only.includes(c.id));
    await runRounds(ctx, m, cases, sides, tlsProc);
  } finally {
    ctx.clearStatus();
    await servers.stop();
  }
}

/** Each case's rounds back to back, the sides alternating within each round. */
async function runRounds(
  ctx: SingleContext,
  m: SingleMeasured,
  cases: Case[],
  sides: readonly Side[],
  proc: (side: Side) => ServerProc,
): Promise<void> {
  for (const c of cases) {
    m.rounds[c.id] = [];
    for (let round = 1; round <= ctx.rounds; round++) {
      const got: Partial<Record<Side, BenchResult>> = {};
      for (const side of sides) {
        const server = proc(side);
        if (server.exited()) {
          ctx.problems.push(`${c.id} ${side}: server is no longer running\n${server.tail()}`);
          continue;
        }
        const r = await runCase(ctx, c, server);
        got[side] = r;
        const of = ctx.rounds > 1 ? ` ${round}/${ctx.rounds}` : '';
        ctx.log(`${`${c.id}${of}`.padEnd(16)} ${server.name.padEnd(20)} ${describe(r)}`);
        if (!r.complete) {
          ctx.problems.push(`${c.id} ${side}: ${r.ended}, ${r.errors.join('; ') || 'incomplete'}`);
        }
      }
      m.rounds[c.id]!.push(got);
      m.results[c.id] = got;
      ctx.samples.push(...benchRows(c.id, c.label, 'nats-server', got.nats, got.weft));
    }
  }
}

async function runCase(ctx: SingleContext, c: Case, server: ServerProc): Promise<BenchResult> {
  const prefix = `${c.id} ${server.name}: `;
  return runBench({
    workload: c.workload,
    server: server.url,
    msgs: Math.max(100, Math.round(ctx.msgs * c.scale)),
    size: c.size,
    subs: c.subs,
    onProgress: ctx.live ? (p) => ctx.status(prefix + formatProgress(p)) : undefined,
  }).finally(ctx.clearStatus);
}

async function warmUp(ctx: SingleContext, server: ServerProc): Promise<void> {
  const msgs = Math.min(ctx.msgs, 200_000);
  for (const workload of ['pubsub', 'reqrep'] as const) {
    ctx.status(`warming up ${server.name}: ${workload}`);
    await runBench({
      workload,
      server: server.url,
      msgs: workload === 'reqrep' ? Math.ceil(msgs / 100) : msgs,
      size: 16,
      subs: 1,
    }).catch(() => {});
  }
  ctx.clearStatus();
}

async function measureIdle(ctx: SingleContext, server: ServerProc): Promise<IdleResult> {
  const conns = ctx.conns;
  const rssBefore = (await settledRss(server.pid)).rss;
  const idle = await openIdleConnections(server.url, conns, {
    onProgress: (n) => ctx.status(`idle ${server.name}: ${int(n)}/${int(conns)} connections`),
  });
  ctx.clearStatus();
  // Let the server finish whatever it does per connection: poll until its RSS settles.
  const rssAfter = (await settledRss(server.pid)).rss;
  const opened = idle.open();
  const errors = await idle.close();
  return {
    conns,
    opened,
    rssBefore,
    rssAfter,
    bytesPerConn: opened > 0 ? (rssAfter - rssBefore) / opened : 0,
    errors,
  };
}

function describe(r: BenchResult): string {
  const lost = r.sub && r.sub.lost > 0 ? `, lost ${int(r.sub.lost)}` : '';
  const state = r.complete ? '' : ` [${r.ended}${lost}]`;
  if (r.workload === 'reqrep') {
    const l = r.latency!;
    return `${si(r.pub.msgsPerSec)} req/s  p50 ${micros(l.p50)}  p99 ${micros(l.p99)}${state}`;
  }
  return `${si(headline(r))} msgs/s  ${(r.sub ?? r.pub).mbPerSec.toFixed(1)} MB/s  in ${(r.elapsedMs / 1000).toFixed(2)} s${state}`;
}

/** Markdown table of the last round; the ratio column is always "how many times better Weft is". */
export function renderTable(
  m: SingleMeasured,
  only: string[],
  msgs: number,
  conns: number,
): string {
  const rows: string[][] = [];
  const cell = (r: BenchResult | undefined, value: (r: BenchResult) => string) => {
    if (r === undefined) return '—';
    const lost = r.sub && r.sub.lost > 0 ? `, ${int(r.sub.lost)} lost` : '';
    return r.complete ? value(r) : `${value(r)} ⚠ ${r.ended}${lost}`;
  };
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a <= 0 || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`;
  for (const c of CASES.filter((c) => only.includes(c.id))) {
    const { nats, weft } = m.results[c.id] ?? {};
    if (c.workload === 'reqrep') {
      for (const q of ['p50', 'p99'] as const) {
        rows.push([
          `${c.label}, ${q} round trip (lower is better)`,
          cell(nats, (r) => micros(r.latency![q])),
          cell(weft, (r) => micros(r.latency![q])),
          ratio(nats?.latency?.[q], weft?.latency?.[q]),
        ]);
      }
      continue;
    }
    const unit = c.workload === 'pub' ? 'msgs/s published' : 'msgs/s delivered';
    rows.push([
      `${c.label} (${unit})`,
      cell(nats, (r) => si(headline(r))),
      cell(weft, (r) => si(headline(r))),
      ratio(weft && headline(weft), nats && headline(nats)),
    ]);
  }
  if (only.includes('idle')) {
    const { nats, weft } = m.idle;
    const mem = (r: IdleResult | undefined) =>
      r === undefined
        ? '—'
        : `${bytes(r.bytesPerConn)}${r.opened < r.conns ? ` ⚠ ${int(r.opened)} open` : ''}`;
    rows.push([
      `memory per idle connection, ${int(conns)} open (RSS, lower is better)`,
      mem(nats),
      mem(weft),
      ratio(nats?.bytesPerConn, weft?.bytesPerConn),
    ]);
  }
  const header = ['workload', 'nats-server', 'weft', 'weft vs nats (>1× = weft better)'];
  const out = [
    ...markdownTable(header, rows),
    '',
    `Throughput ratio = weft msgs/s ÷ nats msgs/s. Latency and memory ratio = nats ÷ weft,`,
    `so every ratio reads "times as good as nats-server". ${int(msgs)} msgs per throughput`,
    `workload (1 KiB: ÷4, fan-out: ÷2, request-reply: ÷100 requests); same generator for both;`,
    `${os.availableParallelism()} CPUs, Node ${process.version}.`,
  ];
  return out.join('\n');
}
