/**
 * JetStream workloads of the load generator: publish with acks (pipelined and
 * one at a time), and consuming a pre-filled stream through a pull and a push
 * consumer that ack every message. Streams and consumers are created with raw
 * `$JS.API.*` JSON requests; no client library.
 *
 * Everything runs on the calling thread over one connection: the rates are
 * bounded by the servers' disks and ack round trips, far below what one core
 * of the generator can parse. Every run has a deadline and a stall timeout,
 * and reports what it got (never hangs on a server that stops answering).
 */

import { BenchConn } from './conn.js';
import { pubBatch, type ServerAddress, subFrame } from './protocol.js';
import { PullCredit } from './pull-credit.js';
import { type Percentiles, percentiles } from './stats.js';

export const JS_WORKLOADS = [
  'js-pub-async',
  'js-pub-sync',
  'js-consume-pull',
  'js-consume-push',
] as const;
export type JsWorkload = (typeof JS_WORKLOADS)[number];

export interface JsOptions {
  server: ServerAddress;
  /** Messages to publish (js-pub-*) or to consume (js-consume-*; the stream is pre-filled with this many). */
  msgs: number;
  /** Payload bytes. */
  size: number;
  /** js-pub-async (and the pre-fill): publishes in flight without an ack (default 256). */
  window?: number;
  /** js-consume-pull: `batch` of each MSG.NEXT request (default 500). */
  batch?: number;
  /** Consumers' max_ack_pending (default: not set, the server's default applies). */
  maxAckPending?: number;
  /** Give up this long after the measured part starts, ms (default 60 s). */
  timeoutMs?: number;
  /** Give up after this long without progress, ms (default 10 s). */
  stallMs?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called once the stream exists, before anything is published (bench/memory.ts: RSS baseline). */
  onStreamCreated?: () => Promise<void>;
  /** Called after the workload, before the stream is deleted (bench/memory.ts: RSS with it full). */
  beforeDelete?: () => Promise<void>;
  /**
   * Told when the measured part starts and ends (after a consumer's
   * pre-fill): a caller sampling the server's CPU time reads it here.
   */
  onPhase?: (phase: 'start' | 'end') => void;
}

export interface JsResult {
  workload: JsWorkload;
  size: number;
  /** Messages asked for. */
  msgs: number;
  /** Acks received (js-pub-*) or messages consumed (js-consume-*), good ones only. */
  done: number;
  elapsedMs: number;
  msgsPerSec: number;
  mbPerSec: number;
  /** js-pub-sync: publish → ack, µs. */
  latency?: Percentiles;
  complete: boolean;
  ended: 'done' | 'stalled' | 'deadline' | 'error';
  /** Publish acks that carried an error, by error text. */
  ackErrors: Record<string, number>;
  errors: string[];
  /** Pre-fill (consume workloads): msgs/s acked while filling the stream; not a measurement. */
  prefillPerSec?: number;
  /** Consume workloads: max_ack_pending as the server reported it when creating the consumer. */
  maxAckPending?: number;
}

const CRLF = Buffer.from('\r\n');
const ACK = '+ACK';

function rand(): string {
  return Math.random().toString(36).slice(2, 10);
}

/** A raw client with one wildcard inbox, JSON API requests, and a hook for everything else. */
class JsClient {
  readonly inbox = `_INBOX.wjs.${rand()}`;
  private nextReq = 0;
  private readonly waiting = new Map<string, (body: string) => void>();
  /** Messages that are not API replies. */
  onOther: ((subject: string, reply: string | null, line: string, payload: Buffer) => void) | null =
    null;
  /** Fast path for the publish acks: called with the payload, before any parsing. */
  onAck: ((p: Buffer, ps: number, pe: number) => void) | null = null;
  /**
   * Outside the wildcard inbox: under it every ack matched both
   * subscriptions and was delivered twice (as no real client subscribes).
   */
  readonly ackInbox = `_INBOX.wjsack.${rand()}`;

  private constructor(readonly conn: BenchConn) {}

  static async open(addr: ServerAddress, name: string): Promise<JsClient> {
    const conn = await BenchConn.open(addr, name);
    const c = new JsClient(conn);
    conn.scanner.onMsg = (line, ls, le, p, ps, pe) => c.dispatch(line, ls, le, p, ps, pe);
    conn.socket.write(subFrame(`${c.inbox}.*`, 1));
    conn.socket.write(subFrame(c.ackInbox, 2));
    await conn.flush();
    return c;
  }

  private dispatch(line: Buffer, ls: number, le: number, p: Buffer, ps: number, pe: number) {
    // "MSG <subject> <sid> ..." : sid 2 is the publish-ack inbox, handled without parsing.
    if (this.onAck !== null && sidIs2(line, ls, le)) {
      this.onAck(p, ps, pe);
      return;
    }
    const text = line.toString('latin1', ls, le).trim();
    const tokens = text.split(' ');
    const subject = tokens[1] ?? '';
    const waiter = this.waiting.get(subject);
    if (waiter !== undefined) {
      this.waiting.delete(subject);
      waiter(p.toString('utf8', ps, pe));
      return;
    }
    const hmsg = tokens[0] === 'HMSG';
    const reply = tokens.length === (hmsg ? 6 : 5) ? tokens[3]! : null;
    this.onOther?.(subject, reply, text, p.subarray(ps, pe));
  }

  /** A JSON API request; resolves with the parsed reply, rejects on an error reply or timeout. */
  async api(subject: string, body: unknown, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const reply = `${this.inbox}.r${this.nextReq++}`;
    const payload = Buffer.from(body === undefined ? '' : JSON.stringify(body));
    const text = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(reply);
        reject(new Error(`${subject}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(reply, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
      this.conn.onClose((why) => reject(new Error(`${subject}: ${why}`)));
      this.conn.socket.write(
        Buffer.concat([
          Buffer.from(`PUB ${subject} ${reply} ${payload.length}\r\n`),
          payload,
          CRLF,
        ]),
      );
    });
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new Error(`${subject}: reply is not JSON: ${text.slice(0, 200)}`);
    }
    if (doc['error'] !== undefined) {
      throw new Error(`${subject}: ${JSON.stringify(doc['error'])}`);
    }
    return doc;
  }

  close(): void {
    this.conn.close();
  }
}

/** Whether the control line's third token is exactly "2". */
function sidIs2(line: Buffer, ls: number, le: number): boolean {
  let sp = 0;
  for (let i = ls; i < le; i++) {
    if (line[i] === 32) {
      sp++;
      if (sp === 2) return line[i + 1] === 50 && (i + 2 >= le || line[i + 2] === 32);
    }
  }
  return false;
}

/** Text of a publish-ack error, or null when the ack is good: `{"error":{...}}` vs `{"stream":…}`. */
function ackError(p: Buffer, ps: number, pe: number): string | null {
  // A good ack starts with {"stream"; anything else is reported as it is.
  if (pe - ps > 9 && p[ps + 2] === 0x73 /* s */ && p[ps + 3] === 0x74 /* t */) return null;
  const text = p.toString('utf8', ps, pe);
  try {
    const doc = JSON.parse(text) as {
      error?: { code?: number; err_code?: number; description?: string };
    };
    if (doc.error)
      return `${doc.error.code ?? '?'}/${doc.error.err_code ?? '?'} ${doc.error.description ?? ''}`.trim();
  } catch {}
  return text.length === 0 ? '(empty ack)' : text.slice(0, 120);
}

async function createStream(c: JsClient, name: string, subject: string): Promise<void> {
  await c.api(`$JS.API.STREAM.CREATE.${name}`, {
    name,
    subjects: [subject],
    storage: 'file',
    retention: 'limits',
    num_replicas: 1,
  });
}

async function deleteStream(c: JsClient, name: string): Promise<void> {
  await c.api(`$JS.API.STREAM.DELETE.${name}`, undefined).catch(() => {});
}

interface PubRun {
  done: number;
  errors: number;
  elapsedMs: number;
  ended: JsResult['ended'];
  latency?: Float64Array;
}

/**
 * Publishes `msgs` messages with a reply inbox, at most `window` without an
 * ack, counting acks (good and bad). Ends at the last ack, a stall or the deadline.
 */
async function publishWindowed(
  c: JsClient,
  subject: string,
  msgs: number,
  size: number,
  window: number,
  ackErrors: Record<string, number>,
  timeoutMs: number,
  stallMs: number,
  onProgress?: (done: number, total: number) => void,
): Promise<PubRun> {
  const chunk = Math.max(1, Math.min(window >> 2 || 1, 64));
  const batch = pubBatch(subject, size, chunk, c.ackInbox);
  const single = pubBatch(subject, size, 1, c.ackInbox).buf;
  let sent = 0;
  let acked = 0;
  let bad = 0;
  let lastProgress = performance.now();
  const t0 = performance.now();
  let finish!: (ended: JsResult['ended']) => void;
  const finished = new Promise<JsResult['ended']>((r) => {
    finish = r;
  });
  const pump = () => {
    // Top the window up, in whole chunks where possible (one write per chunk).
    while (sent < msgs && acked + window - sent > 0) {
      const room = Math.min(acked + window - sent, msgs - sent);
      if (room >= chunk) {
        c.conn.socket.write(batch.buf);
        sent += chunk;
      } else {
        c.conn.socket.write(single);
        sent++;
      }
    }
  };
  c.onAck = (p, ps, pe) => {
    acked++;
    const err = ackError(p, ps, pe);
    if (err !== null) {
      bad++;
      ackErrors[err] = (ackErrors[err] ?? 0) + 1;
    }
    lastProgress = performance.now();
    if (acked >= msgs) finish('done');
    else if (acked + window - sent >= chunk) pump();
  };
  c.conn.onClose(() => finish('error'));
  const ticker = setInterval(() => {
    const now = performance.now();
    onProgress?.(acked, msgs);
    if (now - t0 > timeoutMs) finish('deadline');
    else if (now - lastProgress > stallMs) finish('stalled');
  }, 250);
  pump();
  const ended = await finished;
  const elapsedMs = performance.now() - t0;
  clearInterval(ticker);
  c.onAck = null;
  return { done: acked - bad, errors: bad, elapsedMs, ended };
}

/** One publish at a time: PUB, wait for its ack, next. */
async function publishSync(
  c: JsClient,
  subject: string,
  msgs: number,
  size: number,
  ackErrors: Record<string, number>,
  timeoutMs: number,
  stallMs: number,
  onProgress?: (done: number, total: number) => void,
): Promise<PubRun> {
  const frame = pubBatch(subject, size, 1, c.ackInbox).buf;
  const latency = new Float64Array(msgs);
  let acked = 0;
  let bad = 0;
  let sentAt = 0;
  const t0 = performance.now();
  let finish!: (ended: JsResult['ended']) => void;
  const finished = new Promise<JsResult['ended']>((r) => {
    finish = r;
  });
  let over = false;
  c.onAck = (p, ps, pe) => {
    const now = performance.now();
    latency[acked++] = (now - sentAt) * 1000;
    const err = ackError(p, ps, pe);
    if (err !== null) {
      bad++;
      ackErrors[err] = (ackErrors[err] ?? 0) + 1;
    }
    if (acked >= msgs) {
      finish('done');
      return;
    }
    if (over) return;
    sentAt = performance.now();
    c.conn.socket.write(frame);
  };
  c.conn.onClose(() => finish('error'));
  const ticker = setInterval(() => {
    const now = performance.now();
    onProgress?.(acked, msgs);
    if (now - t0 > timeoutMs) finish('deadline');
    else if (acked < msgs && now - sentAt > stallMs) finish('stalled');
  }, 250);
  sentAt = performance.now();
  c.conn.socket.write(frame);
  const ended = await finished;
  over = true;
  const elapsedMs = performance.now() - t0;
  clearInterval(ticker);
  c.onAck = null;
  return { done: acked - bad, errors: bad, elapsedMs, ended, latency: latency.subarray(0, acked) };
}

function result(
  workload: JsWorkload,
  o: JsOptions,
  done: number,
  elapsedMs: number,
  ended: JsResult['ended'],
  ackErrors: Record<string, number>,
  errors: string[],
): JsResult {
  const secs = elapsedMs / 1000;
  return {
    workload,
    size: o.size,
    msgs: o.msgs,
    done,
    elapsedMs,
    msgsPerSec: secs > 0 ? done / secs : 0,
    mbPerSec: secs > 0 ? (done * o.size) / secs / 1e6 : 0,
    complete: ended === 'done' && done === o.msgs && Object.keys(ackErrors).length === 0,
    ended,
    ackErrors,
    errors,
  };
}

/** Runs one JetStream workload on a fresh stream (deleted afterwards). */
export async function runJetStream(workload: JsWorkload, o: JsOptions): Promise<JsResult> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const stallMs = o.stallMs ?? 10_000;
  const window = o.window ?? 256;
  const id = rand();
  const stream = `WEFTBENCH_${id.toUpperCase()}`;
  const subject = `weftbench.js.${id}`;
  const c = await JsClient.open(o.server, `weft-bench-${workload}`);
  const ackErrors: Record<string, number> = {};
  const errors: string[] = [];
  try {
    await createStream(c, stream, subject);
    await o.onStreamCreated?.();
    if (workload === 'js-pub-async' || workload === 'js-pub-sync') {
      o.onPhase?.('start');
      const run =
        workload === 'js-pub-async'
          ? await publishWindowed(
              c,
              subject,
              o.msgs,
              o.size,
              window,
              ackErrors,
              timeoutMs,
              stallMs,
              o.onProgress,
            )
          : await publishSync(
              c,
              subject,
              o.msgs,
              o.size,
              ackErrors,
              timeoutMs,
              stallMs,
              o.onProgress,
            );
      o.onPhase?.('end');
      errors.push(...c.conn.errors);
      const r = result(workload, o, run.done, run.elapsedMs, run.ended, ackErrors, errors);
      if (run.latency) r.latency = percentiles(run.latency);
      await o.beforeDelete?.();
      return r;
    }
    // Consume: fill the stream first (not measured), then drain it through one consumer.
    const fill = await publishWindowed(
      c,
      subject,
      o.msgs,
      o.size,
      window,
      ackErrors,
      timeoutMs,
      stallMs,
    );
    if (fill.ended !== 'done' || fill.errors > 0) {
      errors.push(
        `pre-fill: ${fill.ended}, ${fill.done} of ${o.msgs} acked${fill.errors > 0 ? `, ${fill.errors} ack errors` : ''}`,
      );
      errors.push(...c.conn.errors);
      return result(workload, o, 0, 0, 'error', ackErrors, errors);
    }
    o.onPhase?.('start');
    const run = await consume(c, workload, stream, o, timeoutMs, stallMs, errors);
    o.onPhase?.('end');
    errors.push(...c.conn.errors);
    const r = result(workload, o, run.done, run.elapsedMs, run.ended, ackErrors, errors);
    r.prefillPerSec = fill.done / (fill.elapsedMs / 1000);
    if (run.maxAckPending !== undefined) r.maxAckPending = run.maxAckPending;
    return r;
  } catch (err) {
    errors.push((err as Error).message, ...c.conn.errors);
    return result(workload, o, 0, 0, 'error', ackErrors, errors);
  } finally {
    if (!c.conn.closed) await deleteStream(c, stream);
    c.close();
  }
}

async function consume(
  c: JsClient,
  workload: JsWorkload,
  stream: string,
  o: JsOptions,
  timeoutMs: number,
  stallMs: number,
  errors: string[],
): Promise<{ done: number; elapsedMs: number; ended: JsResult['ended']; maxAckPending?: number }> {
  const durable = `C${rand().toUpperCase()}`;
  const push = workload === 'js-consume-push';
  const deliver = `${c.inbox}.push`;
  const pullInbox = `${c.inbox}.pull`;
  const batch = o.batch ?? 500;
  const config: Record<string, unknown> = {
    durable_name: durable,
    ack_policy: 'explicit',
    deliver_policy: 'all',
  };
  if (o.maxAckPending !== undefined) config['max_ack_pending'] = o.maxAckPending;
  if (push) config['deliver_subject'] = deliver;
  else config['max_waiting'] = 512;

  const credit = new PullCredit(batch);
  let received = 0;
  let statuses = 0;
  let pendingAcks: string[] = [];
  let lastProgress = performance.now();
  let finish!: (ended: JsResult['ended']) => void;
  const finished = new Promise<JsResult['ended']>((r) => {
    finish = r;
  });
  let stopped = false;
  const nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`;
  const nextBody = JSON.stringify({ batch, expires: 2_000_000_000 });
  const pull = () => {
    if (stopped) return;
    c.conn.socket.write(
      `PUB ${nextSubject} ${pullInbox} ${Buffer.byteLength(nextBody)}\r\n${nextBody}\r\n`,
    );
    credit.asked();
  };
  c.onOther = (_subject, reply, line, payload) => {
    if (reply?.startsWith('$JS.ACK.')) {
      received++;
      credit.got();
      pendingAcks.push(`PUB ${reply} ${ACK.length}\r\n${ACK}\r\n`);
      lastProgress = performance.now();
      if (received >= o.msgs) {
        stopped = true;
        finish('done');
      } else if (!push && credit.short) pull();
      return;
    }
    // A status (HMSG without a reply): 404/408 end a pull request; 100 is a heartbeat.
    if (line.startsWith('HMSG')) {
      const head = payload.toString('latin1');
      const code = /^NATS\/1\.0 (\d+)/.exec(head)?.[1];
      if (code === undefined || !credit.status(code, head)) return;
      statuses++;
      if (statuses <= 5) errors.push(`status ${head.split('\r\n')[0]} after ${received} msgs`);
      // After a 409 the ticker tops up, so a full waiting list is not spun on.
      if (!push && code !== '409' && credit.short) pull();
    }
  };
  // Acks go out once per socket read, after the scanner has seen the whole chunk.
  const flushAcks = () => {
    if (pendingAcks.length === 0) return;
    c.conn.socket.write(pendingAcks.join(''));
    pendingAcks = [];
  };
  c.conn.socket.on('data', flushAcks);
  if (push) {
    c.conn.socket.write(subFrame(deliver, 3));
    await c.conn.flush();
  } else {
    c.conn.socket.write(subFrame(pullInbox, 4));
    await c.conn.flush();
  }
  const t0 = performance.now();
  const info = await c.api(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`, {
    stream_name: stream,
    config,
  });
  const map = (info['config'] as { max_ack_pending?: number } | undefined)?.max_ack_pending;
  if (!push) {
    pull();
    pull();
  }
  c.conn.onClose(() => finish('error'));
  const ticker = setInterval(() => {
    const now = performance.now();
    o.onProgress?.(received, o.msgs);
    if (now - t0 > timeoutMs) finish('deadline');
    else if (now - lastProgress > stallMs) finish('stalled');
    else if (!push && credit.short) pull();
  }, 250);
  const ended = await finished;
  stopped = true;
  flushAcks();
  // The time ends when the server has read the last ack (PONG after it).
  if (ended === 'done') {
    const pong = c.conn.flush();
    await pong;
  }
  const elapsedMs = performance.now() - t0;
  clearInterval(ticker);
  c.conn.socket.off('data', flushAcks);
  c.onOther = null;
  if (statuses > 5) errors.push(`${statuses} statuses in all`);
  const out: { done: number; elapsedMs: number; ended: JsResult['ended']; maxAckPending?: number } =
    { done: Math.min(received, o.msgs), elapsedMs, ended };
  if (map !== undefined) out.maxAckPending = map;
  return out;
}
