/**
 * The node's security service, what every face is given: `login` turns the
 * credentials a connection presents into an Identity (or a refusal), with
 * failures slowed per address, logged and counted; `admit` applies the
 * identity's connection limits; `guard` gives a connection its permissions
 * at work. Rebuilt in place on reload (`replace`), so faces keep one handle.
 */
import type { Accounts } from '../core/account.js';
import type { Logger } from '../util/logger.js';
import { Authenticator, newNonce, type OperatorAuth } from './authenticator.js';
import { Guard } from './guard.js';
import { type QuotaRefusal, Quotas } from './quotas.js';
import { AuthThrottle } from './throttle.js';
import type { AuthResult, Credentials, Identity, SecurityConfig } from './types.js';

/** Counted security events (/varz, /metrics). */
export interface SecurityCounters {
  authFailures: number;
  publishViolations: number;
  subscribeViolations: number;
  /** Deliveries withheld because a subscribe deny rule matched the message's subject. */
  deliveriesDenied: number;
  connectionLimitRefusals: number;
  subscriptionLimitRefusals: number;
}

/** Hears about logins and failures (the system account's advisories). */
export interface SecurityListener {
  authFailed?(c: Credentials, why: string): void;
}

export class Security {
  authenticator: Authenticator;
  readonly quotas: Quotas;
  readonly throttle = new AuthThrottle();
  readonly counters: SecurityCounters = {
    authFailures: 0,
    publishViolations: 0,
    subscribeViolations: 0,
    deliveriesDenied: 0,
    connectionLimitRefusals: 0,
    subscriptionLimitRefusals: 0,
  };
  listener: SecurityListener = {};

  constructor(
    config: SecurityConfig,
    private readonly accounts: Accounts,
    private readonly log: Logger,
    private readonly operator: OperatorAuth | null = null,
  ) {
    this.authenticator = new Authenticator(config, accounts, operator);
    this.quotas = new Quotas((name) =>
      this.authenticator.accountLimits(this.accounts.getOrCreate(name)),
    );
  }

  get config(): SecurityConfig {
    return this.authenticator.config;
  }

  /** A new configuration (reload): later logins use it; the caller re-checks live connections. */
  replace(config: SecurityConfig, operator: OperatorAuth | null = this.operator): void {
    this.authenticator = new Authenticator(config, this.accounts, operator);
  }

  /** INFO's authentication fields for a new connection (its nonce when one is needed). */
  nonce(): string {
    return this.authenticator.nonceNeeded ? newNonce() : '';
  }

  get required(): boolean {
    return this.authenticator.required;
  }

  /**
   * Authenticates `c`: after the address's throttle delay, if any. A
   * failure is logged with the address and counted; `why` never reaches
   * the client.
   */
  login(c: Credentials): AuthResult | Promise<AuthResult> {
    const delay = this.throttle.delayFor(c.remoteAddress, Date.now());
    if (delay < 0) {
      return this.failed(
        c,
        'too many failed logins from this address are waiting; refused unchecked',
      );
    }
    if (delay === 0) return this.settle(c, this.authenticator.authenticate(c));
    this.throttle.wait(c.remoteAddress);
    return new Promise<AuthResult>((resolve) => {
      setTimeout(() => {
        this.throttle.done(c.remoteAddress);
        resolve(this.settle(c, this.authenticator.authenticate(c)));
      }, delay).unref();
    });
  }

  private settle(
    c: Credentials,
    r: AuthResult | Promise<AuthResult>,
  ): AuthResult | Promise<AuthResult> {
    if (r instanceof Promise) return r.then((x) => this.settle(c, x));
    return r.ok ? r : this.failed(c, r.why);
  }

  private failed(c: Credentials, why: string): AuthResult {
    this.counters.authFailures++;
    this.throttle.failed(c.remoteAddress, Date.now());
    const who = c.user !== '' ? ` user "${c.user}"` : c.nkey !== '' ? ` nkey ${c.nkey}` : '';
    this.log.warn(`${c.face} ${c.remoteAddress}${who} - authentication failed: ${why}`);
    this.listener.authFailed?.(c, why);
    return { ok: false, why };
  }

  /** Applies the identity's connection limits; the refusal when one is hit. */
  admit(id: Identity): QuotaRefusal | null {
    const r = this.quotas.connect(id);
    if (r !== null) this.counters.connectionLimitRefusals++;
    return r;
  }

  release(id: Identity): void {
    this.quotas.disconnect(id);
  }

  /** The connection's permissions at work, or null when it may do anything in its account. */
  guard(id: Identity): Guard | null {
    return id.permissions === null ? null : new Guard(id.permissions);
  }
}
