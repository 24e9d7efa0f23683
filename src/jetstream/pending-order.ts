/**
 * A consumer's pending stream sequences in the order they were first
 * delivered (ascending), to find the oldest still pending in O(1)
 * amortised per ack: entries acknowledged since are skipped lazily when
 * they reach the front.
 *
 * Why not `pending.keys().next()` on the Map: V8 keeps a deleted entry's
 * slot until the table is rebuilt, so with in-order acks the iterator
 * steps over every slot acked since the last rebuild, per ack (5 % of a
 * pull consumer's CPU in bench/PROFILE.md, "Issue 16 — store").
 *
 * Bound: a sequence acknowledged behind one that stays pending (a
 * message redelivered again and again) is kept until the front moves; the
 * queue is compacted to the pending ones when it holds more than twice as
 * many entries as there are pending (plus COMPACT_SLACK), so it stays
 * within a small multiple of `max_ack_pending`.
 */

/** Entries allowed beyond twice the pending count before a compaction. */
export const COMPACT_SLACK = 1024;

export class PendingOrder {
  private seqs: number[] = [];
  private head = 0;
  /** Compactions done (for tests). */
  compactions = 0;

  /** Number of entries held, pending or not (for tests). */
  get length(): number {
    return this.seqs.length - this.head;
  }

  /** A sequence newly pending, after every one pushed before it. */
  push(seq: number, pending: ReadonlyMap<number, unknown>): void {
    this.seqs.push(seq);
    if (this.seqs.length - this.head > 2 * pending.size + COMPACT_SLACK) this.compact(pending);
  }

  /**
   * `seq` is no longer pending: when it is the front, the front moves past
   * it (what `first` would do, without its lookup in `pending`).
   */
  acked(seq: number): void {
    if (this.head < this.seqs.length && this.seqs[this.head] === seq) this.head++;
  }

  /** The oldest sequence still in `pending`, or undefined when none is. */
  first(pending: ReadonlyMap<number, unknown>): number | undefined {
    const seqs = this.seqs;
    while (this.head < seqs.length) {
      const seq = seqs[this.head]!;
      if (pending.has(seq)) {
        // Drop the skipped front once it is the larger half (amortised O(1)).
        if (this.head > COMPACT_SLACK && this.head * 2 > seqs.length) {
          this.seqs = seqs.slice(this.head);
          this.head = 0;
        }
        return seq;
      }
      this.head++;
    }
    this.clear();
    return undefined;
  }

  clear(): void {
    this.seqs = [];
    this.head = 0;
  }

  private compact(pending: ReadonlyMap<number, unknown>): void {
    const kept: number[] = [];
    const seen = new Set<number>();
    for (let i = this.head; i < this.seqs.length; i++) {
      const seq = this.seqs[i]!;
      if (pending.has(seq) && !seen.has(seq)) {
        seen.add(seq);
        kept.push(seq);
      }
    }
    this.seqs = kept;
    this.head = 0;
    this.compactions++;
  }
}
