/**
 * A nats-server configuration file as Weft's config document: nats-server's
 * keys (src/config/natsconf.ts reads the format) renamed to Weft's, the
 * security blocks passed on under nats-server's own names, and every key
 * Weft does not support named in one error, so an operator sees them all
 * at once. The file means what it means to nats-server: without `http`,
 * `http_port` or `monitor_port` there is no monitoring port, without
 * `jetstream` no JetStream; port -1 is any free port, client port 0 is
 * 4222 and monitoring port 0 is none.
 *
 * Keys are matched in any case, as nats-server does. Weft's own settings
 * (`log_level`, `mesh { … }`, …) may be written in such a file too. An
 * unknown key that a `$variable` used is a variable, not a setting, and is
 * skipped as nats-server skips it (src/auth should do the same in the blocks
 * it reads: natsconf.ts's usedAsVariable).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { convert, isDocumentKey, SETTINGS } from './config.js';
import { parseNatsConf, usedAsVariable } from './natsconf.js';

/** nats-server keys that are Weft settings of the same name and meaning. */
export const NATS_SAME_KEYS: readonly string[] = [
  'host',
  'port',
  'http_port',
  'max_payload',
  'max_pending',
  'max_control_line',
  'max_connections',
  'max_subscriptions',
  'ping_interval',
  'ping_max',
  'write_deadline',
];

/** nats-server keys (and aliases) that are Weft settings of another name. */
export const NATS_RENAMED_KEYS: Readonly<Record<string, string>> = {
  net: 'host',
  monitor_port: 'http_port',
  server_name: 'name',
  max_conn: 'max_connections',
  max_subs: 'max_subscriptions',
  store_dir: 'data_dir',
  storedir: 'data_dir',
};

/**
 * The security blocks, passed on unchanged under nats-server's own names
 * (src/auth reads them), with nats-server's aliases for them.
 */
export const NATS_SECURITY_KEYS: Readonly<Record<string, string>> = {
  authorization: 'authorization',
  accounts: 'accounts',
  tls: 'tls',
  system_account: 'system_account',
  system: 'system_account',
  no_auth_user: 'no_auth_user',
  operator: 'operator',
  operators: 'operator',
  root: 'operator',
  roots: 'operator',
  root_operator: 'operator',
  root_operators: 'operator',
  resolver: 'resolver',
  account_resolver: 'resolver',
  accounts_resolver: 'resolver',
  resolver_preload: 'resolver_preload',
};

/**
 * A block without the keys that only define variables for its values
 * (`authorization { ADMIN = {...}; users = [{permissions: $ADMIN}] }`): as
 * nats-server, they are not settings. Recurses into blocks and lists.
 */
function withoutVariables(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutVariables);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (usedAsVariable(value, k)) continue;
    Object.defineProperty(out, k, {
      value: withoutVariables(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * Maps a parsed nats-server configuration to Weft's config document (what
 * optionsFromDocument reads). Throws one ConfigError naming every key Weft
 * does not support (`cluster`, `jetstream.max_memory_store`, …); else the
 * first bad value, named by its nats-server key.
 */
export function natsConfToDocument(
  conf: Record<string, unknown>,
  source: string,
): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  /** Weft key → the nats-server key that set it. */
  const setBy = new Map<string, string>();
  const unsupported: string[] = [];
  let firstError: ConfigError | null = null;
  let httpHost: { host: string; from: string } | null = null;

  const put = (key: string, value: unknown, from: string): void => {
    const prev = setBy.get(key);
    if (prev !== undefined && JSON.stringify(doc[key]) !== JSON.stringify(value)) {
      throw new ConfigError(
        from,
        `sets ${key} to ${JSON.stringify(value)}, but ${prev} sets it to ${JSON.stringify(doc[key])}`,
      );
    }
    setBy.set(key, from);
    Object.defineProperty(doc, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  };

  for (const [from, value] of Object.entries(conf)) {
    const key = from.toLowerCase();
    try {
      if (key === 'listen' || key === 'http') {
        const hp = hostPort(value, from, key === 'listen' ? 'port' : 'http_port');
        if (key === 'listen') {
          if (hp.host !== '') put('host', hp.host, from);
          put('port', hp.port, from);
        } else {
          if (hp.host !== '') httpHost = { host: hp.host, from };
          put('http_port', hp.port, from);
        }
      } else if (key === 'debug' || key === 'trace' || key === 'trace_verbose') {
        if (typeof value !== 'boolean') throw mustBe(from, 'true or false', value);
        if (value) put('log_level', 'debug', from);
      } else if (key === 'jetstream') {
        jetstream(value, from, put, unsupported);
      } else if (key === 'mqtt') {
        mqtt(value, from, put, unsupported);
      } else if (key === 'websocket' || key === 'ws') {
        websocket(value, from, put, unsupported);
      } else if (NATS_SECURITY_KEYS[key] !== undefined) {
        put(NATS_SECURITY_KEYS[key]!, withoutVariables(value), from);
      } else if (NATS_RENAMED_KEYS[key] !== undefined || NATS_SAME_KEYS.includes(key)) {
        const weft = NATS_RENAMED_KEYS[key] ?? key;
        put(weft, checked(weft, from, value), from);
      } else if (isDocumentKey(key)) {
        put(key, value, from);
      } else if (!usedAsVariable(conf, from)) {
        unsupported.push(from);
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      firstError ??= err;
    }
  }

  // `http: host:port`: monitoring on that host (Weft's http_host).
  if (httpHost !== null) put('http_host', httpHost.host, httpHost.from);
  if (unsupported.length > 0) {
    const what = unsupported.length === 1 ? 'a setting' : `${unsupported.length} settings`;
    throw new ConfigError(
      source,
      `${what} Weft does not support: ${unsupported.join(', ')}. ` +
        `Remove ${unsupported.length === 1 ? 'it' : 'them'} to run this file with Weft ` +
        '(the README lists the nats-server keys Weft reads)',
    );
  }
  if (firstError !== null) throw firstError;
  // nats-server's defaults, where Weft's differ.
  if (!setBy.has('http_port')) put('http_port', -1, 'default');
  if (!setBy.has('jetstream')) put('jetstream', false, 'default');
  return doc;
}

/** nats-server's `jetstream`: true/false, enabled/disabled, or a block (which enables it unless `enabled: false`). */
function jetstream(
  value: unknown,
  from: string,
  put: (key: string, value: unknown, from: string) => void,
  unsupported: string[],
): void {
  const word = typeof value === 'string' ? value.toLowerCase() : '';
  let enabled: boolean;
  if (typeof value === 'boolean') enabled = value;
  else if (word === 'enabled' || word === 'enable') enabled = true;
  else if (word === 'disabled' || word === 'disable') enabled = false;
  else if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw mustBe(from, 'true, false, enabled, disabled or a block', value);
  } else {
    enabled = true;
    for (const [k, v] of Object.entries(value)) {
      const key = k.toLowerCase();
      const at = `${from}.${k}`;
      if (key === 'store' || key === 'store_dir' || key === 'storedir') {
        put('data_dir', checked('data_dir', at, v), at);
      } else if (key === 'enabled' || key === 'enable') {
        if (typeof v !== 'boolean') throw mustBe(at, 'true or false', v);
        enabled = v;
      } else if (key === 'sync_interval') {
        put('sync_interval', checked('sync_interval', at, v), at);
      } else if (!usedAsVariable(value, k)) {
        unsupported.push(at);
      }
    }
  }
  put('jetstream', enabled, from);
}

/**
 * nats-server's `mqtt { port, host, listen, tls {…} }` block: port -1 is any
 * free port (Weft's 0); `max_ack_pending` is the in-flight window. Its other
 * keys (ack_wait, stream replicas, …) are named as unsupported.
 */
function mqtt(
  value: unknown,
  from: string,
  put: (key: string, value: unknown, from: string) => void,
  unsupported: string[],
): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw mustBe(from, 'a block such as mqtt { port: 1883 }', value);
  }
  const block: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = k.toLowerCase();
    const at = `${from}.${k}`;
    if (key === 'port' && typeof v === 'number') block.port = v === -1 ? 0 : v;
    else if (key === 'host' || key === 'net') block.host = v;
    else if (key === 'listen') {
      const hp = typeof v === 'string' ? /^(.*):(-?\d+)$/.exec(v) : null;
      if (hp === null) throw mustBe(at, 'host:port (such as 0.0.0.0:1883)', v);
      if (hp[1] !== '') block.host = hp[1];
      block.port = Number(hp[2]) === -1 ? 0 : Number(hp[2]);
    } else if (key === 'tls') block.tls = withoutVariables(v);
    else if (key === 'max_ack_pending') block.max_inflight = v;
    else if (!usedAsVariable(value, k)) unsupported.push(at);
  }
  put('mqtt', block, from);
}

/** The websocket block's login keys read as they are (nats-server 2.9 has jwt_cookie and no_auth_user; later versions the other cookies). */
const COOKIE_KEYS = new Set([
  'jwt_cookie',
  'user_cookie',
  'pass_cookie',
  'token_cookie',
  'no_auth_user',
]);

/**
 * nats-server's `websocket { port, host, listen, tls {…}, no_tls,
 * allowed_origins, compression, handshake_timeout, jwt_cookie,
 * user_cookie, pass_cookie, token_cookie, no_auth_user }` block (alias
 * `ws`): port -1 is any free port (Weft's 0), 0 none; as nats-server, TLS
 * is required unless `no_tls: true`. Its other keys (same_origin,
 * advertise, its own authorization block, …) are named as unsupported.
 */
function websocket(
  value: unknown,
  from: string,
  put: (key: string, value: unknown, from: string) => void,
  unsupported: string[],
): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw mustBe(from, 'a block such as websocket { port: 8080, no_tls: true }', value);
  }
  const block: Record<string, unknown> = {};
  let noTls = false;
  const port = (at: string, n: unknown): number => {
    if (typeof n !== 'number' || !Number.isInteger(n)) throw mustBe(at, 'a port number', n);
    return n === -1 ? 0 : n === 0 ? -1 : n;
  };
  for (const [k, v] of Object.entries(value)) {
    const key = k.toLowerCase();
    const at = `${from}.${k}`;
    if (key === 'port') block.port = port(at, v);
    else if (key === 'host' || key === 'net') block.host = v;
    else if (key === 'listen') {
      const hp = typeof v === 'string' ? /^(.*):(-?\d+)$/.exec(v) : null;
      if (hp === null) throw mustBe(at, 'host:port (such as 0.0.0.0:8080)', v);
      if (hp[1] !== '') block.host = hp[1];
      block.port = port(at, Number(hp[2]));
    } else if (key === 'tls') block.tls = withoutVariables(v);
    else if (key === 'no_tls') {
      if (typeof v !== 'boolean') throw mustBe(at, 'true or false', v);
      noTls = v;
    } else if (key === 'allowed_origins') block.allowed_origins = v;
    else if (key === 'compression') block.compression = v;
    else if (key === 'handshake_timeout') block.handshake_timeout = v;
    else if (COOKIE_KEYS.has(key)) block[key] = v;
    else if (!usedAsVariable(value, k)) unsupported.push(at);
  }
  const on = typeof block.port === 'number' && block.port >= 0;
  if (on && block.tls === undefined && !noTls) {
    throw new ConfigError(from, 'needs a tls block, or no_tls: true for plain ws (as nats-server)');
  }
  if (block.tls !== undefined && noTls) {
    throw new ConfigError(`${from}.no_tls`, 'contradicts its tls block: set one of them');
  }
  put('websocket', block, from);
}

/** nats-server's default client port, which its port 0 means. */
const CLIENT_PORT_DEFAULT = 4222;

/**
 * A port as nats-server reads it, in Weft's terms: -1 is any free port
 * (Weft's 0); 0 is the default for the client port (4222) and no
 * monitoring for the monitoring port (Weft's -1).
 */
function natsPort(weft: 'port' | 'http_port', n: number): number {
  if (n === -1) return 0;
  if (n === 0) return weft === 'port' ? CLIENT_PORT_DEFAULT : -1;
  return n;
}

/** `listen` and `http`: a port, or `host:port` (`[::1]:4222`). */
function hostPort(
  value: unknown,
  from: string,
  weft: 'port' | 'http_port',
): { host: string; port: number } {
  let host = '';
  let port: unknown = value;
  if (typeof value === 'string') {
    const m = /^\[([^\]]*)\]:([-+]?\d+)$/.exec(value) ?? /^([^:[\]]*):([-+]?\d+)$/.exec(value);
    if (m === null) throw mustBe(from, 'a port or host:port (such as 0.0.0.0:4222)', value);
    host = m[1]!;
    port = Number(m[2]);
  }
  if (typeof port !== 'number' || !Number.isInteger(port)) {
    throw mustBe(from, 'a port or host:port (such as 0.0.0.0:4222)', value);
  }
  return { host, port: checked(weft, from, port) as number };
}

/**
 * Checks a value with Weft's converter for `weft`, naming the key as the
 * file wrote it; returns it unchanged (ports in Weft's terms).
 */
function checked(weft: string, from: string, value: unknown): unknown {
  const setting = SETTINGS.find((s) => s.file === weft);
  const v =
    (weft === 'port' || weft === 'http_port') && typeof value === 'number'
      ? natsPort(weft, value)
      : value;
  if (setting !== undefined) convert(setting, from, v, true);
  return v;
}

function mustBe(key: string, what: string, value: unknown): ConfigError {
  return new ConfigError(key, `must be ${what}, got ${JSON.stringify(value)}`);
}

/** Reads a nats-server configuration file and its includes into Weft's config document. */
export function loadNatsConfFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${path}: ${readError(err)}`);
  }
  return natsConfTextToDocument(text, path);
}

/** A nats-server configuration's text (read from `path`) into Weft's config document; includes are read from disk. */
export function natsConfTextToDocument(
  text: string,
  path: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, unknown> {
  const conf = parseNatsConf(text, {
    source: path,
    env,
    readInclude: (file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(readError(err));
      }
    },
  });
  return natsConfToDocument(conf, path);
}

function readError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code === 'ENOENT' ? 'no such file' : e.message;
}
