/**
 * Sequence ↔ slot mapping for the stores that keep messages in a dense
 * array by position: the memory store's `slots` and the file index's typed
 * arrays. Without gaps a slot is `seq - base`, and a removed message is an
 * empty slot.
 *
 * `skip` (mirrors keeping the origin's sequences) can make the next
 * sequence jump by any amount while older messages are still held. A jump
 * over more than INLINE_GAP sequences is recorded here as a gap rather than
 * as that many empty slots, so a store holding sequence 1 and then 10^12
 * costs two slots, not terabytes. Gaps are few (one per large skip over a
 * non-empty store) and vanish as the front of the store is trimmed past
 * them; with none, every lookup is the plain subtraction.
 */

/** Jumps up to this many sequences are kept as empty slots (cheaper than a gap entry to walk). */
export const INLINE_GAP = 256;

export class SeqSlots {
  /** The sequence of slot 0 (for slots before the first gap). */
  private base = 1;
  /** Per gap, ascending: the first slot after it, and the sequence that slot holds. */
  private readonly gapSlot: number[] = [];
  private readonly gapSeq: number[] = [];

  /** Forgets every gap: slot 0 holds `seq` (the store is empty; `seq` comes next). */
  reset(seq: number): void {
    this.base = seq;
    this.gapSlot.length = 0;
    this.gapSeq.length = 0;
  }

  /** Gaps recorded now (for tests). */
  get gaps(): number {
    return this.gapSlot.length;
  }

  /** The last gap whose first slot is ≤ i, or -1. */
  private gapBySlot(i: number): number {
    let lo = 0;
    let hi = this.gapSlot.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.gapSlot[mid]! <= i) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The last gap whose first sequence is ≤ seq, or -1. */
  private gapBySeq(seq: number): number {
    let lo = 0;
    let hi = this.gapSeq.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.gapSeq[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The sequence slot `i` stands for. */
  seqAt(i: number): number {
    if (this.gapSlot.length === 0) return this.base + i;
    const k = this.gapBySlot(i);
    return k < 0 ? this.base + i : this.gapSeq[k]! + (i - this.gapSlot[k]!);
  }

  /**
   * The slot standing for `seq` (an integer), or a negative number when
   * `seq` falls in a gap or before slot 0. The caller checks the upper end.
   */
  slotOf(seq: number): number {
    if (this.gapSlot.length === 0) return seq - this.base;
    const k = this.gapBySeq(seq);
    const i = k < 0 ? seq - this.base : this.gapSlot[k]! + (seq - this.gapSeq[k]!);
    return k + 1 < this.gapSlot.length && i >= this.gapSlot[k + 1]! ? -1 : i;
  }

  /** The first slot standing for a sequence ≥ `seq` (an integer or ±Infinity). */
  slotFrom(seq: number): number {
    if (this.gapSlot.length === 0) return seq - this.base;
    const k = this.gapBySeq(seq);
    const i = k < 0 ? seq - this.base : this.gapSlot[k]! + (seq - this.gapSeq[k]!);
    return k + 1 < this.gapSlot.length ? Math.min(i, this.gapSlot[k + 1]!) : i;
  }

  /**
   * Slot `i`, the next one to be used, will hold `seq`, more than
   * INLINE_GAP past `seqAt(i)`: records the gap.
   */
  jump(i: number, seq: number): void {
    const n = this.gapSlot.length;
    if (n > 0 && this.gapSlot[n - 1] === i) this.gapSeq[n - 1] = seq;
    else {
      this.gapSlot.push(i);
      this.gapSeq.push(seq);
    }
  }

  /** The first `s` slots were dropped and the rest moved down by `s`. */
  shift(s: number): void {
    const n = this.gapSlot.length;
    if (n === 0) {
      this.base += s;
      return;
    }
    this.base += s;
    let folded = 0;
    for (let k = 0; k < n; k++) {
      const slot = this.gapSlot[k]! - s;
      this.gapSlot[k] = slot;
      // A gap now at or before slot 0 sets the base; later ones stay gaps.
      if (slot <= 0) {
        this.base = this.gapSeq[k]! - slot;
        folded = k + 1;
      }
    }
    if (folded > 0) {
      this.gapSlot.splice(0, folded);
      this.gapSeq.splice(0, folded);
    }
  }
}
