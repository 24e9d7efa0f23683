/**
 * A Redis consumer group's durable JetStream consumer, and how the group
 * reads new entries (`XREADGROUP … >`) through it, in process.
 *
 * The consumer (`redis_<group>`, or `redis_<hash>` when the group's name is
 * not a plain word; `nats consumer ls <stream>` lists it) is a pull
 * consumer with explicit acks, started after the group's last delivered
 * ID. Its cursor is the group's position; its pending acks are the group's
 * PEL (entries delivered with NOACK are acked at once; XACK acks). It must
 * never redeliver by itself, as Redis never does: `ack_wait` is the
 * largest JetStream allows here (REDIS_GROUP_ACK_WAIT_NS, about 104 days),
 * `max_deliver` and `max_ack_pending` unlimited.
 *
 * Pulls go to a private inbox (`_INBOX.redisg.<random>.<n>`, this node
 * only). A pull that the group no longer waits for (a BLOCK that timed out,
 * a client gone) may still receive a message: it is given back with a NAK,
 * so it is the first thing the next pull gets.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Account } from '../../../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../../core/message.js';
import type { Consumer } from '../../../jetstream/consumer.js';
import { normalizeConsumerConfig } from '../../../jetstream/consumer-config.js';
import type { Taken } from '../../../jetstream/consumer-direct.js';
import { parseAckAt } from '../../../jetstream/consumer-wire.js';
import type { CapturedStream } from '../../../jetstream/service.js';
import type { EntryMessage } from './view.js';

/** The consumer's ack_wait: 2^53 - 1 ns, the largest a JSON number holds exactly (~104 days). */
export const REDIS_GROUP_ACK_WAIT_NS = Number.MAX_SAFE_INTEGER;
/** Pull requests a group's consumer keeps waiting (blocked XREADGROUPs); past it a read does not block. */
export const REDIS_GROUP_MAX_WAITING = 1024;

/** A message the consumer delivered, as the entry the group reads. */
export type Pulled = EntryMessage;

let nextId = 1_960_000_000;

/** The JetStream consumer name of Redis group `group` (latin1). */
export function consumerNameOf(group: string): string {
  if (/^[A-Za-z0-9_-]{1,200}$/.test(group)) return `redis_${group}`;
  return `redis_${createHash('sha256').update(group, 'latin1').digest('base64url').slice(0, 22)}`;
}

/** How the group's reads reached its consumer (the face's `/varz` redis.groups). */
export interface FeedCounts {
  /** Entries taken in process (consumer-direct.ts). */
  directEntries: number;
  /** No-wait pull requests sent: what the in-process take could not answer at once. */
  pullRequests: number;
}

interface Request {
  readonly batch: number;
  readonly got: Pulled[];
  /** Resolves the pull: it ended (full, no messages, expired, consumer gone). */
  readonly done: (got: Pulled[]) => void;
  /** For a blocking pull: called at its first message (before it ends). */
  readonly first?: () => void;
}

export class GroupFeed implements Subscriber {
  readonly id = nextId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  readonly localOnly = true;
  private readonly prefix = `_INBOX.redisg.${randomBytes(9).toString('base64url')}.`;
  /** The reply subject of `pull`s (one at a time). */
  private readonly pullReply = `${this.prefix}p`;
  private readonly sub: Subscription;
  private readonly requests = new Map<string, Request>();
  private next = 1;
  private readonly ackPrefix: number;
  private closed = false;
  /**
   * Sequences the consumer handed to this feed that no Redis consumer has
   * been given: a blocking read's first entry (pulled outside the group's
   * read lock, so other reads may move the group past it meanwhile) and
   * entries given back (NAK) because nobody waited for them. The group
   * takes them when they come again whatever its last ID; without this
   * they would look like entries it had already (the consumer behind after
   * a crash) and be acked unread. At most what the consumer holds pending.
   */
  private readonly owed = new Set<number>();

  constructor(
    private readonly account: Account,
    readonly cs: CapturedStream,
    readonly consumer: Consumer,
    /** Messages given back because their pull was no longer waited for (counted per face). */
    private readonly late: { count: number } = { count: 0 },
    /** Entries taken in process, and pull requests sent (counted per face). */
    private readonly counts: FeedCounts = { directEntries: 0, pullRequests: 0 },
  ) {
    this.ackPrefix = `$JS.ACK.${cs.stream.name}.${consumer.name}.`.length;
    this.sub = internalSubscription(`${this.prefix}>`, this);
    account.subscribe(this.sub);
  }

  /**
   * Creates (or finds) the group's consumer, delivering from stream
   * sequence `startSeq` on.
   */
  static async consumerFor(cs: CapturedStream, group: string, startSeq: number): Promise<Consumer> {
    const name = consumerNameOf(group);
    const have = cs.consumers.byName.get(name);
    if (have !== undefined) return have;
    const raw: Record<string, unknown> = {
      durable_name: name,
      description: `Redis consumer group ${JSON.stringify(group)}`,
      deliver_policy: 'by_start_sequence',
      opt_start_seq: Math.max(1, startSeq),
      ack_policy: 'explicit',
      ack_wait: REDIS_GROUP_ACK_WAIT_NS,
      max_deliver: -1,
      max_ack_pending: -1,
      max_waiting: REDIS_GROUP_MAX_WAITING,
    };
    const { consumer } = await cs.consumers.add(normalizeConsumerConfig(raw, true));
    return consumer;
  }

  /** Whether the consumer is still the stream's (not deleted by `nats consumer rm`). */
  alive(): boolean {
    return !this.closed && this.cs.consumers.byName.get(this.consumer.name) === this.consumer;
  }

  /**
   * Up to `batch` messages there now (none: an empty list; fewer than
   * `batch` does not mean there are no more). In process first
   * (consumer-direct.ts `takeNow`: no pull request, no messages); the
   * message path for what that cannot answer at once (a read from disk, a
   * blocked read waiting on the consumer) — `pullMessages`.
   */
  pull(batch: number): Promise<Pulled[]> {
    if (!this.alive()) return Promise.resolve([]);
    const { got, more } = this.takeNow(batch);
    if (got.length > 0 || !more) return Promise.resolve(got);
    return this.pullMessages(batch);
  }

  /**
   * `pull`'s in-process part, in this turn: what consumer-direct.ts's
   * `takeNow` hands over, and whether the message path may have more (then
   * `got` is empty or short: `pull` asks the message path).
   */
  takeNow(batch: number): Taken {
    const taken = this.consumer.direct.takeNow(batch);
    this.counts.directEntries += taken.got.length;
    return taken;
  }

  /**
   * `pull` through a `CONSUMER.MSG.NEXT` request. The group's
   * reads pull one at a time (its read lock), so they share one reply
   * subject (`<prefix>p`): the consumer's match of it stays cached, where a
   * new subject per pull cost a subject-index lookup or three (interest,
   * delivery, the closing status). A served or ended pull leaves nothing
   * behind on that subject (a full batch gets no status). Should one still
   * be waiting, the next gets a subject of its own.
   */
  private pullMessages(batch: number): Promise<Pulled[]> {
    this.counts.pullRequests++;
    return new Promise((done) => {
      const reply = this.requests.has(this.pullReply)
        ? this.prefix + (this.next++).toString(36)
        : this.pullReply;
      this.requests.set(reply, { batch, got: [], done });
      this.consumer.pull(reply, Buffer.from(`{"batch":${batch},"no_wait":true}`));
    });
  }

  /**
   * Waits for one message, at most `ms` (0: for ever): `first` is called when
   * it arrives. `cancel()` stops waiting; a message that comes after goes
   * back to the consumer.
   */
  wait(ms: number, first: () => void): { got: Promise<Pulled[]>; cancel(): void } {
    if (!this.alive()) return { got: Promise.resolve([]), cancel: () => {} };
    const reply = this.prefix + (this.next++).toString(36);
    let resolve!: (got: Pulled[]) => void;
    const got = new Promise<Pulled[]>((r) => {
      resolve = r;
    });
    this.requests.set(reply, { batch: 1, got: [], done: resolve, first });
    const ask: Record<string, unknown> = { batch: 1 };
    if (ms > 0) ask.expires = ms * 1_000_000;
    this.consumer.pull(reply, Buffer.from(JSON.stringify(ask)));
    return {
      got,
      cancel: () => {
        const r = this.requests.get(reply);
        if (r === undefined) return;
        this.requests.delete(reply);
        r.done(r.got);
      },
    };
  }

  deliver(_sub: Subscription, msg: Message): void {
    const to = msg.to === undefined || msg.to === '' ? msg.subject : msg.to;
    const req = this.requests.get(to);
    if (msg.reply === '') {
      // A status (`404 No Messages`, `408 Request Timeout`, `409 …`): the pull ended.
      if (req !== undefined) {
        this.requests.delete(to);
        req.done(req.got);
      }
      return;
    }
    const ref = parseAckAt(msg.reply, this.ackPrefix);
    if (ref === null) return;
    if (req === undefined) {
      // Nobody waits for it any more: back to the consumer, first in line.
      this.late.count++;
      this.owed.add(ref.sseq);
      this.consumer.direct.ackSeqs([ref.sseq], 'nak');
      return;
    }
    if (req.first !== undefined) this.owed.add(ref.sseq);
    req.got.push(new PulledEntry(ref.sseq, msg));
    if (req.got.length === 1) req.first?.();
    if (req.got.length >= req.batch) {
      this.requests.delete(to);
      req.done(req.got);
    }
  }

  /** Acknowledges stream sequences (XACK, NOACK reads, entries the group already had). */
  ack(seqs: readonly number[]): void {
    for (const seq of seqs) this.owed.delete(seq);
    // Straight to the consumer (it is on this node) by stream sequence: what
    // a `$JS.ACK.…` `+ACK` per entry would do, with one state save for all.
    this.consumer.direct.ackSeqs(seqs, 'ack');
  }

  /** Gives messages back undelivered (their reader went away): the next pull gets them first. */
  giveBack(seqs: readonly number[]): void {
    for (const seq of seqs) this.owed.add(seq);
    this.consumer.direct.ackSeqs(seqs, 'nak');
  }

  /**
   * Whether `seq` was handed over and never given to a Redis consumer (see
   * `owed`); true once per hand-over: the caller takes it.
   */
  takeOwed(seq: number): boolean {
    return this.owed.delete(seq);
  }

  /** Stream sequences the consumer holds as delivered and not acked. */
  pendingSeqs(): number[] {
    return this.consumer.snapshot().pending.map((p) => p[0]);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.account.unsubscribe(this.sub);
    for (const r of this.requests.values()) r.done(r.got);
    this.requests.clear();
    this.owed.clear();
  }
}

/**
 * A message delivered through a pull request as an entry. Its time (read
 * only for an entry without `Redis-Stream-Id`, whose ID it makes) is in
 * the ack subject (ns), read when asked.
 */
class PulledEntry implements EntryMessage {
  readonly subject: string;
  readonly headers: Buffer | null;
  readonly payload: Buffer;
  private readonly reply: string;
  constructor(
    readonly seq: number,
    msg: Message,
  ) {
    this.subject = msg.subject;
    this.headers = msg.headers;
    this.payload = msg.payload;
    this.reply = msg.reply;
  }
  get time(): number {
    const ns = this.reply.split('.')[7] ?? '0';
    return Number(ns.length > 6 ? ns.slice(0, -6) : '0');
  }
}
