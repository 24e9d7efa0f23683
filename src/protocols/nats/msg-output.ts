/**
 * The outbound side of a NATS client connection: MSG/HMSG frames encoded
 * into the connection's queue. Each subscription keeps its encoded
 * `<subject> <sid> ` bytes; a message read as one range of bytes (a
 * publish, a mesh frame: `RangeMessage`) is copied from that range, with
 * no Buffer view made for it.
 */
import { COPY_LIMIT, Connection } from '../../connection/connection.js';
import { type Message, RangeMessage, type Subscription } from '../../core/message.js';
import { copyInto, writeDecimal } from '../../util/bytes.js';
import { encodeMsgHead, headMax, msgTargetMax, writeMsgTarget } from './encoder.js';

/** Below this many bytes a range is copied by a JS loop (a native call costs more). */
const SMALL_COPY = 64;
/** From this many bytes on, a small copy goes four bytes at a time (see copySmall). */
const WORD_COPY_MIN = 12;

/** A subscription with the NATS face's encoding cache. */
export interface NatsSubscription extends Subscription {
  /** Encoded `<subject> <sid> ` for `targetSubject`: the first `targetLen` bytes. */
  target: Buffer;
  targetLen: number;
  targetSubject: string;
  /** Each delivery is checked against the subscribe deny rules (see Guard.subscribe). */
  check: boolean;
}

/**
 * The `MSG <subject> <sid> ` bytes of the subscription delivered to last,
 * as big-endian 32-bit words, so a run of deliveries to one subscription
 * writes them four bytes at a time (`MsgOutput.queueRange`). Made on the
 * second delivery in a row to one subscription and subject.
 */
class TargetWords {
  sub: NatsSubscription | null = null;
  subject = '';
  /** Whether `words` holds the head of `sub` for `subject` (else it is a candidate). */
  ready = false;
  /** Bytes of "MSG " + target. */
  len = 0;
  readonly words = new Uint32Array(TARGET_WORDS_MAX / 4);
}

/** Longest "MSG <subject> <sid> " written four bytes at a time; longer ones go byte by byte. */
const TARGET_WORDS_MAX = 128;
const MSG_SP = 0x4d534720; // "MSG "

export abstract class MsgOutput extends Connection {
  /** See TargetWords (null until the first small delivery): the last used, and the one before. */
  private targetWords: TargetWords | null = null;
  private otherWords: TargetWords | null = null;
  /** A DataView of the buffer small payloads were last copied from (see copySmall); dropped at each flush. */
  private srcView: DataView | null = null;
  private srcViewOf: Buffer | null = null;

  /**
   * Queues one delivery of `msg` to `ns` (its headers only `withHeaders`);
   * returns the payload size (headers included), or -1 at the pending bound.
   */
  protected queueDelivery(ns: NatsSubscription, msg: Message, withHeaders: boolean): number {
    // The `<subject> <sid> ` bytes are kept per subscription; a literal
    // subscription always sees one subject, a wildcard one mostly a few.
    if (ns.targetSubject !== msg.subject) {
      const need = msgTargetMax(msg.subject, ns.sid);
      if (ns.target.length < need) ns.target = Buffer.allocUnsafe(Math.max(64, need));
      ns.targetLen = writeMsgTarget(ns.target, msg.subject, ns.sid);
      ns.targetSubject = msg.subject;
    }
    if (msg instanceof RangeMessage && msg.end - msg.hstart < COPY_LIMIT) {
      if (msg.reply === '' && (msg.hlen < 0 || !withHeaders)) {
        let tw = this.targetWords;
        if (tw === null) {
          tw = new TargetWords();
          this.targetWords = tw;
        }
        if (tw.sub !== ns || tw.subject !== ns.targetSubject) {
          // Two subscriptions delivered to in turn (one message matching
          // both, two streams interleaved): the other entry, made the first.
          let other = this.otherWords;
          if (other === null) {
            other = new TargetWords();
            this.otherWords = other;
          }
          this.otherWords = tw;
          this.targetWords = other;
          tw = other;
          if (tw.sub !== ns || tw.subject !== ns.targetSubject) {
            tw.sub = ns;
            tw.subject = ns.targetSubject;
            tw.ready = false;
            return this.queueRange(ns.target, ns.targetLen, msg, withHeaders);
          }
        }
        if (tw.ready) return this.queueWords(tw, msg);
        if (ns.targetLen + 4 <= TARGET_WORDS_MAX) fillWords(tw, ns);
      }
      return this.queueRange(ns.target, ns.targetLen, msg, withHeaders);
    }
    const headers = withHeaders ? msg.headers : null;
    return this.queueMsg(ns.target, msg.reply, headers, msg.payload, ns.targetLen);
  }

  /** Queues one MSG/HMSG frame; returns its payload size, or -1 at the pending bound. */
  protected queueMsg(
    target: Buffer,
    reply: string,
    headers: Buffer | null,
    payload: Buffer,
    targetLen = target.length,
  ): number {
    const hlen = headers === null ? -1 : headers.length;
    const total = payload.length + (headers === null ? 0 : hlen);
    const max = headMax(target, reply);
    let chunk: Buffer;
    let at: number;
    if (total < COPY_LIMIT) {
      chunk = this.reserve(max + total + 2);
      at = encodeMsgHead(chunk, this.writePos, target, reply, hlen, total, targetLen);
      if (headers !== null) at = copyInto(headers, chunk, at);
      at = copyInto(payload, chunk, at);
    } else {
      // Large payloads are queued by reference, not copied.
      chunk = this.reserve(max);
      this.commit(encodeMsgHead(chunk, this.writePos, target, reply, hlen, total, targetLen));
      if (headers !== null) this.queueRef(headers);
      this.queueRef(payload);
      chunk = this.reserve(2);
      at = this.writePos;
    }
    chunk[at++] = 0x0d;
    chunk[at++] = 0x0a;
    return this.commit(at) ? total : -1;
  }

  /** `queueRange` for a MSG without reply or headers whose head is in `tw`. */
  private queueWords(tw: TargetWords, msg: RangeMessage): number {
    const from = msg.hlen < 0 ? msg.hstart : msg.hstart + msg.hlen;
    const end = msg.end;
    const total = end - from;
    const n = tw.len;
    const chunk = this.reserve(n + 16 + total + 2);
    const view = this.chunkView;
    let at = this.writePos;
    const w = tw.words;
    const words = (n + 3) >>> 2;
    // Whole words: the last may run up to 3 bytes past the head, into room
    // reserved for the size that overwrites them next.
    for (let i = 0; i < words; i++) view.setUint32(at + 4 * i, w[i]);
    at = writeDecimal(chunk, at + n, total);
    chunk[at++] = 0x0d;
    chunk[at++] = 0x0a;
    const src = msg.buf;
    if (total <= SMALL_COPY) at = this.copySmall(chunk, at, src, from, total);
    else {
      chunk.set(new Uint8Array(src.buffer, src.byteOffset + from, total), at);
      at += total;
    }
    chunk[at++] = 0x0d;
    chunk[at++] = 0x0a;
    return this.commit(at) ? total : -1;
  }

  /** `queueMsg` for a small `RangeMessage`: its bytes copied from the range read. */
  private queueRange(
    target: Buffer,
    targetLen: number,
    msg: RangeMessage,
    withHeaders: boolean,
  ): number {
    const pstart = msg.hlen < 0 ? msg.hstart : msg.hstart + msg.hlen;
    const hlen = withHeaders ? msg.hlen : -1;
    const from = hlen < 0 ? pstart : msg.hstart;
    const end = msg.end;
    const total = end - from;
    const chunk = this.reserve(headMax(target, msg.reply) + total + 2);
    let at = encodeMsgHead(chunk, this.writePos, target, msg.reply, hlen, total, targetLen);
    const src = msg.buf;
    if (total <= SMALL_COPY) at = this.copySmall(chunk, at, src, from, total);
    else {
      // A plain Uint8Array view: Buffer#copy with offsets and Buffer#subarray
      // (its species constructor) cost ~35 ns more per copy.
      chunk.set(new Uint8Array(src.buffer, src.byteOffset + from, total), at);
      at += total;
    }
    chunk[at++] = 0x0d;
    chunk[at++] = 0x0a;
    return this.commit(at) ? total : -1;
  }

  /**
   * Copies `src[from, from + n)` (n <= SMALL_COPY) into `chunk` (the one
   * `reserve` returned) at `at`; returns the offset after it. From
   * WORD_COPY_MIN bytes on, four bytes at a time through DataViews: a
   * 32-byte ack's payload cost ~48 ns byte by byte, ~17 ns so
   * (bench/core-tools/small-copy.mjs; bench/PROFILE.md, "natspub (round 10)").
   */
  private copySmall(chunk: Buffer, at: number, src: Buffer, from: number, n: number): number {
    if (n < WORD_COPY_MIN) {
      for (let i = 0; i < n; i++) chunk[at + i] = src[from + i];
      return at + n;
    }
    let sv = this.srcView;
    if (this.srcViewOf !== src || sv === null) {
      sv = new DataView(src.buffer, src.byteOffset, src.length);
      this.srcView = sv;
      this.srcViewOf = src;
    }
    const dv = this.chunkView;
    let i = 0;
    for (; i + 4 <= n; i += 4) dv.setUint32(at + i, sv.getUint32(from + i));
    for (; i < n; i++) chunk[at + i] = src[from + i];
    return at + n;
  }

  /** Also lets go of the last source's view: a read buffer is not held past the tick that delivered from it. */
  override flush(final = false): void {
    this.srcView = null;
    this.srcViewOf = null;
    super.flush(final);
  }
}

/** Fills `tw` with "MSG " and the target of `ns` (its `targetLen` + 4 bytes fit). */
function fillWords(tw: TargetWords, ns: NatsSubscription): void {
  const n = ns.targetLen + 4;
  const t = ns.target;
  const w = tw.words;
  w[0] = MSG_SP;
  for (let i = 4; i < n; i += 4) {
    let v = 0;
    for (let k = 0; k < 4; k++) v = (v << 8) | (i + k < n ? t[i + k - 4] : 0);
    w[i >>> 2] = v >>> 0;
  }
  tw.len = n;
  tw.ready = true;
}
