/**
 * One subject's held sequences in the file index, ascending, kept as runs
 * of consecutive sequences: a run is its first sequence (f64) and its
 * length (u16, so a run holds at most RUN_MAX), 10 bytes, in two parallel
 * typed arrays. A stream with one subject (or subjects published in
 * bursts) costs one run per 65,535 messages, not a number per message;
 * subjects that interleave message by message cost 10 bytes per message
 * (a plain number[] cost 8 and grew by half).
 *
 * Runs `head..tail` are live; trimming from the front (the usual removal:
 * limits drop the oldest) moves `head`, and the arrays are shifted down
 * once that dead prefix is large. A removal inside a run splits it.
 */

/** Shift the arrays down once this many dead runs lead them (and they are half). */
const COMPACT_AT = 256;

/** Most sequences one run holds (its length is a u16); the next starts a new run. */
export const RUN_MAX = 0xffff;

/** Capacity for `need` runs: doubling while small, then a quarter more each time. */
export function grownCap(cap: number, need: number): number {
  let c = Math.max(cap, 4);
  while (c < need) c = c < 65536 ? c * 2 : c + (c >>> 2);
  return c;
}

export class SeqRuns {
  private first = new Float64Array(2);
  private len = new Uint16Array(2);
  private head = 0;
  private tail = 0;
  /** Sequences held. */
  count = 0;

  /** Runs held now (for tests and the memory notes). */
  get runs(): number {
    return this.tail - this.head;
  }

  /** The newest sequence, or 0. */
  last(): number {
    const t = this.tail - 1;
    return t >= this.head ? this.first[t]! + this.len[t]! - 1 : 0;
  }

  /** The oldest sequence, or 0. */
  oldest(): number {
    return this.head < this.tail ? this.first[this.head]! : 0;
  }

  /** Adds `seq`, above every sequence held. */
  push(seq: number): void {
    const t = this.tail - 1;
    this.count++;
    if (t >= this.head && this.first[t]! + this.len[t]! === seq && this.len[t]! < RUN_MAX) {
      this.len[t]!++;
      return;
    }
    if (this.tail === this.first.length) this.room();
    this.first[this.tail] = seq;
    this.len[this.tail] = 1;
    this.tail++;
  }

  /** Makes room for one more run at the tail: compacts or grows. */
  private room(): void {
    const n = this.tail - this.head;
    if (this.head > 0 && this.head * 2 >= this.tail) {
      this.first.copyWithin(0, this.head, this.tail);
      this.len.copyWithin(0, this.head, this.tail);
    } else {
      const cap = grownCap(this.first.length, n + 1);
      const f = new Float64Array(cap);
      f.set(this.first.subarray(this.head, this.tail));
      const l = new Uint16Array(cap);
      l.set(this.len.subarray(this.head, this.tail));
      this.first = f;
      this.len = l;
    }
    this.head = 0;
    this.tail = n;
  }

  /** The last run whose first sequence is ≤ seq, or head - 1. */
  private runOf(seq: number): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.first[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The first held sequence ≥ seq, or 0. */
  next(seq: number): number {
    const k = this.runOf(seq);
    if (k >= this.head) {
      // first[k] ≤ seq, so the answer in this run is seq itself (rounded up).
      const c = Math.ceil(seq);
      if (c < this.first[k]! + this.len[k]!) return c;
    }
    return k + 1 < this.tail ? this.first[k + 1]! : 0;
  }

  /** Held sequences below `upTo`, ascending. */
  below(upTo: number, out: number[] = []): number[] {
    for (let k = this.head; k < this.tail; k++) {
      const f = this.first[k]!;
      const end = Math.min(f + this.len[k]!, Math.ceil(upTo));
      for (let s = f; s < end; s++) out.push(s);
      if (end < f + this.len[k]!) break;
    }
    return out;
  }

  /** Every held sequence, ascending. */
  toArray(): number[] {
    return this.below(Number.POSITIVE_INFINITY);
  }

  /** Removes a held sequence; false when it is not held. */
  remove(seq: number): boolean {
    const k = this.runOf(seq);
    if (k < this.head) return false;
    const f = this.first[k]!;
    const n = this.len[k]!;
    if (seq >= f + n) return false;
    this.count--;
    if (n === 1) {
      if (k === this.head) {
        this.head++;
        if (this.head === this.tail) this.head = this.tail = 0;
        else if (this.head >= COMPACT_AT && this.head * 2 >= this.tail) this.room();
      } else {
        this.first.copyWithin(k, k + 1, this.tail);
        this.len.copyWithin(k, k + 1, this.tail);
        this.tail--;
      }
    } else if (seq === f) {
      this.first[k] = f + 1;
      this.len[k] = n - 1;
    } else if (seq === f + n - 1) {
      this.len[k] = n - 1;
    } else {
      // Split: [f, seq) and (seq, f + n).
      if (this.tail === this.first.length) {
        const before = this.head;
        this.room();
        return this.splitAt(k - before, seq, f, n);
      }
      return this.splitAt(k, seq, f, n);
    }
    return true;
  }

  private splitAt(k: number, seq: number, f: number, n: number): boolean {
    this.first.copyWithin(k + 2, k + 1, this.tail);
    this.len.copyWithin(k + 2, k + 1, this.tail);
    this.tail++;
    this.len[k] = seq - f;
    this.first[k + 1] = seq + 1;
    this.len[k + 1] = f + n - seq - 1;
    return true;
  }
}
