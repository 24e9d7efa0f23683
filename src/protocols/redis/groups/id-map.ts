/**
 * A map from entry IDs to values, iterated in ID order from any ID: the
 * pending entries lists (a group's and each consumer's). IDs arrive almost
 * always in ascending order (`>` deliveries), so an insert is a push; an
 * insert before the end (XCLAIM FORCE, a claim moving an older entry to
 * another consumer) is a binary search and a splice. Deletes leave a hole in
 * the key array, squeezed out once holes outnumber live keys, so a delete is
 * O(1) amortized. Pure.
 */
import type { IdKey } from './ids.js';

export class IdMap<V> {
  private keys: IdKey[] = [];
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

  set(k: IdKey, v: V): void {
    if (this.vals.has(k)) {
      this.vals.set(k, v);
      return;
    }
    this.vals.set(k, v);
    const n = this.keys.length;
    if (n === 0 || this.keys[n - 1]! < k) {
      this.keys.push(k);
      return;
    }
    const i = this.lowerBound(k);
    // A hole for this very key (deleted, now back): reuse it.
    if (this.keys[i] === k) return;
    this.keys.splice(i, 0, k);
  }

  delete(k: IdKey): boolean {
    if (!this.vals.delete(k)) return false;
    if (this.keys.length > 32 && this.keys.length > 2 * this.vals.size) this.squeeze();
    return true;
  }

  clear(): void {
    this.keys = [];
    this.vals.clear();
  }

  /** Entries with ID ≥ `from` (and ≤ `to`), in ID order. Safe to delete from while iterating. */
  *from(from: IdKey, to?: IdKey): IterableIterator<[IdKey, V]> {
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
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (this.vals.has(this.keys[i]!)) return this.keys[i]!;
    }
    return null;
  }

  private lowerBound(k: IdKey): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private squeeze(): void {
    this.keys = this.keys.filter((k, i, a) => this.vals.has(k) && (i === 0 || a[i - 1] !== k));
  }
}
