/**
 * The base every connection shares (client sessions now, mesh links later):
 * an outbound queue bounded in bytes, batched writes, backpressure, and one
 * close path with a named reason.
 *
 * Writes are batched: frames are encoded into a chunk of memory and the
 * connection is marked dirty; when the read batch that caused them has been
 * handled, one `Flusher` pass hands each dirty connection's bytes to its
 * socket in one write (several chunks: corked, so libuv uses writev). Bytes
 * queued outside a read (timers) are flushed in setImmediate. Flushing per
 * read, not per loop turn, matters: libuv may read one socket many times in
 * a turn, and holding all of that would count against `maxPending`. A chunk is reused after a
 * flush: the written range is handed off, later frames go after it (lone pieces: direct-write.ts).
 *
 * Every byte queued is counted in the node's `Outbound` (see outbound.ts)
 * until the socket hands it to the kernel (the write's callback) or the
 * connection goes away. A socket that is full is "blocked" from the write
 * that filled it until its 'drain'; at most `WRITE_MAX` bytes are handed to
 * it at a time, so a 'drain' means the peer took something and the write
 * deadline measures real progress, and the rest waits here, where it is
 * counted and can be dropped at once.
 */
import type net from 'node:net';
import { CloseReason } from '../errors.js';
import { utf8Write } from '../util/bytes.js';
import { canWriteDirect, rangeView, writeDirect } from './direct-write.js';
import type { Flusher } from './flusher.js';
import {
  type Outbound,
  type OutboundHolder,
  type SlowReason,
  slowText,
  unbounded,
} from './outbound.js';
import { isSharedRead } from './shared-read.js';
import type { Transport } from './transport.js';

export { Flusher } from './flusher.js';

/** Payloads at least this large are queued by reference, not copied. */
export const COPY_LIMIT = 8 * 1024;
/**
 * Bounds on the encode chunk: it grows with traffic and shrinks when idle.
 * CHUNK_MAX holds what one 64 KiB socket read can make for one reader with
 * room to spare: at 64 KiB, the MSG frames of a read of 1 KiB PUBs (~66 KB)
 * overflowed it, so every flush was a corked writev of two parts and the
 * replaced chunk a spare (bench/PROFILE.md, "Issue 16 — core1k (round 8)").
 */
export const CHUNK_MIN = 1024;
export const CHUNK_MAX = 128 * 1024;
/** Most bytes of a full chunk carried into the next one (more are sealed: a part of their own). */
export const CARRY_MAX = 16 * 1024;
/** Most bytes handed to a client's socket in one flush (the rest waits for its 'drain'). */
export const WRITE_MAX = 1024 * 1024;

/** A spare chunk's `freeAt` while a part of it waits in the queue. */
const SPARE_QUEUED = Number.MAX_SAFE_INTEGER;
/**
 * Most replaced chunks a connection keeps for reuse (`Connection.spares`):
 * enough for the flushes a socket has in flight when its peer reads slower
 * than the node encodes; past it a replaced chunk is left to the GC (new
 * chunks are counted in `Connection.chunkAllocs`).
 */
export const SPARE_MAX = 3;

export interface ConnectionCounters {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
}

/** The connection a transport carries: set by Connection's constructor, read by its listeners. */
const CONNECTION = Symbol('weft.connection');
type Carrier = Transport & { [CONNECTION]: Connection };

export abstract class Connection implements ConnectionCounters, OutboundHolder {
  /** When it was accepted (ms); `created` makes the Date when asked. */
  private readonly createdAt = Date.now();
  readonly remoteAddress: string;
  readonly remotePort: number;
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  lastActivity = Date.now();
  closeReason: CloseReason | null = null;

  private chunk: Buffer | null = null;
  /** A DataView of `chunk` (made on first use per chunk; null with it). */
  private view: DataView | null = null;
  private viewOf: Buffer | null = null;
  private start = 0;
  private end = 0;
  private chunkSize = CHUNK_MIN;
  /** Sealed buffers waiting for the next flush (null: none). */
  private parts: Buffer[] | null = null;
  /** A buffer queued by reference while nothing else was (null: none): it goes first, before the
   * chunk's range; a later reference moves it to `parts` (null while it is set). So a lone piece
   * (a relayed run, a lone reply) is written without an array per flush. */
  private lone: Buffer | null = null;
  /** Bytes queued here and not yet handed to the socket. */
  private queued = 0;
  private isDirty = false;
  private waitingDrain = false;
  /** Bytes counted in `outbound.bytes`: queued here, or in the socket. */
  held = 0;
  /** When the socket became full with nothing taken since, ms; 0 when it is not. */
  blockedSince = 0;
  /** Producers wait on this connection: it is behind (producer-stall.ts). */
  producersWait = false;
  /** Bytes of each flush the socket has not yet reported written, oldest first: the oldest (-1:
   * none), then the others (most of the time there are none, and no array is held). */
  private inflightFirst = -1;
  private inflightRest: number[] | null = null;
  /** A direct write's bytes not yet in the kernel (direct-write.ts); 0: none; -1: the socket has none. */
  private direct: number;
  /** Set once everything held is released (the connection is gone): nothing is counted after. */
  private released = false;
  /** Chunks replaced (at most SPARE_MAX; null: none), each reused once the socket reported written every flush with a
   * part of it: a new 64 KiB chunk per batch was GC pressure on a mesh node (bench/PROFILE.md, "mesh, round 3"). */
  private spares: Buffer[] | null = null;
  /** The last flush's view of the chunk, written again when the next is the same range (`rangeView`). */
  private piece: Buffer | null = null;
  /** Flushes handed to the socket, and reported written by it (in order). */
  private flushSeq = 0;
  private writtenSeq = 0;
  /** Each spare is free once `writtenSeq` reaches its entry here (SPARE_QUEUED: a part of it waits in `parts`). */
  private spareFreeAt: number[] | null = null;
  /** Chunks allocated (not reused) by this connection. */
  chunkAllocs = 0;

  constructor(
    readonly id: number,
    readonly socket: Transport,
    protected readonly flusher: Flusher,
    /** Bytes queued (here and in the socket) beyond which the peer is a slow consumer. */
    private readonly maxPending: number,
    /** The node-wide account of bytes held for peers, and its bounds. */
    protected readonly outbound: Outbound = unbounded(),
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.direct = canWriteDirect(socket) ? 0 : -1;
    // The same listener functions for every connection (no closures per
    // connection: idle connections are many); each finds its connection.
    (socket as Carrier)[CONNECTION] = this;
    socket.on('drain', Connection.onDrain);
    socket.on('close', Connection.onClose);
  }

  private static readonly onDrain = function (this: Carrier): void {
    this[CONNECTION].drained();
  };

  private static readonly onClose = function (this: Carrier): void {
    const c = this[CONNECTION];
    c.releaseAll();
    c.onTransportClosed();
  };

  get created(): Date {
    return new Date(this.createdAt);
  }

  /** The socket's 'drain'. */
  private drained(): void {
    this.waitingDrain = false;
    if (this.blockedSince !== 0) {
      this.blockedSince = 0;
      this.outbound.blocked.delete(this);
    }
    if (this.queued > 0) this.flush();
    this.onDrained();
  }

  /** Called by the socket once the last write of a flush reached the kernel (or failed). */
  private readonly written = (err?: Error | null): void => {
    // A direct write's error is not yet the socket's; one that waited is its 'drain'.
    if (err != null && !this.socket.destroyed) (this.socket as net.Socket).destroy(err);
    if (this.direct > 0) {
      this.direct = 0;
      if (this.waitingDrain && err == null) queueMicrotask(() => this.drained());
    }
    const n = this.inflightFirst;
    if (n === -1) return;
    this.writtenSeq++;
    const rest = this.inflightRest;
    this.inflightFirst = rest !== null && rest.length > 0 ? rest.shift()! : -1;
    if (this.released) return;
    this.held -= n;
    this.outbound.release(n);
    if (this.producersWait && this.pendingBytes <= this.maxPending / 2)
      this.outbound.stall.caughtUp(this);
    // Everything written and nothing queued: the next batch starts at the
    // chunk's start (a batch then fills one chunk before it needs the spare).
    if (this.inflightFirst === -1 && this.queued === 0 && this.end === this.start) {
      this.start = 0;
      this.end = 0;
    }
  };

  /** Stops counting what this connection holds (it is going away). */
  private releaseAll(): void {
    if (this.released) return;
    this.released = true;
    this.outbound.release(this.held);
    this.held = 0;
    if (this.producersWait) this.outbound.stall.caughtUp(this);
    this.inflightFirst = -1;
    this.inflightRest = null;
    this.dropSpares();
    if (this.blockedSince !== 0) this.outbound.blocked.delete(this);
  }

  /** Closes the connection as a slow consumer (called by the node-wide bounds). */
  closeSlow(reason: SlowReason): void {
    if (!this.closed) this.onSlowConsumer(reason);
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Resolves once the socket has closed. */
  whenClosed(): Promise<void> {
    const sock = this.socket;
    return sock.closed ? Promise.resolve() : new Promise((r) => sock.once('close', () => r()));
  }

  /** Ends the socket at once (after the shutdown grace, or an abort). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Bytes waiting to reach the peer: in our queue and in the socket's. */
  get pendingBytes(): number {
    return this.queued + this.socket.writableLength + Math.max(this.direct, 0);
  }

  /**
   * Room for `n` more bytes: returns the chunk to encode into, from
   * `writePos`; then `commit` the new end. Nothing else may queue between.
   */
  protected reserve(n: number): Buffer {
    const chunk = this.chunk;
    if (chunk !== null && chunk.length - this.end >= n) return chunk;
    // What the full chunk holds for the next flush is small: carried to the
    // new chunk, so that flush writes one buffer, not two (a writev).
    const carry = chunk !== null ? this.end - this.start : 0;
    if (carry > CARRY_MAX) this.seal();
    const keep = carry > CARRY_MAX ? 0 : carry;
    // The socket has reported every flush written and nothing else refers to
    // the chunk: start it over instead of allocating (a new 64 KiB chunk per
    // full chunk was 2.5–5 % of a mesh node's time, bench/PROFILE.md).
    if (
      chunk !== null &&
      this.inflightFirst === -1 &&
      this.parts === null &&
      !this.released &&
      !this.waitingDrain &&
      !this.socket.destroyed &&
      chunk.length >= this.chunkSize &&
      chunk.length >= n + keep
    ) {
      if (keep > 0) chunk.copyWithin(0, this.start, this.end);
      this.start = 0;
      this.end = keep;
      return chunk;
    }
    // A batch outgrew the chunk: the next is larger (not only at the next
    // flush: a burst after an idle spell would go through 1 KiB chunks).
    if (chunk !== null && chunk.length >= this.chunkSize) {
      this.chunkSize = Math.min(this.chunkSize * 2, CHUNK_MAX);
    }
    const size = Math.max(n + keep, this.chunkSize);
    let fresh: Buffer;
    const spare = this.released ? null : this.takeSpare(size);
    if (spare !== null) fresh = spare;
    else {
      fresh = Buffer.allocUnsafe(size);
      this.chunkAllocs++;
      this.outbound.chunkAllocs++;
    }
    if (chunk !== null) {
      if (keep > 0) chunk.copy(fresh, 0, this.start, this.end);
      // The replaced chunk becomes a spare: free once every part of it
      // queued or in flight is reported written.
      if (chunk.length >= this.chunkSize && !this.released) {
        this.keepSpare(chunk, this.parts !== null ? SPARE_QUEUED : this.flushSeq);
      }
    }
    this.chunk = fresh;
    this.start = 0;
    this.end = keep;
    return fresh;
  }

  /** A spare chunk of at least `size` bytes that nothing refers to any more (removed from the spares), or null. */
  private takeSpare(size: number): Buffer | null {
    const spares = this.spares;
    if (spares === null) return null;
    const free = this.spareFreeAt!;
    for (let i = 0; i < spares.length; i++) {
      if (spares[i].length < this.chunkSize) {
        // Kept while the chunk was growing: too small to be of use now.
        spares.splice(i, 1);
        free.splice(i, 1);
        i--;
        continue;
      }
      if (free[i] <= this.writtenSeq && spares[i].length >= size) {
        const b = spares[i];
        spares.splice(i, 1);
        free.splice(i, 1);
        return b;
      }
    }
    return null;
  }

  /** Keeps a replaced chunk, free once `writtenSeq` reaches `freeAt` (past SPARE_MAX: dropped). */
  private keepSpare(chunk: Buffer, freeAt: number): void {
    if (this.spares === null) {
      this.spares = [];
      this.spareFreeAt = [];
    }
    if (this.spares.length >= SPARE_MAX) return;
    this.spares.push(chunk);
    this.spareFreeAt!.push(freeAt);
  }

  private dropSpares(): void {
    this.spares = null;
    this.spareFreeAt = null;
  }

  private dropChunk(): void {
    this.chunk = null;
    this.piece = null;
    this.view = null;
    this.viewOf = null;
  }

  /**
   * A DataView of the chunk `reserve` returned last, for writes four bytes
   * at a time (a 16 B message's head was copied byte by byte: 10–14 % of a
   * receiving mesh node, bench/PROFILE.md, "Issue 16 — mesh, round 3").
   */
  protected get chunkView(): DataView {
    const chunk = this.chunk!;
    if (this.viewOf !== chunk) {
      this.view = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
      this.viewOf = chunk;
    }
    return this.view!;
  }

  protected get writePos(): number {
    return this.end;
  }

  /** Queues what was encoded up to `end`; false when the connection hit its bound. */
  protected commit(end: number): boolean {
    if (this.released) return false;
    const n = end - this.end;
    this.queued += n;
    this.held += n;
    this.end = end;
    const o = this.outbound;
    o.bytes += n;
    if (o.bytes > o.threshold) {
      o.overLimit();
      if (this.closed) return false;
    }
    return this.afterQueue();
  }

  /** Queues `buf` by reference (no copy): for large payloads. Call `commit` after. */
  protected queueRef(buf: Buffer): void {
    if (buf.length === 0 || this.released) return;
    // A shared read is reused after its call (shared-read.ts): queue a copy.
    if (isSharedRead(buf)) buf = Buffer.from(buf);
    if (this.parts === null && this.lone === null && this.end === this.start) this.lone = buf;
    else {
      this.seal();
      this.parts!.push(buf);
    }
    this.queued += buf.length;
    this.held += buf.length;
    this.outbound.bytes += buf.length;
  }

  /**
   * Queues bytes: copied when small, by reference when large, and by
   * reference when nothing is queued and no chunk is at hand (a lone reply,
   * such as a CONNACK, leaves no chunk behind on an idle connection). The
   * caller does not change `buf` afterwards.
   */
  protected queueBytes(buf: Buffer): boolean {
    if (buf.length >= COPY_LIMIT || (this.chunk === null && this.queued === 0)) {
      this.queueRef(buf);
      return this.commit(this.end);
    }
    const chunk = this.reserve(buf.length);
    buf.copy(chunk, this.end);
    return this.commit(this.end + buf.length);
  }

  /** Queues a short protocol line (INFO, PONG, -ERR …). */
  protected queueText(text: string): boolean {
    const chunk = this.reserve(text.length * 3);
    return this.commit(this.end + utf8Write(chunk, text, this.end));
  }

  private afterQueue(): boolean {
    const pending = this.pendingBytes;
    if (pending > this.maxPending) {
      this.onSlowConsumer(CloseReason.SlowConsumer);
      return false;
    }
    // Past half: the producer of this read waits (producer-stall.ts).
    if (pending > this.maxPending / 2) this.outbound.stall.behind(this, pending, this.maxPending);
    if (!this.isDirty) {
      this.isDirty = true;
      this.flusher.mark(this);
    }
    return true;
  }

  /** Moves the lone piece and the encoded range of the chunk to `parts` (an array, after it). */
  private seal(): void {
    if (this.parts === null) {
      this.parts = this.lone === null ? [] : [this.lone];
      this.lone = null;
    }
    if (this.chunk !== null && this.end > this.start) {
      this.parts.push(this.chunk.subarray(this.start, this.end));
      this.start = this.end;
    }
  }

  /**
   * Hands queued bytes to the socket: one write, or one corked batch. While the socket is above its
   * high-water mark this waits for 'drain', unless `final` (the connection is ending: everything
   * goes to the socket, which sends it before its FIN).
   */
  flush(final = false): void {
    this.isDirty = false;
    if (this.queued === 0 || this.socket.destroyed) return;
    if (this.waitingDrain && !final) return; // the 'drain' handler flushes
    let bytes = this.queued;
    // One piece (the chunk's range, or a lone reference) is written without
    // an array: every flush at low rates (bench/PROFILE.md, "Issue 16 —
    // mesh (round 5)").
    let one: Buffer | null = null;
    if (this.parts === null) {
      if (this.lone === null) {
        one = this.piece = rangeView(this.chunk!, this.start, this.end, this.piece);
        this.start = this.end;
      } else if (this.end === this.start) {
        one = this.lone;
        this.lone = null;
      }
    }
    let parts: Buffer[] | null = null;
    if (one !== null) this.queued = 0;
    else {
      this.seal();
      parts = this.parts!;
      if (bytes > WRITE_MAX && !final && this.outbound.writeDeadlineMs > 0) {
        // The socket gets at most WRITE_MAX now; the rest after its 'drain'.
        let k = 0;
        let n = 0;
        while (n < WRITE_MAX && k < parts.length) n += parts[k++].length;
        this.parts = k < parts.length ? parts.slice(k) : null;
        parts = parts.slice(0, k);
        bytes = n;
        this.queued -= n;
      } else {
        this.parts = null;
        this.queued = 0;
      }
    }
    // Every part queued is in this flush: the spare is free once it is written.
    this.flushSeq++;
    const free = this.spareFreeAt;
    if (this.parts === null && free !== null) {
      for (let i = 0; i < free.length; i++) if (free[i] === SPARE_QUEUED) free[i] = this.flushSeq;
    }
    if (this.inflightFirst === -1) this.inflightFirst = bytes;
    else if (this.inflightRest === null) this.inflightRest = [bytes];
    else this.inflightRest.push(bytes);
    const piece = one ?? (parts!.length === 1 ? parts![0] : null);
    let ok = true;
    if (piece !== null && this.direct === 0) {
      this.direct = bytes; // until `written` (inside the call when the kernel took it all)
      if (!writeDirect(this.socket, piece, this.written)) {
        this.direct = 0;
        ok = this.socket.write(piece, this.written);
      } else ok = this.direct === 0; // left in libuv: the kernel is full, as `write` saying false
    } else if (piece !== null) ok = this.socket.write(piece, this.written);
    else {
      const list = parts!;
      const last = list.length - 1;
      this.socket.cork();
      for (let i = 0; i < last; i++) this.socket.write(list[i]);
      ok = this.socket.write(list[last], this.written);
      this.socket.uncork();
    }
    if (!ok) {
      this.waitingDrain = true;
      if (this.blockedSince === 0 && this.outbound.writeDeadlineMs > 0) {
        this.blockedSince = Date.now();
        this.outbound.blocked.add(this);
      }
    } else if (this.queued > 0 && !this.isDirty) {
      this.isDirty = true;
      this.flusher.mark(this);
    }
    // Adapt the chunk to the traffic: grow for bursts, let idle ones go.
    if (bytes >= this.chunkSize >> 1) this.chunkSize = Math.min(this.chunkSize * 2, CHUNK_MAX);
    else if (bytes < CHUNK_MIN) {
      this.chunkSize = CHUNK_MIN;
      if (this.chunk !== null && this.chunk.length > CHUNK_MIN) this.dropChunk();
      if (this.spares !== null) this.dropSpares();
    }
  }

  /** Drops what is queued (the connection is going away without a flush). */
  protected discardQueued(): void {
    this.parts = null;
    this.lone = null;
    this.queued = 0;
    this.dropChunk();
    this.dropSpares();
    this.releaseAll();
  }

  /** The peer is not reading fast enough (`reason` says which bound it hit). */
  protected abstract onSlowConsumer(reason: SlowReason): void;

  /** Why the peer is a slow consumer, for the log: the bound it hit, with the numbers. */
  protected slowConsumerText(reason: SlowReason): string {
    return slowText(
      reason,
      this.pendingBytes,
      this.held,
      this.blockedSince,
      this.maxPending,
      this.outbound,
    );
  }

  /** The socket wrote out what it held (its 'drain' event). */
  protected onDrained(): void {}

  /** The socket closed (its 'close' event), after what the connection held was released. */
  protected onTransportClosed(): void {}
}
