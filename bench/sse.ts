/**
 * The SSE part of `npm run bench`: "SSE delivery rate to 100 subscribers".
 * A Weft node with its HTTP face; 100 Server-Sent Events clients over
 * keep-alive HTTP (`GET /v1/subscribe/bench.sse`, node:http with a
 * keep-alive agent) and one publisher over NATS TCP (the `nats` client),
 * all in this process. The publisher keeps at most WINDOW messages ahead
 * of the slowest client (so no client passes `http.sse_max_pending` and
 * the rate measured is the one the node sustains, not a burst into
 * buffers); the rate is every message received by every client, divided by
 * the time from the first publish to the last delivery. Three rounds on
 * one node; the median is reported.
 *
 * There is no reference: nats-server has no SSE, and a generic SSE server
 * would not route NATS messages. The number is tracked against itself.
 */
import http from 'node:http';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { connect } from 'nats';
import { si } from '../src/bench/stats.js';
import { freePort, type ServerProc, startWeft } from './servers.js';

export const SSE_IDS = ['sse-fanout'];

const SUBSCRIBERS = 100;
const SUBJECT = 'bench.sse';
const PAYLOAD = 16;
/** Most messages the publisher is ahead of the slowest client. */
const WINDOW = 2000;
const ROUNDS = 3;
const ROUND_TIMEOUT_MS = 120_000;

export interface SseMeasured {
  /** Messages/s delivered in total, per round. */
  rounds: number[];
  median: number;
  msgs: number;
  notes: string[];
}

export interface SseContext {
  mainJs: string;
  /** Messages per round (each delivered to every client). */
  msgs: number;
  problems: string[];
  log: (line: string) => void;
  status: (text: string) => void;
  clearStatus: () => void;
}

/** One SSE client that counts events (a blank line ends one; the `retry:` field too). */
class Counter {
  events = -1; // the `retry:` field ends with a blank line: not an event
  private lastNl = false;
  private req: http.ClientRequest | null = null;
  ready: Promise<void>;

  constructor(agent: http.Agent, port: number) {
    this.ready = new Promise((resolve, reject) => {
      this.req = http.get(
        { host: '127.0.0.1', port, path: `/v1/subscribe/${SUBJECT}`, agent },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`SSE answered ${res.statusCode}`));
            res.resume();
            return;
          }
          res.on('data', (chunk: Buffer) => this.count(chunk));
          resolve();
        },
      );
      this.req.on('error', reject);
    });
  }

  private count(b: Buffer): void {
    let i = b.indexOf(10);
    if (i < 0) {
      this.lastNl = false;
      return;
    }
    if (i === 0 && this.lastNl) this.events++;
    for (;;) {
      const j = b.indexOf(10, i + 1);
      if (j < 0) break;
      if (j === i + 1) this.events++;
      i = j;
    }
    this.lastNl = i === b.length - 1;
  }

  close(): void {
    this.req?.destroy();
  }
}

/** One round: `msgs` messages to SUBSCRIBERS clients; messages/s delivered in total. */
async function round(natsUrl: string, httpPort: number, msgs: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SUBSCRIBERS });
  const clients = Array.from({ length: SUBSCRIBERS }, () => new Counter(agent, httpPort));
  const nc = await connect({ servers: natsUrl });
  try {
    await Promise.all(clients.map((c) => c.ready));
    // Wait until every client's subscription is in: a probe reaches them all.
    const probe = Buffer.alloc(PAYLOAD, 0x70);
    const deadline = Date.now() + 10_000;
    while (clients.some((c) => c.events < 1)) {
      if (Date.now() > deadline) throw new Error('SSE clients not subscribed after 10 s');
      nc.publish(SUBJECT, probe);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 100));
    const base = clients.map((c) => c.events);
    const payload = Buffer.alloc(PAYLOAD, 0x78);
    const start = performance.now();
    let sent = 0;
    const end = Date.now() + ROUND_TIMEOUT_MS;
    for (;;) {
      let min = Number.POSITIVE_INFINITY;
      for (let i = 0; i < clients.length; i++) {
        const got = clients[i]!.events - base[i]!;
        if (got < min) min = got;
      }
      if (min >= msgs) break;
      if (Date.now() > end) throw new Error(`round not done after ${ROUND_TIMEOUT_MS} ms`);
      const room = Math.min(msgs - sent, WINDOW - (sent - min));
      for (let i = 0; i < room; i++) nc.publish(SUBJECT, payload);
      sent += Math.max(0, room);
      await yieldLoop();
    }
    const seconds = (performance.now() - start) / 1000;
    return (msgs * SUBSCRIBERS) / seconds;
  } finally {
    for (const c of clients) c.close();
    agent.destroy();
    await nc.close();
  }
}

export async function runSse(ctx: SseContext): Promise<SseMeasured> {
  const m: SseMeasured = { rounds: [], median: 0, msgs: ctx.msgs, notes: [] };
  let node: ServerProc | null = null;
  try {
    const httpPort = await freePort();
    node = await startWeft(ctx.mainJs, ['--http-api-port', String(httpPort)], 'weft-sse');
    ctx.log(`weft with HTTP on 127.0.0.1:${httpPort} (pid ${node.pid})`);
    for (let r = 1; r <= ROUNDS; r++) {
      ctx.status(`sse-fanout round ${r}/${ROUNDS}`);
      const rate = await round(node.url, httpPort, ctx.msgs);
      m.rounds.push(rate);
      ctx.log(`sse-fanout round ${r}: ${si(rate)} msgs/s delivered`);
    }
    const sorted = [...m.rounds].sort((a, b) => a - b);
    m.median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  } catch (err) {
    ctx.problems.push(`sse-fanout: ${(err as Error).message}`);
  } finally {
    ctx.clearStatus();
    await node?.stop();
  }
  return m;
}

export function renderSseTable(m: SseMeasured): string {
  const rounds = m.rounds.map((r) => si(r)).join(' / ');
  return [
    `| SSE (${SUBSCRIBERS} subscribers, ${PAYLOAD} B, ${si(m.msgs)} msgs per round) | weft median | rounds | reference |`,
    '|---|--:|--:|---|',
    `| SSE delivery rate to ${SUBSCRIBERS} subscribers (msgs/s delivered in total) | ${m.median > 0 ? si(m.median) : '—'} | ${rounds || '—'} | none (nats-server has no SSE) |`,
  ].join('\n');
}
