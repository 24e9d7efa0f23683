/**
 * The outbound side of a Redis connection: replies and pub/sub messages
 * encoded into the connection's chunk (connection.ts), flushed once per
 * read batch. A pub/sub message of a `RangeMessage` (a PUBLISH read as
 * byte ranges, a NATS publish, a mesh frame) is copied from its range:
 * no Buffer view is made for its payload.
 */
import { COPY_LIMIT, Connection } from '../../connection/connection.js';
import { type Message, RangeMessage } from '../../core/message.js';
import { copyInto } from '../../util/bytes.js';
import { encode, lengthLine, type Protocol, type Reply } from './encoder.js';

/** Below this many bytes a range is copied by a JS loop (a native call costs more). */
const SMALL_COPY = 64;

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
    else this.queueBytes(encode(r, this.protocol));
  }

  /**
   * Queues one pub/sub message: the subscription's own `prefix` (`*3 $7
   * message $n <channel>`, or the pmessage head with its pattern), the
   * channel when it varies (patterns), then the payload of `msg`. Returns
   * the payload's size.
   */
  protected queueMessage(prefix: Buffer, channel: Buffer | null, msg: Message): number {
    let src: Buffer;
    let from: number;
    let end: number;
    if (msg instanceof RangeMessage) {
      src = msg.buf;
      from = msg.hlen < 0 ? msg.hstart : msg.hstart + msg.hlen;
      end = msg.end;
    } else {
      src = msg.payload;
      from = 0;
      end = src.length;
    }
    const n = end - from;
    const small = n < COPY_LIMIT;
    const size =
      prefix.length + (channel === null ? 0 : channel.length + 16) + 16 + (small ? n + 2 : 0);
    const buf = this.reserve(size);
    let at = copyInto(prefix, buf, this.writePos);
    if (channel !== null) {
      at = lengthLine(buf, at, 0x24, channel.length);
      at = copyInto(channel, buf, at);
      buf[at++] = 13;
      buf[at++] = 10;
    }
    at = lengthLine(buf, at, 0x24, n);
    if (small) {
      if (n <= SMALL_COPY) {
        for (let i = from; i < end; i++) buf[at++] = src[i]!;
      } else {
        buf.set(src.subarray(from, end), at);
        at += n;
      }
      buf[at++] = 13;
      buf[at++] = 10;
      this.commit(at);
    } else {
      // Large payloads are queued by reference, not copied.
      this.commit(at);
      this.queueBytes(msg.payload);
      this.queueBytes(CRLF);
    }
    return n;
  }
}
