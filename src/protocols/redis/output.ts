/**
 * The outbound side of a Redis connection: replies and pub/sub messages
 * encoded into the connection's chunk (connection.ts), flushed once per
 * read batch.
 */
import { COPY_LIMIT, Connection } from '../../connection/connection.js';
import type { Message, RangeMessage } from '../../core/message.js';
import { encodeAt, encodedSize, lengthLine, type Protocol, type Reply } from './encoder.js';
import { copyRangePayload, rangePayloadSize } from './payload-copy.js';

const CRLF = Buffer.from('\r\n');
const OK = Buffer.from('+OK\r\n');

export abstract class RespOutput extends Connection {
  abstract readonly protocol: Protocol;

  /** Queues one reply in the connection's protocol. */
  protected writeReply(r: Reply): void {
    if (this.closed) return;
    // The common short replies without building an encoding.
    if (r.t === 'int' && typeof r.v === 'number' && Number.isSafeInteger(r.v) && r.v >= 0) {
      const buf = this.reserve(24);
      this.commit(lengthLine(buf, this.writePos, 0x3a, r.v));
    } else if (r.t === 'int') this.queueText(`:${r.v}\r\n`);
    else if (r.t === 'simple' && r.v === 'OK') this.queueBytes(OK);
    else if (r.t === 'bulk' && typeof r.v === 'string' && r.v.length <= 64) {
      // A short bulk string (XADD's ID) written in place: the bytes `encode` makes.
      const v = r.v;
      const len = v.length;
      const buf = this.reserve(3 * len + 16);
      const start = this.writePos;
      // ASCII (an ID always) by a loop: a native write per reply cost more than the bytes.
      let at = lengthLine(buf, start, 0x24, len);
      let i = 0;
      for (; i < len; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i < len) {
        const n = Buffer.byteLength(v, 'utf8');
        at = lengthLine(buf, start, 0x24, n);
        at += buf.write(v, at, n, 'utf8');
      }
      buf[at++] = 13;
      buf[at++] = 10;
      this.commit(at);
    } else {
      // Written in place (encodeAt); a large reply into its own buffer, queued without a copy.
      const n = encodedSize(r, this.protocol);
      if (n >= COPY_LIMIT) {
        const b = Buffer.allocUnsafe(n);
        encodeAt(r, this.protocol, b, 0);
        this.queueBytes(b);
      } else {
        const buf = this.reserve(n);
        this.commit(encodeAt(r, this.protocol, buf, this.writePos));
      }
    }
  }

  /**
   * Queues one pub/sub message: the subscription's own `prefix` (`*3 $7
   * message $n <channel>`, or the pmessage head with its pattern), the
   * channel when it varies (patterns), then the payload of `msg`. Returns
   * the payload's size.
   */
  protected queueMessage(prefix: Buffer, channel: Buffer | null, msg: Message): number {
    // A payload of at most 64 bytes read as a range (a PUBLISH) is copied by
    // words with no view (payload-copy.ts: the view was ~8 % of the 1→1
    // row, bench/PROFILE.md, "Issue 16 — rpub (round 13)"). Any other's view
    // is made once per message (a fan-out shares it) and copied natively, as
    // the head: JS byte loops cost about twice as much ("Issue 16 — rpub").
    const short = rangePayloadSize(msg);
    const payload = short < 0 ? msg.payload : null;
    const n = payload === null ? short : payload.length;
    const small = n < COPY_LIMIT;
    const size =
      prefix.length + (channel === null ? 0 : channel.length + 16) + 16 + (small ? n + 2 : 0);
    const buf = this.reserve(size);
    let at = this.writePos;
    buf.set(prefix, at);
    at += prefix.length;
    if (channel !== null) {
      at = lengthLine(buf, at, 0x24, channel.length);
      buf.set(channel, at);
      at += channel.length;
      buf[at++] = 13;
      buf[at++] = 10;
    }
    at = lengthLine(buf, at, 0x24, n);
    if (payload === null) {
      copyRangePayload(this.chunkView, at, msg as RangeMessage, n);
      at += n;
      buf[at++] = 13;
      buf[at++] = 10;
      this.commit(at);
    } else if (small) {
      buf.set(payload, at);
      at += n;
      buf[at++] = 13;
      buf[at++] = 10;
      this.commit(at);
    } else {
      // Large payloads are queued by reference, not copied.
      this.commit(at);
      this.queueBytes(payload);
      this.queueBytes(CRLF);
    }
    return n;
  }
}
