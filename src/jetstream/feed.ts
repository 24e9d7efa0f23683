/**
 * Mirrors and sources: a stream fed from another stream, on this node or on
 * any node of the mesh, through the JetStream API like any client. A feed
 * creates an ephemeral pull consumer on the origin (ack policy none,
 * starting after the last message it has), pulls batches of FEED_BATCH,
 * stores them in order and only then pulls again, so at most one batch is
 * in memory. When the origin is out of reach, the consumer is lost (the
 * origin restarted) or a pull goes unanswered, it creates a new consumer
 * from where it is, after a back-off: an outage is caught up when the link
 * returns, and what was stored is never fetched twice.
 *
 * A mirror keeps the origin's sequence numbers (gaps are skipped in the
 * store), so where it is is its own last sequence. A source appends with
 * the stream's sequences and marks each message with `Nats-Stream-Source:
 * <origin> <origin seq>`; its position per origin is saved beside the
 * stream and corrected at start from the marks of the messages after it.
 */
import type { Message } from '../core/message.js';
import type { Stream } from '../streams/stream.js';
import { NS_PER_MS } from '../streams/stream-config.js';
import { internalDetail, internalError } from '../streams/stream-errors.js';
import { parseAckTail, withHeaders } from './consumer-wire.js';
import type { Inbox, Reply } from './inbox.js';
import { API_PREFIX } from './shapes.js';

/** Messages per pull: the most a feed holds in memory. */
export const FEED_BATCH = 256;
/** A pull request's expiry; an idle origin answers 408 after it and the feed pulls again. */
const PULL_EXPIRES_MS = 2000;
/** Past the expiry, how long without any answer before the feed starts over. */
const FEED_STALL_MS = 3000;
/** How long an API request to the origin may take. */
const REQUEST_TIMEOUT_MS = 2000;
/** Back-off between attempts to reach the origin. */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;
/** The origin deletes a feed's consumer after this long without pulls. */
const CONSUMER_INACTIVE_MS = 30_000;

export const SOURCE_HEADER = 'Nats-Stream-Source';

export interface FeedSpec {
  name: string;
  opt_start_seq?: number;
  opt_start_time?: string;
  filter_subject?: string;
}

export interface FeedHost {
  readonly stream: Stream;
  readonly inbox: Inbox;
  readonly log: { warn(msg: string): void };
  /** A source's batch was stored: its position moved. */
  moved(): void;
}

type Kind = 'mirror' | 'source';

export class Feed {
  private consumer = '';
  private pullReply: Reply | null = null;
  private received = 0;
  private writing: Promise<void> = Promise.resolve();
  private failed = false;
  private watchdog: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MIN_MS;
  private stopped = false;
  private connecting = false;
  private lastActive = 0;
  /** The stream's last sequence when the source's store in flight began (0: none in flight). */
  private inflightFrom = 0;
  private lag = 0;
  private error: { code: number; err_code?: number; description: string } | null = null;

  constructor(
    readonly kind: Kind,
    readonly spec: FeedSpec,
    private readonly host: FeedHost,
    /** Sources: the last origin sequence stored (0: none). Mirrors read their own last sequence. */
    public position = 0,
  ) {}

  private get origin(): string {
    return this.spec.name;
  }

  /** The next origin sequence wanted. */
  private get nextSeq(): number {
    const have = this.kind === 'mirror' ? this.host.stream.state().lastSeq : this.position;
    return Math.max(have + 1, this.spec.opt_start_seq ?? 1);
  }

  start(): void {
    void this.connect();
  }

  /** The origin may be back: try now rather than at the end of the back-off. */
  poke(): void {
    if (this.stopped || this.retry === null) return;
    clearTimeout(this.retry);
    this.retry = null;
    this.retryMs = RETRY_MIN_MS;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    this.pullReply?.close();
    this.pullReply = null;
    this.dropConsumer();
    await this.writing;
  }

  /**
   * Every message this source stored at or below the returned stream
   * sequence is reflected in `position`.
   */
  get settledSeq(): number {
    return this.inflightFrom === 0 ? Number.POSITIVE_INFINITY : this.inflightFrom;
  }

  info(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.origin,
      lag: this.lag,
      active: this.lastActive === 0 ? -1 : (Date.now() - this.lastActive) * NS_PER_MS,
    };
    if (this.spec.filter_subject !== undefined) out.filter_subject = this.spec.filter_subject;
    if (this.error !== null) out.error = this.error;
    return out;
  }

  private clearTimers(): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    if (this.retry !== null) clearTimeout(this.retry);
    this.watchdog = null;
    this.retry = null;
  }

  private dropConsumer(): void {
    if (this.consumer === '') return;
    this.host.inbox.publish(`${API_PREFIX}CONSUMER.DELETE.${this.origin}.${this.consumer}`, '', '');
    this.consumer = '';
  }

  /** Starts over after `why`: a new consumer from where the stream is, after the back-off. */
  private again(why: string | null): void {
    if (this.stopped) return;
    this.clearTimers();
    this.pullReply?.close();
    this.pullReply = null;
    this.dropConsumer();
    if (why !== null && this.error === null) {
      this.error = { code: 503, description: why };
    }
    const wait = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, wait);
    this.retry.unref();
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.connecting) return;
    this.connecting = true;
    try {
      // Whatever an old consumer delivered is stored first: the new one starts after it.
      await this.writing;
      this.failed = false;
      const start = this.nextSeq;
      const config: Record<string, unknown> = {
        ack_policy: 'explicit',
        max_ack_pending: FEED_BATCH * 2,
        inactive_threshold: CONSUMER_INACTIVE_MS * NS_PER_MS,
        num_replicas: 1,
        mem_storage: true,
      };
      const fresh =
        this.kind === 'mirror' ? this.host.stream.state().lastSeq === 0 : this.position === 0;
      if (
        fresh &&
        this.spec.opt_start_time !== undefined &&
        this.spec.opt_start_seq === undefined
      ) {
        config.deliver_policy = 'by_start_time';
        config.opt_start_time = this.spec.opt_start_time;
      } else {
        config.deliver_policy = 'by_start_sequence';
        config.opt_start_seq = start;
      }
      if (this.spec.filter_subject !== undefined && this.spec.filter_subject !== '') {
        config.filter_subject = this.spec.filter_subject;
      }
      const res = await this.host.inbox.request(
        `${API_PREFIX}CONSUMER.CREATE.${this.origin}`,
        JSON.stringify({ stream_name: this.origin, config }),
        REQUEST_TIMEOUT_MS,
      );
      if (this.stopped) return;
      if (res === null) {
        this.again(`stream "${this.origin}" not reachable`);
        return;
      }
      let body: {
        name?: unknown;
        error?: { code: number; err_code?: number; description: string };
      };
      try {
        body = JSON.parse(res.payload.toString('utf8')) as typeof body;
      } catch {
        this.again(`bad consumer create response from "${this.origin}"`);
        return;
      }
      if (body.error !== undefined || typeof body.name !== 'string') {
        this.error = body.error ?? { code: 500, description: 'no consumer name' };
        this.again(null);
        return;
      }
      this.consumer = body.name;
      this.error = null;
      this.retryMs = RETRY_MIN_MS;
      this.pullReply = this.host.inbox.open((m) => this.onMessage(m));
      if (this.pullReply === null) {
        this.again('too many open requests');
        return;
      }
      this.pull();
    } finally {
      this.connecting = false;
    }
  }

  private pull(): void {
    if (this.stopped || this.pullReply === null) return;
    this.received = 0;
    const body = JSON.stringify({ batch: FEED_BATCH, expires: PULL_EXPIRES_MS * NS_PER_MS });
    const n = this.host.inbox.publish(
      `${API_PREFIX}CONSUMER.MSG.NEXT.${this.origin}.${this.consumer}`,
      this.pullReply.subject,
      body,
    );
    if (n === 0) {
      this.again(`stream "${this.origin}" not reachable`);
      return;
    }
    this.armWatchdog();
  }

  private armWatchdog(): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      this.again(`no answer from stream "${this.origin}"`);
    }, PULL_EXPIRES_MS + FEED_STALL_MS);
    this.watchdog.unref();
  }

  /** Pulls again once what was received is stored. */
  private pullAfterWrites(): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdog = null;
    const reply = this.pullReply;
    void this.writing.then(() => {
      if (this.pullReply !== reply || this.stopped) return;
      if (this.failed) this.again(null);
      else this.pull();
    });
  }

  private onMessage(m: Message): void {
    if (this.stopped) return;
    this.lastActive = Date.now();
    if (m.reply === '' && m.headers !== null && m.payload.length === 0) {
      const status = m.headers.subarray(9, 12).toString('latin1');
      if (status === '408') this.pullAfterWrites();
      else if (status === '100') this.armWatchdog();
      else this.again(`consumer on "${this.origin}" ended (${status})`);
      return;
    }
    // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>
    const t = m.reply.split('.');
    const ref = parseAckTail(t.slice(4));
    if (ref === null) return;
    const ns = t[7] ?? '0';
    const time = /^\d+$/.test(ns) ? Number(BigInt(ns) / 1_000_000n) : Date.now();
    this.lag = Number(t[8] ?? 0) || 0;
    const sseq = ref.sseq;
    const ack = m.reply;
    this.writing = this.writing.then(() => this.store(sseq, m, time, ack));
    if (++this.received >= FEED_BATCH) this.pullAfterWrites();
  }

  private async store(sseq: number, m: Message, time: number, ack: string): Promise<void> {
    if (this.failed || this.stopped) return;
    const stream = this.host.stream;
    try {
      if (this.kind === 'mirror') {
        if (sseq > stream.state().lastSeq) {
          await stream.replicate(sseq, m.subject, m.headers, m.payload, time);
        }
      } else if (sseq > this.position) {
        const headers = withHeaders(withoutExpectations(m.headers), {
          [SOURCE_HEADER]: `${this.origin} ${sseq}`,
        });
        this.inflightFrom = stream.state().lastSeq;
        try {
          await stream.store(m.subject, headers, m.payload);
        } finally {
          this.inflightFrom = 0;
        }
        this.position = sseq;
        this.host.moved();
      }
      this.host.inbox.publish(ack, '', '');
    } catch (err) {
      // Not stored: start over from the last stored message after the back-off.
      this.failed = true;
      // Shown in stream info: never a caught error's message (it names the node's paths).
      const e = internalError(err);
      this.error = { code: 500, description: e.message };
      const detail = internalDetail(e);
      this.host.log.warn(
        `stream ${stream.name}: ${this.kind} of "${this.origin}" stopped at ${sseq}: ${detail || e.message}`,
      );
    }
  }
}

/** A sourced message's expectations were checked at its origin: they don't apply here. */
function withoutExpectations(block: Buffer | null): Buffer | null {
  if (block === null) return null;
  const text = block.toString('latin1');
  if (!text.includes('Nats-Expected-')) return block;
  const lines = text.split('\r\n').filter((l) => !l.startsWith('Nats-Expected-'));
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** The origin and sequence of a sourced message's mark, or null. */
export function parseSourceMark(value: string | undefined): { origin: string; seq: number } | null {
  if (value === undefined) return null;
  const [origin = '', seq = ''] = value.split(' ');
  const n = Number(seq);
  return origin !== '' && Number.isInteger(n) && n > 0 ? { origin, seq: n } : null;
}
