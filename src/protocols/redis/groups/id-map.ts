/**
 * A map from entry IDs to values, iterated in ID order from any ID: the
 * pending entries lists (a group's and each consumer's). Two parallel
 * arrays, the keys sorted and their values (`undefined`: deleted, a hole);
 * no hash table. IDs arrive almost always in ascending order (`>`
 * deliveries), so an insert is two pushes; an insert before the end
 * (XCLAIM FORCE, a claim moving an older entry to another consumer) is a
 * binary search and a splice. IDs leave almost always in the order they
 * came (an XACK of a read, just after the read), so a lookup tries the
 * slot of the last one found and the one after it, then the first live
 * slot, before a binary search: one `===` of the very string the read put
 * there (groups/recent-keys.ts hands XACK those strings). A delete leaves
 * a hole; the holes at the front are skipped at once, the others squeezed
 * out once they outnumber the live keys.
 *
 * Why not a Map keyed by the ID strings: its set and delete were the
 * largest group-side items of the redis-group-c10 row, ~3.4 % of it
 * (bench/PROFILE.md, "Issue 16 — rgroup9 (round 14)"). A lookup that
 * misses the three slots above costs O(log n) string compares instead of
 * O(1): XCLAIM, XPENDING and XACK of arbitrary IDs in a large PEL. Pure.
 */
import type { IdKey } from './ids.js';

/** Dead keys before `head` (or holes) that start a compaction, at least. */
const COMPACT_AFTER = 32;

/** `V` must not include `undefined` (it marks a hole). */
export class IdMap<V> {
  /** Sorted from `head` on; keys before `head` are deleted. Every live key is in [head, end). */
  private keys: IdKey[] = [];
  /** `vals[i]` is `keys[i]`'s value; undefined: deleted. */
  private vals: (V | undefined)[] = [];
  /** The first live slot (or the end). */
  private head = 0;
  /** Deleted slots in [head, end). */
  private holes = 0;
  private live = 0;
  /** The slot last found: where a lookup looks first. */
  private hint = 0;
  /** Moves every time slots shift (splice, compaction): a `from` walk then finds its place again. */
  private moves = 0;

  get size(): number {
    return this.live;
  }

  get(k: IdKey): V | undefined {
    const i = this.find(k);
    return i < 0 ? undefined : this.vals[i];
  }

  has(k: IdKey): boolean {
    return this.find(k) >= 0;
  }

  /** True when `k` is above every key held, so not in the map (no lookup): a `>` delivery. */
  above(k: IdKey): boolean {
    const n = this.keys.length;
    return n === this.head || this.keys[n - 1]! < k;
  }

  set(k: IdKey, v: V): void {
    const keys = this.keys;
    const n = keys.length;
    if (n === this.head || keys[n - 1]! < k) {
      keys.push(k);
      this.vals.push(v);
      this.live++;
      return;
    }
    const i = this.lowerBound(k);
    if (i < n && keys[i] === k) {
      // There (replaced), or a hole for this very key (deleted, now back).
      if (this.vals[i] === undefined) {
        this.holes--;
        this.live++;
      }
      this.vals[i] = v;
      return;
    }
    keys.splice(i, 0, k);
    this.vals.splice(i, 0, v);
    this.live++;
    this.moves++;
  }

  delete(k: IdKey): boolean {
    const i = this.find(k);
    if (i < 0) return false;
    const vals = this.vals;
    vals[i] = undefined;
    this.live--;
    if (i !== this.head) {
      this.holes++;
      if (this.holes > COMPACT_AFTER && this.holes > this.live) this.squeeze();
      return true;
    }
    // The first live slot went: step past it and the holes after it.
    const n = vals.length;
    let h = i + 1;
    while (h < n && vals[h] === undefined) h++;
    this.holes -= h - i - 1;
    this.head = h;
    if (h === n) {
      // Empty: start again. New arrays, not truncated: a `from` walk under
      // way goes on over the old ones.
      this.keys = [];
      this.vals = [];
      this.head = 0;
      this.hint = 0;
      this.moves++;
    } else if (h > COMPACT_AFTER && h > n >>> 1) {
      this.keys = this.keys.slice(h);
      this.vals = vals.slice(h);
      this.hint = this.hint >= h ? this.hint - h : 0;
      this.head = 0;
      this.moves++;
    }
    return true;
  }

  clear(): void {
    this.keys = [];
    this.vals = [];
    this.head = 0;
    this.holes = 0;
    this.live = 0;
    this.hint = 0;
    this.moves++;
  }

  /**
   * Entries with ID ≥ `from` (and ≤ `to`), in ID order. Safe to change
   * while iterating: what is deleted before the walk reaches it is not
   * given, and after slots shift (an insert before the end, a compaction)
   * the walk finds its place again after the last key it gave.
   */
  *from(from: IdKey, to?: IdKey): IterableIterator<[IdKey, V]> {
    let keys = this.keys;
    let vals = this.vals;
    let moves = this.moves;
    let i = this.lowerBound(from);
    let last: IdKey | null = null;
    for (;;) {
      if (moves !== this.moves) {
        keys = this.keys;
        vals = this.vals;
        moves = this.moves;
        i = this.lowerBound(last ?? from);
        if (last !== null && i < keys.length && keys[i] === last) i++;
      }
      if (i >= keys.length) return;
      const k = keys[i]!;
      if (to !== undefined && k > to) return;
      const v = vals[i++];
      if (v === undefined) continue;
      last = k;
      yield [k, v];
    }
  }

  /** The first and last live IDs, or null when empty. */
  first(): IdKey | null {
    return this.head < this.keys.length ? this.keys[this.head]! : null;
  }

  last(): IdKey | null {
    for (let i = this.keys.length - 1; i >= this.head; i--) {
      if (this.vals[i] !== undefined) return this.keys[i]!;
    }
    return null;
  }

  /** The live slot of `k`, or -1. */
  private find(k: IdKey): number {
    const keys = this.keys;
    const n = keys.length;
    const vals = this.vals;
    // A dead slot before `head` may hold a key put back after it: only a live hit counts here.
    let i = this.hint;
    if (i < n && keys[i] === k && vals[i] !== undefined) return i;
    i++;
    if (i < n && keys[i] === k && vals[i] !== undefined) {
      this.hint = i;
      return i;
    }
    i = this.head;
    if (i < n && keys[i] === k) {
      this.hint = i;
      return i; // the head slot is live
    }
    i = this.lowerBound(k);
    if (i === n || keys[i] !== k || vals[i] === undefined) return -1;
    this.hint = i;
    return i;
  }

  /** The first index ≥ head whose key is ≥ `k`. */
  private lowerBound(k: IdKey): number {
    const keys = this.keys;
    let lo = this.head;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private squeeze(): void {
    const keys: IdKey[] = [];
    const vals: V[] = [];
    for (let i = this.head; i < this.keys.length; i++) {
      const v = this.vals[i];
      if (v === undefined) continue;
      keys.push(this.keys[i]!);
      vals.push(v);
    }
    this.keys = keys;
    this.vals = vals;
    this.head = 0;
    this.holes = 0;
    this.hint = 0;
    this.moves++;
  }
}
