/**
 * SASL for the Kafka face, the pure part: the mechanisms Weft offers, the
 * PLAIN message (RFC 4616) and the server side of SCRAM-SHA-256 /
 * SCRAM-SHA-512 (RFC 5802, RFC 7677). No I/O: the handlers
 * (groups/sasl-handlers.ts) carry tokens between the wire and these, and
 * log in through the node's Security.
 *
 * SCRAM needs, per user, a salt, an iteration count, StoredKey and
 * ServerKey. Weft's users (docs/security.md) have a plain or a bcrypt
 * password; from a plain one the face derives the SCRAM credential itself
 * (a salt fixed per node run and user, 4096 iterations: RFC 7677's minimum
 * and Kafka's default). A bcrypt hash cannot give a SCRAM credential, so
 * such users can use PLAIN only (over TLS); SCRAM for them answers as for
 * a wrong password. An unknown user gets a made-up salt and fails at the
 * proof, like a wrong password, so the exchange does not tell who exists.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export function saslMechanism(name: string): SaslMechanism | null {
  return (SASL_MECHANISMS as readonly string[]).includes(name) ? (name as SaslMechanism) : null;
}

/** RFC 4616: `[authzid] NUL authcid NUL passwd`, UTF-8; null when malformed. */
export function parsePlain(token: Buffer): { authzid: string; user: string; pass: string } | null {
  const a = token.indexOf(0);
  if (a < 0) return null;
  const b = token.indexOf(0, a + 1);
  if (b < 0 || token.indexOf(0, b + 1) >= 0) return null;
  const user = token.subarray(a + 1, b).toString('utf8');
  const pass = token.subarray(b + 1).toString('utf8');
  if (user === '' || pass === '') return null;
  return { authzid: token.subarray(0, a).toString('utf8'), user, pass };
}

export const SCRAM_ITERATIONS = 4096;

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

function hashOf(mech: SaslMechanism): 'sha256' | 'sha512' {
  return mech === 'SCRAM-SHA-512' ? 'sha512' : 'sha256';
}

function hmac(alg: string, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(alg, key).update(data).digest();
}

/** RFC 5802 §3: SaltedPassword, ClientKey, StoredKey, ServerKey from a password. */
export function scramCredential(
  mech: SaslMechanism,
  password: string,
  salt: Buffer,
  iterations = SCRAM_ITERATIONS,
): ScramCredential {
  const alg = hashOf(mech);
  const size = alg === 'sha512' ? 64 : 32;
  // SASLprep is the identity for the ASCII passwords operators write; we apply NFKC as an approximation.
  const salted = pbkdf2Sync(
    Buffer.from(password.normalize('NFKC'), 'utf8'),
    salt,
    iterations,
    size,
    alg,
  );
  const clientKey = hmac(alg, salted, 'Client Key');
  return {
    salt,
    iterations,
    storedKey: createHash(alg).update(clientKey).digest(),
    serverKey: hmac(alg, salted, 'Server Key'),
  };
}

/** `n=` and `a=` values: `=2C` is `,` and `=3D` is `=` (RFC 5802 §5.1). */
function saslName(v: string): string | null {
  if (/=(?!2C|3D)/.test(v)) return null;
  return v.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function attrs(s: string): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const part of s.split(',')) {
    if (part.length < 2 || part[1] !== '=') return null;
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

/** Kafka's message for a failed SASL exchange (SaslAuthenticate's errorMessage). */
export function authFailedMessage(mech: string): string {
  return `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mech}`;
}

export type ScramStep =
  | { readonly ok: true; readonly response: Buffer; readonly user?: string; readonly done: boolean }
  | { readonly ok: false; readonly error: string; readonly user: string };

/**
 * One SCRAM conversation, server side: `step(clientFirst)` answers the
 * server-first message; `step(clientFinal)` checks the proof and answers
 * the server-final message (done, with the user proven). Channel binding
 * is not offered (`n` or `y` GS2 flag only).
 */
export class ScramServer {
  private state: 'first' | 'final' | 'done' = 'first';
  private user = '';
  private nonce = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2 = '';
  private cred: ScramCredential | null = null;
  private known = false;

  constructor(
    readonly mechanism: SaslMechanism,
    /** The user's credential; null when unknown or when it has no plain password. */
    private readonly lookup: (user: string) => ScramCredential | null,
    /** A salt for unknown users (stable per name, so repeated tries look alike). */
    private readonly fakeSalt: (user: string) => Buffer,
    private readonly serverNonce: () => string = () => randomBytes(18).toString('base64'),
  ) {}

  step(token: Buffer): ScramStep {
    const msg = token.toString('utf8');
    if (this.state === 'first') return this.first(msg);
    if (this.state === 'final') return this.final(msg);
    return { ok: false, error: 'SCRAM exchange already complete', user: this.user };
  }

  private first(msg: string): ScramStep {
    // gs2-header: gs2-cbind-flag "," [authzid] "," ; then client-first-message-bare.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(msg);
    if (m === null) return { ok: false, error: 'Invalid SCRAM client first message', user: '' };
    this.gs2 = `${m[1]},${m[2] ?? ''},`;
    this.clientFirstBare = m[3]!;
    const a = attrs(this.clientFirstBare);
    const user = a === null ? null : saslName(a.get('n') ?? '');
    const cnonce = a?.get('r') ?? '';
    if (a === null || a.has('m') || user === null || user === '' || cnonce === '') {
      return { ok: false, error: 'Invalid SCRAM client first message', user: user ?? '' };
    }
    this.user = user;
    const cred = this.lookup(user);
    this.known = cred !== null;
    this.cred =
      cred ?? scramCredential(this.mechanism, randomBytes(16).toString('hex'), this.fakeSalt(user));
    this.nonce = cnonce + this.serverNonce();
    this.serverFirst = `r=${this.nonce},s=${this.cred.salt.toString('base64')},i=${this.cred.iterations}`;
    this.state = 'final';
    return { ok: true, response: Buffer.from(this.serverFirst, 'utf8'), done: false };
  }

  private final(msg: string): ScramStep {
    this.state = 'done';
    const fail = (error: string): ScramStep => ({ ok: false, error, user: this.user });
    const i = msg.lastIndexOf(',p=');
    if (i < 0) return fail('Invalid SCRAM client final message');
    const withoutProof = msg.slice(0, i);
    const a = attrs(msg);
    if (a === null) return fail('Invalid SCRAM client final message');
    if (a.get('c') !== Buffer.from(this.gs2, 'utf8').toString('base64')) {
      return fail('Invalid SCRAM channel binding');
    }
    // Kafka accepts a nonce that ends with ours (ScramSaslServer: endsWith), as
    // librdkafka 2.0 sends its client nonce before the whole server nonce.
    if (!(a.get('r') ?? '').endsWith(this.nonce)) return fail('Invalid SCRAM nonce');
    const proof = Buffer.from(a.get('p') ?? '', 'base64');
    const alg = hashOf(this.mechanism);
    const cred = this.cred!;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(alg, cred.storedKey, authMessage);
    if (proof.length !== clientSignature.length) return fail('Invalid SCRAM proof');
    const clientKey = Buffer.alloc(proof.length);
    for (let k = 0; k < proof.length; k++) clientKey[k] = proof[k]! ^ clientSignature[k]!;
    const stored = createHash(alg).update(clientKey).digest();
    if (!timingSafeEqual(stored, cred.storedKey) || !this.known) return fail('Invalid SCRAM proof');
    const verifier = hmac(alg, cred.serverKey, authMessage).toString('base64');
    return {
      ok: true,
      response: Buffer.from(`v=${verifier}`, 'utf8'),
      user: this.user,
      done: true,
    };
  }
}

/**
 * The node's SCRAM credentials, derived from plain passwords: a salt per
 * (mechanism, user) fixed for this run (HMAC of a random node secret), the
 * PBKDF2 result cached (bounded: `max` entries, cleared when full).
 */
export class ScramCredentials {
  private readonly secret = randomBytes(32);
  private readonly cache = new Map<string, ScramCredential>();
  /** Times the cache was full and cleared. */
  cacheClears = 0;

  constructor(private readonly max = 1024) {}

  salt(mech: SaslMechanism, user: string): Buffer {
    return hmac('sha256', this.secret, `${mech}\0${user}`).subarray(0, 16);
  }

  /** The credential for `user` with plain password `password` (null: a bcrypt hash or none). */
  get(mech: SaslMechanism, user: string, password: string | null): ScramCredential | null {
    if (password === null || password === '' || password.startsWith('$2')) return null;
    const key = `${mech}\0${user}\0${password}`;
    let c = this.cache.get(key);
    if (c === undefined) {
      if (this.cache.size >= this.max) {
        this.cache.clear();
        this.cacheClears++;
      }
      c = scramCredential(mech, password, this.salt(mech, user));
      this.cache.set(key, c);
    }
    return c;
  }
}
