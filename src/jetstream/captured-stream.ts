/**
 * A stream with its capture subscriptions: the subscriber on the stream's
 * subjects that stores each message and answers the publisher with its ack
 * (or the store's error), then tells the stream's consumers. Its consumers
 * and mirror/source feeds hang off it. Owned by `AccountJetStream`
 * (service.ts).
 */
import {
  internalSubscription,
  type Message,
  RangeMessage,
  type Subscriber,
  type Subscription,
} from '../core/message.js';
import { EMPTY_RESULT, type MatchResult, type Sublist } from '../core/sublist.js';
import type { PublishAdmission, StoreNotice, Stream } from '../streams/stream.js';
import { internalDetail, internalError, type StreamApiError } from '../streams/stream-errors.js';
import { byteLimit, consumerLimit, publishLimitError } from './account-limits.js';
import { StreamConsumers } from './consumers.js';
import { StreamFeeds } from './feeds.js';
import type { AccountJetStream } from './service.js';
import { pubAck, pubAckError } from './shapes.js';
import { consumerKey } from './stream-damage.js';

/** A stream's store failures are logged at most this often (the others are counted in the next line). */
const FAILURE_LOG_MS = 1000;

/** Ids for internal subscribers, far from client connection ids. */
let nextInternalId = 1_000_000_000;

/**
 * Bytes of one ack arena: the acks of stored messages are written one
 * after another into it and delivered as ranges of it (`RangeMessage`),
 * so a session copies each from there and no `Buffer` is made per ack.
 * A full arena is left to whoever still holds a view of it and a new one
 * is allocated; an arena is never written over.
 */
export const ACK_ARENA_BYTES = 16 * 1024;

/**
 * What a publish waits with for its store outcome (`StoreNotice`): one
 * small object per publish, where a closure and its context were two.
 */
class PendingPub implements StoreNotice {
  constructor(
    private readonly cs: CapturedStream,
    private readonly subject: string,
    private readonly reply: string,
  ) {}

  stored(err: unknown, seq: number, duplicate: boolean): void {
    this.cs.stored(this.subject, this.reply, err, seq, duplicate);
  }
}

/** A stream with its capture subscriptions. */
export class CapturedStream implements Subscriber, PublishAdmission {
  readonly id = nextInternalId++;
  readonly kind = 'stream' as const;
  readonly echo = false;
  private subs: Subscription[] = [];
  readonly consumers: StreamConsumers;
  readonly feeds: StreamFeeds;

  constructor(
    readonly stream: Stream,
    private readonly js: AccountJetStream,
    readonly dir: string | null,
  ) {
    this.consumers = new StreamConsumers({
      account: js.account,
      router: js.host.router,
      stream,
      log: js.host.log,
      dir,
      sync: js.sync,
      maxConsumers: () => consumerLimit(js.limits, stream.config),
      damaged: (name, file, why) =>
        js.host.health?.report(
          consumerKey(js.account.name, stream.name, name),
          `stream ${stream.name}`,
          `consumer state file consumers/${file} ${why}: that consumer is out of service; see the log`,
        ),
    });
    this.feeds = new StreamFeeds(stream, js.inbox, js.host.log, dir);
    stream.admit = this;
  }

  /**
   * The account's storage limit on a publish (Stream.admit), measured as
   * the store measures a message: subject, headers and payload.
   */
  admitPublish(subject: string, size: number): StreamApiError | null {
    const js = this.js;
    const storage = this.stream.config.storage;
    // Most accounts have no byte limit: no measure (a closure) per publish then.
    if (byteLimit(js.limits, storage) < 0) return null;
    const refused = publishLimitError(js.limits, storage, () => ({
      bytes: Buffer.byteLength(subject) + size,
      used: js.usedBytes(storage),
    }));
    if (refused !== null) js.limitsHit.publish++;
    return refused;
  }

  /** Subscribes to the stream's subjects (again, after an update), mesh-wide. */
  capture(): void {
    this.release();
    for (const subject of this.stream.config.subjects) {
      const sub: Subscription = internalSubscription(subject, this);
      this.js.account.subscribe(sub);
      this.subs.push(sub);
    }
  }

  release(): void {
    for (const s of this.subs) this.js.account.unsubscribe(s);
    this.subs = [];
  }

  /** When a store failure was last logged, and how many since were not. */
  private failureLoggedAt = 0;
  private failuresUnlogged = 0;

  /**
   * Logs the detail of a store failure a publisher was told about
   * generically; at most once per FAILURE_LOG_MS, with the count of those
   * not logged, so a failing disk does not flood the log.
   */
  private logFailure(e: StreamApiError): void {
    const detail = internalDetail(e);
    if (detail === '') return;
    const now = Date.now();
    if (now - this.failureLoggedAt < FAILURE_LOG_MS) {
      this.failuresUnlogged++;
      return;
    }
    const more = this.failuresUnlogged > 0 ? ` (and ${this.failuresUnlogged} more)` : '';
    this.failureLoggedAt = now;
    this.failuresUnlogged = 0;
    this.js.host.log.error(`stream ${this.stream.name}: store failed${more}: ${detail}`);
  }

  deliver(_sub: Subscription, msg: Message): void {
    // The message's buffers may be a reused read buffer: the store copies
    // them before `store` returns (StreamStore.append), so no copy here.
    const notice = new PendingPub(this, msg.subject, msg.reply);
    // Called in this turn, so messages are numbered in arrival order.
    if (msg instanceof RangeMessage && msg.hlen < 0) {
      // A publish without headers, as read: stored from the read buffer's range, no view.
      this.stream.storeNotifyRange(msg.subject, msg.buf, msg.hstart, msg.end, notice);
    } else this.stream.storeNotify(msg.subject, msg.headers, msg.payload, notice);
  }

  /** A publish's store outcome: its ack (or error) to `reply`, then the consumers. */
  stored(subject: string, reply: string, err: unknown, seq: number, duplicate: boolean): void {
    const name = this.stream.name;
    if (err === null) {
      if (reply !== '') {
        if (duplicate) this.js.reply(reply, pubAck(name, seq, true), this);
        else this.ack(reply, seq);
      }
      if (!duplicate) this.consumers.stored(seq, subject);
      return;
    }
    const e = internalError(err);
    if (e.errCode === 10077 && e.code === 500)
      this.js.host.log.warn(`stream ${name}: ${e.message}`);
    this.logFailure(e);
    if (reply !== '') this.js.reply(reply, pubAckError(name, e), this);
  }

  /** `{"stream":<name>,"seq":` in UTF-8: the start of every ack of this stream. */
  private ackHead: Buffer | null = null;
  /** The ack arena being filled (ACK_ARENA_BYTES), and where its free part starts. */
  private ackArena: Buffer | null = null;
  private ackAt = 0;

  /**
   * Sends the ack of stored message `seq`, `{"stream":…,"seq":…}`, to
   * `reply`: written into the ack arena and delivered as a range of it
   * (what `js.reply` does with a `Buffer`).
   */
  private ack(reply: string, seq: number): void {
    this.ackHead ??= pubAckHead(this.stream.name);
    const head = this.ackHead;
    const need = head.length + 17; // the longest safe integer, and `}`
    let arena = this.ackArena;
    if (arena === null || this.ackAt + need > arena.length) {
      arena = Buffer.allocUnsafeSlow(Math.max(ACK_ARENA_BYTES, need));
      this.ackArena = arena;
      this.ackAt = 0;
    }
    const at = this.ackAt;
    const end = writePubAck(arena, at, head, seq);
    this.ackAt = end;
    const js = this.js;
    js.host.router.deliver(
      this.match(reply),
      new RangeMessage(reply, '', arena, at, -1, end),
      this,
    );
  }

  /**
   * The last ack subject's match, reused while its sublist has not changed:
   * a publisher with one reply inbox for its acks repeats it, and the NATS
   * parser hands back the same string for the same bytes (ArgMemo), so a
   * repeat costs a pointer comparison, not the match cache's lookup (as the
   * session's `match`; such a repeat is not counted in /subsz `num_matches`).
   */
  private lastReply = '';
  private lastList: Sublist | null = null;
  private lastGeneration = -1;
  private lastMatch: MatchResult = EMPTY_RESULT;

  private match(reply: string): MatchResult {
    const list = this.js.account.sublist;
    if (
      reply === this.lastReply &&
      list === this.lastList &&
      list.generation === this.lastGeneration
    ) {
      return this.lastMatch;
    }
    const result = list.match(reply);
    this.lastReply = reply;
    this.lastList = list;
    this.lastGeneration = list.generation;
    this.lastMatch = result;
    return result;
  }
}

/** `{"stream":<name>,"seq":` in UTF-8: how every ack of a stream starts. */
export function pubAckHead(stream: string): Buffer {
  return Buffer.from(`{"stream":${JSON.stringify(stream)},"seq":`);
}

/** `pubAck(stream, seq, false)` as bytes, from the stream's `pubAckHead`. */
export function pubAckBytes(head: Buffer, seq: number): Buffer {
  const buf = Buffer.allocUnsafe(head.length + 17);
  return buf.subarray(0, writePubAck(buf, 0, head, seq));
}

/**
 * Writes `pubAck(stream, seq, false)` into `buf` at `at` from the stream's
 * `pubAckHead` (room: its length + 17) and returns the offset after it.
 */
export function writePubAck(buf: Buffer, at: number, head: Buffer, seq: number): number {
  let digits = 1;
  for (let p = 10; p <= seq; p *= 10) digits++;
  const n = at + head.length;
  buf.set(head, at);
  if (seq <= 0x7fffffff) {
    let v = seq | 0;
    for (let i = n + digits - 1; i >= n; i--) {
      const q = (v / 10) | 0;
      buf[i] = 48 + v - q * 10;
      v = q;
    }
  } else buf.write(String(seq), n, 'latin1');
  buf[n + digits] = 0x7d; // }
  return n + digits + 1;
}
