/**
 * A consumer's pending stream sequences → their slots (consumer-acks.ts),
 * in ascending sequence, with the oldest found in O(1).
 *
 * Why not a `Map`: with max_ack_pending 20,000 a pull consumer spent ~10 %
 * of its busy time in the Map's `set` (its table rebuilt again and again
 * under constant insert and delete), `get` and `has` (bench/PROFILE.md,
 * "Issue 16 — cstate (round 7)"). Pending sequences are nearly contiguous
 * (delivered in ascending order, mostly acked in order), so they are kept
 * in a ring: an Int32Array indexed by `seq & mask`, covering the window
 * `[lo, lo + ring.length)`, -1 for a sequence not pending. Lookups,
 * inserts and deletes are an array access; the oldest pending is `lo`,
 * moved forward past the acked ones (each position once).
 *
 * Bound: the window grows (doubling) to cover the newest sequence while it
 * stays within `windowLimit` — WINDOW_FACTOR × the pending count, at least
 * WINDOW_MIN slots; 4 bytes a slot. Past that (a message pending far behind
 * the others, or a filter that skips most of the stream), the oldest
 * entries leave the ring for `behind`, a Map ordered by a PendingOrder as
 * before; they are counted (`evicted`). The ring is given back when nothing
 * is pending and it is larger than KEEP_WINDOW.
 *
 * Invariant (as the consumer's): a new sequence is above every pending
 * one (the cursor only moves forward; a restore inserts in ascending
 * order). Every key of `behind` is below `lo`.
 */
import { PendingOrder } from './pending-order.js';

/** Ring slots to start with (a power of two). */
const FIRST_WINDOW = 64;
/** A ring larger than this is given back when nothing is pending. */
const KEEP_WINDOW = 4096;
/** The ring may cover this many times the pending count... */
export const WINDOW_FACTOR = 4;
/** ...and at least this many slots (a power of two). */
export const WINDOW_MIN = 1024;

export class PendingIndex {
  constructor(
    /** The least the window may grow to (tests make it small). */
    private readonly windowMin = WINDOW_MIN,
  ) {}

  private ring = new Int32Array(FIRST_WINDOW).fill(-1);
  private mask = FIRST_WINDOW - 1;
  /** The window's first sequence; the oldest in the ring when it holds any. */
  private lo = 0;
  /** The highest sequence in the ring (valid while `inRing` > 0). */
  private hi = 0;
  private inRing = 0;
  /** Pending sequences below `lo`, in ascending order (see the file comment). */
  private readonly behind = new Map<number, number>();
  private readonly behindOrder = new PendingOrder();
  /** Entries moved from the ring to `behind` (the window reached its bound). */
  evicted = 0;

  get size(): number {
    return this.inRing + this.behind.size;
  }

  /** Slots the ring has now (for tests). */
  get window(): number {
    return this.ring.length;
  }

  /** The slot of pending `seq`, or -1. */
  get(seq: number): number {
    const d = seq - this.lo;
    if (d >= 0) return d < this.ring.length ? this.ring[seq & this.mask]! : -1;
    if (this.behind.size === 0) return -1;
    return this.behind.get(seq) ?? -1;
  }

  /** `seq`, not pending, is now, in `slot`. */
  set(seq: number, slot: number): void {
    if (this.inRing === 0) {
      if (this.behind.size > 0 && seq < this.lo) {
        this.toBehind(seq, slot);
        return;
      }
      this.lo = seq;
      this.hi = seq;
    } else if (seq < this.lo) {
      // Below the window (not done by the consumer: see the invariant).
      this.toBehind(seq, slot);
      return;
    } else if (seq - this.lo >= this.ring.length) {
      this.makeRoom(seq);
    }
    this.ring[seq & this.mask] = slot;
    this.inRing++;
    if (seq > this.hi) this.hi = seq;
  }

  /** Removes pending `seq`; its slot, or -1 when it was not pending. */
  delete(seq: number): number {
    const d = seq - this.lo;
    if (d < 0) {
      if (this.behind.size === 0) return -1;
      const s = this.behind.get(seq);
      if (s === undefined) return -1;
      this.behind.delete(seq);
      this.behindOrder.acked(seq);
      if (this.behind.size === 0) this.behindOrder.clear();
      return s;
    }
    if (d >= this.ring.length) return -1;
    const ring = this.ring;
    const i = seq & this.mask;
    const s = ring[i]!;
    if (s < 0) return -1;
    ring[i] = -1;
    if (--this.inRing === 0) {
      this.lo = this.hi + 1;
    } else if (seq === this.lo) {
      // The oldest acked: the window starts at the next one pending.
      let lo = seq + 1;
      const mask = this.mask;
      while (ring[lo & mask]! < 0) lo++;
      this.lo = lo;
    }
    return s;
  }

  /** The oldest pending sequence, or undefined when none is. */
  first(): number | undefined {
    if (this.behind.size > 0) return this.behindOrder.first(this.behind);
    return this.inRing > 0 ? this.lo : undefined;
  }

  /*
   * Visiting every pending sequence, ascending: first the entries of
   * `behindEntries` (in insertion order, which is ascending), then each
   * sequence from `ringFirst` to `ringLast` whose `at` is not -1. Loops in
   * the caller, not a callback here: a callback's call site sees every
   * caller's function and stops being inlined (measured 4× slower packing
   * of the state with the ticker's `due` in the same process).
   */

  /** The pending entries below the ring (usually none). */
  behindEntries(): ReadonlyMap<number, number> {
    return this.behind;
  }

  /** The first sequence the ring may hold. */
  get ringFirst(): number {
    return this.lo;
  }

  /** The last sequence the ring holds (below `ringFirst` when it holds none). */
  get ringLast(): number {
    return this.inRing > 0 ? this.hi : this.lo - 1;
  }

  /** The slot of `seq`, one of `ringFirst`..`ringLast`, or -1. */
  at(seq: number): number {
    return this.ring[seq & this.mask]!;
  }

  /** Nothing is pending: a large ring is given back. */
  reset(): void {
    if (this.size !== 0) return;
    this.behindOrder.clear();
    if (this.ring.length > KEEP_WINDOW) {
      this.ring = new Int32Array(FIRST_WINDOW).fill(-1);
      this.mask = FIRST_WINDOW - 1;
    }
  }

  private toBehind(seq: number, slot: number): void {
    this.behind.set(seq, slot);
    this.behindOrder.push(seq, this.behind);
  }

  /** The ring grows to cover `seq`, or its oldest entries move behind. */
  private makeRoom(seq: number): void {
    const span = seq - this.lo + 1;
    const limit = Math.max(this.windowMin, WINDOW_FACTOR * (this.size + 1));
    let n = this.ring.length;
    while (n < span && n * 2 <= limit) n *= 2;
    if (n > this.ring.length) this.grow(n);
    if (span <= n) return;
    // Still too far: the window moves up to end at `seq`.
    const lo = seq - n + 1;
    const ring = this.ring;
    const mask = this.mask;
    for (let q = this.lo; q < lo && this.inRing > 0; q++) {
      const s = ring[q & mask]!;
      if (s < 0) continue;
      ring[q & mask] = -1;
      this.inRing--;
      this.toBehind(q, s);
      this.evicted++;
    }
    this.lo = lo;
    if (this.inRing === 0) {
      this.lo = seq;
      return;
    }
    while (ring[this.lo & mask]! < 0) this.lo++;
  }

  private grow(n: number): void {
    const old = this.ring;
    const oldMask = this.mask;
    const ring = new Int32Array(n).fill(-1);
    const mask = n - 1;
    if (this.inRing > 0) {
      for (let q = this.lo; q <= this.hi; q++) ring[q & mask] = old[q & oldMask]!;
    }
    this.ring = ring;
    this.mask = mask;
  }
}
