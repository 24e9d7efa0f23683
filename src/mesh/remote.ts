/**
 * Remote interest: what each other node advertised, as subscriptions in
 * the accounts' subject indexes, owned by the mesh. A node's entries are in
 * the index while it is reachable and out while not, and carry its distance
 * so queue groups prefer the nearest members.
 */
import type { Accounts } from '../core/account.js';
import type { Subscriber, Subscription } from '../core/message.js';
import type { Dest } from './frames.js';
import { type InterestEntry, interestKey, type NodeState } from './lsdb.js';

/** One advertised entry of one node, in the sublist. */
export interface RemoteSub extends Subscription {
  readonly node: string;
  readonly account: string;
}

export interface RemoteNode {
  readonly subs: Map<string, RemoteSub>;
  /** Reused per message while collecting destinations. */
  readonly dest: Dest;
  /** The message `dest` was last collected for. */
  destMsg: unknown;
  inSublist: boolean;
}

export class RemoteInterest {
  private readonly nodes = new Map<string, RemoteNode>();

  constructor(
    private readonly accounts: Accounts,
    /** The mesh: the owner of every remote subscription. */
    private readonly owner: Subscriber,
  ) {}

  node(name: string): RemoteNode | undefined {
    return this.nodes.get(name);
  }

  private getOrCreate(name: string): RemoteNode {
    let rn = this.nodes.get(name);
    if (rn === undefined) {
      rn = {
        subs: new Map(),
        dest: { node: name, plain: false, queues: [] },
        destMsg: null,
        inSublist: false,
      };
      this.nodes.set(name, rn);
    }
    return rn;
  }

  apply(s: NodeState, added: InterestEntry[], removed: InterestEntry[]): void {
    const rn = this.getOrCreate(s.name);
    for (const e of removed) {
      const k = interestKey(e);
      const sub = rn.subs.get(k);
      if (sub === undefined) continue;
      rn.subs.delete(k);
      if (rn.inSublist) this.accounts.getOrCreate(sub.account).unsubscribe(sub);
    }
    for (const e of added) {
      const k = interestKey(e);
      if (rn.subs.has(k)) continue;
      const sub: RemoteSub = {
        subject: e[1],
        queue: e[2],
        sid: s.name,
        owner: this.owner,
        max: 0,
        delivered: 0,
        distance: s.reachable ? s.distance : Number.POSITIVE_INFINITY,
        node: s.name,
        account: e[0],
      };
      rn.subs.set(k, sub);
      if (rn.inSublist) this.accounts.getOrCreate(sub.account).subscribe(sub);
    }
    this.sync(s);
  }

  /** Puts a node's interest in the sublist when it is reachable, out when not. */
  sync(s: NodeState): void {
    const rn = this.nodes.get(s.name);
    if (rn === undefined) return;
    for (const sub of rn.subs.values()) sub.distance = s.distance;
    if (s.reachable === rn.inSublist) return;
    rn.inSublist = s.reachable;
    for (const sub of rn.subs.values()) {
      const acc = this.accounts.getOrCreate(sub.account);
      if (s.reachable) acc.subscribe(sub);
      else acc.unsubscribe(sub);
    }
  }

  drop(name: string): void {
    const rn = this.nodes.get(name);
    if (rn === undefined) return;
    if (rn.inSublist) {
      for (const sub of rn.subs.values()) this.accounts.getOrCreate(sub.account).unsubscribe(sub);
    }
    this.nodes.delete(name);
  }

  get count(): number {
    let n = 0;
    for (const rn of this.nodes.values()) if (rn.inSublist) n += rn.subs.size;
    return n;
  }
}
