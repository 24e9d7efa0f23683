/**
 * The webhooks part of `npm run bench`: webhook delivery rate to a local
 * receiver. A Weft node (child process) runs four webhooks from its
 * config — core and stream-backed, concurrency 1 and 16 — POSTing to a
 * `node:http` receiver in this process that answers 200 at once. Messages
 * are published over NATS (core: at most WINDOW ahead of what the receiver
 * got, so the webhook's queue never drops; stream: JetStream publishes
 * with WINDOW acks outstanding). The rate is messages / (last delivery −
 * first publish); each row runs ROUNDS rounds and shows the median.
 *
 * There is no reference server to compare with (nats-server has no
 * webhooks): the number to track is the rate itself, and concurrency 1
 * (ordered, one POST at a time) against 16.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { int } from '../src/bench/stats.js';
import { type ServerProc, startWeft } from './servers.js';

export const WEBHOOK_IDS: string[] = [
  'webhook-core-c1',
  'webhook-core-c16',
  'webhook-stream-c1',
  'webhook-stream-c16',
];

interface Row {
  id: string;
  label: string;
  stream: boolean;
  concurrency: number;
}

const ROWS: Row[] = [
  { id: 'webhook-core-c1', label: 'webhook, core, concurrency 1', stream: false, concurrency: 1 },
  {
    id: 'webhook-core-c16',
    label: 'webhook, core, concurrency 16',
    stream: false,
    concurrency: 16,
  },
  {
    id: 'webhook-stream-c1',
    label: 'webhook, stream, concurrency 1',
    stream: true,
    concurrency: 1,
  },
  {
    id: 'webhook-stream-c16',
    label: 'webhook, stream, concurrency 16',
    stream: true,
    concurrency: 16,
  },
];

/** Messages published ahead of deliveries (core) or acks outstanding (stream). */
const WINDOW = 256;
const ROUNDS = 3;

export interface WebhookRunOptions {
  mainJs: string;
  msgs: number;
  only: string[];
  problems: string[];
  log: (line: string) => void;
}

export interface WebhookMeasured {
  msgs: number;
  rounds: number;
  /** Messages per second of each round, by row id. */
  rates: Record<string, number[]>;
}

/** The receiver: counts POSTs per path and wakes whoever waits for a count. */
class Counter {
  readonly counts = new Map<string, number>();
  private waiters: (() => void)[] = [];
  server: Server | null = null;
  port = 0;

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const p = req.url ?? '/';
        this.counts.set(p, (this.counts.get(p) ?? 0) + 1);
        res.writeHead(200, { 'content-length': '0' }).end();
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  count(p: string): number {
    return this.counts.get(p) ?? 0;
  }

  /** Resolves at the next POST (or after 1 s, so a stalled run is noticed). */
  next(): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, 1000);
      this.waiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

export async function runWebhooks(o: WebhookRunOptions): Promise<WebhookMeasured> {
  const m: WebhookMeasured = { msgs: o.msgs, rounds: ROUNDS, rates: {} };
  const rows = ROWS.filter((r) => o.only.includes(r.id));
  const rx = new Counter();
  await rx.start();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-webhooks-'));
  const file = path.join(dir, 'webhooks.yaml');
  const lines = ['webhooks:'];
  for (const r of ROWS) {
    lines.push(
      `  - name: ${r.id}`,
      `    url: http://127.0.0.1:${rx.port}/${r.id}`,
      `    subject: bench.${r.id}`,
      `    concurrency: ${r.concurrency}`,
      ...(r.stream ? [`    stream: B_${r.id.replace(/-/g, '_')}`] : []),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  let node: ServerProc | null = null;
  let nc: NatsConnection | null = null;
  try {
    node = await startWeft(o.mainJs, ['--config', file], 'weft-webhooks', true);
    o.log(`Webhooks: Weft on ${node.url} (pid ${node.pid}), receiver on :${rx.port}`);
    nc = await connect({ servers: node.url });
    const jsm = await nc.jetstreamManager();
    for (const r of rows.filter((x) => x.stream)) {
      await jsm.streams.add({ name: `B_${r.id.replace(/-/g, '_')}`, subjects: [`bench.${r.id}`] });
    }
    await waitRunning(
      node,
      rows.map((r) => r.id),
    );
    for (const r of rows) {
      m.rates[r.id] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const rate = r.stream
          ? await streamRound(nc, rx, r, o.msgs)
          : await coreRound(nc, rx, r, o.msgs);
        m.rates[r.id]!.push(rate);
        o.log(`  ${r.label}: round ${round + 1}: ${int(Math.round(rate))} msgs/s`);
      }
    }
  } catch (err) {
    o.problems.push(`webhooks: ${(err as Error).message}${node ? `\n${node.tail()}` : ''}`);
  } finally {
    await nc?.close().catch(() => {});
    await node?.stop();
    await rx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return m;
}

/** Waits until every webhook of `ids` delivers (stream ones bind once their stream exists). */
async function waitRunning(node: ServerProc, ids: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = (await (await fetch(`http://127.0.0.1:${node.httpPort}/varz`)).json()) as {
      weft?: { faces?: { http?: { webhooks?: { webhooks?: Record<string, { state: string }> } } } };
    };
    const all = v.weft?.faces?.http?.webhooks?.webhooks ?? {};
    if (ids.every((id) => all[id]?.state === 'running')) return;
    if (Date.now() > deadline)
      throw new Error(`webhooks not running after 10 s: ${JSON.stringify(all)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function coreRound(nc: NatsConnection, rx: Counter, r: Row, n: number): Promise<number> {
  const p = `/${r.id}`;
  const base = rx.count(p);
  const payload = Buffer.alloc(16, 'x');
  const start = performance.now();
  let sent = 0;
  while (sent < n) {
    while (sent < n && sent - (rx.count(p) - base) < WINDOW) {
      nc.publish(`bench.${r.id}`, payload);
      sent++;
    }
    await nc.flush();
    if (sent - (rx.count(p) - base) >= WINDOW) await rx.next();
  }
  await until(rx, () => rx.count(p) - base >= n, `${r.id}: ${n} deliveries`);
  return n / ((performance.now() - start) / 1000);
}

async function streamRound(nc: NatsConnection, rx: Counter, r: Row, n: number): Promise<number> {
  const p = `/${r.id}`;
  const base = rx.count(p);
  const js = nc.jetstream();
  const payload = Buffer.alloc(16, 'x');
  const start = performance.now();
  const pending = new Set<Promise<unknown>>();
  for (let i = 0; i < n; i++) {
    const ack = js.publish(`bench.${r.id}`, payload);
    pending.add(ack);
    void ack.finally(() => pending.delete(ack));
    if (pending.size >= WINDOW) await Promise.race(pending);
  }
  await Promise.all(pending);
  await until(rx, () => rx.count(p) - base >= n, `${r.id}: ${n} deliveries`);
  return n / ((performance.now() - start) / 1000);
}

/** Waits for `cond`, failing when 10 s pass without a single new delivery. */
async function until(rx: Counter, cond: () => boolean, what: string): Promise<void> {
  let last = -1;
  let still = 0;
  while (!cond()) {
    const now = [...rx.counts.values()].reduce((a, b) => a + b, 0);
    still = now === last ? still + 1 : 0;
    last = now;
    if (still > 10) throw new Error(`stalled waiting for ${what}`);
    await rx.next();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

export function renderWebhooksTable(m: WebhookMeasured, only: string[]): string {
  const header = [
    'webhook delivery to a local receiver (200 at once)',
    `median of ${m.rounds}, msgs/s`,
    'rounds',
  ];
  const rows = ROWS.filter((r) => only.includes(r.id) && m.rates[r.id] !== undefined).map((r) => [
    `${r.label}, ${int(m.msgs)} msgs`,
    int(Math.round(median(m.rates[r.id]!))),
    m.rates[r.id]!.map((x) => int(Math.round(x))).join(' / '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
