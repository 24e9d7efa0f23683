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
  type Subscriber,
  type Subscription,
} from '../core/message.js';
import type { Stream } from '../streams/stream.js';
import { internalDetail, internalError, type StreamApiError } from '../streams/stream-errors.js';
import { consumerLimit, publishLimitError } from './account-limits.js';
import { StreamConsumers } from './consumers.js';
import { StreamFeeds } from './feeds.js';
import type { AccountJetStream } from './service.js';
import { pubAck, pubAckError } from './shapes.js';
import { consumerKey } from './stream-damage.js';

/** A stream's store failures are logged at most this often (the others are counted in the next line). */
const FAILURE_LOG_MS = 1000;

/** Ids for internal subscribers, far from client connection ids. */
let nextInternalId = 1_000_000_000;

/** A stream with its capture subscriptions. */
export class CapturedStream implements Subscriber {
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
    // The store's measure of a message: subject, headers and payload.
    stream.admit = (subject, size) => {
      const refused = publishLimitError(js.limits, stream.config.storage, () => ({
        bytes: Buffer.byteLength(subject) + size,
        used: js.usedBytes(stream.config.storage),
      }));
      if (refused !== null) js.limitsHit.publish++;
      return refused;
    };
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
    const reply = msg.reply;
    const subject = msg.subject;
    const name = this.stream.name;
    // Called in this turn, so messages are numbered in arrival order.
    this.stream.storeNotify(subject, msg.headers, msg.payload, (err, seq, duplicate) => {
      if (err === null) {
        if (reply !== '') {
          const ack = duplicate ? pubAck(name, seq, true) : this.ackBytes(seq);
          this.js.reply(reply, ack, this);
        }
        if (!duplicate) this.consumers.stored(seq, subject);
        return;
      }
      const e = internalError(err);
      if (e.errCode === 10077 && e.code === 500)
        this.js.host.log.warn(`stream ${name}: ${e.message}`);
      this.logFailure(e);
      if (reply !== '') this.js.reply(reply, pubAckError(name, e), this);
    });
  }

  /** `{"stream":<name>,"seq":` in UTF-8: the start of every ack of this stream. */
  private ackHead: Buffer | null = null;

  /** The ack of a stored message, `{"stream":…,"seq":…}`, as bytes (no string per ack). */
  private ackBytes(seq: number): Buffer {
    this.ackHead ??= pubAckHead(this.stream.name);
    return pubAckBytes(this.ackHead, seq);
  }
}

/** `{"stream":<name>,"seq":` in UTF-8: how every ack of a stream starts. */
export function pubAckHead(stream: string): Buffer {
  return Buffer.from(`{"stream":${JSON.stringify(stream)},"seq":`);
}

/** `pubAck(stream, seq, false)` as bytes, from the stream's `pubAckHead`. */
export function pubAckBytes(head: Buffer, seq: number): Buffer {
  let digits = 1;
  for (let p = 10; p <= seq; p *= 10) digits++;
  const n = head.length;
  const buf = Buffer.allocUnsafe(n + digits + 1);
  buf.set(head, 0);
  if (seq <= 0x7fffffff) {
    let v = seq | 0;
    for (let i = n + digits - 1; i >= n; i--) {
      const q = (v / 10) | 0;
      buf[i] = 48 + v - q * 10;
      v = q;
    }
  } else buf.write(String(seq), n, 'latin1');
  buf[n + digits] = 0x7d; // }
  return buf;
}
