/**
 * Accounts: each one its own subject space. Everything published in an
 * account is seen only by interest in that account. For now a node has one
 * default account, `$G` (nats-server's global account name).
 *
 * Interest enters and leaves an account through `subscribe`/`unsubscribe`,
 * which tell the listeners (the mesh advertises local interest this way).
 */
import type { Subscription } from './message.js';
import { Sublist } from './sublist.js';

export const DEFAULT_ACCOUNT = '$G';

export interface InterestListener {
  interestAdded(account: Account, sub: Subscription): void;
  interestRemoved(account: Account, sub: Subscription): void;
}

export class Account {
  readonly sublist = new Sublist();
  /** Set by Accounts: the listeners of every account. */
  listeners: readonly InterestListener[] = [];

  constructor(readonly name: string) {}

  subscribe(sub: Subscription): void {
    this.sublist.insert(sub);
    for (const l of this.listeners) l.interestAdded(this, sub);
  }

  /** Returns false when the subscription was not there. */
  unsubscribe(sub: Subscription): boolean {
    if (!this.sublist.remove(sub)) return false;
    for (const l of this.listeners) l.interestRemoved(this, sub);
    return true;
  }
}

export class Accounts {
  private readonly byName = new Map<string, Account>();
  private listeners: InterestListener[] = [];
  readonly default: Account;

  constructor() {
    this.default = this.getOrCreate(DEFAULT_ACCOUNT);
  }

  get(name: string): Account | undefined {
    return this.byName.get(name);
  }

  getOrCreate(name: string): Account {
    let acc = this.byName.get(name);
    if (acc === undefined) {
      acc = new Account(name);
      acc.listeners = this.listeners;
      this.byName.set(name, acc);
    }
    return acc;
  }

  /** Adds a listener to every account, present and future. */
  addListener(l: InterestListener): void {
    this.listeners = [...this.listeners, l];
    for (const acc of this.byName.values()) acc.listeners = this.listeners;
  }

  removeListener(l: InterestListener): void {
    this.listeners = this.listeners.filter((x) => x !== l);
    for (const acc of this.byName.values()) acc.listeners = this.listeners;
  }

  all(): IterableIterator<Account> {
    return this.byName.values();
  }
}
