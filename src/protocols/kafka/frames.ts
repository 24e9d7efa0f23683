/**
 * Splits a Kafka byte stream into frames: each is an int32 size followed by
 * that many bytes (protocol guide, "Common Request and Response Structure").
 * No I/O: the connection pushes what it reads and takes whole frames out.
 *
 * A frame inside one pushed chunk comes out as a view of it (no copy); one
 * that straddles chunks is gathered into a new buffer. A chunk pushed as
 * `transient` (a read of the shared read buffer) is valid until `release`,
 * which copies what is left of it; any other must not be reused by the
 * caller (socket 'data' buffers are not). A negative
 * size or one over `maxFrameBytes` (Kafka's socket.request.max.bytes) throws
 * KafkaCodecError('TOO_LARGE' / 'BAD_LENGTH') before anything is buffered
 * for it: Kafka closes the connection then.
 */
import { KafkaCodecError } from './wire.js';

/** Kafka's default socket.request.max.bytes (100 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 104_857_600;

export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The last chunk pushed is valid only until `release`. */
  private transient = false;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes held, waiting for the rest of a frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer, transient = false): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.transient = transient;
  }

  /** The chunk last pushed is about to be reused: keeps a copy of what is left of it. */
  release(): void {
    if (!this.transient) return;
    this.transient = false;
    const last = this.chunks.length - 1;
    if (last >= 0) this.chunks[last] = Buffer.from(this.chunks[last]!);
  }

  /** The next whole frame (without its size), or null until more bytes come. */
  next(): Buffer | null {
    if (this.buffered < 4) return null;
    const size = this.peekSize();
    if (size < 0) throw new KafkaCodecError('BAD_LENGTH', `frame size ${size} is negative`);
    if (size > this.maxFrameBytes) {
      throw new KafkaCodecError(
        'TOO_LARGE',
        `frame of ${size} bytes over the limit of ${this.maxFrameBytes}`,
      );
    }
    if (this.buffered < 4 + size) return null;
    const first = this.chunks[0];
    if (first.length >= 4 + size) {
      const frame = first.subarray(4, 4 + size);
      this.drop(4 + size);
      return frame;
    }
    const all = this.take(4 + size);
    return all.subarray(4);
  }

  private peekSize(): number {
    const first = this.chunks[0];
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.alloc(4);
    let at = 0;
    for (const c of this.chunks) {
      at += c.copy(head, at, 0, Math.min(c.length, 4 - at));
      if (at === 4) break;
    }
    return head.readInt32BE(0);
  }

  private drop(n: number): void {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
  }

  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}
