/**
 * The link-state database: what this node knows of every node in the mesh,
 * its links (LSA) and its advertised interest, and the shortest paths from
 * here. Pure: no sockets, no timers; the mesh feeds it and floods what it
 * says is new.
 *
 * Each node's state carries its incarnation (`id`, new at every start, and
 * `boot`, its start time): a later incarnation replaces an earlier one
 * whatever their sequence numbers, so a restarted node is believed at once.
 */

export interface LinkInfo {
  node: string;
  cost: number;
}

export interface Lsa {
  node: string;
  id: string;
  boot: number;
  seq: number;
  links: LinkInfo[];
}

/** [account, subject, queue ('' for plain)]. */
export type InterestEntry = [string, string, string];

export type InterestOp = 'snapshot' | 'more' | 'delta';

export interface InterestUpdate {
  node: string;
  id: string;
  boot: number;
  seq: number;
  op: InterestOp;
  /** Which frame of a snapshot (0 = 'snapshot', then 1, 2 … for 'more'). */
  part?: number;
  add: InterestEntry[];
  del: InterestEntry[];
}

export interface NodeState {
  readonly name: string;
  id: string;
  boot: number;
  lsaSeq: number;
  links: LinkInfo[];
  interestSeq: number;
  /**
   * Whether this incarnation's interest at `interestSeq` is known (from a
   * snapshot or a delta). Sequence 0 is always empty interest: every change
   * bumps it, so a new incarnation starts from (0, empty, not yet known).
   */
  interestKnown: boolean;
  /** The last snapshot frame applied at `interestSeq`. */
  interestPart: number;
  readonly interest: Map<string, InterestEntry>;
  // Routing, from this node.
  reachable: boolean;
  distance: number;
  nextHop: string;
  /** When it became unreachable (ms), for forgetting it. */
  unreachableSince: number;
}

export type ApplyResult = 'new' | 'old' | 'conflict' | 'gap';

export interface InterestDiff {
  result: ApplyResult;
  added: InterestEntry[];
  removed: InterestEntry[];
}

/** Largest number of interest entries in one snapshot frame. */
export const SNAPSHOT_CHUNK = 2000;
/** Characters of names past which a snapshot frame ends (long subjects: smaller frames). */
export const SNAPSHOT_BYTES = 1024 * 1024;

export function interestKey(e: InterestEntry): string {
  return `${e[0]}\u0000${e[1]}\u0000${e[2]}`;
}

function newer(aBoot: number, aId: string, bBoot: number, bId: string): boolean {
  return aBoot > bBoot || (aBoot === bBoot && aId > bId);
}

export class LinkStateDb {
  readonly nodes = new Map<string, NodeState>();
  readonly self: NodeState;
  /** Counted anomalies: another node using this node's name; interest gaps. */
  nameConflicts = 0;
  gaps = 0;
  /**
   * Called when an LSA of a node's new incarnation drops what the old one
   * advertised (an interest update reports it in its diff instead).
   */
  onReset: ((s: NodeState, removed: InterestEntry[]) => void) | null = null;
  /** Interest dropped by the last incarnation change, not yet reported. */
  private resetRemoved: InterestEntry[] = [];

  constructor(selfName: string, selfId: string, selfBoot: number) {
    this.self = this.state(selfName, selfId, selfBoot);
    this.self.interestKnown = true;
    this.self.reachable = true;
    this.self.distance = 0;
    this.self.nextHop = selfName;
  }

  private state(name: string, id: string, boot: number): NodeState {
    const s: NodeState = {
      name,
      id,
      boot,
      lsaSeq: 0,
      links: [],
      interestSeq: 0,
      interestKnown: false,
      interestPart: 0,
      interest: new Map(),
      reachable: false,
      distance: Number.POSITIVE_INFINITY,
      nextHop: '',
      unreachableSince: 0,
    };
    this.nodes.set(name, s);
    return s;
  }

  /** This node's links changed: its new LSA, to flood. */
  setLocalLinks(links: LinkInfo[]): Lsa {
    const s = this.self;
    s.links = links;
    s.lsaSeq++;
    return this.lsaOf(s);
  }

  lsaOf(s: NodeState): Lsa {
    return { node: s.name, id: s.id, boot: s.boot, seq: s.lsaSeq, links: s.links };
  }

  /**
   * The state of `name` for an incoming record of incarnation (id, boot):
   * null when the record is from an older incarnation, or claims this node.
   * A newer incarnation resets what was known.
   */
  private incarnation(name: string, id: string, boot: number): NodeState | 'old' | 'conflict' {
    if (name === this.self.name) {
      if (id === this.self.id) return this.self;
      // An earlier incarnation of this node (it restarted) is just old.
      return newer(boot, id, this.self.boot, this.self.id) ? 'conflict' : 'old';
    }
    const s = this.nodes.get(name);
    if (s === undefined) return this.state(name, id, boot);
    if (s.id === id) return s;
    if (!newer(boot, id, s.boot, s.id)) return 'old';
    s.id = id;
    s.boot = boot;
    s.lsaSeq = 0;
    s.links = [];
    s.interestSeq = 0;
    s.interestKnown = false;
    s.interestPart = 0;
    // The new incarnation's state replaces the old at once, interest too.
    this.resetRemoved = [...s.interest.values()];
    s.interest.clear();
    return s;
  }

  /** Applies an LSA; 'new' means flood it on and recompute routes. */
  applyLsa(lsa: Lsa): ApplyResult {
    const s = this.incarnation(lsa.node, lsa.id, lsa.boot);
    if (this.resetRemoved.length > 0 && typeof s === 'object') {
      const removed = this.resetRemoved;
      this.resetRemoved = [];
      this.onReset?.(s, removed);
    }
    if (s === 'conflict') {
      this.nameConflicts++;
      return 'conflict';
    }
    if (s === 'old' || s === this.self || lsa.seq <= s.lsaSeq) return 'old';
    s.lsaSeq = lsa.seq;
    s.links = lsa.links;
    return 'new';
  }

  /**
   * Applies an interest update. 'new' means flood it on; the diff says what
   * interest appeared and vanished. A snapshot replaces what was known; a
   * delta must follow the last sequence exactly ('gap' otherwise).
   */
  applyInterest(u: InterestUpdate): InterestDiff {
    const found = this.incarnation(u.node, u.id, u.boot);
    // What a new incarnation dropped; the diff reports the net change.
    const reset = this.resetRemoved;
    this.resetRemoved = [];
    const none = (result: ApplyResult): InterestDiff => ({ result, added: [], removed: reset });
    if (found === 'conflict') {
      this.nameConflicts++;
      return none('conflict');
    }
    if (found === 'old' || found === this.self) return none('old');
    const s = found;
    const diff = this.applyTo(s, u);
    if (diff === 'old' || diff === 'gap') return none(diff);
    if (reset.length === 0) return diff;
    const before = new Set(reset.map(interestKey));
    return {
      result: 'new',
      added: diff.added.filter((e) => !before.has(interestKey(e))),
      removed: [...reset.filter((e) => !s.interest.has(interestKey(e))), ...diff.removed],
    };
  }

  /** Applies one update to a node's interest, or says why it does not apply. */
  private applyTo(s: NodeState, u: InterestUpdate): InterestDiff | 'old' | 'gap' {
    const added: InterestEntry[] = [];
    const removed: InterestEntry[] = [];
    if (u.op === 'snapshot') {
      if (u.seq < s.interestSeq || (u.seq === s.interestSeq && s.interestKnown)) return 'old';
      const next = new Map<string, InterestEntry>();
      for (const e of u.add) next.set(interestKey(e), e);
      for (const [k, e] of s.interest) if (!next.has(k)) removed.push(e);
      for (const [k, e] of next) if (!s.interest.has(k)) added.push(e);
      s.interest.clear();
      for (const [k, e] of next) s.interest.set(k, e);
      s.interestSeq = u.seq;
      s.interestKnown = true;
      s.interestPart = 0;
      return { result: 'new', added, removed };
    }
    if (u.op === 'more') {
      // The rest of a snapshot at the same sequence, in order; a part seen
      // already (it came by another path too) is old, so floods end.
      if (u.seq !== s.interestSeq || u.part !== s.interestPart + 1) return 'old';
      // The start of this snapshot never arrived here: ask for it.
      if (!s.interestKnown) return 'gap';
      s.interestPart = u.part;
      for (const e of u.add) {
        const k = interestKey(e);
        if (!s.interest.has(k)) {
          s.interest.set(k, e);
          added.push(e);
        }
      }
      return { result: 'new', added, removed };
    }
    if (u.seq <= s.interestSeq) return 'old';
    if (u.seq !== s.interestSeq + 1) {
      this.gaps++;
      return 'gap';
    }
    s.interestSeq = u.seq;
    s.interestKnown = true;
    s.interestPart = 0;
    for (const e of u.add) {
      const k = interestKey(e);
      if (!s.interest.has(k)) {
        s.interest.set(k, e);
        added.push(e);
      }
    }
    for (const e of u.del) {
      const k = interestKey(e);
      if (s.interest.delete(k)) removed.push(e);
    }
    return { result: 'new', added, removed };
  }

  /** This node's interest changed: the delta to flood (already applied here). */
  localDelta(add: InterestEntry[], del: InterestEntry[]): InterestUpdate {
    const s = this.self;
    s.interestSeq++;
    for (const e of add) s.interest.set(interestKey(e), e);
    for (const e of del) s.interest.delete(interestKey(e));
    return { node: s.name, id: s.id, boot: s.boot, seq: s.interestSeq, op: 'delta', add, del };
  }

  /** A node's interest as snapshot frames (first 'snapshot', then 'more'). */
  snapshotOf(s: NodeState): InterestUpdate[] {
    const out: InterestUpdate[] = [];
    let add: InterestEntry[] = [];
    let bytes = 0;
    const push = (): void => {
      const part = out.length;
      out.push({
        node: s.name,
        id: s.id,
        boot: s.boot,
        seq: s.interestSeq,
        op: part === 0 ? 'snapshot' : 'more',
        part,
        add,
        del: [],
      });
      add = [];
      bytes = 0;
    };
    for (const e of s.interest.values()) {
      if (add.length === SNAPSHOT_CHUNK || (add.length > 0 && bytes >= SNAPSHOT_BYTES)) push();
      add.push(e);
      bytes += e[0].length + e[1].length + e[2].length;
    }
    push();
    return out;
  }

  /**
   * Recomputes shortest paths from this node (Dijkstra over links both ends
   * list; ties go to the smaller next-hop name). Returns the nodes whose
   * reachability or distance changed.
   */
  computeRoutes(now: number): NodeState[] {
    const dist = new Map<string, number>();
    const hop = new Map<string, string>();
    dist.set(this.self.name, 0);
    hop.set(this.self.name, this.self.name);
    const done = new Set<string>();
    for (;;) {
      let best: string | null = null;
      let bestD = Number.POSITIVE_INFINITY;
      for (const [name, d] of dist) {
        if (done.has(name)) continue;
        if (d < bestD || (d === bestD && best !== null && hop.get(name)! < hop.get(best)!)) {
          best = name;
          bestD = d;
        }
      }
      if (best === null) break;
      done.add(best);
      const from = this.nodes.get(best);
      if (from === undefined) continue;
      for (const l of from.links) {
        const to = this.nodes.get(l.node);
        // A link counts only when both ends list it.
        if (to === undefined || !to.links.some((b) => b.node === best)) continue;
        const d = bestD + Math.max(1, l.cost);
        const viaHop = best === this.self.name ? l.node : hop.get(best)!;
        const cur = dist.get(l.node);
        if (cur === undefined || d < cur || (d === cur && viaHop < hop.get(l.node)!)) {
          if (done.has(l.node)) continue;
          dist.set(l.node, d);
          hop.set(l.node, viaHop);
        }
      }
    }
    const changed: NodeState[] = [];
    for (const s of this.nodes.values()) {
      if (s === this.self) continue;
      const d = dist.get(s.name);
      const reachable = d !== undefined;
      const distance = d ?? Number.POSITIVE_INFINITY;
      const nextHop = hop.get(s.name) ?? '';
      if (reachable) s.unreachableSince = 0;
      else if (s.unreachableSince === 0) s.unreachableSince = now;
      if (reachable !== s.reachable || distance !== s.distance || nextHop !== s.nextHop) {
        s.reachable = reachable;
        s.distance = distance;
        s.nextHop = nextHop;
        changed.push(s);
      }
    }
    return changed;
  }

  /** Forgets nodes unreachable for longer than `ms`; returns them. */
  forget(now: number, ms: number): NodeState[] {
    const gone: NodeState[] = [];
    for (const s of this.nodes.values()) {
      if (s !== this.self && !s.reachable && now - s.unreachableSince > ms) gone.push(s);
    }
    for (const s of gone) this.nodes.delete(s.name);
    return gone;
  }
}
