/**
 * The sublist's bounded match cache: literal subject → entry, one Map of at
 * most `max` entries, cleared whole when full. Eviction is O(1) per insert
 * (amortised) and never `keys().next()` plus a `delete` per miss (over 1 µs
 * on V8 once a Map is churned). A subject in use misses at most once per
 * `max` new subjects. (Two generations, an approximate LRU, were tried: a
 * second lookup on every miss, and no measurable gain on this machine.)
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
  private readonly map = new Map<string, CacheEntry>();
  /** Entries dropped because the cache was full. */
  evictions = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  get(subject: string): CacheEntry | undefined {
    return this.map.get(subject);
  }

  add(subject: string, e: CacheEntry): void {
    if (this.map.size >= this.max) {
      this.evictions += this.map.size;
      this.map.clear();
    }
    this.map.set(subject, e);
  }

  delete(subject: string): void {
    this.map.delete(subject);
  }
}
