/**
 * Publishing an entry to a stream through the router and awaiting the
 * stream's ack, as a NATS client does (a stream on another node of the
 * mesh): one reply subject of the face's inbox per publish, the ack's JSON
 * read into a sequence or the error to answer, and one timer for every
 * publish waiting (a timer per XADD costs more than the XADD's own work
 * when thousands are in flight). Bounded by the inbox
 * (REPLY_INBOX_WAITERS_MAX); each wait by REDIS_JS_TIMEOUT_MS.
 */
import type { Account } from '../../core/account.js';
import type { Router } from '../../core/router.js';
import type { ReplyInbox } from '../reply-inbox.js';

/** How long a JetStream API request or a publish ack is awaited (ms). */
export const REDIS_JS_TIMEOUT_MS = 5000;
/** How often publishes waiting for an ack are checked for their timeout (ms). */
const ACK_SWEEP_MS = 250;

/** The outcome of a publish to a stream: its sequence, or the error to answer. */
export type AppendResult = { seq: number } | { error: string };

/** What is counted (the face's `/varz` redis.streams). */
export interface AckCounters {
  appended: number;
  appendErrors: number;
  timeouts: number;
}

/** A publish waiting for its ack. */
interface PendingAck {
  /** When it times out (ms since the epoch). */
  readonly at: number;
  close: (() => void) | null;
  readonly resolve: (r: AppendResult) => void;
}

export class StreamAcks {
  /** Publishes waiting for their ack, oldest first. */
  private readonly pending = new Set<PendingAck>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly router: Router,
    private readonly inbox: ReplyInbox,
    private readonly counters: AckCounters,
  ) {}

  /** Publishes one message with a reply inbox; the stream's ack as a sequence or an error text. */
  publish(
    account: Account,
    subject: string,
    headers: Buffer,
    payload: Buffer,
  ): Promise<AppendResult> {
    const wait = this.awaitAck(account);
    if (wait === null) {
      return Promise.resolve({
        error: 'ERR too many writes are waiting for acknowledgements on this node; try again',
      });
    }
    const n = this.router.publish(
      account,
      { subject, reply: wait.reply, headers, payload },
      this.inbox,
    );
    if (n === 0) {
      wait.cancel();
      return Promise.resolve({ error: `ERR no stream captures ${subject} now` });
    }
    return wait.ack;
  }

  stop(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /**
   * A reply subject whose first message is a publish ack, with its
   * timeout; null at the inbox's bound. Its own scope: what waits for the
   * ack must not hold the message's bytes.
   */
  private awaitAck(
    account: Account,
  ): { reply: string; ack: Promise<AppendResult>; cancel(): void } | null {
    let resolve: (r: AppendResult) => void = () => {};
    const ack = new Promise<AppendResult>((r) => {
      resolve = r;
    });
    const wait: PendingAck = { at: Date.now() + REDIS_JS_TIMEOUT_MS, close: null, resolve };
    const box = this.inbox.open(account, (m) => {
      this.pending.delete(wait);
      resolve(this.ackOf(m.payload));
    });
    if (box === null) return null;
    wait.close = box.close;
    this.pending.add(wait);
    this.sweepSoon();
    return {
      reply: box.subject,
      ack,
      cancel: () => {
        this.pending.delete(wait);
        box.close();
      },
    };
  }

  /** A stream's publish ack (`{"stream":…,"seq":N}` or `{"error":…}`) as an append result. */
  private ackOf(payload: Buffer): AppendResult {
    let ack: { seq?: number; error?: { description?: string } };
    try {
      ack = JSON.parse(payload.toString('utf8')) as typeof ack;
    } catch {
      ack = { error: { description: 'the stream answered something that is not an ack' } };
    }
    if (ack.error !== undefined || typeof ack.seq !== 'number') {
      this.counters.appendErrors++;
      return {
        error: `ERR the stream refused the entry: ${ack.error?.description ?? 'no sequence'}`,
      };
    }
    this.counters.appended++;
    return { seq: ack.seq };
  }

  private sweepSoon(): void {
    if (this.sweeper !== null) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const w of this.pending) {
        if (w.at > now) break;
        this.pending.delete(w);
        w.close?.();
        this.counters.timeouts++;
        w.resolve({
          error: `ERR no acknowledgement from the stream within ${REDIS_JS_TIMEOUT_MS}ms: the entry may or may not be stored`,
        });
      }
      if (this.pending.size === 0 && this.sweeper !== null) {
        clearInterval(this.sweeper);
        this.sweeper = null;
      }
    }, ACK_SWEEP_MS);
    this.sweeper.unref();
  }
}
