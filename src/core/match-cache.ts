/**
 * The sublist's bounded match cache: literal subject → entry, one Map of at
 * most `max` entries, cleared whole when full. Eviction is O(1) per insert
 * (amortised) and never `keys().next()` plus a `delete` per miss (over 1 µs
 * on V8 once a Map is churned). (Two generations, an approximate LRU, were
 * tried: a second lookup on every miss, and no measurable gain.)
 *
 * Scan resistance: when the cache fills while its hit rate since the last
 * clear is under `THRASH_HIT_RATE` (more subjects in use than it holds, e.g.
 * 10,000 subjects published in turn through 4,096 slots), clearing would
 * only replace one useless set with the next. It keeps what it holds instead
 * (a sample of the subjects, which then hits in proportion) and admits
 * nothing new for `FREEZE_ROUNDS × max` lookups, then clears and refills.
 * Counted in `freezes`. A subject first seen during a freeze is matched
 * without the cache until the next refill.
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

/** Below this hit rate since the last clear, a full cache is thrashing. */
export const THRASH_HIT_RATE = 0.25;
/** A thrashing cache admits nothing for this many times its size in lookups. */
export const FREEZE_ROUNDS = 4;

export class MatchCache {
  private readonly map = new Map<string, CacheEntry>();
  /** Entries dropped because the cache was full. */
  evictions = 0;
  /** Times the cache was found thrashing and kept its contents. */
  freezes = 0;
  private lookups = 0;
  private found = 0;
  /** `lookups` value until which nothing is admitted (a freeze). */
  private frozenUntil = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  get(subject: string): CacheEntry | undefined {
    this.lookups++;
    const e = this.map.get(subject);
    if (e !== undefined) this.found++;
    return e;
  }

  add(subject: string, e: CacheEntry): void {
    if (this.map.size >= this.max) {
      if (this.lookups < this.frozenUntil) return;
      if (this.frozenUntil === 0 && this.found < this.lookups * THRASH_HIT_RATE) {
        this.frozenUntil = this.lookups + FREEZE_ROUNDS * this.max;
        this.freezes++;
        return;
      }
      this.evictions += this.map.size;
      this.map.clear();
      this.lookups = 0;
      this.found = 0;
      this.frozenUntil = 0;
    }
    this.map.set(subject, e);
  }

  delete(subject: string): void {
    this.map.delete(subject);
  }
}
