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
 */

import { CacheEntry, MatchCache } from './match-cache.js';
import type { Subscription } from './message.js';
import { HASH_START, hashEnd, hashStep, TokenMap } from './token-map.js';

export interface MatchResult {
  readonly plain: readonly Subscription[];
  /** One array of members per queue group. */
  readonly queues: readonly (readonly Subscription[])[];
  /**
   * Round-robin position per queue group, advanced by the router. It lives
   * in the (cached) result, so each subject spreads over its group's members
   * evenly whatever other subjects and groups see.
   */
  readonly cursors: Uint32Array;
}

const NO_CURSORS = new Uint32Array(0);
const NO_QUEUES: readonly (readonly Subscription[])[] = Object.freeze([]);

export const EMPTY_RESULT: MatchResult = Object.freeze({
  plain: [],
  queues: NO_QUEUES,
  cursors: NO_CURSORS,
});

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
export const ACK_PREFIX = '$JS.ACK.';

/**
 * One trie node. Most nodes hold one plain subscription and no queue group
 * (a subject per client inbox, per device, per order): it is held in `sole`,
 * and a Set (`more`) or the queue groups' Map only exist once needed — an
 * empty Set and Map cost ~330 bytes, more than the subscription itself
 * (bench/PROFILE.md, "Issue 16 — core": 785–941 → 522–538 B per subscription).
 */
class Node {
  next: Level | null = null;
  /** The plain subscription when it is the only one (then `more` is null). */
  private sole: Subscription | null = null;
  /** Every plain subscription, when there are two or more. */
  private more: Set<Subscription> | null = null;
  /** Queue groups by name; null while there are none. */
  queues: Map<string, Set<Subscription>> | null = null;
  /** Bumped when a wildcard below this (root-level) node changes, or the node is pruned. */
  stamp = 0;
  /** Plain subscriptions plus queue groups: 0 when nothing is subscribed here. */
  subs = 0;
  /** Plain subscriptions here marked `oneOff`: a match that finds this node is not cached. */
  oneOff = 0;
  /**
   * The plain subscriptions as a result of their own (a match that found
   * only this node, with no queue groups, shares it), built on demand,
   * replaced (never mutated) on change.
   */
  private alone: MatchResult | null = null;

  get plainCount(): number {
    return this.more !== null ? this.more.size : this.sole !== null ? 1 : 0;
  }

  get queueCount(): number {
    return this.queues === null ? 0 : this.queues.size;
  }

  addPlain(sub: Subscription): void {
    if (this.more !== null) {
      const n = this.more.size;
      this.more.add(sub);
      if (this.more.size === n) return;
    } else if (this.sole === null) this.sole = sub;
    else if (this.sole !== sub) {
      this.more = new Set([this.sole, sub]);
      this.sole = null;
    } else return;
    if (sub.oneOff === true) this.oneOff++;
  }

  /** Returns false when `sub` was not there. */
  deletePlain(sub: Subscription): boolean {
    if (this.more !== null) {
      if (!this.more.delete(sub)) return false;
      if (this.more.size === 1) {
        this.sole = this.more.values().next().value!;
        this.more = null;
      }
    } else {
      if (this.sole !== sub) return false;
      this.sole = null;
    }
    if (sub.oneOff === true) this.oneOff--;
    return true;
  }

  addQueued(sub: Subscription): void {
    this.queues ??= new Map();
    let group = this.queues.get(sub.queue);
    if (group === undefined) {
      group = new Set();
      this.queues.set(sub.queue, group);
    }
    group.add(sub);
  }

  /** Returns false when `sub` was not there. */
  deleteQueued(sub: Subscription): boolean {
    const group = this.queues?.get(sub.queue);
    if (group === undefined || !group.delete(sub)) return false;
    if (group.size === 0) {
      this.queues!.delete(sub.queue);
      if (this.queues!.size === 0) this.queues = null;
    }
    return true;
  }

  plainList(): readonly Subscription[] {
    return this.result().plain;
  }

  result(): MatchResult {
    if (this.alone === null) {
      const plain = this.more !== null ? [...this.more] : this.sole !== null ? [this.sole] : [];
      this.alone = { plain, queues: NO_QUEUES, cursors: NO_CURSORS };
    }
    return this.alone;
  }

  changed(): void {
    this.alone = null;
    this.subs = this.plainCount + this.queueCount;
  }

  /** Every subscription held here. */
  forEachSub(fn: (sub: Subscription) => void): void {
    if (this.sole !== null) fn(this.sole);
    if (this.more !== null) for (const s of this.more) fn(s);
    if (this.queues !== null) for (const g of this.queues.values()) for (const s of g) fn(s);
  }
}

class Level {
  readonly nodes = new TokenMap<Node>();
  pwc: Node | null = null;
  fwc: Node | null = null;
  isEmpty(): boolean {
    return this.nodes.size === 0 && this.pwc === null && this.fwc === null;
  }
}

export interface SublistStats {
  subscriptions: number;
  inserts: number;
  removes: number;
  matches: number;
  cacheHits: number;
  /** Matches not cached: they found a `oneOff` subscription (an ack subject), or were `matchOnce`. */
  uncached: number;
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
  /** The last ack subject's prefix whose tail no subscription reads, its result, and `generation` then (-1: none). */
  private ackPrefix = '';
  private ackResult: MatchResult = EMPTY_RESULT;
  private ackGeneration = -1;
  readonly stats: SublistStats = {
    subscriptions: 0,
    inserts: 0,
    removes: 0,
    matches: 0,
    cacheHits: 0,
    uncached: 0,
    cacheEvictions: 0,
    cacheFreezes: 0,
    cacheBypasses: 0,
  };

  constructor(cacheMax = SUBLIST_CACHE_MAX) {
    this.cache = new MatchCache(cacheMax);
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
    if (!wild) this.cache.delete(subject);
    else if (first === null) this.rootStamp++;
    else first.stamp++;
  }

  /** Everything interested in the literal `subject`. */
  match(subject: string): MatchResult {
    // An ack subject (`$JS.ACK.<stream>.<consumer>.<seqs…>`) is unique per
    // delivery: looking it up in the cache (hashing ~60 characters) always
    // misses, and counting those misses made a busy consumer's acks push
    // the cache toward freezing (bench/PROFILE.md, "jscons (round 5)").
    // It is matched by the walk alone, as `matchOnce` does.
    if (subject.charCodeAt(0) === DOLLAR && subject.startsWith(ACK_PREFIX)) {
      return this.matchAck(subject);
    }
    this.stats.matches++;
    const e = this.cache.get(subject);
    if (e !== undefined) {
      const f = e.first;
      if (
        e.rootStamp === this.rootStamp &&
        (f === null ? e.firstStamp === this.rootCreated : f.stamp === e.firstStamp)
      ) {
        this.stats.cacheHits++;
        return e.result;
      }
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
      e.result = result;
      e.rootStamp = this.rootStamp;
      e.first = first;
      e.firstStamp = firstStamp;
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
   * their tails apart (past those tokens the trie holds only `>`), the
   * last result is theirs too, while the index is unchanged (`generation`).
   * One prefix is remembered (the consumer acked last); otherwise, the walk.
   */
  private matchAck(subject: string): MatchResult {
    const prefix = this.ackPrefix;
    if (this.ackGeneration === this.generation && subject.startsWith(prefix)) {
      this.stats.matches++;
      this.stats.uncached++;
      return this.ackResult;
    }
    const result = this.matchOnce(subject);
    // The end of the fourth token's dot, past `$JS.ACK.` (two tokens).
    let end = subject.indexOf('.', ACK_PREFIX.length);
    if (end > 0) end = subject.indexOf('.', end + 1);
    if (end > 0 && end + 1 < subject.length && this.tailFree(this.root, subject, 0, end)) {
      this.ackPrefix = subject.substring(0, end + 1);
      this.ackResult = result;
      this.ackGeneration = this.generation;
    } else {
      this.ackGeneration = -1;
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
    walk(this.root, out);
    return out;
  }
}

/** A node (or none) with nothing below it but a `>`: the tokens after it do not change what matches. */
function childless(node: Node | null | undefined): boolean {
  const next = node?.next;
  return next == null || (next.nodes.size === 0 && next.pwc === null);
}

function walk(level: Level, out: Subscription[]): void {
  const visit = (n: Node): void => {
    n.forEachSub((s) => out.push(s));
    if (n.next !== null) walk(n.next, out);
  };
  level.nodes.forEach(visit);
  if (level.pwc !== null) visit(level.pwc);
  if (level.fwc !== null) visit(level.fwc);
}
