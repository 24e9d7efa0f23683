/**
 * The subject index: a token trie after nats-server's sublist. Literal
 * tokens live in a map per level, `*` and `>` in their own slots. A match
 * splits its result into plain subscribers and queue groups (merged by group
 * name across nodes). Results are kept in a bounded cache; every insert or
 * remove bumps `generation`, so per-connection caches know when to reset.
 */
import type { Subscription } from './message.js';
import { classifySubject, subjectMatches } from './subject.js';

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

export const EMPTY_RESULT: MatchResult = Object.freeze({
  plain: [],
  queues: [],
  cursors: new Uint32Array(0),
});

/** Bound on cached match results (named, counted: see `stats.cacheEvictions`). */
export const SUBLIST_CACHE_MAX = 4096;

class Node {
  next: Level | null = null;
  readonly plain = new Set<Subscription>();
  readonly queues = new Map<string, Set<Subscription>>();
  isEmpty(): boolean {
    return this.plain.size === 0 && this.queues.size === 0 && (this.next?.isEmpty() ?? true);
  }
}

class Level {
  readonly nodes = new Map<string, Node>();
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
  cacheEvictions: number;
}

export class Sublist {
  private readonly root = new Level();
  private readonly cache = new Map<string, MatchResult>();
  private readonly cacheMax: number;
  /** Changes on every insert and remove. */
  generation = 0;
  readonly stats: SublistStats = {
    subscriptions: 0,
    inserts: 0,
    removes: 0,
    matches: 0,
    cacheHits: 0,
    cacheEvictions: 0,
  };

  constructor(cacheMax = SUBLIST_CACHE_MAX) {
    this.cacheMax = cacheMax;
  }

  get count(): number {
    return this.stats.subscriptions;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /** Adds a subscription; its subject must be valid (see subject.ts). */
  insert(sub: Subscription): void {
    const tokens = sub.subject.split('.');
    let level = this.root;
    let node: Node | null = null;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === '*') node = level.pwc ??= new Node();
      else if (t === '>') node = level.fwc ??= new Node();
      else {
        node = level.nodes.get(t) ?? null;
        if (node === null) {
          node = new Node();
          level.nodes.set(t, node);
        }
      }
      if (i < tokens.length - 1) level = node.next ??= new Level();
    }
    const n = node!;
    if (sub.queue === '') n.plain.add(sub);
    else {
      let group = n.queues.get(sub.queue);
      if (group === undefined) {
        group = new Set();
        n.queues.set(sub.queue, group);
      }
      group.add(sub);
    }
    this.stats.subscriptions++;
    this.stats.inserts++;
    this.changed(sub.subject);
  }

  /** Removes a subscription; returns false when it was not there. */
  remove(sub: Subscription): boolean {
    const tokens = sub.subject.split('.');
    const path: { level: Level; token: string; node: Node }[] = [];
    let level: Level | null = this.root;
    for (let i = 0; i < tokens.length; i++) {
      if (level === null) return false;
      const t = tokens[i];
      const node: Node | null =
        t === '*' ? level.pwc : t === '>' ? level.fwc : (level.nodes.get(t) ?? null);
      if (node === null) return false;
      path.push({ level, token: t, node });
      level = node.next;
    }
    const leaf = path[path.length - 1].node;
    let removed: boolean;
    if (sub.queue === '') removed = leaf.plain.delete(sub);
    else {
      const group = leaf.queues.get(sub.queue);
      removed = group?.delete(sub) ?? false;
      if (group !== undefined && group.size === 0) leaf.queues.delete(sub.queue);
    }
    if (!removed) return false;
    // Prune empty nodes bottom-up so the trie does not grow without bound.
    for (let i = path.length - 1; i >= 0; i--) {
      const { level: l, token, node } = path[i];
      if (node.next?.isEmpty()) node.next = null;
      if (!node.isEmpty()) break;
      if (token === '*') l.pwc = null;
      else if (token === '>') l.fwc = null;
      else l.nodes.delete(token);
    }
    this.stats.subscriptions--;
    this.stats.removes++;
    this.changed(sub.subject);
    return true;
  }

  /** Everything interested in the literal `subject`. */
  match(subject: string): MatchResult {
    this.stats.matches++;
    const cached = this.cache.get(subject);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      return cached;
    }
    const result = this.matchUncached(subject);
    if (this.cache.size >= this.cacheMax) {
      // Evict the oldest entry (Map keeps insertion order).
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
      this.stats.cacheEvictions++;
    }
    this.cache.set(subject, result);
    return result;
  }

  private matchUncached(subject: string): MatchResult {
    const plain: Subscription[] = [];
    const groups = new Map<string, Subscription[]>();
    collect(this.root, subject.split('.'), 0, plain, groups);
    if (plain.length === 0 && groups.size === 0) return EMPTY_RESULT;
    return { plain, queues: [...groups.values()], cursors: new Uint32Array(groups.size) };
  }

  /** Drops cached results that a change to `subject` may have made stale. */
  private changed(subject: string): void {
    this.generation++;
    if (this.cache.size === 0) return;
    if (classifySubject(subject) === 'literal') {
      this.cache.delete(subject);
      return;
    }
    for (const key of this.cache.keys()) {
      if (subjectMatches(subject, key)) this.cache.delete(key);
    }
  }

  /** Every subscription, for monitoring (not a hot path). */
  all(): Subscription[] {
    const out: Subscription[] = [];
    walk(this.root, out);
    return out;
  }
}

function addNode(node: Node, plain: Subscription[], groups: Map<string, Subscription[]>): void {
  for (const s of node.plain) plain.push(s);
  for (const [name, members] of node.queues) {
    let g = groups.get(name);
    if (g === undefined) {
      g = [];
      groups.set(name, g);
    }
    for (const s of members) g.push(s);
  }
}

function collect(
  level: Level,
  tokens: string[],
  i: number,
  plain: Subscription[],
  groups: Map<string, Subscription[]>,
): void {
  // `>` here matches the rest, which is one or more tokens.
  if (level.fwc !== null) addNode(level.fwc, plain, groups);
  const last = i === tokens.length - 1;
  if (level.pwc !== null) {
    if (last) addNode(level.pwc, plain, groups);
    else if (level.pwc.next !== null) collect(level.pwc.next, tokens, i + 1, plain, groups);
  }
  const node = level.nodes.get(tokens[i]);
  if (node !== undefined) {
    if (last) addNode(node, plain, groups);
    else if (node.next !== null) collect(node.next, tokens, i + 1, plain, groups);
  }
}

function walk(level: Level, out: Subscription[]): void {
  const visit = (n: Node): void => {
    for (const s of n.plain) out.push(s);
    for (const g of n.queues.values()) for (const s of g) out.push(s);
    if (n.next !== null) walk(n.next, out);
  };
  for (const n of level.nodes.values()) visit(n);
  if (level.pwc !== null) visit(level.pwc);
  if (level.fwc !== null) visit(level.fwc);
}
