/**
 * The mesh part of `npm run bench`: 1→1 pub/sub with the publisher and the
 * subscriber on different nodes, Weft's mesh against a nats-server cluster
 * (routes), and interest propagation time. Topologies are started one at a
 * time, used, and stopped, so only the one being measured shares the CPU
 * with the load generator:
 *
 *   nats-server cluster a ⇄ b         1 route hop: the reference for every row
 *   weft a - b                        mesh-pubsub, mesh-pubsub-1k, mesh-reqrep
 *   weft a - b - c                    mesh-chain3 (publisher on a, subscriber on c),
 *                                     mesh-chain3-reqrep (requester on a, responder on c)
 *   weft a - b - c - d - e            mesh-interest (publisher on a, SUB on e: 4 hops)
 *
 * nats-server routes are a full mesh (every pair one hop apart), so there is
 * no nats chain of 3: the chain is compared with Weft's own one-link figure
 * (the loss the second link costs) and with the nats cluster as a reference.
 * A round trip across the chain wakes 8 processes (a, b, c, the responder,
 * c, b, a, the requester), across the cluster 6: mesh-reqrep, the same
 * round trip across Weft's one link (6, like the cluster's), is the
 * like-for-like per-hop comparison (bench/PROFILE.md, "chainrr (round 9)").
 *
 * Each throughput row also reports messages per server CPU-second: the CPU
 * time (user + system, /proc/<pid>/stat) every server of the topology spent
 * during the run, summed, divided into the messages delivered. On a busy
 * machine it moves far less than msgs/s. The request-reply row gives the
 * round trip's p50 and p99 (each request and reply crosses every link).
 */

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { type InterestResult, measureInterest } from '../src/bench/interest.js';
import { parseServerUrl } from '../src/bench/protocol.js';
import { formatProgress, markdownTable } from '../src/bench/report.js';
import { type BenchResult, headline, runBench } from '../src/bench/runner.js';
import { micros, si } from '../src/bench/stats.js';
import { type ServerProc, startNatsCluster, startWeftChain } from './servers.js';

export interface MeshCase {
  id: string;
  label: string;
  size: number;
  /** Share of --msgs this case publishes. */
  scale: number;
  /** Weft nodes in the chain; the subscriber is on the last one. */
  nodes: number;
  /** What runs: 1→1 pub/sub (default), or request-reply (responder on the last node). */
  workload?: 'pubsub' | 'reqrep';
}

export const MESH_CASES: MeshCase[] = [
  { id: 'mesh-pubsub', label: '1→1 across 1 link, 16 B', size: 16, scale: 0.5, nodes: 2 },
  {
    id: 'mesh-pubsub-1k',
    label: '1→1 across 1 link, 1 KiB',
    size: 1024,
    scale: 0.125,
    nodes: 2,
  },
  {
    id: 'mesh-reqrep',
    label: 'request-reply across 1 link (1 link each way), 16 B',
    size: 16,
    scale: 0.01,
    nodes: 2,
    workload: 'reqrep',
  },
  {
    id: 'mesh-chain3',
    label: '1→1 across a chain of 3 (2 links), 16 B',
    size: 16,
    scale: 0.5,
    nodes: 3,
  },
  {
    id: 'mesh-chain3-reqrep',
    label: 'request-reply across a chain of 3 (2 links each way), 16 B',
    size: 16,
    scale: 0.01,
    nodes: 3,
    workload: 'reqrep',
  },
];
export const MESH_IDS = [...MESH_CASES.map((c) => c.id), 'mesh-interest'];

/** Nodes in the interest-propagation chain: the subscriber is this many − 1 hops away. */
export const INTEREST_CHAIN = 5;
/**
 * The targets: one link at least nats-server's route (issue 16), the chain
 * of 3 at least nats-server's one hop, and what the second link costs.
 */
export const TARGETS = { oneLink: 1.0, chain: 1.0, chainLoss: 0.3 };

type Side = 'nats' | 'weft';

/** A run, with the CPU seconds its topology's servers spent during it. */
export type MeshResult = BenchResult & { serverCpuS?: number };

export interface MeshMeasured {
  /** Per case: nats = 2-node cluster, pub on one, sub on the other; weft = its chain. */
  results: Record<string, Partial<Record<Side, MeshResult>>>;
  /** Weft's 1-link 16 B figure when mesh-chain3 ran without mesh-pubsub (its baseline). */
  weftOneLink?: MeshResult;
  /** nats-server cluster 16 B figure when mesh-chain3 ran without mesh-pubsub. */
  natsOneLink?: MeshResult;
  interest: Partial<Record<Side, InterestResult & { hops: number }>>;
  /** Every ratio the issue asks for, as numbers (absent when a side is missing). */
  ratios: Record<string, number>;
}

export interface MeshContext {
  natsBin: string;
  mainJs: string;
  msgs: number;
  quick: boolean;
  only: string[];
  problems: string[];
  log(line: string): void;
  status(text: string): void;
  clearStatus(): void;
  live: boolean;
}

export async function runMesh(ctx: MeshContext): Promise<MeshMeasured> {
  const m: MeshMeasured = { results: {}, interest: {}, ratios: {} };
  const cases = MESH_CASES.filter((c) => ctx.only.includes(c.id));
  const interest = ctx.only.includes('mesh-interest');
  const wantChain = cases.some((c) => c.id === 'mesh-chain3');
  const chainCases = cases.filter((c) => c.nodes === 3);
  // The chain's request-reply against the cluster's one hop (1-link cases are measured as oneLink).
  const natsReqrep = chainCases.filter((c) => c.workload === 'reqrep');
  const oneLink = cases.filter((c) => c.nodes === 2);
  // The chain's baselines: Weft over one link and the nats cluster, at 16 B.
  const base16 = MESH_CASES.find((c) => c.id === 'mesh-pubsub')!;
  const needBase = wantChain && !oneLink.includes(base16);
  const warmMsgs = Math.min(ctx.msgs, ctx.quick ? 20_000 : 200_000);
  const trials = ctx.quick ? 5 : 20;

  // nats-server cluster of 2: every throughput case (its chain row is 1 hop), and interest.
  if (cases.length > 0 || interest) {
    await withTopology(
      ctx,
      'nats-server cluster of 2',
      (notes) => startNatsCluster(ctx.natsBin, 2, notes),
      async (nodes) => {
        const [a, b] = nodes as [ServerProc, ServerProc];
        if (cases.length > 0) await warmUp(ctx, a, b, warmMsgs);
        for (const c of [...oneLink, ...(needBase ? [base16] : [])]) {
          const r = await measure(ctx, c, a, b, nodes);
          if (r === undefined) continue;
          if (oneLink.includes(c)) side(m, c.id).nats = r;
          else m.natsOneLink = r;
        }
        if (wantChain) {
          // Same topology and size as the one-link row: reuse it as the chain's reference.
          side(m, 'mesh-chain3').nats = m.results['mesh-pubsub']?.nats ?? m.natsOneLink;
        }
        for (const c of natsReqrep) {
          const r = await measure(ctx, c, a, b, nodes);
          if (r !== undefined) side(m, c.id).nats = r;
        }
        if (interest) m.interest.nats = await interestRun(ctx, a, b, 1, trials);
      },
    );
  }

  if (oneLink.length > 0 || needBase) {
    await withTopology(
      ctx,
      'weft a - b',
      (notes) => startWeftChain(ctx.mainJs, 2, notes),
      async (nodes) => {
        const [a, b] = nodes as [ServerProc, ServerProc];
        await warmUp(ctx, a, b, warmMsgs);
        for (const c of [...oneLink, ...(needBase ? [base16] : [])]) {
          const r = await measure(ctx, c, a, b, nodes);
          if (r === undefined) continue;
          if (oneLink.includes(c)) side(m, c.id).weft = r;
          else m.weftOneLink = r;
        }
      },
    );
  }

  if (chainCases.length > 0) {
    await withTopology(
      ctx,
      'weft a - b - c',
      (notes) => startWeftChain(ctx.mainJs, 3, notes),
      async (nodes) => {
        const [a, , c] = nodes as [ServerProc, ServerProc, ServerProc];
        await warmUp(ctx, a, c, warmMsgs);
        for (const chain of chainCases) {
          const r = await measure(ctx, chain, a, c, nodes);
          if (r !== undefined) side(m, chain.id).weft = r;
        }
      },
    );
  }

  if (interest) {
    const n = INTEREST_CHAIN;
    await withTopology(
      ctx,
      `weft chain of ${n}`,
      (notes) => startWeftChain(ctx.mainJs, n, notes),
      async (nodes) => {
        m.interest.weft = await interestRun(ctx, nodes[0]!, nodes[n - 1]!, n - 1, trials);
      },
    );
  }

  computeRatios(m);
  return m;
}

function side(m: MeshMeasured, id: string): Partial<Record<Side, BenchResult>> {
  m.results[id] ??= {};
  return m.results[id]!;
}

async function withTopology(
  ctx: MeshContext,
  what: string,
  start: (notes: string[]) => Promise<ServerProc[]>,
  use: (nodes: ServerProc[]) => Promise<void>,
): Promise<void> {
  let nodes: ServerProc[];
  const began = performance.now();
  ctx.status(`starting ${what}`);
  const notes: string[] = [];
  try {
    nodes = await start(notes);
  } catch (err) {
    ctx.clearStatus();
    const why = `${what} did not start: ${(err as Error).message}`;
    ctx.problems.push(why);
    ctx.log(why);
    return;
  }
  ctx.clearStatus();
  for (const note of notes) {
    ctx.problems.push(`${what}: ${note}`);
    ctx.log(`${what}: ${note}`);
  }
  const secs = ((performance.now() - began) / 1000).toFixed(1);
  ctx.log(`${what} up in ${secs} s: ${nodes.map((s) => `${s.name} ${s.url}`).join(', ')}`);
  try {
    await use(nodes);
  } catch (err) {
    ctx.problems.push(`${what}: ${(err as Error).message}`);
    ctx.log(`${what}: ${(err as Error).message}`);
  } finally {
    ctx.clearStatus();
    await Promise.all(nodes.map((s) => s.stop()));
  }
}

/** Not measured: lets V8 compile the forwarding path, and the servers size their buffers. */
async function warmUp(ctx: MeshContext, pub: ServerProc, sub: ServerProc, msgs: number) {
  ctx.status(`warming up ${pub.name} → ${sub.name}`);
  await runBench({
    workload: 'pubsub',
    server: pub.url,
    subServer: sub.url,
    msgs,
    size: 16,
    subs: 1,
    timeoutMs: 30_000,
  }).catch(() => {});
  ctx.clearStatus();
}

/** A process's CPU time so far (user + system), s; NaN where /proc is not there. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Linux's USER_HZ: the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS = 100;

async function measure(
  ctx: MeshContext,
  c: MeshCase,
  pub: ServerProc,
  sub: ServerProc,
  nodes: ServerProc[],
): Promise<MeshResult | undefined> {
  const who = `${pub.name} → ${sub.name}`;
  for (const s of [pub, sub]) {
    if (s.exited()) {
      ctx.problems.push(`${c.id} ${who}: ${s.name} is no longer running\n${s.tail()}`);
      return undefined;
    }
  }
  const prefix = `${c.id} ${who}: `;
  try {
    const cpuBefore = nodes.map((s) => cpuSeconds(s.pid));
    const r: MeshResult = await runBench({
      workload: c.workload ?? 'pubsub',
      server: pub.url,
      subServer: sub.url,
      msgs: Math.max(100, Math.round(ctx.msgs * c.scale)),
      size: c.size,
      subs: 1,
      onProgress: ctx.live ? (p) => ctx.status(prefix + formatProgress(p)) : undefined,
    });
    const cpu = nodes.reduce((t, s, i) => t + cpuSeconds(s.pid) - cpuBefore[i]!, 0);
    if (Number.isFinite(cpu) && cpu > 0) r.serverCpuS = cpu;
    ctx.clearStatus();
    const lost = r.sub && r.sub.lost > 0 ? `, lost ${r.sub.lost}` : '';
    const state = r.complete ? '' : ` [${r.ended}${lost}]`;
    const perCpu = cpuRate(r);
    const cpuText = perCpu === undefined ? '' : `  ${si(perCpu)} per server CPU-s`;
    const lat =
      r.workload === 'reqrep' && r.latency
        ? `  p50 ${micros(r.latency.p50)} p99 ${micros(r.latency.p99)}`
        : '';
    const line = `${si(headline(r))} msgs/s  ${(r.sub ?? r.pub).mbPerSec.toFixed(1)} MB/s${cpuText}${lat}  in ${(r.elapsedMs / 1000).toFixed(2)} s`;
    ctx.log(`${c.id.padEnd(14)} ${who.padEnd(20)} ${line}${state}`);
    if (!r.complete) {
      ctx.problems.push(
        `${c.id} ${who}: ${r.ended}${lost}, ${r.errors.join('; ') || 'incomplete'}${await meshCounters(nodes)}${serverWarnings(nodes)}`,
      );
    }
    return r;
  } catch (err) {
    ctx.clearStatus();
    ctx.problems.push(`${c.id} ${who}: ${(err as Error).message}`);
    ctx.log(`${c.id} ${who}: ${(err as Error).message}`);
    return undefined;
  }
}

async function interestRun(
  ctx: MeshContext,
  pub: ServerProc,
  sub: ServerProc,
  hops: number,
  trials: number,
): Promise<InterestResult & { hops: number }> {
  const who = `${pub.name} → ${sub.name}`;
  const onTrial = (i: number, n: number) => ctx.status(`mesh-interest ${who}: trial ${i}/${n}`);
  const [p, s] = [parseServerUrl(pub.url), parseServerUrl(sub.url)];
  // Unrecorded: the first subscriptions pay for compiling the interest path.
  await measureInterest(p, s, { trials: 3 });
  const r = await measureInterest(p, s, { trials, onTrial });
  ctx.clearStatus();
  const st = r.stats;
  ctx.log(
    `${'mesh-interest'.padEnd(14)} ${who.padEnd(20)} ${hops} hop${hops > 1 ? 's' : ''}: SUB → first delivery p50 ${ms(st.p50)}  max ${ms(st.max)}; from its PONG p50 ${ms(r.fromPongStats.p50)}  max ${ms(r.fromPongStats.max)}  (${st.samples}/${trials} trials)`,
  );
  for (const e of r.errors) ctx.problems.push(`mesh-interest ${who}: ${e}`);
  if (r.misses > 0) {
    ctx.problems.push(
      `mesh-interest ${who}: ${r.misses} of ${trials} subscriptions got no message`,
    );
  }
  return { ...r, hops };
}

/** Per link of every node: msgs out/in, dropped, reconnects, from /meshz (mesh nodes only). */
async function meshCounters(nodes: ServerProc[]): Promise<string> {
  const lines: string[] = [];
  for (const s of nodes) {
    if (s.httpPort === undefined || s.exited()) continue;
    try {
      const res = await fetch(`http://127.0.0.1:${s.httpPort}/meshz`, {
        signal: AbortSignal.timeout(2000),
      });
      const z = (await res.json()) as { links?: Record<string, unknown>[]; [k: string]: unknown };
      const links = (z.links ?? []).map(
        (l) =>
          `→${l['peer']} out ${l['out_msgs']} in ${l['in_msgs']} dropped ${l['dropped_msgs']} reconnects ${l['reconnects']}`,
      );
      const extra = ['no_route', 'ttl_expired', 'interest_gaps']
        .filter((k) => typeof z[k] === 'number' && z[k] !== 0)
        .map((k) => `${k} ${z[k]}`);
      lines.push(`${s.name}: ${[...links, ...extra].join('; ')}`);
    } catch (err) {
      lines.push(`${s.name}: /meshz: ${(err as Error).message}`);
    }
  }
  return lines.length > 0 ? `\n/meshz:\n${lines.join('\n')}` : '';
}

/** Warnings, errors and link changes the servers printed lately (their last 20 lines), indented. */
function serverWarnings(nodes: ServerProc[]): string {
  const lines = nodes.flatMap((s) =>
    s
      .tail()
      .split('\n')
      .filter((l) => /\[(WRN|ERR|FTL)\]|mesh link/.test(l))
      .map((l) => `${s.name}: ${l}`),
  );
  return lines.length > 0 ? `\nserver log (warnings, link changes):\n${lines.join('\n')}` : '';
}

/** Messages (requests) per second of CPU all the topology's servers spent, when measured. */
function cpuRate(r: MeshResult | undefined): number | undefined {
  if (r?.serverCpuS === undefined) return undefined;
  const n = r.sub ? r.sub.received : r.pub.msgs;
  return n > 0 ? n / r.serverCpuS : undefined;
}

function computeRatios(m: MeshMeasured): void {
  const rate = (r: BenchResult | undefined) => (r === undefined ? undefined : headline(r));
  const put = (key: string, a: number | undefined, b: number | undefined) => {
    if (a !== undefined && b !== undefined && a > 0 && b > 0) m.ratios[key] = a / b;
  };
  for (const c of MESH_CASES) {
    const { nats, weft } = m.results[c.id] ?? {};
    put(`${c.id} weft/nats`, rate(weft), rate(nats));
    put(`${c.id} cpu weft/nats`, cpuRate(weft), cpuRate(nats));
    if (c.workload === 'reqrep') {
      put(`${c.id} p50 nats/weft`, nats?.latency?.p50, weft?.latency?.p50);
      put(`${c.id} p99 nats/weft`, nats?.latency?.p99, weft?.latency?.p99);
    }
  }
  const oneLink = m.results['mesh-pubsub']?.weft ?? m.weftOneLink;
  put('mesh-chain3 weft/weft-1-link', rate(m.results['mesh-chain3']?.weft), rate(oneLink));
  const { nats, weft } = m.interest;
  put('mesh-interest p50 nats/weft', nats?.stats.p50, weft?.stats.p50);
  put('mesh-interest max nats/weft', nats?.stats.max, weft?.stats.max);
}

function ms(v: number): string {
  return micros(v * 1000);
}

/** The mesh table: every ratio reads "times as good as the nats-server cluster". */
export function renderMeshTable(m: MeshMeasured, only: string[], msgs: number): string {
  const rows: string[][] = [];
  // A run that lost messages meets no target, whatever its rate.
  const verdict = (pass: boolean, ...runs: (BenchResult | undefined)[]) =>
    runs.some((r) => r !== undefined && !r.complete) ? '✗ (messages lost)' : pass ? '✓' : '✗';
  const cell = (r: BenchResult | undefined) => {
    if (r === undefined) return '—';
    const lost = r.sub && r.sub.lost > 0 ? `, ${r.sub.lost.toLocaleString('en-US')} lost` : '';
    return r.complete ? si(headline(r)) : `${si(headline(r))} ⚠ ${r.ended}${lost}`;
  };
  const x = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(2)}×`);
  const perCpu = (r: MeshResult | undefined) => {
    const v = cpuRate(r);
    return v === undefined ? '—' : si(v);
  };
  for (const c of MESH_CASES.filter((c) => only.includes(c.id))) {
    const { nats, weft } = m.results[c.id] ?? {};
    const ratio = m.ratios[`${c.id} weft/nats`];
    if (c.workload === 'reqrep') {
      const hop = (r: MeshResult | undefined, q: 'p50' | 'p99') =>
        r?.latency === undefined ? '—' : micros(r.latency[q]);
      const oneHop = c.nodes === 2 ? '' : ' (1 hop)';
      rows.push([`${c.label} (requests/s)`, `${cell(nats)}${oneHop}`, cell(weft), x(ratio), '—']);
      for (const q of ['p50', 'p99'] as const) {
        rows.push([
          `  round trip ${q} (lower is better)`,
          `${hop(nats, q)}${oneHop}`,
          hop(weft, q),
          x(m.ratios[`${c.id} ${q} nats/weft`]),
          '—',
        ]);
      }
      continue;
    }
    const cpuRow = [
      '  msgs per server CPU-second (all servers)',
      `${perCpu(nats)}${c.nodes === 2 ? '' : ' (1 hop)'}`,
      perCpu(weft),
      x(m.ratios[`${c.id} cpu weft/nats`]),
      '≥ 1.0×',
    ];
    if (c.nodes === 2) {
      rows.push([
        `${c.label} (msgs/s delivered)`,
        cell(nats),
        cell(weft),
        x(ratio),
        ratio === undefined
          ? `≥ ${TARGETS.oneLink.toFixed(1)}×`
          : `≥ ${TARGETS.oneLink.toFixed(1)}× ${verdict(ratio >= TARGETS.oneLink, nats, weft)}`,
      ]);
      rows.push(cpuRow);
      continue;
    }
    rows.push([
      `${c.label} (msgs/s delivered)`,
      `${cell(nats)} (1 hop)`,
      cell(weft),
      x(ratio),
      ratio === undefined
        ? `≥ ${TARGETS.chain.toFixed(1)}×`
        : `≥ ${TARGETS.chain.toFixed(1)}× ${verdict(ratio >= TARGETS.chain, nats, weft)}`,
    ]);
    rows.push(cpuRow);
    const vsOne = m.ratios['mesh-chain3 weft/weft-1-link'];
    const oneLink = m.results['mesh-pubsub']?.weft ?? m.weftOneLink;
    const keep = 1 - TARGETS.chainLoss;
    rows.push([
      '  chain of 3 ÷ 1 link, both Weft, 16 B',
      '—',
      oneLink === undefined || weft === undefined
        ? '—'
        : `${si(headline(weft))} ÷ ${si(headline(oneLink))}${oneLink.complete ? '' : ' ⚠'}`,
      vsOne === undefined
        ? '—'
        : `${x(vsOne)} (${vsOne >= 1 ? '+' : '−'}${Math.abs((1 - vsOne) * 100).toFixed(0)} %)`,
      vsOne === undefined
        ? `loss ≤ ${TARGETS.chainLoss * 100} %`
        : `loss ≤ ${TARGETS.chainLoss * 100} % ${verdict(vsOne >= keep, m.results[c.id]?.weft, oneLink)}`,
    ]);
  }
  if (only.includes('mesh-interest')) {
    const { nats, weft } = m.interest;
    const hops = (r: (InterestResult & { hops: number }) | undefined) =>
      r === undefined ? '' : ` (${r.hops} hop${r.hops > 1 ? 's' : ''})`;
    for (const q of ['p50', 'max'] as const) {
      const v = (r: InterestResult | undefined) =>
        r === undefined || r.stats.samples === 0
          ? '—'
          : `${ms(r.stats[q])}${r.misses > 0 ? ` ⚠ ${r.misses} missed` : ''}`;
      rows.push([
        `interest propagation, SUB → first delivery, ${q === 'p50' ? 'median' : 'max'} (lower is better)`,
        `${v(nats)}${hops(nats)}`,
        `${v(weft)}${hops(weft)}`,
        x(m.ratios[`mesh-interest ${q} nats/weft`]),
        '—',
      ]);
    }
  }
  const header = [
    'mesh workload',
    'nats-server cluster of 2',
    'weft mesh',
    'weft vs nats',
    'target',
  ];
  const cpus = os.availableParallelism();
  const n16 = Math.round(msgs * 0.5).toLocaleString('en-US');
  const n1k = Math.round(msgs * 0.125).toLocaleString('en-US');
  return [
    ...markdownTable(header, rows, [0, 4]),
    '',
    `Publisher on the first node, subscriber on the last; nats-server: 2 nodes joined by a route`,
    `(routes are a full mesh, one hop: there is no nats chain, so the chain is also compared with`,
    `Weft's own one-link figure). Weft: nodes a - b (- c …) joined by mesh links. ${n16} msgs at`,
    `16 B, ${n1k} at 1 KiB. Interest: a publisher on the first node publishes to a new subject`,
    `(every 1 ms, then back to back), a client on the last node subscribes; time from writing the SUB`,
    `to the first delivery, which includes one client round trip; ${m.interest.weft?.trials ?? m.interest.nats?.trials ?? 0} trials each.`,
    `Request-reply: requester on the first node, responder on the last, one request at a time`,
    `(${Math.round(msgs * 0.01).toLocaleString('en-US')} requests). Per server CPU-second: messages delivered ÷ the CPU time of every`,
    `server of the topology during the run (user + system, /proc).`,
    `On ${cpus} CPUs, every server of the topology (2–5 processes) and the load generator share the`,
    `cores: a message crossing a link costs CPU on two or three servers at once, so mesh figures`,
    `move more from run to run than the single-server ones.`,
  ].join('\n');
}
