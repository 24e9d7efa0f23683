/**
 * When a file store that failed to write tries again (file-writer.ts): a
 * timer backing off from `minMs` to `maxMs`, and how large a probe for room
 * each retry writes. Every bound here is named, with its default.
 */

/** How a store that failed to write tries again: after minMs, doubling to maxMs. */
export interface WriteRetry {
  minMs: number;
  maxMs: number;
}

/** First retry after a failed write (ms). */
export const WRITE_RETRY_MIN_MS = 100;
/** Retries back off to one every this many ms while writes keep failing. */
export const WRITE_RETRY_MAX_MS = 2000;
/**
 * A retry first writes this many zero bytes past the end of the active
 * segment, at least, and cuts them off again: room for a record or two is
 * not room (a disk that is full but for the tail of a file's last block
 * takes a small probe, then fails the next publish)…
 */
export const WRITE_PROBE_MIN_BYTES = 4096;
/** …and at most this many: the size of what failed, between the two. */
export const WRITE_PROBE_MAX_BYTES = 1024 * 1024;
/**
 * A failure this soon (ms) after writing worked again resumes the backoff
 * where it was, so a disk at the edge of full does not flap every minMs.
 */
export const FLAP_WINDOW_MS = 10_000;

/** The probe for `failedBytes` that could not be written. */
export function probeBytes(failedBytes: number): number {
  return Math.min(WRITE_PROBE_MAX_BYTES, Math.max(WRITE_PROBE_MIN_BYTES, failedBytes));
}

/** Schedules retries with backoff; `fire` runs when one is due. */
export class RetryTimer {
  private timer: NodeJS.Timeout | null = null;
  private delay = 0;
  /** When writing last worked again (ms since the epoch). */
  private recoveredAt = -Infinity;
  private stopped = false;

  constructor(
    private readonly bounds: WriteRetry,
    private readonly fire: () => void,
  ) {}

  /**
   * A write failed (`first`: the store was taking writes until now).
   * Schedules the next retry, unless one is pending or the timer stopped.
   */
  failed(first: boolean): void {
    if (first && Date.now() - this.recoveredAt >= FLAP_WINDOW_MS) this.delay = 0;
    this.delay = Math.min(this.bounds.maxMs, this.delay === 0 ? this.bounds.minMs : this.delay * 2);
    if (this.stopped || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fire();
    }, this.delay);
    this.timer.unref();
  }

  /** Writing works again. */
  recovered(): void {
    this.recoveredAt = Date.now();
  }

  /** No more retries (the store is closing). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
