/**
 * Where account JWTs come from in operator mode (nats-server's `resolver`):
 * - `memory` (nats-server's `resolver: MEMORY`): only the accounts of
 *   `resolver_preload`, checked at start;
 * - `dir` (nats-server's `resolver: { type: full, dir }`): `<dir>/<account
 *   public key>.jwt`, read when a user of that account first connects, and
 *   again after `reload()` (SIGHUP). `resolver_preload` is consulted first.
 *
 * Every account JWT is checked once when read (form, signature, issued by a
 * trusted operator or one of its signing keys, subject = the key asked for)
 * and kept as a VerifiedAccount. Directory accounts are cached, at most
 * ACCOUNT_JWT_CACHE_MAX of them; past that the least recently used one is
 * dropped (counted in `evictions`) and read again when next needed.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import {
  accountConfigOf,
  type Claims,
  decodeJwt,
  findJwt,
  type JwtAccountNats,
  JwtError,
  type JwtUserFields,
  jwtLimit,
  PUBLIC_KEY,
} from './jwt.js';
import type { AccountConfig, OperatorConfig } from './types.js';

/** Directory-resolver account JWTs kept in memory (nats-server's cache resolver `limit` default). */
export const ACCOUNT_JWT_CACHE_MAX = 1000;

/** An account JWT that was checked, with what authentication needs from it. */
export interface VerifiedAccount {
  readonly claims: Claims<JwtAccountNats>;
  readonly config: AccountConfig;
  /** Signing keys: null for a plain key, the user template for a scoped one. */
  readonly signingKeys: ReadonlyMap<string, JwtUserFields | null>;
  /** User public key (or `*`) → revoked when issued at or before these seconds. */
  readonly revocations: ReadonlyMap<string, number>;
  /** Per connection (nats-server applies the account's subs and payload to each client); null: zero allowed. */
  readonly subs: number | null;
  readonly payload: number | null;
  /** null: the account allows no connections (`conn: 0`). */
  readonly conn: number | null;
  readonly disallowBearer: boolean;
  /** Why its users are refused though the JWT is valid (more imports or exports than its limits allow), or null. */
  readonly blocked: string | null;
}

/** nats-server refuses the users of an account with more exports or imports than its limits (missing: 0). */
function tooMany(n: JwtAccountNats, limits: Record<string, unknown>): string | null {
  for (const kind of ['exports', 'imports'] as const) {
    const have = (n[kind] ?? []).length;
    const max = typeof limits[kind] === 'number' ? (limits[kind] as number) : 0;
    if (max >= 0 && have > max)
      return `it has ${have} ${kind}, more than its limits.${kind} ${max}`;
  }
  return null;
}

/** Checks an account JWT against the trusted operator keys. */
export function verifyAccount(
  jwt: string,
  pubkey: string,
  trusted: ReadonlySet<string>,
): VerifiedAccount {
  const claims = decodeJwt<JwtAccountNats>(jwt, 'account');
  if (claims.sub !== pubkey) {
    throw new JwtError(`the JWT stored for account ${pubkey} is for ${claims.sub}`);
  }
  if (!PUBLIC_KEY.A.test(claims.sub)) {
    throw new JwtError(`account JWT subject ${claims.sub} is not an account public key`);
  }
  if (!trusted.has(claims.iss)) {
    throw new JwtError(
      `account ${pubkey}: untrusted issuer ${claims.iss} (not a trusted operator key)`,
    );
  }
  const n = claims.nats;
  const signingKeys = new Map<string, JwtUserFields | null>();
  for (const k of n.signing_keys ?? []) {
    if (typeof k === 'string') signingKeys.set(k, null);
    else if (k !== null && typeof k === 'object' && typeof k.key === 'string') {
      if (k.kind !== 'user_scope') {
        throw new JwtError(
          `account ${pubkey}: signing key kind ${JSON.stringify(k.kind)} is not supported`,
        );
      }
      signingKeys.set(k.key, k.template ?? {});
    }
  }
  const revocations = new Map<string, number>();
  for (const [key, at] of Object.entries(n.revocations ?? {})) {
    if (typeof at === 'number') revocations.set(key, at);
  }
  const limits = n.limits ?? {};
  return {
    claims,
    config: accountConfigOf(claims),
    signingKeys,
    revocations,
    subs: jwtLimit(limits.subs, 'zero'),
    payload: jwtLimit(limits.payload, 'zero'),
    conn: jwtLimit(limits.conn, 'zero'),
    blocked: tooMany(n, limits),
    disallowBearer: limits.disallow_bearer === true,
  };
}

export class AccountResolver {
  private readonly preloaded = new Map<string, VerifiedAccount>();
  /** Directory accounts, least recently used first. */
  private readonly cache = new Map<string, VerifiedAccount>();
  private readonly reading = new Map<string, Promise<VerifiedAccount>>();
  /** Accounts dropped from the cache because it was full. */
  evictions = 0;
  /** Account JWT files read. */
  reads = 0;
  /** Told of each account read from the directory, before its users are admitted (JetStream starts there). */
  onRead: ((account: VerifiedAccount) => Promise<void>) | null = null;

  constructor(
    private readonly config: OperatorConfig,
    private readonly trusted: ReadonlySet<string>,
    readonly cacheMax = config.resolver.kind === 'dir'
      ? (config.resolver.limit ?? ACCOUNT_JWT_CACHE_MAX)
      : ACCOUNT_JWT_CACHE_MAX,
  ) {
    for (const [key, jwt] of Object.entries(config.preload)) {
      try {
        this.preloaded.set(key, verifyAccount(jwt, key, trusted));
      } catch (err) {
        throw new ConfigError(`resolver_preload.${key}`, (err as Error).message);
      }
    }
  }

  /** A known account, without reading anything (null when not in memory). */
  cached(pubkey: string): VerifiedAccount | null {
    return this.preloaded.get(pubkey) ?? this.cache.get(pubkey) ?? null;
  }

  /** The account `pubkey`, checked; throws JwtError when it is unknown or its JWT is refused. */
  lookup(pubkey: string): VerifiedAccount | Promise<VerifiedAccount> {
    const pre = this.preloaded.get(pubkey);
    if (pre !== undefined) return pre;
    const r = this.config.resolver;
    if (r.kind === 'memory') {
      throw new JwtError(`unknown account ${pubkey} (not in resolver_preload)`);
    }
    const hit = this.cache.get(pubkey);
    if (hit !== undefined) {
      this.cache.delete(pubkey);
      this.cache.set(pubkey, hit);
      return hit;
    }
    if (!PUBLIC_KEY.A.test(pubkey)) throw new JwtError(`${pubkey} is not an account public key`);
    let pending = this.reading.get(pubkey);
    if (pending === undefined) {
      pending = this.read(r.dir, pubkey).finally(() => this.reading.delete(pubkey));
      this.reading.set(pubkey, pending);
    }
    return pending;
  }

  private async read(dir: string, pubkey: string): Promise<VerifiedAccount> {
    const file = path.join(dir, `${pubkey}.jwt`);
    let text: string;
    try {
      this.reads++;
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new JwtError(
        code === 'ENOENT'
          ? `unknown account ${pubkey} (no ${file})`
          : `account ${pubkey}: cannot read ${file}: ${(err as Error).message}`,
      );
    }
    const jwt = findJwt(text);
    if (jwt === null) throw new JwtError(`account ${pubkey}: ${file} holds no JWT`);
    const acc = verifyAccount(jwt, pubkey, this.trusted);
    if (this.cache.size >= this.cacheMax) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
      this.evictions++;
    }
    this.cache.set(pubkey, acc);
    await this.onRead?.(acc);
    return acc;
  }

  /** Every account in memory: preloaded, then cached. */
  all(): VerifiedAccount[] {
    return [...this.preloaded.values(), ...this.cache.values()];
  }

  /** Forgets the directory accounts: each is read again when next needed (SIGHUP). */
  reload(): void {
    this.cache.clear();
  }
}
