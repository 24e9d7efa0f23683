/**
 * The subject index: a token trie after nats-server's sublist. Literal
 * tokens live in a hash table per level (looked up by a range of the subject
 * string: matching never splits a subject), `*` and `>` in their own slots.
 * A match splits its result into plain subscribers and queue groups (merged
 * by group name across nodes). Every insert or remove bumps `generation`, so
 * per-connection caches know when to reset.
 *
 * Results are kept in a bounded cache (match-cache.ts). Invalidation costs
 * O(1) whatever the cache holds:
 * - a literal subscription changes the result of one subject: that key is
 *   dropped;
 * - a wildcard subscription whose first token is literal (`foo.*.bar`) can
 *   change only subjects that start with that token: it bumps the `stamp` of
 *   that root-level node, and entries that remember an older stamp are
 *   stale;
 * - a wildcard first token (`*.x`, `>`) can change any subject: it bumps
 *   `rootStamp`, which every entry checks.
 * An entry whose subject had no root-level node checks `rootCreated`
 * instead, bumped whenever a root-level node appears. A pruned node's stamp
 * is bumped too, so no entry can trust a node that left the trie. Stale
 * entries are recomputed on their next use, not hunted down: a wildcard
 * SUB/UNSUB storm never scans the cache (nats-server scans and patches it).
 *
 * JetStream ack subjects (`$JS.ACK.…`, one per delivery) never enter the
 * cache: they are matched by their consumer's route (ack-routes.ts), whose
 * entries the same stamps make stale; a literal subscription under
 * `$JS.ACK.` bumps its first token's stamp as a wildcard does. The trie's
 * nodes and levels are in sublist-trie.ts.
 */

import { ACK_PREFIX, type AckRoute, AckRoutes } from './ack-routes.js';
import { CacheEntry, MatchCache } from './match-cache.js';
import type { Subscription } from './message.js';
import {
  childless,
  collectAll,
  EMPTY_RESULT,
  Level,
  type MatchResult,
  NO_CURSORS,
  NO_QUEUES,
  Node,
} from './sublist-trie.js';
import { HASH_START, hashEnd, hashStep } from './token-map.js';

export { EMPTY_RESULT, type MatchResult };

/**
 * Bound on cached match results (named, counted: see `stats.cacheEvictions`).
 * Held in two generations of half each (match-cache.ts).
 */
export const SUBLIST_CACHE_MAX = 4096;

const STAR = 0x2a;
const GT = 0x3e;
const DOT = 0x2e;
const DOLLAR = 0x24;

/**
 * Subjects with this prefix are never looked up in, nor added to, the match
 * cache (see `match`): JetStream ack subjects, one per delivery.
 */
export { ACK_PREFIX };

export interface SublistStats {
  subscriptions: number;
  inserts: number;
  removes: number;
  matches: number;
  cacheHits: number;
  /** Matches not cached: they found a `oneOff` subscription (an ack subject), or were `matchOnce`. */
  uncached: number;
  /** Ack subjects matched by their consumer's route (ack-routes.ts), no walk. */
  ackRouteHits: number;
  /** Ack routes dropped when the full table was cleared (ACK_ROUTES_MAX). */
  ackRouteEvictions: number;
  /** Cached results dropped when the full cache was cleared. */
  cacheEvictions: number;
  /** Times the full cache was thrashing and kept its contents instead (match-cache.ts). */
  cacheFreezes: number;
  /** Times the cache hit so rarely that it was bypassed for a while (match-cache.ts). */
  cacheBypasses: number;
}

/** End of the token that starts at `start`: the next '.', or the end. */
function tokenEnd(s: string, start: number): number {
  const dot = s.indexOf('.', start);
  return dot < 0 ? s.length : dot;
}

/**
 * Has `s` a `*` or `>` token? (Not classifySubject: a peer may send a subject
 * that is invalid, `a..*`, and its wildcard still matches.)
 */
function hasWildcardToken(s: string): boolean {
  for (let start = 0; ; ) {
    const end = tokenEnd(s, start);
    if (wildKind(s, start, end) !== 0) return true;
    if (end === s.length) return false;
    start = end + 1;
  }
}

/** 1 for `*`, 2 for `>`, 0 for a literal token s[start, end). */
function wildKind(s: string, start: number, end: number): number {
  if (end - start !== 1) return 0;
  const c = s.charCodeAt(start);
  return c === STAR ? 1 : c === GT ? 2 : 0;
}

export class Sublist {
  private readonly root = new Level();
  private readonly cache: MatchCache;
  /**
   * Nodes found by the current match: the first `nfound` (reused; a match is
   * synchronous; a counter, as setting an array's length is a runtime call).
   */
  private readonly found: Node[] = [];
  private nfound = 0;
  /** End of the token `scan` read last. */
  private end = 0;
  private rootStamp = 0;
  private rootCreated = 0;
  /** Changes on every insert and remove. */
  generation = 0;
  /** Matches of ack subjects by `$JS.ACK.<stream>.<consumer>` (see `matchAck`). */
  private readonly acks: AckRoutes;
  /** The route used last (acks come in runs per consumer: one prefix compare finds it). */
  private lastRoute: AckRoute | null = null;
  readonly stats: SublistStats = {
    subscriptions: 0,
    inserts: 0,
    removes: 0,
    matches: 0,
    cacheHits: 0,
    uncached: 0,
    ackRouteHits: 0,
    ackRouteEvictions: 0,
    cacheEvictions: 0,
    cacheFreezes: 0,
    cacheBypasses: 0,
  };

  constructor(cacheMax = SUBLIST_CACHE_MAX, ackRoutesMax?: number) {
    this.cache = new MatchCache(cacheMax);
    this.acks = new AckRoutes(ackRoutesMax);
  }

  get count(): number {
    return this.stats.subscriptions;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /** Adds a subscription; its subject must be valid (see subject.ts). */
  insert(sub: Subscription): void {
    const subject = sub.subject;
    let level = this.root;
    let node: Node | undefined;
    let first: Node | null = null;
    let wild = false;
    let start = 0;
    for (;;) {
      const end = tokenEnd(subject, start);
      const kind = wildKind(subject, start, end);
      if (kind === 1) node = level.pwc ??= new Node();
      else if (kind === 2) node = level.fwc ??= new Node();
      else {
        node = level.nodes.get(subject, start, end);
        if (node === undefined) {
          node = new Node();
          level.nodes.set(subject.substring(start, end), node);
          if (level === this.root) this.rootCreated++;
        }
        if (start === 0) first = node;
      }
      if (kind !== 0) wild = true;
      if (end === subject.length) break;
      level = node.next ??= new Level();
      start = end + 1;
    }
    if (sub.queue === '') node.addPlain(sub);
    else node.addQueued(sub);
    node.changed();
    this.stats.subscriptions++;
    this.stats.inserts++;
    this.invalidate(subject, wild, first);
  }

  /** Removes a subscription; returns false when it was not there. */
  remove(sub: Subscription): boolean {
    const subject = sub.subject;
    const end0 = tokenEnd(subject, 0);
    const first = wildKind(subject, 0, end0) === 0 ? this.root.nodes.get(subject, 0, end0) : null;
    if (!this.removeFrom(this.root, subject, 0, sub)) return false;
    this.stats.subscriptions--;
    this.stats.removes++;
    this.invalidate(subject, hasWildcardToken(subject), first ?? null);
    return true;
  }

  /** Removes `sub` below `level` (its token starts at `start`), pruning emptied nodes. */
  private removeFrom(level: Level, subject: string, start: number, sub: Subscription): boolean {
    const end = tokenEnd(subject, start);
    const kind = wildKind(subject, start, end);
    const node =
      kind === 1
        ? level.pwc
        : kind === 2
          ? level.fwc
          : (level.nodes.get(subject, start, end) ?? null);
    if (node === null) return false;
    if (end === subject.length) {
      if (!(sub.queue === '' ? node.deletePlain(sub) : node.deleteQueued(sub))) return false;
      node.changed();
    } else {
      if (node.next === null || !this.removeFrom(node.next, subject, end + 1, sub)) return false;
      if (node.next.isEmpty()) node.next = null;
    }
    // Prune empty nodes bottom-up so the trie does not grow without bound.
    if (node.subs === 0 && node.next === null) {
      if (kind === 1) level.pwc = null;
      else if (kind === 2) level.fwc = null;
      else level.nodes.delete(subject, start, end);
      node.stamp++;
    }
    return true;
  }

  /** Marks what a change to `subject` may have made stale (see the file comment). */
  private invalidate(subject: string, wild: boolean, first: Node | null): void {
    this.generation++;
    if (!wild) {
      this.cache.delete(subject);
      // A literal ack subject can change its consumer's route (ack-routes.ts).
      if (first !== null && subject.startsWith(ACK_PREFIX)) first.stamp++;
    } else if (first === null) this.rootStamp++;
    else first.stamp++;
  }

  /** Is `e` still what a walk would find? (See the file comment.) */
  private fresh(e: CacheEntry): boolean {
    const f = e.first;
    return (
      e.rootStamp === this.rootStamp &&
      (f === null ? e.firstStamp === this.rootCreated : f.stamp === e.firstStamp)
    );
  }

  /** Everything interested in the literal `subject`. */
  match(subject: string): MatchResult {
    // An ack subject (`$JS.ACK.<stream>.<consumer>.<seqs…>`) is unique per
    // delivery: looking it up in the cache (hashing ~60 characters) always
    // misses, and counting those misses made a busy consumer's acks push
    // the cache toward freezing (bench/PROFILE.md, "jscons (round 5)").
    // It is matched by its consumer's route, or walked (`matchAck`).
    if (subject.charCodeAt(0) === DOLLAR) {
      // The route used last first (its prefix starts with ACK_PREFIX): acks
      // come in runs per consumer, and this is one compare per ack.
      const r = this.lastRoute;
      if (
        r !== null &&
        subject.length > r.prefix.length &&
        subject.startsWith(r.prefix) &&
        this.fresh(r)
      ) {
        this.stats.matches++;
        this.stats.uncached++;
        this.stats.ackRouteHits++;
        return r.result;
      }
      if (subject.startsWith(ACK_PREFIX)) return this.matchAck(subject);
    }
    this.stats.matches++;
    const e = this.cache.get(subject);
    if (e !== undefined && this.fresh(e)) {
      this.stats.cacheHits++;
      return e.result;
    }
    const first = this.walk(subject);
    const reusable = this.reusable();
    const result = this.build();
    if (!reusable) {
      // A subject used about once (an ack reply): caching it would only
      // evict subjects that are reused. A stale entry for it is dropped.
      this.stats.uncached++;
      if (e !== undefined) this.cache.delete(subject);
      return result;
    }
    const firstStamp = first === null ? this.rootCreated : first.stamp;
    if (e !== undefined) {
      e.refresh(result, this.rootStamp, first, firstStamp);
    } else {
      this.cache.add(subject, new CacheEntry(result, this.rootStamp, first, firstStamp));
    }
    this.stats.cacheEvictions = this.cache.evictions;
    this.stats.cacheFreezes = this.cache.freezes;
    this.stats.cacheBypasses = this.cache.bypasses;
    return result;
  }

  /**
   * An ack subject's match. Acks to one consumer share their first four
   * tokens (`$JS.ACK.<stream>.<consumer>.`): when no subscription can tell
   * their tails apart (past those tokens the trie holds only `>`), one walk
   * serves them all, kept as that consumer's route (ack-routes.ts) while the
   * stamps say it is fresh. Otherwise (a subscription reads the tail, or no
   * tail), each ack is walked.
   */
  private matchAck(subject: string): MatchResult {
    this.stats.matches++;
    this.stats.uncached++;
    const acks = this.acks;
    let e: AckRoute | null = acks.find(subject) ?? null;
    if (e !== null && this.fresh(e)) {
      this.stats.ackRouteHits++;
      this.lastRoute = e;
      return e.result;
    }
    const first = this.walk(subject);
    const result = this.build();
    const end = acks.end;
    if (end > 0 && this.tailFree(this.root, subject, 0, end)) {
      const firstStamp = first === null ? this.rootCreated : first.stamp;
      if (e !== null) {
        e.refresh(result, this.rootStamp, first, firstStamp);
      } else {
        e = acks.add(subject, result, this.rootStamp, first, firstStamp);
        this.stats.ackRouteEvictions = acks.evictions;
      }
      this.lastRoute = e;
    }
    return result;
  }

  /**
   * Whether every node matching the tokens of `subject` from `start` up to
   * `end` (a dot), below `level`, has nothing but a `>` under it: then what
   * follows `end` cannot change the match (it is one or more tokens).
   */
  private tailFree(level: Level, subject: string, start: number, end: number): boolean {
    const e = tokenEnd(subject, start);
    const node = level.nodes.get(subject, start, e);
    if (e === end) {
      return childless(level.pwc) && (node === undefined || childless(node));
    }
    if (level.pwc?.next != null && !this.tailFree(level.pwc.next, subject, e + 1, end)) {
      return false;
    }
    return node?.next == null || this.tailFree(node.next, subject, e + 1, end);
  }

  /**
   * `match` for a subject used about once (a reply inbox a publish ack or
   * an API response goes to): the cache is neither read nor filled.
   */
  matchOnce(subject: string): MatchResult {
    this.stats.matches++;
    this.stats.uncached++;
    this.walk(subject);
    return this.build();
  }

  /**
   * Collects the nodes matching `subject` into `found`; returns the
   * root-level node of its first token (null when none), which a cache
   * entry remembers.
   */
  private walk(subject: string): Node | null {
    // The root level by hand.
    const root = this.root;
    const h = this.scan(subject, 0);
    const end = this.end;
    const last = end === subject.length;
    const first = root.nodes.getHashed(subject, 0, end, h) ?? null;
    if (root.fwc !== null) this.found[this.nfound++] = root.fwc;
    if (root.pwc !== null) this.step(root.pwc, subject, end, last);
    if (first !== null) this.step(first, subject, end, last);
    return first;
  }

  /** Matched `node` on the token ending at `end`: collect it, or descend. */
  private step(node: Node, subject: string, end: number, last: boolean): void {
    if (last) {
      if (node.subs > 0) this.found[this.nfound++] = node;
    } else if (node.next !== null) {
      this.collect(node.next, subject, end + 1);
    }
  }

  private collect(level: Level, subject: string, start: number): void {
    // `>` here matches the rest, which is one or more tokens. (A `>` node is
    // a leaf, pruned when empty: it always has subscriptions.)
    if (level.fwc !== null) this.found[this.nfound++] = level.fwc;
    const nodes = level.nodes;
    const pwc = level.pwc;
    let node: Node | undefined;
    let end: number;
    if (nodes.size === 1) {
      // One literal child: compare with it, no hashing.
      const key = nodes.soleKey;
      const e = start + key.length;
      if (
        subject.startsWith(key, start) &&
        (e === subject.length || subject.charCodeAt(e) === DOT)
      ) {
        node = nodes.soleValue!;
        end = e;
      } else {
        if (pwc === null) return;
        end = tokenEnd(subject, start);
      }
    } else if (nodes.size === 0) {
      if (pwc === null) return;
      end = tokenEnd(subject, start);
    } else {
      const h = this.scan(subject, start);
      end = this.end;
      node = nodes.getHashed(subject, start, end, h);
    }
    const last = end === subject.length;
    if (pwc !== null) this.step(pwc, subject, end, last);
    if (node !== undefined) this.step(node, subject, end, last);
  }

  /**
   * Finds the end of the token at `start` (into `this.end`) and hashes it,
   * in one pass over its characters.
   */
  private scan(subject: string, start: number): number {
    const n = subject.length;
    let h = HASH_START;
    let i = start;
    for (; i < n; i++) {
      const c = subject.charCodeAt(i);
      if (c === DOT) break;
      h = hashStep(h, c);
    }
    this.end = i;
    return hashEnd(h);
  }

  /** False when a node in `found` holds a `oneOff` subscription. */
  private reusable(): boolean {
    const found = this.found;
    for (let i = 0; i < this.nfound; i++) if (found[i]!.oneOff !== 0) return false;
    return true;
  }

  /** The result for the nodes in `found` (then emptied). */
  private build(): MatchResult {
    const found = this.found;
    const n = this.nfound;
    this.nfound = 0;
    if (n === 0) return EMPTY_RESULT;
    if (n === 1 && found[0]!.queues === null) return found[0]!.result();
    const plain: Subscription[] = [];
    let groups: Map<string, Subscription[]> | null = null;
    for (let i = 0; i < n; i++) {
      const node = found[i]!;
      const list = node.plainList();
      for (let k = 0; k < list.length; k++) plain.push(list[k]!);
      if (node.queues === null) continue;
      groups ??= new Map();
      for (const [name, members] of node.queues) {
        let g = groups.get(name);
        if (g === undefined) {
          g = [];
          groups.set(name, g);
        }
        for (const s of members) g.push(s);
      }
    }
    if (groups === null) return { plain, queues: NO_QUEUES, cursors: NO_CURSORS };
    return { plain, queues: [...groups.values()], cursors: new Uint32Array(groups.size) };
  }

  /** Every subscription, for monitoring (not a hot path). */
  all(): Subscription[] {
    const out: Subscription[] = [];
    collectAll(this.root, out);
    return out;
  }
}
