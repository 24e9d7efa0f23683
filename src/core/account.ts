/**
 * Accounts: each one its own subject space. Everything published in an
 * account is seen only by interest in that account. For now a node has one
 * default account, `$G` (nats-server's global account name).
 */
import { Sublist } from './sublist.js';

export const DEFAULT_ACCOUNT = '$G';

export class Account {
  readonly sublist = new Sublist();
  constructor(readonly name: string) {}
}

export class Accounts {
  private readonly byName = new Map<string, Account>();
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
      this.byName.set(name, acc);
    }
    return acc;
  }

  all(): IterableIterator<Account> {
    return this.byName.values();
  }
}
