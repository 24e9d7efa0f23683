/**
 * The sublist's bounded match cache: literal subject → entry, in two
 * generations of at most `max / 2` entries each. New entries go into the
 * young map; when it is full, the old map is dropped whole and the young one
 * becomes old. A hit in the old map moves the entry back to the young one,
 * so subjects in use survive and the rest age out: an approximate LRU whose
 * eviction is O(1) per insert (amortised) and never `keys().next()` plus a
 * `delete` per miss (which costs over 1 µs on V8 once a Map is churned).
 *
 * Entries are mutable and reused: a stale entry (see Sublist's stamps) is
 * refreshed in place, so a hit allocates nothing and a refresh only the
 * result itself.
 */
import type { MatchResult } from './sublist.js';

/** What an entry's validity is checked against (the sublist's trie node type). */
export interface Stamped {
  stamp: number;
}

export class CacheEntry {
  constructor(
    public result: MatchResult,
    /** The sublist's `rootStamp` when computed. */
    public rootStamp: number,
    /** The root-level node of the subject's first token, or null when there was none. */
    public first: Stamped | null,
    /** `first.stamp`, or the sublist's `rootCreated` when `first` is null. */
    public firstStamp: number,
  ) {}
}

export class MatchCache {
  private young = new Map<string, CacheEntry>();
  private old = new Map<string, CacheEntry>();
  private readonly half: number;
  /** Entries dropped because the cache was full. */
  evictions = 0;

  constructor(max: number) {
    this.half = Math.max(1, Math.floor(max / 2));
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(subject: string): CacheEntry | undefined {
    const e = this.young.get(subject);
    if (e !== undefined) return e;
    const o = this.old.get(subject);
    if (o !== undefined) {
      this.old.delete(subject);
      this.add(subject, o);
    }
    return o;
  }

  add(subject: string, e: CacheEntry): void {
    if (this.young.size >= this.half) {
      const dropped = this.old;
      this.evictions += dropped.size;
      dropped.clear();
      this.old = this.young;
      this.young = dropped;
    }
    this.young.set(subject, e);
  }

  delete(subject: string): void {
    this.young.delete(subject);
    this.old.delete(subject);
  }
}
