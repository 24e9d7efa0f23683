/**
 * The write side of one Server-Sent Events response: events are queued as
 * text and written once per turn of the event loop (one `write` for all
 * the events of a turn, not one per event), with heartbeats while idle.
 *
 * Bounds (docs/http.md, "Server-Sent Events"):
 * - `maxPending`: bytes queued here plus those the response and its socket
 *   hold. Past it the response is closed with `slow_consumer`: nothing is
 *   buffered without bound.
 * - `writeDeadlineMs`: a socket that took nothing (no 'drain') for that long
 *   after it filled is closed with `write_deadline`.
 * - `pauseBytes`: a reader that can wait (a stream's consumer) asks
 *   `congested` before each event and waits for `onWritable`, so it stays
 *   far below `maxPending`.
 */

import { HEARTBEAT } from './sse-event.js';

/** The part of an `http.ServerResponse` the writer uses. */
export interface SseSink {
  write(chunk: string, cb?: (err?: Error | null) => void): boolean;
  readonly writableLength: number;
  on(event: 'drain' | 'close', fn: () => void): unknown;
  destroy(): void;
  end(): void;
}

export type SseCloseReason =
  | 'client_closed'
  | 'slow_consumer'
  | 'write_deadline'
  | 'server_shutdown'
  | 'stream_gone'
  | 'auth_expired'
  | 'permissions_changed';

export interface SseWriterOptions {
  readonly maxPending: number;
  readonly pauseBytes: number;
  readonly heartbeatMs: number;
  readonly writeDeadlineMs: number;
}

export class SseWriter {
  private parts: string[] = [];
  /** Bytes in `parts`. */
  private queued = 0;
  private scheduled = false;
  private started = false;
  private blockedSince = 0;
  private lastWrite = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private deadline: NodeJS.Timeout | null = null;
  closed: SseCloseReason | null = null;
  /** Called once the response can take more after `congested` was true. */
  onWritable: (() => void) | null = null;
  /** Called once when the response ends, with why. */
  onClose: ((why: SseCloseReason) => void) | null = null;
  /** Called on each heartbeat tick (checks that need no hurry). */
  onTick: (() => void) | null = null;
  eventsOut = 0;
  bytesOut = 0;

  constructor(
    private readonly sink: SseSink,
    private readonly opts: SseWriterOptions,
  ) {
    sink.on('drain', () => this.drained());
    sink.on('close', () => this.close('client_closed'));
  }

  /**
   * The response's head is written: `prelude` (the `retry:` field) goes
   * first, then what was queued meanwhile; heartbeats start. Nothing is
   * written before.
   */
  begin(prelude: string): void {
    if (this.closed !== null || this.started) return;
    this.started = true;
    this.parts.unshift(prelude);
    this.queued += Buffer.byteLength(prelude);
    this.flush();
    if (this.opts.heartbeatMs > 0) {
      this.timer = setInterval(() => this.tick(), this.opts.heartbeatMs);
      this.timer.unref();
    }
  }

  /**
   * What the response and its socket held after the last write or 'drain'
   * (reading `writableLength` per event costs as much as the write). Between
   * those it only shrinks, so the bound errs on the safe side.
   */
  private sinkHeld = 0;

  /** Bytes held for this client: queued here and in the response and socket. */
  get pending(): number {
    return this.queued + this.sinkHeld;
  }

  /** Whether a reader that can wait should wait (`onWritable` follows). */
  get congested(): boolean {
    return this.blockedSince !== 0 || this.pending >= this.opts.pauseBytes;
  }

  /** Queues one event (or comment, or field); false when the response is closed or just was. */
  send(text: string): boolean {
    if (this.closed !== null) return false;
    const n = Buffer.byteLength(text);
    if (this.pending + n > this.opts.maxPending) {
      this.close('slow_consumer');
      return false;
    }
    this.parts.push(text);
    this.queued += n;
    this.eventsOut++;
    if (!this.scheduled && this.started) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return true;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.closed !== null || !this.started || this.parts.length === 0) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.bytesOut += this.queued;
    this.queued = 0;
    this.lastWrite = Date.now();
    const ok = this.sink.write(text);
    this.sinkHeld = this.sink.writableLength;
    if (ok) {
      this.onWritable?.();
      return;
    }
    if (this.blockedSince === 0) {
      this.blockedSince = Date.now();
      this.deadline = setTimeout(() => this.close('write_deadline'), this.opts.writeDeadlineMs);
      this.deadline.unref();
    }
  };

  private drained(): void {
    this.sinkHeld = this.sink.writableLength;
    if (this.blockedSince === 0) return;
    this.blockedSince = 0;
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = null;
    if (this.closed === null) this.onWritable?.();
  }

  private tick(): void {
    if (this.closed !== null) return;
    this.onTick?.();
    // A heartbeat only when nothing else went out for a whole interval.
    if (Date.now() - this.lastWrite >= this.opts.heartbeatMs - 5 && this.send(HEARTBEAT)) {
      this.eventsOut--;
    }
  }

  /**
   * Ends the response: what is queued is dropped for `slow_consumer` and
   * `write_deadline` (the socket is destroyed), else written before the end.
   */
  close(why: SseCloseReason): void {
    if (this.closed !== null) return;
    this.closed = why;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.timer = null;
    this.deadline = null;
    const text = this.parts.join('');
    this.parts = [];
    this.queued = 0;
    if (why === 'slow_consumer' || why === 'write_deadline') {
      this.sink.destroy();
    } else if (why !== 'client_closed') {
      if (text !== '') this.sink.write(text);
      this.sink.end();
    }
    this.onClose?.(why);
  }
}
