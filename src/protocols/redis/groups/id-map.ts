/**
 * A map from entry IDs to values, iterated in ID order from any ID: the
 * pending entries lists (a group's and each consumer's). IDs arrive almost
 * always in ascending order (`>` deliveries), so an insert is a push; an
 * insert before the end (XCLAIM FORCE, a claim moving an older entry to
 * another consumer) is a binary search and a splice. IDs leave almost always
 * oldest first (XACK of a read), so a delete of the first key moves `head`
 * past it; any other delete leaves a hole, squeezed out once holes outnumber
 * live keys. Either way a delete is one Map delete, O(1) amortized, and a
 * `>` delivery one Map set. Pure.
 */
import type { IdKey } from './ids.js';

/** Dead keys before `head` (or holes) that start a compaction, at least. */
const COMPACT_AFTER = 32;

export class IdMap<V> {
  /** Sorted from `head` on; keys before `head` are deleted. Every live key is in [head, end). */
  private keys: IdKey[] = [];
  private head = 0;
  /** Deleted keys in [head, end). */
  private holes = 0;
  private readonly vals = new Map<IdKey, V>();

  get size(): number {
    return this.vals.size;
  }

  get(k: IdKey): V | undefined {
    return this.vals.get(k);
  }

  has(k: IdKey): boolean {
    return this.vals.has(k);
  }

  /** True when `k` is above every key held, so not in the map (no Map lookup): a `>` delivery. */
  above(k: IdKey): boolean {
    const n = this.keys.length;
    return n === this.head || this.keys[n - 1]! < k;
  }

  set(k: IdKey, v: V): void {
    const keys = this.keys;
    const n = keys.length;
    if (n === this.head || keys[n - 1]! < k) {
      this.vals.set(k, v);
      keys.push(k);
      return;
    }
    const size = this.vals.size;
    this.vals.set(k, v);
    if (this.vals.size === size) return; // there: replaced
    const i = this.lowerBound(k);
    // A hole for this very key (deleted, now back): reuse it.
    if (keys[i] === k) {
      this.holes--;
      return;
    }
    keys.splice(i, 0, k);
  }

  delete(k: IdKey): boolean {
    if (!this.vals.delete(k)) return false;
    const keys = this.keys;
    if (keys[this.head] === k) {
      this.head++;
      if (this.head === keys.length) {
        // Empty: start again (holes are 0 here). New arrays, not truncated:
        // a `from` walk under way goes on over the old one.
        this.keys = [];
        this.head = 0;
      } else if (this.head > COMPACT_AFTER && this.head > keys.length >>> 1) {
        this.keys = keys.slice(this.head);
        this.head = 0;
      }
      return true;
    }
    this.holes++;
    if (this.holes > COMPACT_AFTER && this.holes > this.vals.size) this.squeeze();
    return true;
  }

  clear(): void {
    this.keys = [];
    this.head = 0;
    this.holes = 0;
    this.vals.clear();
  }

  /** Entries with ID ≥ `from` (and ≤ `to`), in ID order. Safe to delete from while iterating. */
  *from(from: IdKey, to?: IdKey): IterableIterator<[IdKey, V]> {
    // A delete while iterating may replace the array: this walk goes on over the old one.
    const keys = this.keys;
    for (let i = this.lowerBound(from); i < keys.length; i++) {
      const k = keys[i]!;
      if (to !== undefined && k > to) return;
      const v = this.vals.get(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /** The first and last live IDs, or null when empty. */
  first(): IdKey | null {
    for (const [k] of this.from('')) return k;
    return null;
  }

  last(): IdKey | null {
    for (let i = this.keys.length - 1; i >= this.head; i--) {
      if (this.vals.has(this.keys[i]!)) return this.keys[i]!;
    }
    return null;
  }

  /** The first index ≥ head whose key is ≥ `k`. */
  private lowerBound(k: IdKey): number {
    let lo = this.head;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private squeeze(): void {
    const live: IdKey[] = [];
    const keys = this.keys;
    for (let i = this.head; i < keys.length; i++) {
      const k = keys[i]!;
      if (this.vals.has(k)) live.push(k);
    }
    this.keys = live;
    this.head = 0;
    this.holes = 0;
  }
}
