/**
 * The core's message and the parties that receive it. A message holds
 * Buffer slices of what was read from the wire: faces must not copy payloads
 * on the hot path, and receivers must not keep a message past `deliver`
 * without copying what they keep (the read buffer may be reused).
 */

export interface Message {
  /** A literal subject (no wildcards). */
  readonly subject: string;
  /** Reply subject, '' when none. */
  readonly reply: string;
  /** The raw NATS header block (`NATS/1.0…\r\n\r\n`), or null. */
  readonly headers: Buffer | null;
  readonly payload: Buffer;
  /**
   * Where the message was delivered when that is not `subject`: a JetStream
   * consumer hands a stored message to an inbox that sees it on its own
   * subject. The mesh routes it by `to`; '' or absent otherwise.
   */
  readonly to?: string;
}

/** What kind of party holds an interest; the router prefers local kinds for queues. */
export type InterestKind = 'client' | 'link' | 'stream' | 'internal';

/**
 * A party that receives messages: a client session, a mesh link, a stream.
 * It is also the `origin` of what it publishes, so the router can honour
 * echo and never send a message back where it came from.
 */
export interface Subscriber {
  readonly id: number;
  readonly kind: InterestKind;
  /** Whether this party wants the messages it publishes itself. */
  readonly echo: boolean;
  /**
   * Receives only messages published on this node: the mesh neither
   * advertises its interest nor delivers to it (an import: it runs where the
   * message is published, see imports.ts).
   */
  readonly localOnly?: boolean;
  /**
   * Publishes what it receives on, into another account (an import): the
   * router delivers to it after every other party and collector of the
   * message, so the delivery it starts never interleaves with this one.
   * Only plain subscriptions.
   */
  readonly forwards?: boolean;
  /**
   * Takes one message. A party that `forwards` returns how many received it
   * where it went, which the router counts instead of 1 (so a request nobody
   * answered still gets "no responders").
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: most receivers return nothing (void)
  deliver(sub: Subscription, msg: Message): void | number;
  /**
   * A collector (the mesh) gets `deliver` for each of its subscriptions that
   * match one message, then `complete` once: it decides per message, not
   * per subscription (one copy per remote node).
   */
  complete?(msg: Message): void;
  /**
   * Whether `sub` may take `msg` (its owner's permissions): a queue group
   * gives each message to a member that may, as nats-server. Absent: always.
   */
  accepts?(sub: Subscription, msg: Message): boolean;
}

/** One interest in a subject, owned by a subscriber. */
export interface Subscription {
  readonly subject: string;
  /** Queue group name, '' for a plain subscription. */
  readonly queue: string;
  /** The owner's own id for this subscription (a NATS `sid`). */
  readonly sid: string;
  readonly owner: Subscriber;
  /** Auto-unsubscribe after this many deliveries; 0 means never. */
  max: number;
  delivered: number;
  /**
   * How far the interest is (0 or absent: on this node). Queue groups prefer
   * the nearest members.
   */
  distance?: number;
  /**
   * Each subject this matches is published about once (a consumer's
   * `$JS.ACK.…` replies): a match that finds it is not kept in the subject
   * index's cache, where it would only evict subjects that are reused.
   */
  oneOff?: boolean;
}

/**
 * A plain subscription of a node's own part (an inbox, a stream's capture,
 * a consumer's acks, a face's internal listener): no queue group, no sid,
 * no auto-unsubscribe.
 */
export function internalSubscription(subject: string, owner: Subscriber): Subscription {
  return { subject, queue: '', sid: '', owner, max: 0, delivered: 0 };
}

export function messageSize(msg: Message): number {
  return msg.payload.length + (msg.headers === null ? 0 : msg.headers.length);
}

/**
 * A message whose header block and payload are one range of bytes read
 * (a NATS publish, a mesh frame): `buf[hstart, hstart + hlen)` the headers
 * (`hlen` -1: none), then the payload up to `end`. A receiver that only
 * copies the bytes (a client session's encoder) reads the range and makes
 * no Buffer view; `headers` and `payload` make their views on first use,
 * so every other receiver sees a plain `Message` (the views are the same
 * ones each time). One view per delivered message was 6 % of a mesh
 * node's time (bench/PROFILE.md, "Issue 16 — deliver").
 */
export class RangeMessage implements Message {
  // Fields declared, not defined: compiled as class fields (ES2022), the
  // nine were first defined as undefined by an initializer call per message,
  // then assigned here (bench/PROFILE.md, "Issue 16 — rpub (round 13)").
  declare readonly subject: string;
  declare readonly reply: string;
  declare readonly buf: Buffer;
  declare readonly hstart: number;
  /** Bytes of the header block; -1 when there is none. */
  declare readonly hlen: number;
  declare readonly end: number;
  declare readonly to: string;
  declare private h: Buffer | null | undefined;
  declare private p: Buffer | undefined;
  constructor(
    subject: string,
    reply: string,
    buf: Buffer,
    hstart: number,
    hlen: number,
    end: number,
    to = '',
  ) {
    this.subject = subject;
    this.reply = reply;
    this.buf = buf;
    this.hstart = hstart;
    this.hlen = hlen;
    this.end = end;
    this.to = to;
    this.h = undefined;
    this.p = undefined;
  }

  get headers(): Buffer | null {
    if (this.h === undefined) {
      this.h = this.hlen < 0 ? null : this.buf.subarray(this.hstart, this.hstart + this.hlen);
    }
    return this.h;
  }

  get payload(): Buffer {
    if (this.p === undefined) {
      this.p = this.buf.subarray(this.hstart + Math.max(this.hlen, 0), this.end);
    }
    return this.p;
  }
}
