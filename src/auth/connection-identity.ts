/**
 * One connection's identity at work, the same for every face: what it was
 * admitted as, its permissions (the Guard), its rate limit and largest
 * payload, the subscriptions it holds against its quotas, and when it
 * expires. A face keeps one per connection and asks it; it holds no socket
 * and speaks no protocol (docs/security.md).
 */
import type { Guard } from './guard.js';
import type { QuotaRefusal, RateLimit } from './quotas.js';
import type { Security } from './security.js';
import type { Identity } from './types.js';

/** The longest a Node timer waits (a JWT that expires later is checked again then). */
const TIMER_MAX_MS = 2 ** 31 - 1;

export class ConnectionIdentity {
  /** Who the connection is, once admitted. */
  identity: Identity | null = null;
  /** The permissions at work; null when the identity may do anything in its account. */
  guard: Guard | null = null;
  /** The identity's largest payload (0: the node's max_payload alone). */
  payloadMax = 0;
  private rate: RateLimit | null = null;
  /** Subscriptions counted against the identity's quotas. */
  private subscriptions = 0;
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly security: Security) {}

  /**
   * Takes an authenticated identity, applying its connection limits: the
   * refusal when one is hit (nothing is held then). `expired` runs when the
   * identity's time is up (a JWT's `exp`).
   */
  admit(id: Identity, expired: () => void): QuotaRefusal | null {
    const refused = this.security.admit(id);
    if (refused !== null) return refused;
    this.use(id);
    if (id.expiresAt > 0) {
      const check = (): void => {
        const left = id.expiresAt - Date.now();
        if (left <= 0) expired();
        else this.expiryTimer = setTimeout(check, Math.min(left, TIMER_MAX_MS)).unref();
      };
      check();
    }
    return null;
  }

  private use(id: Identity): void {
    this.identity = id;
    this.guard = this.security.guard(id);
    this.rate = this.security.quotas.rate(id);
    this.payloadMax = this.security.quotas.maxPayload(id);
  }

  /**
   * A reload's identity for the same account: its permissions and limits
   * apply from now. The subscriptions are counted again by the caller
   * (`subscribe` for each one it keeps).
   */
  replace(id: Identity): void {
    const old = this.identity!;
    const quotas = this.security.quotas;
    quotas.unsubscribe(old, this.subscriptions);
    this.subscriptions = 0;
    this.security.release(old);
    quotas.connect(id);
    this.use(id);
  }

  /** Counts one more subscription, or names the limit it hits. */
  subscribe(): QuotaRefusal | null {
    const refused = this.security.quotas.subscribe(this.identity!);
    if (refused === null) this.subscriptions++;
    else this.security.counters.subscriptionLimitRefusals++;
    return refused;
  }

  unsubscribe(): void {
    if (this.identity === null || this.subscriptions === 0) return;
    this.security.quotas.unsubscribe(this.identity);
    this.subscriptions--;
  }

  /**
   * Accounts for one published message of `size` bytes against the
   * identity's rates: false when it is dropped (`rate_exceeded: drop`),
   * else how many ms the face should stop reading (0: none).
   */
  admitMessage(size: number): number | false {
    if (this.rate === null) return 0;
    const quotas = this.security.quotas;
    const r = this.rate.admit(size, Date.now());
    if (r === false) {
      quotas.rateDrops++;
      return false;
    }
    if (typeof r === 'number' && r > 0) {
      quotas.rateWaits++;
      return r;
    }
    return 0;
  }

  /** The connection is gone: its connection and subscriptions leave the quotas. */
  release(): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const id = this.identity;
    if (id === null) return;
    this.security.quotas.unsubscribe(id, this.subscriptions);
    this.subscriptions = 0;
    this.security.release(id);
  }
}
