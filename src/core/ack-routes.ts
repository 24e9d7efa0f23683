/**
 * Routes for JetStream ack subjects, `$JS.ACK.<stream>.<consumer>.<tail…>`.
 * Each ack subject is new (one per delivery): caching it in the match cache
 * would only churn it, and a trie walk per ack is the costliest match there
 * is. Acks to one consumer share `<stream>.<consumer>`, and when no
 * subscription can tell their tails apart (below those tokens the trie holds
 * only `>`: Sublist.tailFree) the match of one is the match of all. The
 * sublist keeps that match here, keyed by `<stream>.<consumer>` and looked
 * up by the range of the ack subject (token-map.ts): nothing is cut out or
 * allocated per ack, and acks of several consumers interleaved each find
 * their own route (one remembered prefix made every switch a walk: ~5× the
 * cost of a hit, bench/PROFILE.md, "Issue 16 — ackroute (round 9)"). The
 * sublist tries the route it used last first, with one prefix compare
 * (`AckRoute.prefix`): acks come in runs per consumer.
 *
 * An entry is a match-cache entry (`CacheEntry`), made stale by the same
 * stamps (sublist.ts), so a subscription added or removed that can reach an
 * ack subject — anyone's `$JS.ACK.>`, `$JS.*.S.C.*.>`, `>` — is seen by the
 * next ack as by any match. Nothing else changes: the ack still goes through
 * the session's permission checks and the router to every subscriber the
 * match names, whichever face, account or mesh link it arrived from.
 *
 * Bound: `max` routes (ACK_ROUTES_MAX: consumers acked since the last clear);
 * full, the table is cleared whole and refilled by the next acks, counted in
 * `evictions`.
 */
import { CacheEntry } from './match-cache.js';
import type { MatchResult } from './sublist-trie.js';
import { HASH_START, hashEnd, hashStep, TokenMap } from './token-map.js';

/** Ack subjects start so; nothing else is routed here. */
export const ACK_PREFIX = '$JS.ACK.';
/** Bound on ack routes per account (a route is one consumer's, ~100 bytes). */
export const ACK_ROUTES_MAX = 1024;

const DOT = 0x2e;

/** A route: a match-cache entry, and the prefix of the acks it serves. */
export class AckRoute extends CacheEntry {
  constructor(
    result: MatchResult,
    rootStamp: number,
    first: CacheEntry['first'],
    firstStamp: number,
    /** `$JS.ACK.<stream>.<consumer>.` */
    readonly prefix: string,
  ) {
    super(result, rootStamp, first, firstStamp);
  }
}

export class AckRoutes {
  private routes = new TokenMap<AckRoute>();
  /** Routes dropped because the table was full. */
  evictions = 0;
  /**
   * Set by `find`: the end of the key (`<stream>.<consumer>`, the index of
   * the dot after it), or -1 when the subject has no tail after it; and the
   * key's hash.
   */
  end = -1;
  private hash = 0;

  constructor(private readonly max: number = ACK_ROUTES_MAX) {}

  get size(): number {
    return this.routes.size;
  }

  /**
   * The route of ack subject `subject` (it starts with ACK_PREFIX), if there
   * is one; sets `end` for `add`. One pass over the key's characters.
   */
  find(subject: string): AckRoute | undefined {
    const n = subject.length;
    let h = HASH_START;
    let dots = 0;
    let i = ACK_PREFIX.length;
    for (; i < n; i++) {
      const c = subject.charCodeAt(i);
      if (c === DOT && ++dots === 2) break;
      h = hashStep(h, c);
    }
    // A route covers one or more tokens after the key: a non-empty tail.
    if (i + 1 >= n) {
      this.end = -1;
      return undefined;
    }
    this.end = i;
    this.hash = hashEnd(h);
    return this.routes.getHashed(subject, ACK_PREFIX.length, i, this.hash);
  }

  /** A new route for the key `find` read last from `subject`, remembered. */
  add(
    subject: string,
    result: MatchResult,
    rootStamp: number,
    first: CacheEntry['first'],
    firstStamp: number,
  ): AckRoute {
    if (this.routes.size >= this.max) {
      this.evictions += this.routes.size;
      this.routes = new TokenMap();
    }
    const end = this.end;
    const e = new AckRoute(result, rootStamp, first, firstStamp, subject.substring(0, end + 1));
    this.routes.set(subject.substring(ACK_PREFIX.length, end), e);
    return e;
  }
}
