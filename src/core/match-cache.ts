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
 * nothing new for `FREEZE_ROUNDS × max` lookups; while the sample hits at
 * least `BYPASS_HIT_RATE`, the freeze is extended (doubling, up to
 * `ROUNDS_MAX × max`). Counted in `freezes`. A subject first seen during a
 * freeze is matched without the cache. If the kept sample hits under
 * `BYPASS_HIT_RATE` (100,000 subjects through 4,096 slots, or the subjects
 * in use changed), lookups cost more than they save: the cache is bypassed
 * for a while (doubling, up to `ROUNDS_MAX × max` matches), then cleared
 * and refilled to look again. Counted in `bypasses`.
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

  /** Recomputed in place (a stale entry, or a route, given a fresh match). */
  refresh(result: MatchResult, rootStamp: number, first: Stamped | null, firstStamp: number): void {
    this.result = result;
    this.rootStamp = rootStamp;
    this.first = first;
    this.firstStamp = firstStamp;
  }
}

/** Below this hit rate since the last clear, a full cache is thrashing. */
export const THRASH_HIT_RATE = 0.25;
/** A thrashing cache admits nothing for this many times its size in lookups. */
export const FREEZE_ROUNDS = 4;
/**
 * Below this hit rate while frozen, a lookup (hashing the subject, probing
 * the Map) costs more than the walks its hits save: the cache is bypassed.
 */
export const BYPASS_HIT_RATE = 0.1;
/** The longest freeze or bypass, in times the cache's size in lookups (the first is FREEZE_ROUNDS). */
export const ROUNDS_MAX = 64;

const Mode = { Fill: 0, Frozen: 1, Bypass: 2 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

export class MatchCache {
  private readonly map = new Map<string, CacheEntry>();
  /** Entries dropped because the cache was full. */
  evictions = 0;
  /** Times the cache was found thrashing and kept its contents. */
  freezes = 0;
  /** Times a frozen cache hit so rarely that it was bypassed. */
  bypasses = 0;
  private mode: Mode = Mode.Fill;
  /** Lookups and hits since the current mode began. */
  private lookups = 0;
  private found = 0;
  /** `lookups` at which a freeze or bypass ends. */
  private until = 0;
  private bypassRounds = FREEZE_ROUNDS;
  private freezeRounds = FREEZE_ROUNDS;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The entry for `subject`, if cached (always undefined while bypassed). */
  get(subject: string): CacheEntry | undefined {
    this.lookups++;
    if (this.mode === Mode.Bypass) {
      if (this.lookups < this.until) return undefined;
      this.refill();
    }
    const e = this.map.get(subject);
    if (e !== undefined) this.found++;
    if (this.mode === Mode.Frozen && this.lookups >= this.until) {
      if (this.found < this.lookups * BYPASS_HIT_RATE) {
        this.mode = Mode.Bypass;
        this.lookups = 0;
        this.until = this.bypassRounds * this.max;
        this.bypassRounds = Math.min(ROUNDS_MAX, this.bypassRounds * 2);
        this.bypasses++;
      } else {
        // The sample pays: keep it, for longer each time.
        this.lookups = 0;
        this.found = 0;
        this.until = this.freezeRounds * this.max;
        this.freezeRounds = Math.min(ROUNDS_MAX, this.freezeRounds * 2);
      }
    }
    return e;
  }

  /** Caches a new entry, when the cache admits one now. */
  add(subject: string, e: CacheEntry): void {
    if (this.mode !== Mode.Fill) return;
    if (this.map.size >= this.max) {
      if (this.found < this.lookups * THRASH_HIT_RATE) {
        this.mode = Mode.Frozen;
        this.lookups = 0;
        this.found = 0;
        this.until = FREEZE_ROUNDS * this.max;
        this.freezeRounds = FREEZE_ROUNDS * 2;
        this.freezes++;
        return;
      }
      // The cache works: clear it for a fresh set, and forget past bypasses.
      this.bypassRounds = FREEZE_ROUNDS;
      this.refill();
    }
    this.map.set(subject, e);
  }

  delete(subject: string): void {
    this.map.delete(subject);
  }

  /** Drops everything (counted) and admits again. */
  private refill(): void {
    this.evictions += this.map.size;
    this.map.clear();
    this.mode = Mode.Fill;
    this.lookups = 0;
    this.found = 0;
  }
}
