/**
 * The CONNECT options a client sends, checked and defaulted. Field names are
 * the protocol's (snake_case), as the clients send them; and the
 * credentials a login is given from them.
 */
import type { Credentials } from '../../auth/types.js';

export interface ConnectOptions {
  verbose: boolean;
  pedantic: boolean;
  echo: boolean;
  headers: boolean;
  no_responders: boolean;
  tls_required: boolean;
  name: string;
  lang: string;
  version: string;
  protocol: number;
  user: string;
  pass: string;
  auth_token: string;
  /** An nkey user's public key, and its signature of INFO's nonce (base64url). */
  nkey: string;
  sig: string;
  /** A user JWT (decentralised authentication; `sig` signs the nonce with its key). */
  jwt: string;
}

const BOOLEANS = [
  'verbose',
  'pedantic',
  'echo',
  'headers',
  'no_responders',
  'tls_required',
] as const;
const STRINGS = [
  'name',
  'lang',
  'version',
  'user',
  'pass',
  'auth_token',
  'nkey',
  'sig',
  'jwt',
] as const;

/** The options, or a message saying what is wrong with them. */
export function parseConnect(json: string): ConnectOptions | string {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return 'not valid JSON';
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'not a JSON object';
  const o = raw as Record<string, unknown>;
  // nats-server's defaults for fields a client leaves out: verbose and
  // pedantic are on (every real client sends them, usually as false).
  const out: ConnectOptions = {
    verbose: true,
    pedantic: true,
    echo: true,
    headers: false,
    no_responders: false,
    tls_required: false,
    name: '',
    lang: '',
    version: '',
    protocol: 0,
    user: '',
    pass: '',
    auth_token: '',
    nkey: '',
    sig: '',
    jwt: '',
  };
  for (const k of BOOLEANS) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'boolean') return `"${k}" must be a boolean`;
    out[k] = v;
  }
  for (const k of STRINGS) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return `"${k}" must be a string`;
    out[k] = v;
  }
  if (o.protocol !== undefined && o.protocol !== null) {
    if (typeof o.protocol !== 'number' || !Number.isInteger(o.protocol)) {
      return '"protocol" must be an integer';
    }
    out.protocol = o.protocol;
  }
  return out;
}

/**
 * What a WebSocket connection logs in with beyond its CONNECT: credentials
 * from the upgrade's cookies ('' when the cookie was not sent), and the
 * listener's `no_auth_user` ('' none).
 */
export interface CookieCredentials {
  readonly jwt: string;
  readonly user: string;
  readonly pass: string;
  readonly token: string;
  readonly noAuthUser: string;
}

/** What the connection adds to CONNECT's credentials. */
export interface ConnectionFacts {
  readonly remoteAddress: string;
  /** The challenge sent in INFO ('' when none). */
  readonly nonce: string;
  /** A verified client certificate that names the user (verify_and_map), else null. */
  readonly cert: Credentials['cert'];
  readonly cookies: CookieCredentials | null;
}

/**
 * The credentials of a CONNECT: its own fields win; a cookie of a
 * WebSocket upgrade fills a field left empty (as nats-server does).
 */
export function connectCredentials(parsed: ConnectOptions, f: ConnectionFacts): Credentials {
  const k = f.cookies;
  return {
    face: 'nats',
    remoteAddress: f.remoteAddress,
    user: parsed.user || (k?.user ?? ''),
    pass: parsed.pass || (k?.pass ?? ''),
    token: parsed.auth_token || (k?.token ?? ''),
    nkey: parsed.nkey,
    sig: parsed.sig,
    jwt: parsed.jwt || (k?.jwt ?? ''),
    nonce: f.nonce,
    cert: f.cert,
    ...(k !== null && k.noAuthUser !== '' ? { noAuthUser: k.noAuthUser } : {}),
  };
}
