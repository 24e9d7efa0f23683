/**
 * The subject index's trie (sublist.ts): its nodes and levels, and the
 * result a match returns. A node keeps what is subscribed at its subject;
 * a level the literal tokens below a node (token-map.ts) and its `*` and
 * `>` children.
 */
import type { Subscription } from './message.js';
import { TokenMap } from './token-map.js';

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

export const NO_CURSORS = new Uint32Array(0);
export const NO_QUEUES: readonly (readonly Subscription[])[] = Object.freeze([]);

export const EMPTY_RESULT: MatchResult = Object.freeze({
  plain: [],
  queues: NO_QUEUES,
  cursors: NO_CURSORS,
});

/**
 * One trie node. Most nodes hold one plain subscription and no queue group
 * (a subject per client inbox, per device, per order): it is held in `sole`,
 * and a Set (`more`) or the queue groups' Map only exist once needed — an
 * empty Set and Map cost ~330 bytes, more than the subscription itself
 * (bench/PROFILE.md, "Issue 16 — core": 785–941 → 522–538 B per subscription).
 */
export class Node {
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

export class Level {
  readonly nodes = new TokenMap<Node>();
  pwc: Node | null = null;
  fwc: Node | null = null;
  isEmpty(): boolean {
    return this.nodes.size === 0 && this.pwc === null && this.fwc === null;
  }
}

/** A node (or none) with nothing below it but a `>`: the tokens after it do not change what matches. */
export function childless(node: Node | null | undefined): boolean {
  const next = node?.next;
  return next == null || (next.nodes.size === 0 && next.pwc === null);
}

export function collectAll(level: Level, out: Subscription[]): void {
  const visit = (n: Node): void => {
    n.forEachSub((s) => out.push(s));
    if (n.next !== null) collectAll(n.next, out);
  };
  level.nodes.forEach(visit);
  if (level.pwc !== null) visit(level.pwc);
  if (level.fwc !== null) visit(level.fwc);
}
