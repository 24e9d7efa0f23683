/**
 * What the client connections of a node hold for their peers, together:
 * bytes in their outbound queues and in their sockets, not yet taken by the
 * kernel. Two bounds act on it, besides each connection's own `max_pending`:
 *
 * - `max_pending_total`: when the bytes held by all clients pass it, the
 *   connections holding the most are closed as slow consumers, biggest
 *   first (stuck ones before those still draining: `STUCK_MS`), until the
 *   total is under it again. Connections add to `bytes` as
 *   they queue (one addition and one comparison per frame); the scan over
 *   connections happens only when the bound is passed.
 * - `write_deadline`: a connection whose socket is full (a write waits for
 *   'drain') and takes none of its bytes for that long is closed as a slow
 *   consumer. Only blocked connections are looked at, on a timer.
 */
import { CloseReason } from '../errors.js';
import { ProducerStall } from './producer-stall.js';

/**
 * A connection whose socket has taken nothing for this long is "stuck": at
 * `max_pending_total`, stuck connections are closed before ones still
 * draining, biggest first in each group, so a fast subscriber that happens to
 * hold a burst is not taken for a stalled one.
 */
export const STUCK_MS = 250;

/** The reasons `Outbound` closes a connection for. */
export type SlowReason =
  | typeof CloseReason.SlowConsumer
  | typeof CloseReason.SlowConsumerWriteDeadline
  | typeof CloseReason.SlowConsumerPendingTotal;

/** A connection as the node-wide bounds see it. */
export interface OutboundHolder {
  /** Bytes this connection has counted in `Outbound.bytes`. */
  readonly held: number;
  /** When its socket last became full with no write taken since (ms), 0 when not blocked. */
  readonly blockedSince: number;
  readonly closed: boolean;
  closeSlow(reason: SlowReason): void;
}

export class Outbound {
  /** Bytes held by the connections now (their queues and their sockets). */
  bytes = 0;
  /** Level of `bytes` at which `overLimit` runs: `max`, or above it after a pass that could not get under. */
  threshold: number;
  /** Times `bytes` passed `max` (each pass closes the biggest holders). */
  limitHits = 0;
  /** Connections closed to get under `max`. */
  limitCloses = 0;
  /** Connections closed at the write deadline. */
  deadlineCloses = 0;
  /** Output chunks allocated by the connections (a spare, SPARE_MAX per connection, is reused instead). */
  chunkAllocs = 0;
  /** Connections whose socket is full: a write waits for 'drain'. */
  readonly blocked = new Set<OutboundHolder>();
  /** Publishers paused for a connection past half its max_pending. */
  readonly stall = new ProducerStall();
  private enforcing = false;

  constructor(
    /** max_pending_total; Infinity for none. */
    readonly max: number,
    /** write_deadline, ms; 0 for none. */
    readonly writeDeadlineMs: number,
    /** Every open connection that counts here (scanned only when `max` is passed). */
    private readonly holders: () => Iterable<OutboundHolder>,
  ) {
    this.threshold = max;
  }

  /** `n` bytes counted by a connection were taken by its socket (or dropped). */
  release(n: number): void {
    this.bytes -= n;
    if (this.threshold !== this.max && this.bytes <= this.max) this.threshold = this.max;
  }

  /**
   * `bytes` passed the threshold: closes the connections holding the most,
   * biggest first, until the total is under `max`. When that is not possible
   * (bytes held by connections already closing), the next pass waits until
   * another 1/16 of `max` is queued, so this never runs per frame.
   */
  overLimit(): void {
    if (this.enforcing) return;
    this.enforcing = true;
    try {
      if (this.bytes > this.max) {
        this.limitHits++;
        const now = Date.now();
        const list: { c: OutboundHolder; stuck: number; held: number }[] = [];
        for (const c of this.holders()) {
          if (c.held === 0 || c.closed) continue;
          const stuck = c.blockedSince !== 0 && now - c.blockedSince >= STUCK_MS ? 1 : 0;
          list.push({ c, stuck, held: c.held });
        }
        list.sort((a, b) => b.stuck - a.stuck || b.held - a.held);
        for (let i = 0; i < list.length && this.bytes > this.max; i++) {
          this.limitCloses++;
          list[i].c.closeSlow(CloseReason.SlowConsumerPendingTotal);
        }
      }
    } finally {
      this.enforcing = false;
    }
    this.threshold = this.bytes > this.max ? this.bytes + Math.ceil(this.max / 16) : this.max;
  }

  /** Closes the blocked connections past the write deadline; the node calls this on a timer. */
  sweep(now: number): void {
    if (this.writeDeadlineMs <= 0) return;
    for (const c of this.blocked) {
      if (c.closed || c.blockedSince === 0) this.blocked.delete(c);
      else if (now - c.blockedSince >= this.writeDeadlineMs) {
        this.blocked.delete(c);
        this.deadlineCloses++;
        c.closeSlow(CloseReason.SlowConsumerWriteDeadline);
      }
    }
  }
}

/** For connections no node-wide bound applies to (mesh links: they have their own). */
export function unbounded(): Outbound {
  return new Outbound(Number.POSITIVE_INFINITY, 0, () => []);
}

/** Why a connection is a slow consumer, for the log: the bound it hit, with the numbers. */
export function slowText(
  reason: SlowReason,
  pending: number,
  held: number,
  blockedSince: number,
  maxPending: number,
  o: Outbound,
): string {
  if (reason === CloseReason.SlowConsumerWriteDeadline) {
    return `no write progress for ${Date.now() - blockedSince} ms with ${pending} bytes pending (write_deadline ${o.writeDeadlineMs} ms)`;
  }
  if (reason === CloseReason.SlowConsumerPendingTotal) {
    return `holds ${held} bytes, the most of any client, while clients hold ${o.bytes} in all (max_pending_total ${o.max})`;
  }
  return `${pending} bytes pending exceeds max_pending ${maxPending}`;
}
