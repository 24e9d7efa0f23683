/**
 * Authentication: the credentials a connection presents become an Identity,
 * or a refusal. One authenticator per node, shared by every face; built from
 * the SecurityConfig and rebuilt on reload.
 *
 * The order is nats-server's: decentralised JWT (operator mode) when
 * configured; else a verified client certificate under `verify_and_map`;
 * an nkey signature; a user and password; the token; the `no_auth_user`
 * for a connection that presents nothing; and, with no authentication
 * configured, the anonymous identity in the global account.
 *
 * Secrets are compared in constant time: plain ones through a SHA-256 of
 * each side (so lengths leak nothing), bcrypt hashes by bcryptjs on a
 * worker thread (bcrypt-pool.ts): a check costs a few hundred ms of CPU,
 * which the event loop never pays; a success is remembered (as a digest,
 * in a bounded map) for reconnects.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { type Account, type Accounts, DEFAULT_ACCOUNT } from '../core/account.js';
import { bcryptCompare } from './bcrypt-pool.js';
import { verifySignature } from './jwt.js';
import { Permissions } from './permissions.js';
import {
  type AccountConfig,
  type AuthMethod,
  type AuthResult,
  type Credentials,
  type Identity,
  type LimitsConfig,
  NO_LIMITS,
  type PermissionsConfig,
  type SecurityConfig,
  type UserConfig,
} from './types.js';

/** Successful bcrypt checks remembered (digests only), so a reconnect does not pay again. */
export const BCRYPT_CACHE_MAX = 1024;

/** Decentralised (JWT) authentication, when the node runs in operator mode. */
export interface OperatorAuth {
  authenticate(c: Credentials): AuthResult | Promise<AuthResult>;
  /** The configuration of an account it knows (JWT accounts: from their claims). */
  accountConfig?(name: string): AccountConfig | null;
}

const refuse = (why: string): AuthResult => ({ ok: false, why });

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time equality of two secrets, whatever their lengths. */
export function secretEquals(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function isBcrypt(secret: string): boolean {
  return /^\$2[abxy]?\$\d\d\$/.test(secret);
}

/** A fresh nonce for a connection to sign (nkey and JWT users). */
export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** The names a client certificate offers for `verify_and_map`, in nats-server's order. */
export function certificateNames(cert: PeerCertificate): string[] {
  const names: string[] = [];
  const san = cert.subjectaltname ?? '';
  const parts = san === '' ? [] : san.split(/,\s*/);
  for (const prefix of ['email:', 'DNS:', 'URI:']) {
    for (const p of parts) if (p.startsWith(prefix)) names.push(p.slice(prefix.length));
  }
  const subject = cert.subject as unknown as Record<string, string | string[]> | undefined;
  if (subject !== undefined) {
    // The subject as RFC 2253 writes it (most specific first), then its CN alone.
    const rdns = Object.entries(subject).map(
      ([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`,
    );
    names.push(rdns.reverse().join(','));
    const cn = subject.CN;
    if (cn !== undefined) names.push(Array.isArray(cn) ? cn[0] : cn);
  }
  return names;
}

export class Authenticator {
  /** A connection must authenticate (INFO's `auth_required`). */
  readonly required: boolean;
  /** Some method signs a nonce: INFO carries one. */
  readonly nonceNeeded: boolean;
  private readonly byName = new Map<string, UserConfig>();
  private readonly byNkey = new Map<string, UserConfig>();
  private readonly accountConfigs = new Map<string, AccountConfig>();
  private readonly permissions = new Map<UserConfig, Permissions | null>();
  private readonly bcryptOk = new Set<string>();
  /** A stored bcrypt hash, checked against for unknown users so their refusal takes as long. */
  private readonly decoy: string;

  constructor(
    readonly config: SecurityConfig,
    private readonly accounts: Accounts,
    private readonly operator: OperatorAuth | null = null,
  ) {
    for (const a of config.accounts) this.accountConfigs.set(a.name, a);
    for (const u of config.users) {
      if (u.nkey !== '') this.byNkey.set(u.nkey, u);
      else this.byName.set(u.user, u);
      this.permissions.set(u, this.compile(u));
    }
    this.decoy = config.users.find((u) => isBcrypt(u.password))?.password ?? '';
    this.required = operator !== null || config.token !== '' || config.users.length > 0;
    this.nonceNeeded = operator !== null || this.byNkey.size > 0;
  }

  /** The configuration of an account (null for `$G` and accounts not configured). */
  accountConfig(name: string): AccountConfig | null {
    return this.accountConfigs.get(name) ?? this.operator?.accountConfig?.(name) ?? null;
  }

  /** Every account name this node serves: `$G`, the system account and the configured ones. */
  accountNames(): string[] {
    return [DEFAULT_ACCOUNT, this.config.systemAccount, ...this.accountConfigs.keys()];
  }

  private compile(u: UserConfig): Permissions | null {
    let p: PermissionsConfig | null = u.permissions;
    if (p === null) {
      p =
        u.account === DEFAULT_ACCOUNT
          ? this.config.defaultPermissions
          : (this.accountConfigs.get(u.account)?.defaultPermissions ?? null);
    }
    return p === null ? null : new Permissions(p);
  }

  private identity(u: UserConfig, method: AuthMethod): Identity {
    return {
      user: u.user,
      account: this.accounts.getOrCreate(u.account),
      permissions: this.permissions.get(u) ?? null,
      limits: u.limits,
      method,
      expiresAt: 0,
    };
  }

  /** A nameless identity in the global account that may do anything (no auth, or the token). */
  private global(method: AuthMethod): Identity {
    return {
      user: '',
      account: this.accounts.default,
      permissions: null,
      limits: NO_LIMITS,
      method,
      expiresAt: 0,
    };
  }

  /** The limits of an identity's account (the user's own are on the identity). */
  accountLimits(account: Account): LimitsConfig {
    return this.accountConfig(account.name)?.limits ?? NO_LIMITS;
  }

  authenticate(c: Credentials): AuthResult | Promise<AuthResult> {
    if (this.operator !== null) return this.operator.authenticate(c);
    if (c.cert !== null) {
      // A verified certificate (verify_and_map): its names are looked up as users.
      for (const name of certificateNames(c.cert)) {
        const u = this.byName.get(name);
        if (u !== undefined) return { ok: true, identity: this.identity(u, 'certificate') };
      }
      return refuse(
        `no user is mapped to the client certificate ${certificateNames(c.cert)[0] ?? ''}`,
      );
    }
    if (c.nkey !== '') return this.nkey(c);
    if (c.user !== '') return this.password(c);
    if (c.token !== '') return this.token(c);
    const noAuthUser = c.noAuthUser || this.config.noAuthUser;
    if (noAuthUser !== '') {
      const u = this.byName.get(noAuthUser);
      if (u !== undefined) return { ok: true, identity: this.identity(u, 'no_auth_user') };
    }
    if (!this.required) return { ok: true, identity: this.global('none') };
    return refuse('no credentials presented');
  }

  private nkey(c: Credentials): AuthResult {
    const u = this.byNkey.get(c.nkey);
    if (u === undefined) return refuse(`unknown nkey ${c.nkey}`);
    if (c.nonce === '' || c.sig === '') return refuse(`nkey ${c.nkey} sent no signature`);
    // node:crypto's ed25519 (the key checked by nkeys): nkeys' own verify
    // held the event loop about 9 ms per login.
    if (!verifySignature(c.nkey, c.nonce, c.sig)) {
      return refuse(`nkey ${c.nkey}: the signature does not verify`);
    }
    return { ok: true, identity: this.identity(u, 'nkey') };
  }

  private password(c: Credentials): AuthResult | Promise<AuthResult> {
    const u = this.byName.get(c.user);
    // An unknown user costs the same as a wrong password (no user probing by timing).
    const stored = u?.password ?? this.decoy;
    const done = (ok: boolean): AuthResult =>
      ok && u !== undefined
        ? { ok: true, identity: this.identity(u, 'password') }
        : refuse(
            u === undefined ? `unknown user "${c.user}"` : `wrong password for user "${c.user}"`,
          );
    if (u !== undefined && stored === '') return refuse(`user "${c.user}" has no password`);
    return this.check(stored, c.pass, done);
  }

  private token(c: Credentials): AuthResult | Promise<AuthResult> {
    if (this.config.token === '') return refuse('a token was presented, but the node takes none');
    return this.check(this.config.token, c.token, (ok) =>
      ok ? { ok: true, identity: this.global('token') } : refuse('wrong token'),
    );
  }

  /** Compares a presented secret with a stored one (plain or bcrypt). */
  private check(
    stored: string,
    presented: string,
    done: (ok: boolean) => AuthResult,
  ): AuthResult | Promise<AuthResult> {
    if (!isBcrypt(stored)) return done(secretEquals(stored, presented));
    const key = digest(`${stored}\0${presented}`).toString('base64');
    if (this.bcryptOk.has(key)) return done(true);
    return bcryptCompare(presented, stored).then((ok) => {
      if (ok) {
        if (this.bcryptOk.size >= BCRYPT_CACHE_MAX) this.bcryptOk.clear();
        this.bcryptOk.add(key);
      }
      return done(ok);
    });
  }
}
