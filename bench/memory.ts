/**
 * The memory rows of `npm run bench` (id `memory`): a server's resident set
 * size (VmRSS, /proc/<pid>/status) at idle, per idle connection, per
 * subscription and per stored message, Weft against nats-server; lower is
 * better, ratio = nats ÷ weft.
 *
 * Each figure is taken on a fresh server (so memory freed by one step cannot
 * be reused by the next and hide its cost), both with JetStream on (`nats-server
 * -js`; Weft has streams on by default), alternating the servers each round.
 * No GC is forced on either: after each step the RSS is polled until it
 * settles (the last SETTLE_WINDOW samples within SETTLE_BAND of each other,
 * and at least SETTLE_MIN_MS after the step) or SETTLE_DEADLINE_MS passes
 * (then the row says it did not settle). Both servers give memory back a
 * few seconds after a burst (Go's scavenger; Weft's idle collection,
 * src/server/idle-gc.ts, 7–8 s after it): the minimum wait lets each reach
 * the RSS it holds at rest rather than the one of the moment the load ends.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { BenchConn } from '../src/bench/conn.js';
import { openIdleConnections, readRssBytes } from '../src/bench/idle.js';
import { runJetStream } from '../src/bench/jetstream.js';
import { parseServerUrl, subFrame } from '../src/bench/protocol.js';
import type { RowSample } from '../src/bench/rows.js';
import { bytes, int } from '../src/bench/stats.js';
import { type ServerProc, startNatsJetStream, startWeft } from './servers.js';

export const MEMORY_IDS = ['memory'];

/** RSS poll period, ms. */
const SETTLE_EVERY_MS = 200;
/** Samples that must agree: 10 × 200 ms = 2 s without growth or shrinkage. */
const SETTLE_WINDOW = 10;
/** "Agree": max − min at most this share of the RSS, or SETTLE_FLOOR_BYTES if more. */
const SETTLE_BAND = 0.01;
const SETTLE_FLOOR_BYTES = 256 * 1024;
const SETTLE_DEADLINE_MS = 30_000;
/** The least time after a step before its RSS is taken, ms (same for both servers). */
const SETTLE_MIN_MS = 10_000;

type Side = 'nats' | 'weft';
const SIDES: Side[] = ['nats', 'weft'];

export interface MemoryOptions {
  natsBin: string;
  mainJs: string;
  rounds: number;
  /** Idle connections for the per-connection figure. */
  conns: number;
  /** Distinct subscriptions one connection holds. */
  subs: number;
  /** Messages (16 B) published into one file stream. */
  storeMsgs: number;
  problems: string[];
  log: (line: string) => void;
  status: (text: string) => void;
  clearStatus: () => void;
}

export interface Settled {
  rss: number;
  settled: boolean;
  waitedMs: number;
}

export interface MemoryRound {
  side: Side;
  idleRss?: number;
  perConn?: number;
  perSub?: number;
  perMsg?: number;
  /** Steps whose RSS had not settled by the deadline. */
  unsettled: string[];
}

export interface MemoryMeasured {
  conns: number;
  subs: number;
  storeMsgs: number;
  rounds: MemoryRound[];
}

/**
 * Polls a process's RSS until it stops moving (see the header), no sooner
 * than `minMs`, or the deadline.
 */
export async function settledRss(
  pid: number,
  deadlineMs = SETTLE_DEADLINE_MS,
  minMs = 0,
): Promise<Settled> {
  const start = performance.now();
  const window: number[] = [];
  for (;;) {
    window.push(readRssBytes(pid));
    if (window.length > SETTLE_WINDOW) window.shift();
    const rss = window[window.length - 1]!;
    const waitedMs = performance.now() - start;
    if (window.length === SETTLE_WINDOW && waitedMs >= minMs) {
      const spread = Math.max(...window) - Math.min(...window);
      if (spread <= Math.max(SETTLE_FLOOR_BYTES, rss * SETTLE_BAND)) {
        return { rss, settled: true, waitedMs };
      }
    }
    if (waitedMs >= deadlineMs) return { rss, settled: false, waitedMs };
    await sleep(SETTLE_EVERY_MS);
  }
}

/** The RSS a server holds at rest after a step (SETTLE_MIN_MS at least). */
const atRest = (pid: number): Promise<Settled> =>
  settledRss(pid, SETTLE_DEADLINE_MS + SETTLE_MIN_MS, SETTLE_MIN_MS);

function start(o: MemoryOptions, side: Side): Promise<ServerProc> {
  return side === 'nats'
    ? startNatsJetStream(o.natsBin)
    : startWeft(o.mainJs, ['--mesh-port', '-1'], 'weft');
}

export async function runMemory(o: MemoryOptions): Promise<MemoryMeasured> {
  const m: MemoryMeasured = { conns: o.conns, subs: o.subs, storeMsgs: o.storeMsgs, rounds: [] };
  for (let round = 1; round <= o.rounds; round++) {
    for (const side of SIDES) {
      const r: MemoryRound = { side, unsettled: [] };
      const tag = `memory ${side} round ${round}/${o.rounds}`;
      const note = (step: string, s: Settled) => {
        if (!s.settled) r.unsettled.push(step);
      };
      try {
        await onFresh(o, side, async (server) => {
          const idle = await atRest(server.pid);
          note('idle', idle);
          r.idleRss = idle.rss;
          const c = await openIdleConnections(server.url, o.conns, {
            onProgress: (n) => o.status(`${tag}: ${int(n)}/${int(o.conns)} connections`),
          });
          o.clearStatus();
          const full = await atRest(server.pid);
          note('connections', full);
          const opened = c.opened;
          const errors = await c.close();
          if (opened < o.conns)
            o.problems.push(
              `${tag}: ${opened} of ${o.conns} connections opened; ${errors[0] ?? ''}`,
            );
          if (opened > 0) r.perConn = (full.rss - idle.rss) / opened;
        });
        await onFresh(o, side, async (server) => {
          const base = await atRest(server.pid);
          note('subscriptions baseline', base);
          const conn = await BenchConn.open(parseServerUrl(server.url), 'weft-bench-memory-subs');
          try {
            const batch = 5000;
            for (let i = 0; i < o.subs; i += batch) {
              o.status(`${tag}: ${int(i)}/${int(o.subs)} subscriptions`);
              const frames: Buffer[] = [];
              for (let k = i; k < Math.min(o.subs, i + batch); k++) {
                frames.push(subFrame(`memory.sub.${k}`, k + 1));
              }
              await conn.write(Buffer.concat(frames));
              await conn.flush();
            }
            o.clearStatus();
            if (conn.errors.length > 0) throw new Error(conn.errors.join('; '));
            const full = await atRest(server.pid);
            note('subscriptions', full);
            r.perSub = (full.rss - base.rss) / o.subs;
          } finally {
            conn.close();
          }
        });
        await onFresh(o, side, async (server) => {
          let base: Settled | undefined;
          let full: Settled | undefined;
          const res = await runJetStream('js-pub-async', {
            server: parseServerUrl(server.url),
            msgs: o.storeMsgs,
            size: 16,
            timeoutMs: 600_000,
            onProgress: (done, total) => o.status(`${tag}: ${int(done)}/${int(total)} stored`),
            onStreamCreated: async () => {
              base = await atRest(server.pid);
            },
            beforeDelete: async () => {
              o.clearStatus();
              full = await atRest(server.pid);
            },
          });
          o.clearStatus();
          if (!res.complete || base === undefined || full === undefined) {
            throw new Error(
              `stream fill: ${res.ended}, ${res.done}/${o.storeMsgs} acked; ${res.errors[0] ?? ''}`,
            );
          }
          note('stream baseline', base);
          note('stream', full);
          r.perMsg = (full.rss - base.rss) / res.done;
        });
      } catch (err) {
        o.problems.push(`${tag}: ${(err as Error).message}`);
      }
      o.log(
        `${tag}: idle ${fmt(r.idleRss)}, ${fmt(r.perConn)}/connection, ${fmt(r.perSub)}/subscription, ${fmt(r.perMsg)}/stored message${r.unsettled.length > 0 ? ` (not settled: ${r.unsettled.join(', ')})` : ''}`,
      );
      m.rounds.push(r);
    }
  }
  return m;
}

const fmt = (v: number | undefined) => (v === undefined ? '—' : bytes(v));

async function onFresh(o: MemoryOptions, side: Side, fn: (s: ServerProc) => Promise<void>) {
  const server = await start(o, side);
  try {
    await fn(server);
    if (server.exited()) throw new Error(`${server.name} exited\n${server.tail()}`);
  } finally {
    await server.stop();
  }
}

/** One sample per row per round: each round's nats figure against the same round's Weft figure. */
export function memoryRows(m: MemoryMeasured): RowSample[] {
  const out: RowSample[] = [];
  const nats = m.rounds.filter((r) => r.side === 'nats');
  const weft = m.rounds.filter((r) => r.side === 'weft');
  const rows = [
    ['memory.idle-rss', 'RSS of a fresh server at idle', 'idleRss'],
    ['memory.per-conn', `RSS per idle connection, ${int(m.conns)} open`, 'perConn'],
    ['memory.per-sub', `RSS per subscription, ${int(m.subs)} distinct on one connection`, 'perSub'],
    [
      'memory.per-msg',
      `RSS per stored message, file stream of ${int(m.storeMsgs)} × 16 B`,
      'perMsg',
    ],
  ] as const;
  const steps: Record<(typeof rows)[number][2], string[]> = {
    idleRss: ['idle'],
    perConn: ['idle', 'connections'],
    perSub: ['subscriptions baseline', 'subscriptions'],
    perMsg: ['stream baseline', 'stream'],
  };
  for (let i = 0; i < Math.max(nats.length, weft.length); i++) {
    const n = nats[i];
    const w = weft[i];
    for (const [id, label, key] of rows) {
      const s: RowSample = { id, label, unit: 'B', ref: 'nats-server -js', better: 'lower' };
      if (n?.[key] !== undefined) s.refValue = n[key];
      if (w?.[key] !== undefined) s.weftValue = w[key];
      const unsettled = [n, w].filter((r): r is MemoryRound =>
        Boolean(r?.unsettled.some((u) => steps[key].includes(u))),
      );
      if (unsettled.length > 0) {
        s.warning = `RSS not settled in ${SETTLE_DEADLINE_MS / 1000} s (${unsettled.map((r) => r.side).join(', ')})`;
      }
      out.push(s);
    }
  }
  return out;
}
