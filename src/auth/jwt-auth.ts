/**
 * Operator mode: a client proves who it is with a user JWT (CONNECT `jwt`)
 * and the signature of the connection's nonce by the user's nkey (`sig`),
 * both read by the official clients from a `.creds` file. The chain is
 * checked as nats-server checks it:
 *
 *   operator JWT (trusted: from the config)
 *     └─ account JWT, issued by the operator or one of its signing keys
 *          └─ user JWT, issued by the account or one of its signing keys
 *             (then `issuer_account` names the account)
 *
 * A user is refused when a JWT of the chain is malformed, badly signed,
 * expired or not yet valid; when its account is unknown to the resolver;
 * when the account revoked it (`nats.revocations`: user key or `*` →
 * users issued at or before that second); when the nonce signature does not
 * verify (unless it is a bearer token and the account allows those); or
 * when its connection type or source address is not among those allowed.
 *
 * Accounts are named by their public key, as nats-server names them.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Accounts } from '../core/account.js';
import { ConfigError } from '../errors.js';
import type { OperatorAuth } from './authenticator.js';
import {
  type Claims,
  checkTimes,
  decodeJwt,
  expiresAt,
  JwtError,
  type JwtOperatorNats,
  type JwtUserFields,
  type JwtUserNats,
  jwtLimit,
  loadJwtText,
  noPermissions,
  PUBLIC_KEY,
  permissionsOf,
  verifySignature,
} from './jwt.js';
import { AccountResolver, type VerifiedAccount } from './jwt-resolver.js';
import { Permissions } from './permissions.js';
import { covers, tokens } from './subject-rules.js';
import type {
  AccountConfig,
  AuthResult,
  Credentials,
  LimitsConfig,
  OperatorConfig,
} from './types.js';

/** Compiled permissions of user JWTs seen, so reconnects share one decision cache. */
export const USER_JWT_CACHE_MAX = 1024;

/** nats-server's connection types (`allowed_connection_types`) by Weft face name. */
const CONNECTION_TYPE: Record<string, string> = {
  nats: 'STANDARD',
  websocket: 'WEBSOCKET',
  mqtt: 'MQTT',
};

const refuse = (why: string): AuthResult => ({ ok: false, why });

/** The smaller of two limits where 0 means none. */
function tighter(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

function allowedSources(src: JwtUserFields['src']): BlockList | null {
  const list = (typeof src === 'string' ? src.split(',') : (src ?? []))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) return null;
  const bl = new BlockList();
  for (const cidr of list) {
    const [addr, bits] = cidr.split('/');
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
    if (type === null) throw new JwtError(`src ${JSON.stringify(cidr)} is not an address or CIDR`);
    if (bits === undefined) bl.addAddress(addr, type);
    else bl.addSubnet(addr, Number(bits), type);
  }
  return bl;
}

function fromAllowed(bl: BlockList, remote: string): boolean {
  const v4 = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
  if (isIPv4(v4)) return bl.check(v4, 'ipv4');
  return isIPv6(remote) && bl.check(remote, 'ipv6');
}

export class JwtAuthenticator implements OperatorAuth {
  /** Operator keys (identity and signing keys) that may issue accounts. */
  readonly trusted = new Set<string>();
  /** The system account: the config's `system_account`, else the operator JWT's. */
  readonly systemAccount: string;
  readonly resolver: AccountResolver;
  private readonly users = new Map<string, Permissions | null>();
  /** Times the user JWT cache was full and cleared. */
  userCacheResets = 0;

  constructor(
    private readonly config: OperatorConfig,
    private readonly accounts: Accounts,
    systemAccount = '$SYS',
    private readonly now: () => number = Date.now,
  ) {
    let named = '';
    config.jwts.forEach((entry, i) => {
      const key = `operator[${i}]`;
      const text = loadJwtText(key, entry);
      let op: Claims<JwtOperatorNats>;
      try {
        op = decodeJwt<JwtOperatorNats>(text, 'operator');
        if (!PUBLIC_KEY.O.test(op.sub))
          throw new JwtError(`subject ${op.sub} is not an operator key`);
        const keys = op.nats.signing_keys ?? [];
        if (op.iss !== op.sub && !keys.includes(op.iss)) {
          throw new JwtError(`issued by ${op.iss}, neither the operator nor its signing keys`);
        }
        checkTimes('operator', op, this.now());
        // With strict signing key usage the identity key issues no account (as nats-server).
        if (op.nats.strict_signing_key_usage !== true) this.trusted.add(op.sub);
        for (const k of keys) this.trusted.add(k);
      } catch (err) {
        throw new ConfigError(key, (err as Error).message);
      }
      if (named === '' && typeof op.nats.system_account === 'string')
        named = op.nats.system_account;
    });
    this.systemAccount = systemAccount !== '$SYS' || named === '' ? systemAccount : named;
    this.resolver = new AccountResolver(config, this.trusted);
  }

  /** The configuration of an account whose JWT is in memory (null otherwise). */
  accountConfig(name: string): AccountConfig | null {
    return this.resolver.cached(name)?.config ?? null;
  }

  /** Takes over the counters of the authenticator this one replaces (a reload), so they only grow. */
  carryCounters(prev: JwtAuthenticator): void {
    this.resolver.reads += prev.resolver.reads;
    this.resolver.evictions += prev.resolver.evictions;
    this.userCacheResets += prev.userCacheResets;
  }

  /** For the log at start: the trusted keys and where accounts come from. */
  describe(): string {
    const r = this.config.resolver;
    const from =
      r.kind === 'dir'
        ? `account JWTs from ${r.dir}`
        : `${Object.keys(this.config.preload).length} preloaded account JWT(s)`;
    return `trusting operator key(s) ${[...this.trusted].join(', ')}; ${from}; system account ${this.systemAccount}`;
  }

  /**
   * Every account whose JWT is in memory (preloaded or read), as
   * configurations. An import is kept only where its exporter is in memory
   * and exports a covering subject to this account (public, or naming it);
   * the others are left out, as nats-server refuses them.
   */
  knownAccounts(): AccountConfig[] {
    return this.resolver.all().map((a) => {
      const imports = a.config.imports.filter((i) => {
        const from = this.resolver.cached(i.account)?.config;
        const t = tokens(i.subject);
        return (
          from !== undefined &&
          i.account !== a.config.name &&
          from.exports.some(
            (e) =>
              e.kind === i.kind &&
              covers(tokens(e.subject), t) &&
              (e.accounts === null || e.accounts.includes(a.config.name)),
          )
        );
      });
      return imports.length === a.config.imports.length ? a.config : { ...a.config, imports };
    });
  }

  /** Reads the accounts `acc` imports from (a directory resolver), so its imports can be checked; unknown ones are skipped. */
  async loadExporters(acc: VerifiedAccount): Promise<void> {
    await Promise.all(
      acc.config.imports.map(async (i) => {
        try {
          await this.resolver.lookup(i.account);
        } catch {
          // An unknown or refused exporter: the import stays out.
        }
      }),
    );
  }

  /** SIGHUP: account JWTs are read again from the directory; user decisions recompiled. */
  reload(): void {
    this.resolver.reload();
    this.users.clear();
  }

  authenticate(c: Credentials): AuthResult | Promise<AuthResult> {
    if (c.jwt === '') return refuse('operator mode: no user JWT presented');
    let user: Claims<JwtUserNats>;
    let accountKey: string;
    try {
      user = decodeJwt<JwtUserNats>(c.jwt, 'user');
      if (!PUBLIC_KEY.U.test(user.sub)) {
        throw new JwtError(`user JWT subject ${user.sub} is not a user public key`);
      }
      checkTimes(`user ${user.sub}`, user, this.now());
      accountKey = user.nats.issuer_account || user.iss;
      if (!PUBLIC_KEY.A.test(accountKey)) {
        throw new JwtError(`user ${user.sub}: issuer ${accountKey} is not an account key`);
      }
      const acc = this.resolver.lookup(accountKey);
      if (!(acc instanceof Promise)) return this.check(c, user, acc);
      return acc.then(
        (a) => this.check(c, user, a),
        (err) => this.failed(err, user.sub),
      );
    } catch (err) {
      return this.failed(err, '');
    }
  }

  /** Any error while checking a JWT refuses the connection (claims are the client's input). */
  private failed(err: unknown, user: string): AuthResult {
    const text = err instanceof JwtError ? err.message : `invalid JWT claims: ${String(err)}`;
    return refuse(user === '' || text.includes(user) ? text : `user ${user}: ${text}`);
  }

  private check(c: Credentials, user: Claims<JwtUserNats>, acc: VerifiedAccount): AuthResult {
    try {
      return this.checkChain(c, user, acc);
    } catch (err) {
      return this.failed(err, user.sub);
    }
  }

  private checkChain(c: Credentials, user: Claims<JwtUserNats>, acc: VerifiedAccount): AuthResult {
    const u = user.sub;
    const account = acc.claims.sub;
    checkTimes(`account ${account}`, acc.claims, this.now());
    // Issued by the account itself, or by one of its signing keys (scoped or not).
    let scope: JwtUserFields | null = null;
    if (user.iss !== account) {
      const s = acc.signingKeys.get(user.iss);
      if (s === undefined) {
        return refuse(
          `user ${u}: issuer ${user.iss} is neither account ${account} nor one of its signing keys`,
        );
      }
      scope = s;
    }
    if (scope !== null && !noPermissions(user.nats)) {
      return refuse(`user ${u}: issued by a scoped signing key, yet sets its own permissions`);
    }
    const fields = scope ?? user.nats;
    const iat = typeof user.iat === 'number' ? user.iat : 0;
    for (const key of [u, '*']) {
      const at = acc.revocations.get(key);
      if (at !== undefined && iat <= at) {
        return refuse(
          `user ${u}: revoked by account ${account} (issued ${iat}, revoked at or before ${at}${key === '*' ? ', all users' : ''})`,
        );
      }
    }
    if (fields.bearer_token === true) {
      if (acc.disallowBearer)
        return refuse(`user ${u}: bearer tokens are disallowed by account ${account}`);
    } else if (c.nonce === '' || c.sig === '') {
      return refuse(`user ${u}: no signature of the nonce`);
    } else if (!verifySignature(u, c.nonce, c.sig)) {
      return refuse(`user ${u}: bad signature of the nonce (not signed by the user's key)`);
    }
    const types = fields.allowed_connection_types ?? [];
    const type = CONNECTION_TYPE[c.face] ?? c.face.toUpperCase();
    if (types.length > 0 && !types.includes(type)) {
      return refuse(`user ${u}: connection type ${type} is not allowed (${types.join(', ')})`);
    }
    const sources = allowedSources(fields.src);
    if (sources !== null && !fromAllowed(sources, c.remoteAddress)) {
      return refuse(`user ${u}: source address ${c.remoteAddress} is not allowed (src)`);
    }
    if ((fields.times ?? []).length > 0) {
      return refuse(`user ${u}: time-restricted users (times) are not supported by Weft`);
    }
    if (acc.blocked !== null)
      return refuse(`user ${u}: account ${account} is refused: ${acc.blocked}`);
    if (acc.conn === null)
      return refuse(
        `user ${u}: account ${account} allows no connections (limits.conn 0 or absent)`,
      );
    const subs = jwtLimit(fields.subs);
    const payload = jwtLimit(fields.payload);
    if (subs === null || acc.subs === null || payload === null || acc.payload === null) {
      return refuse(
        `user ${u}: a subs or payload limit of 0 (or an account's absent one) is not supported by Weft`,
      );
    }
    const limits: LimitsConfig = {
      maxConnections: 0,
      maxSubscriptions: tighter(subs, acc.subs),
      maxPayload: tighter(payload, acc.payload),
      msgsPerSecond: 0,
      bytesPerSecond: 0,
      rateExceeded: 'slow',
    };
    return {
      ok: true,
      identity: {
        user: u,
        account: this.accounts.getOrCreate(account),
        permissions: this.permissionsOf(c.jwt, user, fields, acc),
        limits,
        method: 'jwt',
        expiresAt: tighter(expiresAt(user), expiresAt(acc.claims)),
      },
    };
  }

  private permissionsOf(
    jwt: string,
    user: Claims<JwtUserNats>,
    fields: JwtUserFields,
    acc: VerifiedAccount,
  ): Permissions | null {
    const key = `${acc.claims.jti ?? acc.claims.sub}\0${jwt}`;
    const hit = this.users.get(key);
    if (hit !== undefined) return hit;
    const config = noPermissions(fields)
      ? acc.config.defaultPermissions
      : permissionsOf(`user ${user.sub}`, fields);
    const perms = config === null ? null : new Permissions(config);
    if (this.users.size >= USER_JWT_CACHE_MAX) {
      this.users.clear();
      this.userCacheResets++;
    }
    this.users.set(key, perms);
    return perms;
  }
}
