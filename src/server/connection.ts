/**
 * The base every connection shares (client sessions now, mesh links later):
 * an outbound queue bounded in bytes, batched writes, backpressure, and one
 * close path with a named reason.
 *
 * Writes are batched: frames are encoded into a chunk of memory and the
 * connection is marked dirty; one `Flusher` pass per event-loop turn (in
 * setImmediate, after every readable socket was handled) hands each dirty
 * connection's bytes to its socket in one write (several chunks: corked, so
 * libuv uses writev). A chunk is reused after a flush: the written range is
 * handed off, later frames go after it.
 */
import type { Socket } from 'node:net';
import type { CloseReason } from '../errors.js';

/** Payloads at least this large are queued by reference, not copied. */
export const COPY_LIMIT = 8 * 1024;
/** Bounds on the encode chunk: it grows with traffic and shrinks when idle. */
export const CHUNK_MIN = 1024;
export const CHUNK_MAX = 64 * 1024;

const CRLF = Buffer.from('\r\n');

/** Flushes every connection that queued bytes, once per event-loop turn. */
export class Flusher {
  private dirty: Connection[] = [];
  private scheduled = false;

  mark(c: Connection): void {
    this.dirty.push(c);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const list = this.dirty;
    this.dirty = [];
    for (let i = 0; i < list.length; i++) list[i].flush();
  };
}

export interface ConnectionCounters {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
}

export abstract class Connection implements ConnectionCounters {
  readonly created = new Date();
  readonly remoteAddress: string;
  readonly remotePort: number;
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  lastActivity = Date.now();
  closeReason: CloseReason | null = null;

  private chunk: Buffer | null = null;
  private start = 0;
  private end = 0;
  private chunkSize = CHUNK_MIN;
  /** Sealed buffers waiting for the next flush. */
  private parts: Buffer[] = [];
  /** Bytes queued here and not yet handed to the socket. */
  private queued = 0;
  private isDirty = false;
  private waitingDrain = false;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly flusher: Flusher,
    /** Bytes queued (here and in the socket) beyond which the peer is a slow consumer. */
    private readonly maxPending: number,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    socket.on('drain', () => {
      this.waitingDrain = false;
      if (this.queued > 0) this.flush();
    });
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Bytes waiting to reach the peer: in our queue and in the socket's. */
  get pendingBytes(): number {
    return this.queued + this.socket.writableLength;
  }

  /** Queues `head`, then `a` and `b` (either may be null), then CRLF. */
  protected queueFrame(head: string, a: Buffer | null, b: Buffer | null): boolean {
    const alen = a === null ? 0 : a.length;
    const blen = b === null ? 0 : b.length;
    // A UTF-8 char takes at most 3 bytes per UTF-16 unit.
    const headMax = head.length * 3;
    if (alen + blen < COPY_LIMIT) {
      const chunk = this.reserve(headMax + alen + blen + 2);
      let at = this.end;
      at += chunk.write(head, at, 'utf8');
      if (a !== null) at += a.copy(chunk, at);
      if (b !== null) at += b.copy(chunk, at);
      chunk[at++] = 0x0d;
      chunk[at++] = 0x0a;
      this.queued += at - this.end;
      this.end = at;
    } else {
      // Large payloads are queued by reference: no copy.
      const chunk = this.reserve(headMax);
      const n = chunk.write(head, this.end, 'utf8');
      this.end += n;
      this.seal();
      if (a !== null && alen > 0) this.parts.push(a);
      if (b !== null && blen > 0) this.parts.push(b);
      this.parts.push(CRLF);
      this.queued += n + alen + blen + 2;
    }
    return this.afterQueue();
  }

  /** Queues a short protocol line (INFO, PONG, -ERR …). */
  protected queueText(text: string): boolean {
    const chunk = this.reserve(text.length * 3);
    const n = chunk.write(text, this.end, 'utf8');
    this.end += n;
    this.queued += n;
    return this.afterQueue();
  }

  private afterQueue(): boolean {
    if (this.queued + this.socket.writableLength > this.maxPending) {
      this.onSlowConsumer();
      return false;
    }
    if (!this.isDirty) {
      this.isDirty = true;
      this.flusher.mark(this);
    }
    return true;
  }

  /** A chunk with at least `n` free bytes after `end`. */
  private reserve(n: number): Buffer {
    const chunk = this.chunk;
    if (chunk !== null && chunk.length - this.end >= n) return chunk;
    this.seal();
    const fresh = Buffer.allocUnsafe(Math.max(n, this.chunkSize));
    this.chunk = fresh;
    this.start = 0;
    this.end = 0;
    return fresh;
  }

  /** Moves the encoded range of the chunk to `parts`. */
  private seal(): void {
    if (this.chunk !== null && this.end > this.start) {
      this.parts.push(this.chunk.subarray(this.start, this.end));
      this.start = this.end;
    }
  }

  /** Hands queued bytes to the socket: one write, or one corked batch. */
  flush(): void {
    this.isDirty = false;
    if (this.queued === 0 || this.socket.destroyed) return;
    if (this.waitingDrain) return; // the 'drain' handler flushes
    this.seal();
    const parts = this.parts;
    const bytes = this.queued;
    let ok: boolean;
    if (parts.length === 1) ok = this.socket.write(parts[0]);
    else {
      this.socket.cork();
      ok = true;
      for (let i = 0; i < parts.length; i++) ok = this.socket.write(parts[i]);
      this.socket.uncork();
    }
    this.parts = [];
    this.queued = 0;
    if (!ok) this.waitingDrain = true;
    // Adapt the chunk to the traffic: grow for bursts, let idle ones go.
    if (bytes >= this.chunkSize >> 1) this.chunkSize = Math.min(this.chunkSize * 2, CHUNK_MAX);
    else if (bytes < CHUNK_MIN) {
      this.chunkSize = CHUNK_MIN;
      if (this.chunk !== null && this.chunk.length > CHUNK_MIN) this.chunk = null;
    }
  }

  /** Drops what is queued (the connection is going away without a flush). */
  protected discardQueued(): void {
    this.parts = [];
    this.queued = 0;
    this.chunk = null;
  }

  /** The peer is not reading fast enough. */
  protected abstract onSlowConsumer(): void;
}
