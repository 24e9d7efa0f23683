/**
 * nats JWTs (decentralised authentication, nats-server's "operator mode"):
 * decoding, signature checks and the translation of claims into Weft's
 * identity model. A nats JWT is `header.claims.signature`, each part
 * base64url without padding; the header is `{"typ":"JWT","alg":"ed25519-nkey"}`
 * and the signature is ed25519 over the ASCII of `header.claims`, by the
 * nkey named in `iss`. Keys are checked by `@nats-io/nkeys` and signatures
 * by node:crypto; nothing here does its own crypto.
 *
 * Claims carry nats-server's JSON names (`nats.pub.allow`, `nats.limits.conn`,
 * `nats.revocations`, …). Numeric limits use -1 for "no limit".
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { lazyModule } from '../util/lazy-module.js';
import { checkRule } from './subject-rules.js';
import type {
  AccountConfig,
  AccountJetStreamConfig,
  ExportConfig,
  ImportConfig,
  PermissionsConfig,
  SubjectRules,
} from './types.js';

/** Loaded with the first key checked: a node without JWTs does not map it. */
const nkeys = lazyModule<typeof import('@nats-io/nkeys')>('@nats-io/nkeys');

/** One direction of a user's permissions in a JWT. */
export interface JwtPermission {
  allow?: string[] | null;
  deny?: string[] | null;
}

/** The permission and limit fields shared by user claims and scoped signing key templates. */
export interface JwtUserFields {
  pub?: JwtPermission;
  sub?: JwtPermission;
  /** `ttl` is a Go duration: nanoseconds. */
  resp?: { max?: number; ttl?: number } | null;
  subs?: number;
  data?: number;
  payload?: number;
  /** CIDRs the user may connect from. */
  src?: string[] | string | null;
  times?: { start?: string; end?: string }[] | null;
  bearer_token?: boolean;
  allowed_connection_types?: string[] | null;
}

export interface JwtUserNats extends JwtUserFields {
  type?: string;
  version?: number;
  issuer_account?: string;
}

export interface JwtScopedKey {
  kind: string;
  key: string;
  role?: string;
  template?: JwtUserFields;
}

export interface JwtAccountNats {
  type?: string;
  version?: number;
  limits?: Record<string, unknown>;
  signing_keys?: (string | JwtScopedKey)[] | null;
  revocations?: Record<string, number> | null;
  default_permissions?: { pub?: JwtPermission; sub?: JwtPermission } | null;
  exports?: {
    type?: string;
    subject?: string;
    token_req?: boolean;
  }[];
  imports?: {
    type?: string;
    subject?: string;
    account?: string;
    to?: string;
    local_subject?: string;
  }[];
}

export interface JwtOperatorNats {
  type?: string;
  version?: number;
  signing_keys?: string[] | null;
  system_account?: string;
  /** Accounts must be issued by a signing key, not the operator's identity key (`nsc edit operator --require-signing-keys`). */
  strict_signing_key_usage?: boolean;
}

export interface Claims<N> {
  iss: string;
  sub: string;
  iat?: number;
  exp?: number;
  nbf?: number;
  name?: string;
  jti?: string;
  nats: N;
}

/** Why a JWT was refused: the text goes to the log (never to the client). */
export class JwtError extends Error {
  override name = 'JwtError';
}

const PART = /^[A-Za-z0-9_-]+$/;
/** A public nkey: prefix letter, 55 base32 characters. */
export const PUBLIC_KEY = { O: /^O[A-Z2-7]{55}$/, A: /^A[A-Z2-7]{55}$/, U: /^U[A-Z2-7]{55}$/ };

/**
 * Decodes a nats JWT and checks its form and its signature by `iss`.
 * `kind` is the claim type expected (`operator`, `account`, `user`).
 * Times (`exp`, `nbf`) are checked by `checkTimes`, apart, so a caller can
 * name which JWT expired.
 */
export function decodeJwt<N extends { type?: string; version?: number }>(
  jwt: string,
  kind: 'operator' | 'account' | 'user',
): Claims<N> {
  const parts = jwt.trim().split('.');
  if (parts.length !== 3 || !parts.every((p) => PART.test(p))) {
    throw new JwtError(`${kind} JWT is malformed (not three base64url parts)`);
  }
  let header: { typ?: string; alg?: string };
  let claims: Claims<N>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new JwtError(`${kind} JWT is malformed (a part is not JSON)`);
  }
  if (header?.typ?.toUpperCase() !== 'JWT' || header.alg !== 'ed25519-nkey') {
    throw new JwtError(
      `${kind} JWT has header ${JSON.stringify(header)}; only v2 nats JWTs (alg ed25519-nkey) are supported`,
    );
  }
  if (claims === null || typeof claims !== 'object' || typeof claims.nats !== 'object') {
    throw new JwtError(`${kind} JWT has no nats claims`);
  }
  if (claims.nats.type !== kind) {
    throw new JwtError(`${kind} JWT is of type ${JSON.stringify(claims.nats.type)}`);
  }
  if (typeof claims.iss !== 'string' || typeof claims.sub !== 'string') {
    throw new JwtError(`${kind} JWT has no iss or sub`);
  }
  if (!verifySignature(claims.iss, `${parts[0]}.${parts[1]}`, parts[2])) {
    throw new JwtError(`${kind} JWT ${claims.sub}: bad signature (by issuer ${claims.iss})`);
  }
  return claims;
}

/** Public keys ready for verification, by nkey; the map is cleared when full (counted). */
export const VERIFY_KEY_CACHE_MAX = 4096;
const verifyKeys = new Map<string, KeyObject>();
export const verifyKeyStats = { resets: 0 };

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes. */
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (the encoding of nkeys). */
function base32(text: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = BASE32.indexOf(ch);
    if (v < 0) throw new JwtError(`${text} is not base32`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/**
 * The key of a public nkey for node:crypto. `@nats-io/nkeys` checks the
 * nkey (its prefix and checksum) once; the verifications then run in
 * node:crypto (OpenSSL): nkeys' own verify is pure JavaScript and takes
 * about 9 ms of the event loop each, node:crypto's some 0.1 ms.
 */
function verifyKey(nkey: string): KeyObject {
  let k = verifyKeys.get(nkey);
  if (k === undefined) {
    nkeys().fromPublic(nkey);
    // A public nkey is base32 of: 1 prefix byte, the 32 key bytes, 2 checksum bytes.
    const raw = base32(nkey);
    if (raw.length !== 35) throw new JwtError(`${nkey} is not a public nkey`);
    k = createPublicKey({
      key: Buffer.concat([ED25519_SPKI, raw.subarray(1, 33)]),
      format: 'der',
      type: 'spki',
    });
    if (verifyKeys.size >= VERIFY_KEY_CACHE_MAX) {
      verifyKeys.clear();
      verifyKeyStats.resets++;
    }
    verifyKeys.set(nkey, k);
  }
  return k;
}

/** The ed25519 signature `sig` (base64url) of `data` by the public nkey `key`. */
export function verifySignature(key: string, data: string, sig: string): boolean {
  try {
    return cryptoVerify(
      null,
      Buffer.from(data, 'utf8'),
      verifyKey(key),
      Buffer.from(sig, 'base64url'),
    );
  } catch {
    return false;
  }
}

/** Refuses a JWT past its `exp` or before its `nbf` (both in seconds since the epoch). */
export function checkTimes(what: string, c: Claims<unknown>, nowMs: number): void {
  const now = nowMs / 1000;
  if (typeof c.exp === 'number' && c.exp > 0 && now >= c.exp) {
    throw new JwtError(`${what} JWT expired at ${new Date(c.exp * 1000).toISOString()}`);
  }
  if (typeof c.nbf === 'number' && c.nbf > 0 && now < c.nbf) {
    throw new JwtError(`${what} JWT is not valid before ${new Date(c.nbf * 1000).toISOString()}`);
  }
}

/** `exp` in ms since the epoch (0 = never). */
export function expiresAt(c: Claims<unknown>): number {
  return typeof c.exp === 'number' && c.exp > 0 ? c.exp * 1000 : 0;
}

/**
 * An operator entry of the config: an inline JWT, or a file holding one
 * (nsc's `.jwt` file, bare or between `-----BEGIN NATS OPERATOR JWT-----`
 * markers). Returns the JWT text.
 */
export function loadJwtText(key: string, entry: string): string {
  if (looksLikeJwt(entry)) return entry.trim();
  let text: string;
  try {
    text = readFileSync(entry, 'utf8');
  } catch (err) {
    throw new ConfigError(key, `cannot read ${entry}: ${(err as Error).message}`);
  }
  const found = findJwt(text);
  if (found === null) throw new ConfigError(key, `${entry} holds no JWT`);
  return found;
}

function looksLikeJwt(s: string): boolean {
  return /^\s*eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\s*$/.test(s);
}

/** The first JWT in a text (a bare JWT, or one between BEGIN/END markers). */
export function findJwt(text: string): string | null {
  const m = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/.exec(text);
  return m === null ? null : m[0];
}

/**
 * A JWT limit (-1 = none) as Weft's (0 = none); `null` when the JWT allows
 * zero. `absent` is what a missing field means: nats-server reads an
 * account's missing limits as 0 (Go's zero value), so an account JWT
 * without `limits.conn` takes no connections there; a user's missing
 * limits are read as none.
 */
export function jwtLimit(v: unknown, absent: 'none' | 'zero' = 'none'): number | null {
  if (v === undefined || v === null) return absent === 'zero' ? null : 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return 0;
  return v === 0 ? null : Math.floor(v);
}

function rulesOf(what: string, p: JwtPermission | undefined): SubjectRules {
  const check = (list: string[] | null | undefined, side: string): string[] => {
    const out = list ?? [];
    for (const r of out) {
      const bad = typeof r === 'string' ? checkRule(r) : 'not a string';
      if (bad !== null) throw new JwtError(`${what}.${side} ${JSON.stringify(r)}: ${bad}`);
    }
    return out;
  };
  const allow = check(p?.allow, 'allow');
  // As nats-server: an empty allow list means "no allow list" (all allowed).
  return { allow: allow.length === 0 ? null : allow, deny: check(p?.deny, 'deny') };
}

/** True when a user's JWT sets no permission at all (then the account's defaults apply). */
export function noPermissions(u: JwtUserFields): boolean {
  const empty = (p: JwtPermission | undefined) =>
    (p?.allow ?? []).length === 0 && (p?.deny ?? []).length === 0;
  return empty(u.pub) && empty(u.sub) && (u.resp === undefined || u.resp === null);
}

/** A user's `pub`, `sub` and `resp` claims as a PermissionsConfig (null: no restriction). */
export function permissionsOf(
  what: string,
  u: { pub?: JwtPermission; sub?: JwtPermission; resp?: JwtUserFields['resp'] },
): PermissionsConfig | null {
  const publish = rulesOf(`${what}.pub`, u.pub);
  const subscribe = rulesOf(`${what}.sub`, u.sub);
  const resp = u.resp ?? null;
  const allowResponses =
    resp === null
      ? null
      : {
          max: typeof resp.max === 'number' && resp.max > 0 ? resp.max : 1,
          expiresMs:
            typeof resp.ttl === 'number' && resp.ttl > 0 ? Math.ceil(resp.ttl / 1_000_000) : 0,
        };
  if (
    publish.allow === null &&
    publish.deny.length === 0 &&
    subscribe.allow === null &&
    subscribe.deny.length === 0 &&
    allowResponses === null
  ) {
    return null;
  }
  return { publish, subscribe, allowResponses };
}

function jsLimit(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : -1;
}

/** The account's JetStream limits (nats-server: enabled when a storage limit is not 0). */
function jetstreamOf(limits: Record<string, unknown>): AccountJetStreamConfig {
  const tiered = (limits.tiered_limits as Record<string, Record<string, unknown>> | undefined)?.R1;
  const l = tiered ?? limits;
  const mem = l.mem_storage ?? 0;
  const disk = l.disk_storage ?? 0;
  return {
    enabled: mem !== 0 || disk !== 0,
    maxStreams: jsLimit(l.streams),
    maxConsumers: jsLimit(l.consumer),
    maxStore: jsLimit(disk),
    maxMemory: jsLimit(mem),
  };
}

/**
 * An account JWT's claims as an AccountConfig, named by its public key.
 * Exports that require an activation token (`token_req`) are open to no
 * account: Weft does not read activation tokens.
 */
export function accountConfigOf(c: Claims<JwtAccountNats>): AccountConfig {
  const n = c.nats;
  const limits = n.limits ?? {};
  const exports: ExportConfig[] = [];
  for (const e of n.exports ?? []) {
    if ((e.type !== 'stream' && e.type !== 'service') || typeof e.subject !== 'string') continue;
    exports.push({ kind: e.type, subject: e.subject, accounts: e.token_req === true ? [] : null });
  }
  const imports: ImportConfig[] = [];
  for (const i of n.imports ?? []) {
    if ((i.type !== 'stream' && i.type !== 'service') || typeof i.subject !== 'string') continue;
    if (typeof i.account !== 'string') continue;
    // JWT v2: `local_subject` maps the import; a stream's (deprecated) `to` is a prefix.
    let to = i.local_subject ?? '';
    if (to === '' && i.type === 'stream' && typeof i.to === 'string' && i.to !== '') {
      to = `${i.to}.${i.subject}`;
    }
    imports.push({ kind: i.type, account: i.account, subject: i.subject, to });
  }
  const conn = jwtLimit(limits.conn, 'zero');
  return {
    name: c.sub,
    exports,
    imports,
    jetstream: jetstreamOf(limits),
    defaultPermissions:
      n.default_permissions === null || n.default_permissions === undefined
        ? null
        : permissionsOf(`account ${c.sub} default_permissions`, n.default_permissions),
    limits: {
      // conn 0 (no connections) is refused by the authenticator itself.
      maxConnections: conn ?? 0,
      // subs and payload bound each connection: they are on the identity.
      maxSubscriptions: 0,
      maxPayload: 0,
      msgsPerSecond: 0,
      bytesPerSecond: 0,
      rateExceeded: 'slow',
    },
  };
}
