/**
 * The JetStream part of `npm run bench`: publish with acks and consume with
 * acks, Weft against `nats-server -js`, same generator (`src/bench/jetstream.ts`),
 * one run. Each side runs with its default sync policy (Weft: fsync before
 * every ack, with group commit; nats-server: fsync every 2 minutes); the
 * rows marked `weftSync: 'interval'` run a second Weft node with
 * `--sync-interval 2m`, nats-server's default, like for like. A third
 * column, nats-server with `jetstream { sync_interval: always }`, is measured
 * when the installed nats-server accepts that field (2.10 and later).
 */

import os from 'node:os';
import { type JsResult, type JsWorkload, runJetStream } from '../src/bench/jetstream.js';
import { parseServerUrl } from '../src/bench/protocol.js';
import { markdownTable } from '../src/bench/report.js';
import { int, micros, si } from '../src/bench/stats.js';
import { type ServerProc, startNatsJetStream, startWeft } from './servers.js';

export const JS_IDS: string[] = [
  'js-pub-async',
  'js-pub-sync',
  'js-consume-pull',
  'js-consume-push',
];

export type JsSide = 'nats' | 'natsSync' | 'weft';
const SIDE_NAMES: Record<JsSide, string> = {
  nats: 'nats-server -js',
  natsSync: 'nats-server -js, sync always',
  weft: 'weft',
};

interface JsCase {
  key: string;
  id: JsWorkload;
  label: string;
  size: number;
  /** Share of the JetStream message count. */
  scale: number;
  /** Consumers: max_ack_pending to ask for (default: the server's own default). */
  maxAckPending?: number;
  /**
   * Weft's sync policy for this row: 'always' (the default: fsync before
   * every ack, group commit) or 'interval' (`--sync-interval 2m`, as
   * nats-server 2.9's default, so the row compares like with like).
   */
  weftSync?: 'always' | 'interval';
}

/** The Weft node's extra arguments for each sync policy. */
const WEFT_SYNC_ARGS: Record<'always' | 'interval', string[]> = {
  always: [],
  interval: ['--sync-interval', '2m'],
};

const JS_CASES: JsCase[] = [
  {
    key: 'js-pub-async',
    id: 'js-pub-async',
    label: 'JS publish, async (256 in flight), 16 B',
    size: 16,
    scale: 1,
  },
  {
    key: 'js-pub-async-1k',
    id: 'js-pub-async',
    label: 'JS publish, async (256 in flight), 1 KiB',
    size: 1024,
    scale: 1,
  },
  { key: 'js-pub-sync', id: 'js-pub-sync', label: 'JS publish, sync, 16 B', size: 16, scale: 0.05 },
  {
    key: 'js-consume-pull',
    id: 'js-consume-pull',
    label: 'JS pull consumer (batch 500), ack each, 16 B',
    size: 16,
    scale: 1,
  },
  {
    key: 'js-consume-pull-map20k',
    id: 'js-consume-pull',
    label: 'JS pull consumer, max_ack_pending 20,000, 16 B',
    size: 16,
    scale: 0.5,
    maxAckPending: 20_000,
  },
  {
    key: 'js-consume-push',
    id: 'js-consume-push',
    label: 'JS push consumer, ack explicit, 16 B',
    size: 16,
    scale: 1,
  },
  // The same rows with Weft fsyncing every 2 minutes, as nats-server -js does.
  {
    key: 'js-pub-async-interval',
    id: 'js-pub-async',
    label: 'JS publish, async (256 in flight), 16 B, Weft sync_interval 2m',
    size: 16,
    scale: 1,
    weftSync: 'interval',
  },
  {
    key: 'js-pub-async-1k-interval',
    id: 'js-pub-async',
    label: 'JS publish, async (256 in flight), 1 KiB, Weft sync_interval 2m',
    size: 1024,
    scale: 1,
    weftSync: 'interval',
  },
  {
    key: 'js-consume-pull-interval',
    id: 'js-consume-pull',
    label: 'JS pull consumer (batch 500), ack each, 16 B, Weft sync_interval 2m',
    size: 16,
    scale: 1,
    weftSync: 'interval',
  },
  {
    key: 'js-consume-push-interval',
    id: 'js-consume-push',
    label: 'JS push consumer, ack explicit, 16 B, Weft sync_interval 2m',
    size: 16,
    scale: 1,
    weftSync: 'interval',
  },
];

/**
 * What a server runs before it is measured: a publish, then a pull and a
 * push consume, twice each. A Weft process's first consumes cost up to
 * twice its steady-state CPU per message (V8 compiling the consumer path,
 * then deoptimising and recompiling it when a second stream and consumer
 * appear: bench/PROFILE.md, "Issue 16 — ackroute (round 9)"); warmed only by
 * a publish, a row measured on a node that had run one consume before it
 * (the `sync_interval` node's push row) was compared with one measured after
 * two (the default node's), which made the policies look apart.
 */
export const JS_WARMUP: readonly JsWorkload[] = [
  'js-pub-async',
  'js-consume-pull',
  'js-consume-push',
  'js-consume-pull',
  'js-consume-push',
];

/** Runs JS_WARMUP on the server at `url`, `msgs` messages of 16 B each; failures are ignored (the rows report them). */
export async function warmUpJetStream(
  url: string,
  msgs: number,
  status: (workload: JsWorkload) => void = () => {},
): Promise<void> {
  for (const w of JS_WARMUP) {
    status(w);
    await runJetStream(w, {
      server: parseServerUrl(url),
      msgs,
      size: 16,
      window: WINDOW,
    }).catch(() => {});
  }
}

/** The row label of a JetStream case key (the key itself when unknown). */
export function jsLabel(key: string): string {
  return JS_CASES.find((c) => c.key === key)?.label ?? key;
}

export interface JsMeasured {
  msgs: number;
  window: number;
  /** Why the sync-always nats-server column is missing, when it is. */
  natsSyncSkipped?: string;
  results: Record<string, Partial<Record<JsSide, JsResult>>>;
  ratios: Record<string, number>;
}

export interface JsRunOptions {
  natsBin: string;
  mainJs: string;
  msgs: number;
  only: string[];
  problems: string[];
  log: (line: string) => void;
  status: (text: string) => void;
  clearStatus: () => void;
  live: boolean;
}

const WINDOW = 256;

export async function runJetStreamCompare(o: JsRunOptions): Promise<JsMeasured> {
  const m: JsMeasured = { msgs: o.msgs, window: WINDOW, results: {}, ratios: {} };
  const servers: Partial<Record<JsSide, ServerProc>> = {};
  /** The Weft node with `--sync-interval 2m`, for the rows that ask for it. */
  let weftInterval: ServerProc | undefined;
  try {
    servers.nats = await startNatsJetStream(o.natsBin);
    o.log(`JetStream: nats-server -js on ${servers.nats.url} (pid ${servers.nats.pid})`);
    try {
      servers.natsSync = await startNatsJetStream(o.natsBin, true);
      o.log(`JetStream: nats-server sync always on ${servers.natsSync.url}`);
    } catch (err) {
      const text = (err as Error).message;
      const unknown = /unknown field "sync_interval"/.exec(text);
      m.natsSyncSkipped = unknown
        ? 'this nats-server does not know `jetstream { sync_interval: always }` (added in 2.10), so that column is skipped'
        : `nats-server with sync_interval: always did not start: ${text.split('\n')[0]}`;
      o.log(`JetStream: ${m.natsSyncSkipped}`);
      if (!unknown) o.problems.push(m.natsSyncSkipped);
    }
    try {
      servers.weft = await startWeft(o.mainJs, ['--mesh-port', '-1']);
      o.log(`JetStream: weft on ${servers.weft.url} (pid ${servers.weft.pid})`);
    } catch (err) {
      o.problems.push(`JetStream: Weft node did not start: ${(err as Error).message}`);
    }
    if (JS_CASES.some((c) => c.weftSync === 'interval' && o.only.includes(c.id))) {
      try {
        weftInterval = await startWeft(o.mainJs, ['--mesh-port', '-1', ...WEFT_SYNC_ARGS.interval]);
        o.log(`JetStream: weft with sync_interval 2m on ${weftInterval.url}`);
      } catch (err) {
        o.problems.push(
          `JetStream: Weft node (sync_interval) did not start: ${(err as Error).message}`,
        );
      }
    }
    const sides = (['nats', 'natsSync', 'weft'] as const).filter((s) => servers[s] !== undefined);
    // Not measured: V8 compiles Weft's hot paths, and every server creates its first stream.
    for (const server of [
      ...sides.map((s) => servers[s]!),
      ...(weftInterval ? [weftInterval] : []),
    ]) {
      await warmUpJetStream(server.url, Math.min(20_000, o.msgs), (w) =>
        o.status(`warming up ${server.name}: ${w}`),
      );
    }
    o.clearStatus();
    for (const c of JS_CASES.filter((c) => o.only.includes(c.id))) {
      m.results[c.key] = {};
      for (const side of sides) {
        const server = side === 'weft' && c.weftSync === 'interval' ? weftInterval : servers[side];
        if (server === undefined) continue;
        if (server.exited()) {
          o.problems.push(`${c.key} ${side}: server is no longer running\n${server.tail()}`);
          continue;
        }
        const prefix = `${c.key} ${SIDE_NAMES[side]}: `;
        const msgs = Math.max(100, Math.round(o.msgs * c.scale));
        const r = await runJetStream(c.id, {
          server: parseServerUrl(server.url),
          msgs,
          size: c.size,
          window: WINDOW,
          ...(c.maxAckPending !== undefined ? { maxAckPending: c.maxAckPending } : {}),
          onProgress: o.live ? (d, t) => o.status(`${prefix}${int(d)}/${int(t)}`) : undefined,
        });
        o.clearStatus();
        m.results[c.key]![side] = r;
        o.log(`${c.key.padEnd(22)} ${SIDE_NAMES[side].padEnd(30)} ${describeJs(r)}`);
        if (!r.complete) o.problems.push(`${c.key} ${side}: ${problemText(r)}`);
        if (server.exited()) o.problems.push(`${c.key} ${side}: server exited\n${server.tail()}`);
      }
    }
  } finally {
    o.clearStatus();
    await Promise.all([...Object.values(servers), weftInterval].map((s) => s?.stop()));
  }
  for (const c of JS_CASES) {
    const { nats, natsSync, weft } = m.results[c.key] ?? {};
    const put = (name: string, a: number | undefined, b: number | undefined) => {
      if (a !== undefined && b !== undefined && a > 0 && b > 0) m.ratios[name] = a / b;
    };
    if (c.id === 'js-pub-sync') {
      for (const q of ['p50', 'p99'] as const) {
        put(`${c.key} ${q} nats/weft`, nats?.latency?.[q], weft?.latency?.[q]);
        put(`${c.key} ${q} nats-sync/weft`, natsSync?.latency?.[q], weft?.latency?.[q]);
      }
    }
    put(`${c.key} weft/nats`, weft?.msgsPerSec, nats?.msgsPerSec);
    put(`${c.key} weft/nats-sync`, weft?.msgsPerSec, natsSync?.msgsPerSec);
  }
  return m;
}

function defaultMap(m: JsMeasured): string {
  const seen: string[] = [];
  for (const c of JS_CASES) {
    if (c.maxAckPending !== undefined) continue;
    for (const [side, r] of Object.entries(m.results[c.key] ?? {})) {
      const text = `${side === 'weft' ? 'weft' : 'nats'} ${r?.maxAckPending === undefined ? '?' : int(r.maxAckPending)}`;
      if (r?.maxAckPending !== undefined && !seen.includes(text)) seen.push(text);
    }
  }
  return seen.length > 0 ? seen.join(', ') : 'as reported';
}

function problemText(r: JsResult): string {
  const parts = [`${r.ended}, ${int(r.done)} of ${int(r.msgs)}`];
  for (const [text, n] of Object.entries(r.ackErrors))
    parts.push(`${int(n)} acks with error ${text}`);
  parts.push(...r.errors);
  return parts.join('; ');
}

function describeJs(r: JsResult): string {
  const state = r.complete ? '' : ` [${problemText(r)}]`;
  const map = r.maxAckPending !== undefined ? `  (max_ack_pending ${int(r.maxAckPending)})` : '';
  const lat = r.latency ? `  p50 ${micros(r.latency.p50)}  p99 ${micros(r.latency.p99)}` : '';
  return `${si(r.msgsPerSec)} msgs/s  in ${(r.elapsedMs / 1000).toFixed(2)} s${lat}${map}${state}`;
}

/** Target from issue 16: async publish, pull and push consume at ≥ 1.0× nats-server. */
const TARGET = 1.0;

export function renderJsTable(m: JsMeasured, only: string[]): string {
  const withSync = Object.values(m.results).some((r) => r.natsSync !== undefined);
  const rows: string[][] = [];
  const cell = (r: JsResult | undefined, value: (r: JsResult) => string) => {
    if (r === undefined) return '—';
    return r.complete ? value(r) : `${value(r)} ⚠ ${r.ended}`;
  };
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a <= 0 || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`;
  const target = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a <= 0 || b <= 0
      ? '—'
      : `≥ ${TARGET}× ${a / b >= TARGET ? '✓' : '✗'}`;
  for (const c of JS_CASES.filter((c) => only.includes(c.id))) {
    const { nats, natsSync, weft } = m.results[c.key] ?? {};
    const msgs = Math.max(100, Math.round(m.msgs * c.scale));
    const unit = c.id.startsWith('js-pub') ? 'acks/s' : 'msgs/s consumed';
    const row = [
      `${c.label}, ${int(msgs)} (${unit})`,
      cell(nats, (r) => si(r.msgsPerSec)),
      ...(withSync ? [cell(natsSync, (r) => si(r.msgsPerSec))] : []),
      cell(weft, (r) => si(r.msgsPerSec)),
      ratio(weft?.msgsPerSec, nats?.msgsPerSec),
      ...(withSync ? [ratio(weft?.msgsPerSec, natsSync?.msgsPerSec)] : []),
      c.id === 'js-pub-sync' ? '' : target(weft?.msgsPerSec, nats?.msgsPerSec),
    ];
    rows.push(row);
    if (c.id === 'js-pub-sync') {
      for (const q of ['p50', 'p99'] as const) {
        rows.push([
          `${c.label}, ${q} publish → ack (lower is better)`,
          cell(nats, (r) => micros(r.latency![q])),
          ...(withSync ? [cell(natsSync, (r) => micros(r.latency![q]))] : []),
          cell(weft, (r) => micros(r.latency![q])),
          ratio(nats?.latency?.[q], weft?.latency?.[q]),
          ...(withSync ? [ratio(natsSync?.latency?.[q], weft?.latency?.[q])] : []),
          '',
        ]);
      }
    }
  }
  const header = [
    'JetStream workload',
    'nats-server -js',
    ...(withSync ? ['nats-server, sync always'] : []),
    'weft',
    'weft vs nats',
    ...(withSync ? ['weft vs nats sync always'] : []),
    'target',
  ];
  const out = [
    ...markdownTable(header, rows),
    '',
    'Throughput ratio = weft ÷ nats; latency ratio = nats ÷ weft (>1× = weft better).',
    `Target (issue): ≥ ${TARGET}× nats-server for async publish and consume. Sync policies are`,
    "each server's default: Weft fsyncs before every ack (group commit); nats-server -js",
    'fsyncs every 2 min, so its acks do not wait for the disk. Consumers use each',
    `server's default max_ack_pending (${defaultMap(m)}) unless the row says otherwise.`,
    'Rows ending "Weft sync_interval 2m" run Weft with `--sync-interval 2m`: both servers',
    'fsync on a 2-minute timer there, like for like.',
  ];
  if (m.natsSyncSkipped) out.push(`No "sync always" column: ${m.natsSyncSkipped}.`);
  out.push(
    `File storage, streams created and deleted per workload, ${os.availableParallelism()} CPUs, Node ${process.version}.`,
  );
  return out.join('\n');
}
