/**
 * How a connection reads, for every face: in slices of bounded work, so one
 * publisher fanning out to thousands of subscribers cannot keep every other
 * connection (PINGs included) waiting, with a fair share of the time while
 * others read, and with two ways for the face to stop reading for a while:
 * `hold` (until it calls `release`, e.g. while CONNECT's credentials are
 * checked) and `waitUntil` (a time, e.g. an identity's data rate). While
 * reading is stopped the socket is paused and what it already read waits in
 * a backlog, in order; nothing else is held.
 *
 * The face gives a `feed` that parses one buffer and says where it stopped
 * (its parser's `pause()` ends a slice) and counts its work with `work`.
 */
import type { Flusher } from './connection.js';
import { isSharedRead } from './shared-read.js';
import type { ServerStats } from './stats.js';
import type { Transport } from './transport.js';

/**
 * How long one read slice may run: past it, the rest of the read waits for
 * the next turn of the event loop (the socket paused meanwhile). The clock
 * is read only every `SLICE_CHECK` units of work (a delivery counts
 * `DELIVERY_COST` plus the bytes it copies), so a read of small messages to
 * a few subscribers never reads it at all.
 */
export const SLICE_MS = 4;
/**
 * While other connections are reading, a publisher whose reads run past
 * SLICE_MS gets at most this share of the time: after a slice (with its
 * flush) that took T, its next one waits until T × (1/share − 1) has passed
 * if anyone else read meanwhile. So subscribers that stopped reading, still
 * taking bytes into kernel buffers, cost everyone else little; alone, the
 * publisher goes at full speed.
 */
export const FAIR_SHARE = 0.1;
export const SLICE_CHECK = 256 * 1024;
export const DELIVERY_COST = 256;

/** What the slicer needs from its connection. */
export interface SlicedReader {
  /**
   * Parses `chunk`; returns where parsing stopped because a slice ended or
   * reading was stopped (`pause`), or -1 when all of it was parsed.
   */
  feed(chunk: Buffer): number;
  /** Asks the parser to stop after the current operation (the slice is over). */
  pause(): void;
  isClosed(): boolean;
  /** A read (or a backlog after a pause) was parsed: e.g. stall a producer. */
  afterRead(): void;
}

export class ReadSlicer {
  private sliceWork = 0;
  private sliceCheck = SLICE_CHECK;
  private sliceBegan = 0;
  /** Earliest time the next slice runs while others read (see FAIR_SHARE), and the read batches seen. */
  private notBefore = 0;
  private seenBatches = 0;
  /** Read bytes waiting for the next slice, in order; null when none wait. */
  private backlog: Buffer[] | null = null;
  private held = false;
  /** Reading resumes no sooner (performance.now() ms); 0 for no wait. */
  private resumeAt = 0;

  constructor(
    private readonly socket: Transport,
    private readonly reader: SlicedReader,
    private readonly flusher: Flusher,
    private readonly stats: ServerStats,
  ) {}

  /** The socket's 'data' handler. */
  onData(chunk: Buffer): void {
    if (this.backlog !== null) {
      // Only bytes read before the pause (or after a resume by someone else).
      // A copy of a shared read (shared-read.ts: reused after this call).
      this.backlog.push(isSharedRead(chunk) ? Buffer.from(chunk) : chunk);
      this.socket.pause();
      return;
    }
    this.startSlice();
    this.feedChunk(chunk);
    this.reader.afterRead();
  }

  /** Counts `units` of work in the current slice; past SLICE_MS the slice ends. */
  work(units: number): void {
    this.sliceWork += units;
    if (this.sliceWork > this.sliceCheck) {
      if (performance.now() - this.sliceBegan > SLICE_MS) this.reader.pause();
      else this.sliceCheck = this.sliceWork + SLICE_CHECK;
    }
  }

  /** Stops reading after the current operation until `release`. */
  hold(): void {
    this.held = true;
    this.reader.pause();
  }

  get isHeld(): boolean {
    return this.held;
  }

  /**
   * Reading goes on (after `hold`). True when nothing was read since the
   * hold, so the parser's pause is still pending: the caller withdraws it.
   */
  release(): boolean {
    if (!this.held) return false;
    this.held = false;
    if (this.backlog === null) return true;
    this.notBefore = 0;
    setImmediate(this.nextSlice);
    return false;
  }

  /** Stops reading after the current operation until `ms` from now. */
  waitFor(ms: number): void {
    this.resumeAt = performance.now() + ms;
    this.reader.pause();
  }

  private startSlice(): void {
    this.sliceWork = 0;
    this.sliceCheck = SLICE_CHECK;
    this.sliceBegan = performance.now();
  }

  /**
   * Parses one read. If the slice ends (or reading stops) in it, the rest
   * becomes the backlog, fed in a later turn of the event loop; false then.
   */
  private feedChunk(chunk: Buffer): boolean {
    this.flusher.begin();
    let at: number;
    try {
      at = this.reader.feed(chunk);
    } finally {
      this.flusher.end();
    }
    if (at < 0 || this.reader.isClosed()) return true;
    const rest = chunk.subarray(at);
    this.backlog = [isSharedRead(rest) ? Buffer.from(rest) : rest];
    this.socket.pause();
    // Held: `release` schedules the next slice.
    if (this.held) return false;
    if (this.resumeAt > 0) {
      setImmediate(this.nextSlice);
      return false;
    }
    this.stats.readSlices++;
    const now = performance.now();
    this.notBefore = now + (now - this.sliceBegan) * (1 / FAIR_SHARE - 1);
    this.seenBatches = this.flusher.batches;
    setImmediate(this.nextSlice);
    return false;
  }

  private readonly nextSlice = (): void => {
    if (this.held) return;
    const closed = this.reader.isClosed();
    if (this.resumeAt > 0 && !closed) {
      // Backpressure: the socket stays paused until then.
      const wait = this.resumeAt - performance.now();
      if (wait >= 1) {
        setTimeout(this.nextSlice, wait);
        return;
      }
      this.resumeAt = 0;
    }
    if (this.flusher.batches !== this.seenBatches && !closed) {
      // Others read since the last slice: they get the time until notBefore.
      const wait = this.notBefore - performance.now();
      this.seenBatches = this.flusher.batches;
      if (wait >= 1) {
        this.stats.fairShareWaits++;
        setTimeout(this.nextSlice, wait);
        return;
      }
    }
    const backlog = this.backlog;
    this.backlog = null;
    if (backlog === null || closed) return;
    this.startSlice();
    for (let i = 0; i < backlog.length; i++) {
      if (this.reader.isClosed()) return;
      if (!this.feedChunk(backlog[i])) {
        // The remainder heads the new backlog; what was behind it follows.
        for (let j = i + 1; j < backlog.length; j++) this.backlog!.push(backlog[j]);
        return;
      }
    }
    if (this.reader.isClosed()) return;
    this.socket.resume();
    this.reader.afterRead();
  };
}
