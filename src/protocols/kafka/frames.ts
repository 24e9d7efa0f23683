/**
 * Splits a Kafka byte stream into frames: each is an int32 size followed by
 * that many bytes (protocol guide, "Common Request and Response Structure").
 * No I/O: the connection pushes what it reads and takes whole frames out.
 *
 * A frame inside one pushed chunk comes out as a view of it (no copy). One
 * that straddles chunks is gathered: once its size is known and at least
 * 1/`GATHER_AHEAD` of it is here, a buffer of its size is taken and every
 * byte of it is copied into that buffer once, as it is pushed (before, the
 * leftover of each read was copied by `release` and the whole frame again
 * when complete; a 128 KiB Produce spans two or three 64 KiB reads:
 * bench/PROFILE.md, "Issue 16 — kafka7 (round 13)").
 *
 * With `lend` (the session), a gathered frame of at most
 * `GATHER_POOLED_MAX` bytes is gathered into a buffer of a process-wide
 * pool and only lent: it is valid until the next call of `next` or
 * `dispose`, which give the buffer back (`lent` tells such a frame). Without
 * `lend` every frame may be kept.
 *
 * A chunk pushed as `transient` (a read of the shared read buffer) is valid
 * until `release`, which copies what is left of it; any other must not be
 * reused by the caller (socket 'data' buffers are not). A negative size or
 * one over `maxFrameBytes` (Kafka's socket.request.max.bytes) throws
 * KafkaCodecError('TOO_LARGE' / 'BAD_LENGTH') before anything is buffered
 * for it: Kafka closes the connection then.
 */
import { KafkaCodecError } from './wire.js';

/** Kafka's default socket.request.max.bytes (100 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 104_857_600;
/** A frame is gathered into a buffer of its size once this fraction of it is here (so 4 bytes claiming a large frame allocate little). */
export const GATHER_AHEAD = 8;
/** The largest frame gathered into a pooled buffer (larger: a buffer of its own). */
export const GATHER_POOLED_MAX = 1024 * 1024;
/** The smallest pooled buffer (sizes are powers of two from here). */
const POOLED_MIN = 64 * 1024;
/** Bytes of free pooled buffers kept, all splitters together; a buffer given back beyond it is dropped. */
export const GATHER_POOL_BYTES = 4 * 1024 * 1024;

/** The pool of gather buffers, and what it did (`/varz` kafka frame_buffers_*). */
const free: Buffer[] = [];
let freeBytes = 0;
export const gatherPool = {
  /** Buffers allocated because none free fit. */
  allocated: 0,
  /** Buffers given back when the pool held GATHER_POOL_BYTES already. */
  dropped: 0,
};

function takePooled(size: number): Buffer {
  for (let i = 0; i < free.length; i++) {
    const b = free[i]!;
    if (b.length >= size) {
      free[i] = free[free.length - 1]!;
      free.pop();
      freeBytes -= b.length;
      return b;
    }
  }
  gatherPool.allocated++;
  let n = POOLED_MIN;
  while (n < size) n *= 2;
  return Buffer.allocUnsafeSlow(n);
}

function givePooled(b: Buffer, poison: boolean): void {
  if (poison) b.fill(0xee);
  if (freeBytes + b.length > GATHER_POOL_BYTES) {
    gatherPool.dropped++;
    return;
  }
  free.push(b);
  freeBytes += b.length;
}

export interface FrameSplitterOptions {
  /** Gathered frames come from the pool, lent until the next `next` (see above). */
  lend?: boolean;
  /** Overwrite a lent buffer when it is given back (WEFT_POISON_READS: shows a keeper in tests). */
  poison?: () => boolean;
}

export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The last chunk pushed is valid only until `release`. */
  private transient = false;
  /** The frame being gathered (its body, without the size), or null. */
  private gather: Buffer | null = null;
  /** Whether `gather` is a pooled buffer. */
  private gatherPooled = false;
  /** Bytes of the gathered frame here, and its size. */
  private gathered = 0;
  private gatherSize = 0;
  /** The pooled buffer of the frame `next` last returned, given back at the next `next`. */
  private lentBuf: Buffer | null = null;
  private readonly lend: boolean;
  private readonly poison: () => boolean;

  constructor(
    private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    options: FrameSplitterOptions = {},
  ) {
    this.lend = options.lend === true;
    this.poison = options.poison ?? (() => false);
  }

  /** Bytes held, waiting for the rest of a frame. */
  get pending(): number {
    return this.buffered;
  }

  /** Whether `frame` is (a view of) a lent buffer: valid until the next `next`. */
  lent(frame: Uint8Array): boolean {
    return this.lentBuf !== null && frame.buffer === this.lentBuf.buffer;
  }

  push(chunk: Buffer, transient = false): void {
    if (chunk.length === 0) return;
    const g = this.gather;
    if (g !== null) {
      // The chunks are empty while gathering: the frame's bytes go to it, the rest queue.
      const k = Math.min(chunk.length, this.gatherSize - this.gathered);
      chunk.copy(g, this.gathered, 0, k);
      this.gathered += k;
      this.buffered += k;
      if (k === chunk.length) {
        this.transient = false;
        return;
      }
      chunk = chunk.subarray(k);
    }
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
    if (this.lentBuf !== null) {
      givePooled(this.lentBuf, this.poison());
      this.lentBuf = null;
    }
    const g = this.gather;
    if (g !== null) {
      if (this.gathered < this.gatherSize) return null;
      this.gather = null;
      this.buffered -= this.gatherSize;
      if (this.gatherPooled) this.lentBuf = g;
      return g.subarray(0, this.gatherSize);
    }
    if (this.buffered < 4) return null;
    const size = this.peekSize();
    if (size < 0) throw new KafkaCodecError('BAD_LENGTH', `frame size ${size} is negative`);
    if (size > this.maxFrameBytes) {
      throw new KafkaCodecError(
        'TOO_LARGE',
        `frame of ${size} bytes over the limit of ${this.maxFrameBytes}`,
      );
    }
    const first = this.chunks[0]!;
    if (first.length >= 4 + size) {
      const frame = first.subarray(4, 4 + size);
      this.drop(4 + size);
      return frame;
    }
    if (this.buffered >= 4 + size) {
      // Whole but over several chunks (read ahead while a request was in flight).
      this.drop(4);
      const out = Buffer.allocUnsafe(size);
      this.copyOut(out, 0, size);
      return out;
    }
    if ((this.buffered - 4) * GATHER_AHEAD >= size) this.startGather(size);
    return null;
  }

  /** Gives back the buffer lent or being gathered into (the connection closed). */
  dispose(): void {
    if (this.lentBuf !== null) givePooled(this.lentBuf, this.poison());
    if (this.gather !== null && this.gatherPooled) givePooled(this.gather, this.poison());
    this.lentBuf = null;
    this.gather = null;
    this.chunks = [];
    this.buffered = 0;
    this.transient = false;
  }

  /** Moves what is here of a frame of `size` bytes (all that is buffered) into its buffer. */
  private startGather(size: number): void {
    this.gatherPooled = this.lend && size <= GATHER_POOLED_MAX;
    const g = this.gatherPooled ? takePooled(size) : Buffer.allocUnsafe(size);
    this.drop(4);
    const here = this.buffered;
    this.copyOut(g, 0, here);
    this.buffered = here;
    this.gather = g;
    this.gathered = here;
    this.gatherSize = size;
    this.transient = false;
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.alloc(4);
    let at = 0;
    for (const c of this.chunks) {
      at += c.copy(head, at, 0, Math.min(c.length, 4 - at));
      if (at === 4) break;
    }
    return head.readInt32BE(0);
  }

  /** Drops `n` bytes from the front (`n` ≤ buffered). */
  private drop(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }

  /** Moves `n` bytes from the front into `out` at `at`. */
  private copyOut(out: Buffer, at: number, n: number): void {
    const end = at + n;
    while (at < end) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, end - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
  }
}
