/**
 * The WebSocket part of `npm run bench`: NATS over WebSocket, 1→1 pub/sub
 * of 16 B messages, Weft's WebSocket listener against nats-server's
 * (`websocket { listen, no_tls: true }`), same machine, same generator: the
 * TCP bench's workers and batches (src/bench/runner.ts), each connection a
 * `ws` client speaking the raw protocol in binary messages
 * (src/bench/ws-socket.ts). Rounds alternate the two servers; the table
 * shows each side's median.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchConn } from '../src/bench/conn.js';
import { readCpuMs } from '../src/bench/idle.js';
import { formatProgress, markdownTable } from '../src/bench/report.js';
import { type BenchResult, headline, runBench } from '../src/bench/runner.js';
import { si } from '../src/bench/stats.js';
import { freePort, type ServerProc, startNatsServerWith, startWeft } from './servers.js';

export const WS_IDS = ['ws-pubsub'];

/** Share of --msgs per round (16 B 1→1 over TCP uses all of it). */
const SCALE = 0.2;

type Side = 'nats' | 'weft';

export interface WsMeasured {
  rounds: Partial<Record<Side, BenchResult[]>>;
  /** Server CPU (user + system) per message delivered, µs, per round. */
  cpuUs: Partial<Record<Side, number[]>>;
  msgs: number;
  notes: string[];
}

export interface WsContext {
  natsBin: string;
  mainJs: string;
  msgs: number;
  quick: boolean;
  only: string[];
  problems: string[];
  log: (line: string) => void;
  status: (text: string) => void;
  clearStatus: () => void;
  live: boolean;
}

interface WsServer {
  proc: ServerProc;
  url: string;
}

/** nats-server with its websocket listener, plain ws, on loopback. */
async function startNatsWs(bin: string): Promise<WsServer> {
  const [port, wsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-nats-ws-'));
  const conf = path.join(dir, 'nats.conf');
  writeFileSync(
    conf,
    `listen: "127.0.0.1:${port}"\nwebsocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n`,
  );
  const proc = await startNatsServerWith(bin, ['-c', conf], port, 'nats-server-ws');
  const stop = proc.stop;
  proc.stop = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { proc, url: `ws://127.0.0.1:${wsPort}` };
}

async function startWeftWs(mainJs: string): Promise<WsServer> {
  const wsPort = await freePort();
  const proc = await startWeft(
    mainJs,
    ['--mesh-port', '-1', '--websocket-port', String(wsPort)],
    'weft-ws',
  );
  return { proc, url: `ws://127.0.0.1:${wsPort}` };
}

/** Waits until the WebSocket listener answers a CONNECT (it may start after the client port). */
async function ready(s: WsServer): Promise<void> {
  const deadline = performance.now() + 5000;
  for (;;) {
    try {
      const c = await BenchConn.open(
        { host: '127.0.0.1', port: Number(new URL(s.url).port), ws: true },
        'probe',
        2000,
      );
      c.close();
      return;
    } catch (err) {
      if (performance.now() > deadline) {
        throw new Error(`${s.proc.name} does not answer on ${s.url}: ${(err as Error).message}`);
      }
      await sleep(100);
    }
  }
}

export async function runWebSocket(ctx: WsContext): Promise<WsMeasured> {
  const rounds = ctx.quick ? 1 : 3;
  const msgs = Math.max(1000, Math.round(ctx.msgs * SCALE));
  const m: WsMeasured = { rounds: {}, cpuUs: {}, msgs, notes: [] };
  const servers: Partial<Record<Side, WsServer>> = {};
  try {
    servers.nats = await startNatsWs(ctx.natsBin);
    try {
      servers.weft = await startWeftWs(ctx.mainJs);
    } catch (err) {
      ctx.problems.push(`ws-pubsub: the Weft node did not start: ${(err as Error).message}`);
    }
    const sides = (['nats', 'weft'] as const).filter((s) => servers[s] !== undefined);
    for (const side of sides) {
      const s = servers[side]!;
      await ready(s);
      ctx.log(`${s.proc.name} WebSocket on ${s.url} (pid ${s.proc.pid})`);
      // Not measured: lets V8 compile Weft's paths; both servers size their buffers.
      ctx.status(`warming up ${s.proc.name}`);
      await runBench({
        workload: 'pubsub',
        server: s.url,
        msgs: Math.min(msgs, 200_000),
        size: 16,
        subs: 1,
      }).catch(() => {});
      ctx.clearStatus();
    }
    for (let round = 1; round <= rounds; round++) {
      for (const side of sides) {
        const s = servers[side]!;
        if (s.proc.exited()) {
          ctx.problems.push(`ws-pubsub ${side}: server is no longer running\n${s.proc.tail()}`);
          continue;
        }
        const cpu0 = readCpuMs(s.proc.pid);
        const prefix = `ws-pubsub ${s.proc.name} round ${round}/${rounds}: `;
        const r = await runBench({
          workload: 'pubsub',
          server: s.url,
          msgs,
          size: 16,
          subs: 1,
          onProgress: ctx.live ? (p) => ctx.status(prefix + formatProgress(p)) : undefined,
        });
        ctx.clearStatus();
        m.rounds[side] = [...(m.rounds[side] ?? []), r];
        const delivered = headline(r) * (r.elapsedMs / 1000);
        if (delivered > 0) {
          const us = ((readCpuMs(s.proc.pid) - cpu0) * 1000) / delivered;
          m.cpuUs[side] = [...(m.cpuUs[side] ?? []), us];
        }
        ctx.log(
          `${prefix}${si(headline(r))} msgs/s in ${(r.elapsedMs / 1000).toFixed(2)} s${r.complete ? '' : ` [${r.ended}]`}`,
        );
        if (!r.complete) {
          ctx.problems.push(
            `ws-pubsub ${side}: ${r.ended}, ${r.errors.join('; ') || 'incomplete'}`,
          );
        }
      }
    }
  } finally {
    ctx.clearStatus();
    await Promise.all(Object.values(servers).map((s) => s?.proc.stop()));
  }
  return m;
}

function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2;
}

/** Markdown table; every ratio reads "times as good as nats-server". */
export function renderWsTable(m: WsMeasured, natsVersion: string): string {
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a <= 0 || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`;
  const rate = (side: Side) => median((m.rounds[side] ?? []).map(headline));
  const cpu = (side: Side) => median(m.cpuUs[side] ?? []);
  const all = (side: Side) =>
    (m.rounds[side] ?? []).map((r) => `${si(headline(r))}${r.complete ? '' : ' ⚠'}`).join(', ');
  const us = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(2)} µs`);
  const n = Math.max(m.rounds.nats?.length ?? 0, m.rounds.weft?.length ?? 0);
  const rows = [
    [
      `NATS over WebSocket 1→1, 16 B (msgs/s delivered, median of ${n})`,
      rate('nats') === undefined ? '—' : si(rate('nats')!),
      rate('weft') === undefined ? '—' : si(rate('weft')!),
      ratio(rate('weft'), rate('nats')),
    ],
    ['  rounds', all('nats') || '—', all('weft') || '—', ''],
    [
      '  server CPU per message (lower is better)',
      us(cpu('nats')),
      us(cpu('weft')),
      ratio(cpu('nats'), cpu('weft')),
    ],
  ];
  const header = [
    'WebSocket workload',
    `nats-server ${natsVersion}`.trim(),
    'weft',
    'weft vs nats (>1× = weft better)',
  ];
  return [
    ...markdownTable(header, rows),
    '',
    `Plain ws on loopback, no compression; the TCP generator's workers and batches, each connection`,
    `a ws client (binary messages). ${m.msgs.toLocaleString('en-US')} msgs per round; rounds alternate the servers.`,
    ...m.notes.map((n) => `Note: ${n}.`),
  ].join('\n');
}
