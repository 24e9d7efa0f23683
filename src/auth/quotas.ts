/**
 * Per-identity limits at run time: live connections and subscriptions per
 * user and per account, and the token buckets of their data rates. One
 * `Quotas` per node, shared by every face; a user's bucket is shared by all
 * of its connections, an account's by all of its users, so opening more
 * connections buys no more rate.
 */
import type { Identity, LimitsConfig } from './types.js';

/**
 * A token bucket of `rate` per second holding at most one second of it.
 * `take` always takes (the bucket may go into debt) and says how long until
 * the debt is repaid: a face that slows its reader for that long keeps the
 * average at the rate without holding anything in memory.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.last = now;
  }

  private refill(now: number): void {
    const dt = now - this.last;
    if (dt > 0) {
      this.tokens = Math.min(this.rate, this.tokens + (dt * this.rate) / 1000);
      this.last = now;
    }
  }

  /** Takes `n`; returns ms until the bucket is out of debt (0: not in debt). */
  take(n: number, now: number): number {
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }

  /** Takes `n` only if there are that many; false (nothing taken) otherwise. */
  tryTake(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

/** The buckets one publish goes through: the user's and the account's, for messages and bytes. */
export class RateLimit {
  constructor(
    private readonly buckets: readonly { msgs: TokenBucket | null; bytes: TokenBucket | null }[],
    readonly drop: boolean,
  ) {}

  /**
   * Accounts for one message of `size` bytes. With `drop`: true when it may
   * pass (nothing is taken otherwise). Else: ms the reader should wait (0
   * for none); the message passes.
   */
  admit(size: number, now: number): number | boolean {
    if (this.drop) {
      for (const b of this.buckets) {
        if (b.msgs !== null && !b.msgs.tryTake(1, now)) return false;
        if (b.bytes !== null && !b.bytes.tryTake(size, now)) return false;
      }
      return true;
    }
    let wait = 0;
    for (const b of this.buckets) {
      if (b.msgs !== null) wait = Math.max(wait, b.msgs.take(1, now));
      if (b.bytes !== null) wait = Math.max(wait, b.bytes.take(size, now));
    }
    return wait;
  }
}

interface Usage {
  connections: number;
  subscriptions: number;
  msgs: TokenBucket | null;
  bytes: TokenBucket | null;
}

/** The smaller of two limits where 0 means none. */
function tighter(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

/** What stopped a connection or a subscription. */
export type QuotaRefusal =
  | 'account_connections'
  | 'user_connections'
  | 'account_subscriptions'
  | 'user_subscriptions';

export class Quotas {
  private readonly users = new Map<string, Usage>();
  private readonly accounts = new Map<string, Usage>();
  /** Messages dropped by `rate_exceeded: drop`, and reader waits by `slow`. */
  rateDrops = 0;
  rateWaits = 0;

  constructor(private readonly accountLimits: (account: string) => LimitsConfig) {}

  private usage(map: Map<string, Usage>, key: string, limits: LimitsConfig): Usage {
    let u = map.get(key);
    if (u === undefined) {
      const now = Date.now();
      u = {
        connections: 0,
        subscriptions: 0,
        msgs: limits.msgsPerSecond > 0 ? new TokenBucket(limits.msgsPerSecond, now) : null,
        bytes: limits.bytesPerSecond > 0 ? new TokenBucket(limits.bytesPerSecond, now) : null,
      };
      map.set(key, u);
    }
    return u;
  }

  private userKey(id: Identity): string {
    return `${id.account.name}\0${id.user}`;
  }

  /** Admits a connection of `id`, or names the limit it hits. */
  connect(id: Identity): QuotaRefusal | null {
    const al = this.accountLimits(id.account.name);
    const a = this.usage(this.accounts, id.account.name, al);
    const u = this.usage(this.users, this.userKey(id), id.limits);
    if (al.maxConnections > 0 && a.connections >= al.maxConnections) return 'account_connections';
    if (id.limits.maxConnections > 0 && u.connections >= id.limits.maxConnections)
      return 'user_connections';
    a.connections++;
    u.connections++;
    return null;
  }

  disconnect(id: Identity): void {
    const a = this.accounts.get(id.account.name);
    const u = this.users.get(this.userKey(id));
    if (a !== undefined) a.connections--;
    if (u !== undefined) {
      u.connections--;
      // Usage with nothing live is forgotten (its bucket refills to full meanwhile anyway).
      if (u.connections <= 0 && u.subscriptions <= 0) this.users.delete(this.userKey(id));
    }
  }

  /** Admits one more subscription of `id`, or names the limit it hits. */
  subscribe(id: Identity): QuotaRefusal | null {
    const al = this.accountLimits(id.account.name);
    const a = this.usage(this.accounts, id.account.name, al);
    const u = this.usage(this.users, this.userKey(id), id.limits);
    if (al.maxSubscriptions > 0 && a.subscriptions >= al.maxSubscriptions)
      return 'account_subscriptions';
    if (id.limits.maxSubscriptions > 0 && u.subscriptions >= id.limits.maxSubscriptions)
      return 'user_subscriptions';
    a.subscriptions++;
    u.subscriptions++;
    return null;
  }

  unsubscribe(id: Identity, n = 1): void {
    const a = this.accounts.get(id.account.name);
    const u = this.users.get(this.userKey(id));
    if (a !== undefined) a.subscriptions -= n;
    if (u !== undefined) u.subscriptions -= n;
  }

  /** The largest payload `id` may publish (0: the node's max_payload alone). */
  maxPayload(id: Identity): number {
    return tighter(id.limits.maxPayload, this.accountLimits(id.account.name).maxPayload);
  }

  /** The rate limit a connection of `id` publishes through, or null when none applies. */
  rate(id: Identity): RateLimit | null {
    const al = this.accountLimits(id.account.name);
    const a = this.usage(this.accounts, id.account.name, al);
    const u = this.usage(this.users, this.userKey(id), id.limits);
    const buckets = [u, a].filter((x) => x.msgs !== null || x.bytes !== null);
    if (buckets.length === 0) return null;
    const drop = id.limits.rateExceeded === 'drop' || al.rateExceeded === 'drop';
    return new RateLimit(buckets, drop);
  }

  /** Live connections and subscriptions of an account (for /accountz). */
  accountUsage(name: string): { connections: number; subscriptions: number } {
    const a = this.accounts.get(name);
    return { connections: a?.connections ?? 0, subscriptions: a?.subscriptions ?? 0 };
  }
}
