/**
 * Configuration: one table of settings (settings-table.ts) drives the YAML
 * and nats-server config files, the `weft server` flags and their help
 * text. A value is checked by the setting's kind, and an error names the
 * key (`http_port` in a file, `--http-port` on the command line). Flags
 * override the file.
 *
 * Sizes accept a byte count or a unit (`64KB`, `1MiB`, `1M`); durations a
 * unit (`500ms`, `2s`, `1m`) or, in the file, a number of seconds as
 * nats-server's config does.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { checkSecurity, parseSecurity, SECURITY_KEYS } from '../auth/config.js';
import { isCookieName } from '../connection/cookies.js';
import { parseTlsBlock } from '../connection/tls.js';
import { originOf } from '../connection/websocket-origin.js';
import { ConfigError } from '../errors.js';
import { parseLinkUrl } from '../mesh/dialer.js';
import { checkMeshSettings } from '../mesh/settings.js';
import { checkWebhookAccounts, parseWebhookList } from '../protocols/http/webhooks/spec.js';
import { lazyModule } from '../util/lazy-module.js';
import { checkFaceSettings } from './face-settings.js';
import { loadNatsConfFile, natsConfTextToDocument } from './natsconf-map.js';
import type { LogLevel, ServerOptions } from './options.js';
import {
  MAX_CONTROL_LINE_LIMIT,
  MAX_PAYLOAD_LIMIT,
  MAX_WORKERS,
  MIN_CONTROL_LINE,
  negatedFlag,
  SETTINGS,
  type Setting,
} from './settings-table.js';

export {
  MAX_CONTROL_LINE_LIMIT,
  MAX_PAYLOAD_LIMIT,
  MIN_CONTROL_LINE,
  negatedFlag,
  SETTINGS,
  type Setting,
} from './settings-table.js';

/** The YAML parser, loaded with the first config file read (a node without one does not map it). */
const yaml = lazyModule<typeof import('yaml')>('yaml');
const parseYaml = (text: string): unknown => yaml().parse(text);

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};
/** The longest delay a Node timer takes (~24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];

/**
 * Checks one value for `setting`. `fromFile` allows YAML numbers where the
 * command line has strings (a bare number of seconds for a duration).
 */
export function convert(setting: Setting, key: string, value: unknown, fromFile: boolean): unknown {
  const fail = (why: string): never => {
    throw new ConfigError(key, `${why}, got ${JSON.stringify(value)}`);
  };
  switch (setting.kind) {
    case 'string':
      if (typeof value === 'string' && value !== '') return value;
      if (typeof value === 'number' && setting.option === 'name') return String(value);
      return fail('must be a non-empty string');
    case 'port': {
      const n = integer(value);
      const min = setting.min ?? 0;
      if (n === null || n < min || n > 65535)
        return fail(`must be a port number from ${min} to 65535`);
      return n;
    }
    case 'count': {
      const n = integer(value);
      if (setting.min !== undefined || setting.max !== undefined) {
        const min = setting.min ?? 0;
        const max = setting.max ?? Number.MAX_SAFE_INTEGER;
        if (n === null || n < min || n > max) {
          return fail(`must be a whole number from ${min} to ${max}`);
        }
        return n;
      }
      if (n === null || n < 0) return fail('must be a whole number, 0 or more');
      return n;
    }
    case 'size': {
      const sizeInRange = (n: number): number => {
        if (!Number.isSafeInteger(n) || n <= 0) return fail('must be a positive number of bytes');
        if (setting.min !== undefined && n < setting.min) {
          return fail(`must be at least ${setting.min} bytes`);
        }
        if (setting.max !== undefined && n > setting.max) {
          return fail(`must be at most ${setting.max} bytes`);
        }
        return n;
      };
      if (typeof value === 'number') return sizeInRange(value);
      const m =
        typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value) : null;
      const unit = m === null ? undefined : SIZE_UNITS[m[2].toLowerCase()];
      if (m === null || unit === undefined)
        return fail('must be a size such as 1048576, 512KB or 1MiB');
      return sizeInRange(Math.round(Number(m[1]) * unit));
    }
    case 'duration': {
      if (typeof value === 'number' && fromFile) {
        if (!Number.isFinite(value) || value <= 0)
          return fail('must be a positive number of seconds');
        if (value * 1000 > MAX_DURATION_MS) return fail('must be at most 24 days');
        return Math.round(value * 1000);
      }
      const text = typeof value === 'string' ? value.trim() : '';
      const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
      let ms = 0;
      if (text === '') return fail('must be a duration such as 500ms, 2s or 1m');
      while (part.lastIndex < text.length) {
        const m = part.exec(text);
        if (m === null) return fail('must be a duration such as 500ms, 2s or 1m');
        ms += Number(m[1]) * DURATION_UNITS[m[2]];
      }
      if (ms <= 0) return fail('must be longer than 0');
      if (ms > MAX_DURATION_MS) return fail('must be at most 24 days');
      return Math.round(ms);
    }
    case 'sync': {
      // 'always' (0): fsync before every ack; else an interval, as nats-server's sync_interval.
      if (value === 'always') return 0;
      if (typeof value !== 'string' && !(typeof value === 'number' && fromFile)) {
        return fail('must be always or a duration such as 100ms or 2m');
      }
      return convert({ ...setting, kind: 'duration' }, key, value, fromFile);
    }
    case 'links': {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === 'string' && v !== '')) {
        return fail('must be a list of weft://host:port URLs');
      }
      for (const text of list) parseLinkUrl(text, key);
      return list;
    }
    case 'boolean':
      // YAML's true/false; on the command line, the flag (or its --no- form) alone.
      if (typeof value === 'boolean') return value;
      return fail('must be true or false');
    case 'secret':
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      return fail('must be a string');
    case 'tls':
      if (!fromFile) return fail('is set in the config file, as a block');
      return parseTlsBlock(key, value);
    case 'origins': {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
        return fail('must be a list of origins such as https://app.example.com');
      }
      return list.map(
        (v: string) => originOf(v) ?? fail(`${JSON.stringify(v)} is not an http(s) origin`),
      );
    }
    case 'cors_origins': {
      // A list in the file; one comma-separated string on the command line.
      const list = typeof value === 'string' ? value.split(',').map((v) => v.trim()) : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
        return fail('must be a list of origins such as https://app.example.com, or *');
      }
      return list.map((v: string) =>
        v === '*' ? v : (originOf(v) ?? fail(`${JSON.stringify(v)} is not an http(s) origin or *`)),
      );
    }
    case 'webhooks':
      if (!fromFile) return fail('is set in the config file, as a list');
      return parseWebhookList(key, value);
    case 'loglevel':
      if (typeof value === 'string' && (LOG_LEVELS as string[]).includes(value)) return value;
      return fail(`must be one of ${LOG_LEVELS.join(', ')}`);
  }
}

function integer(value: unknown): number | null {
  const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : null;
}

/** Parses YAML text into options; `source` names the file in errors. */
export function parseConfigText(text: string, source = 'config'): Partial<ServerOptions> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(source, `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return optionsFromDocument(doc, source);
}

/**
 * Options from a config document (the YAML file's mapping, or a
 * nats-server file's keys mapped to Weft's by natsConfToDocument).
 */
export function optionsFromDocument(doc: unknown, source = 'config'): Partial<ServerOptions> {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(source, 'must be a mapping of settings (key: value)');
  }
  const out: Partial<ServerOptions> = {};
  // The security blocks (nats-server's names) are read as a whole: their
  // parts refer to each other (users to accounts, imports to exports).
  const rest: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
  const securityDoc: Record<string, unknown> = {};
  for (const k of SECURITY_KEYS) {
    if (k in rest) {
      securityDoc[k] = rest[k];
      delete rest[k];
    }
  }
  if (Object.keys(securityDoc).length > 0) {
    const { security, authTimeoutMs } = parseSecurity(securityDoc);
    out.security = security;
    if (authTimeoutMs !== undefined) out.authTimeoutMs = authTimeoutMs;
  }
  for (const [key, value] of flatten(rest)) {
    const setting = SETTINGS.find((s) => s.file === key);
    if (setting === undefined) {
      const known = [...SETTINGS.map((s) => s.file), ...SECURITY_KEYS].join(', ');
      throw new ConfigError(key, `unknown setting in ${source} (known: ${known})`);
    }
    (out as Record<string, unknown>)[setting.option] = convert(setting, key, value, true);
  }
  return out;
}

/** Sections (`mesh: {port: 1}`) become dotted keys (`mesh.port`). */
function flatten(doc: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(doc)) {
    const section = SETTINGS.some((s) => s.file.startsWith(`${key}.`));
    if (section && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [sub, v] of Object.entries(value as Record<string, unknown>))
        out.push([`${key}.${sub}`, v]);
    } else out.push([key, value]);
  }
  return out;
}

/** Whether `key` is a top-level key of Weft's config document: a setting or a section (`mesh`). */
export function isDocumentKey(key: string): boolean {
  return SETTINGS.some((s) => s.file === key || s.file.startsWith(`${key}.`));
}

/**
 * Reads a config file. By its extension: `.conf` is nats-server's format
 * (src/config/natsconf-map.ts), `.yaml`, `.yml` and `.json` are YAML. Any
 * other name is YAML when the text is a YAML mapping of Weft's keys only,
 * else nats-server's format.
 */
export function loadConfigFile(path: string): Partial<ServerOptions> {
  const ext = extname(path).toLowerCase();
  if (ext === '.conf') return optionsFromDocument(loadNatsConfFile(path), path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.message;
    throw new ConfigError('--config', `cannot read ${path}: ${why}`);
  }
  if (ext === '.yaml' || ext === '.yml' || ext === '.json' || isWeftYaml(text)) {
    return parseConfigText(text, path);
  }
  return optionsFromDocument(natsConfTextToDocument(text, path), path);
}

/** Whether `text` is YAML that maps Weft's keys (or is empty). */
function isWeftYaml(text: string): boolean {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return false;
  }
  if (doc === null || doc === undefined) return true;
  if (typeof doc !== 'object' || Array.isArray(doc)) return false;
  return Object.keys(doc).every(isDocumentKey);
}

/** Options from flag values (strings), as parsed by node:util parseArgs. */
export function optionsFromFlags(values: Record<string, unknown>): Partial<ServerOptions> {
  const out: Partial<ServerOptions> = {};
  for (const s of SETTINGS) {
    if (s.fileOnly) continue;
    let v = values[s.flag];
    if (s.kind === 'boolean' && values[negatedFlag(s)] === true) {
      if (v !== undefined) {
        throw new ConfigError(`--${s.flag}`, `contradicts --${negatedFlag(s)}, got both`);
      }
      v = false;
    }
    if (v === undefined) continue;
    (out as Record<string, unknown>)[s.option] = convert(s, `--${s.flag}`, v, false);
  }
  return out;
}

/**
 * Checks a whole set of options, whatever their source (file, flags, the
 * embedding API): ranges, and the rules between settings. Throws a
 * ConfigError naming the setting by its file key.
 */
export function validateOptions(o: ServerOptions): void {
  const bad = (key: string, why: string, value: unknown): never => {
    throw new ConfigError(key, `${why}, got ${JSON.stringify(value)}`);
  };
  const int = (key: string, v: number, min: number, max: number, why: string): void => {
    if (!Number.isSafeInteger(v) || v < min || v > max) bad(key, why, v);
  };
  int('port', o.port, 0, 65535, 'must be a port number from 0 to 65535');
  int('workers', o.workers, 1, MAX_WORKERS, `must be a whole number from 1 to ${MAX_WORKERS}`);
  int('http_port', o.httpPort, -1, 65535, 'must be a port number from -1 to 65535');
  int('https_port', o.httpsPort, -1, 65535, 'must be a port number from -1 to 65535');
  if (o.httpsPort >= 0 && o.tls === null) {
    bad('https_port', 'needs the tls block (its cert_file and key_file serve HTTPS)', o.httpsPort);
  }
  if (typeof o.monitorToken !== 'string') bad('monitor_token', 'must be a string', o.monitorToken);
  int(
    'max_payload',
    o.maxPayload,
    1,
    MAX_PAYLOAD_LIMIT,
    `must be from 1 byte to ${MAX_PAYLOAD_LIMIT} bytes (64MiB)`,
  );
  int(
    'max_control_line',
    o.maxControlLine,
    MIN_CONTROL_LINE,
    MAX_CONTROL_LINE_LIMIT,
    `must be from ${MIN_CONTROL_LINE} bytes to 1MiB`,
  );
  int(
    'max_pending',
    o.maxPending,
    1,
    Number.MAX_SAFE_INTEGER,
    'must be a positive number of bytes',
  );
  if (o.maxPayload > o.maxPending) {
    bad(
      'max_payload',
      `must not exceed max_pending (${o.maxPending}): a client could never receive such a message`,
      o.maxPayload,
    );
  }
  int(
    'max_pending_total',
    o.maxPendingTotal,
    1,
    Number.MAX_SAFE_INTEGER,
    'must be a positive number of bytes',
  );
  if (o.maxPayload > o.maxPendingTotal) {
    bad(
      'max_payload',
      `must not exceed max_pending_total (${o.maxPendingTotal}): a client could never receive such a message`,
      o.maxPayload,
    );
  }
  int(
    'max_connections',
    o.maxConnections,
    0,
    Number.MAX_SAFE_INTEGER,
    'must be a whole number, 0 or more',
  );
  int(
    'max_subscriptions',
    o.maxSubscriptions,
    0,
    Number.MAX_SAFE_INTEGER,
    'must be a whole number, 0 or more',
  );
  int('ping_max', o.maxPingsOut, 0, Number.MAX_SAFE_INTEGER, 'must be a whole number, 0 or more');
  for (const [key, v] of [
    ['auth_timeout', o.authTimeoutMs],
    ['ping_interval', o.pingIntervalMs],
    ['shutdown_grace', o.shutdownGraceMs],
    ['write_deadline', o.writeDeadlineMs],
  ] as const) {
    int(key, v, 1, MAX_DURATION_MS, 'must be from 1ms to 24 days (in ms)');
  }
  if (!(LOG_LEVELS as string[]).includes(o.logLevel))
    bad('log_level', `must be one of ${LOG_LEVELS.join(', ')}`, o.logLevel);
  if (typeof o.host !== 'string' || o.host === '')
    bad('host', 'must be a non-empty string', o.host);
  if (typeof o.httpHost !== 'string') bad('http_host', 'must be a string', o.httpHost);
  if (typeof o.dataDir !== 'string' || o.dataDir === '')
    bad('data_dir', 'must be a non-empty string', o.dataDir);
  if (typeof o.jetstream !== 'boolean') bad('jetstream', 'must be true or false', o.jetstream);
  if (!Number.isSafeInteger(o.syncIntervalMs) || o.syncIntervalMs < 0) {
    bad('sync_interval', 'must be 0 (always) or a positive number of ms', o.syncIntervalMs);
  }
  if (o.meshPort !== null)
    int('mesh.port', o.meshPort, -1, 65535, 'must be a port number from -1 to 65535');
  int(
    'mesh.handshake_timeout',
    o.meshHandshakeTimeoutMs,
    1,
    MAX_DURATION_MS,
    'must be from 1ms to 24 days (in ms)',
  );
  checkMeshSettings(o);
  checkWebSocketSettings(o);
  checkFaceSettings(o, bad, int);
  checkSecurity(o.security);
  checkWebhookAccounts(o.webhooks, o.security.accounts, o.security.operator !== null);
}

/** The `websocket` section's values, whatever their source. */
function checkWebSocketSettings(o: ServerOptions): void {
  const bad = (key: string, why: string, value: unknown): never => {
    throw new ConfigError(key, `${why}, got ${JSON.stringify(value)}`);
  };
  const p = o.websocketPort;
  if (!Number.isSafeInteger(p) || p < -1 || p > 65535) {
    bad('websocket.port', 'must be a port number from -1 to 65535', p);
  }
  if (typeof o.websocketHost !== 'string')
    bad('websocket.host', 'must be a string', o.websocketHost);
  if (typeof o.websocketCompression !== 'boolean') {
    bad('websocket.compression', 'must be true or false', o.websocketCompression);
  }
  const t = o.websocketHandshakeTimeoutMs;
  if (!Number.isSafeInteger(t) || t < 1 || t > MAX_DURATION_MS) {
    bad('websocket.handshake_timeout', 'must be from 1ms to 24 days (in ms)', t);
  }
  const m = o.websocketMaxMessage;
  if (!Number.isSafeInteger(m) || (m !== 0 && m < 1024)) {
    bad('websocket.max_message', 'must be at least 1024 bytes (0: max_payload + 64KiB)', m);
  }
  if (!Array.isArray(o.websocketAllowedOrigins)) {
    bad('websocket.allowed_origins', 'must be a list of origins', o.websocketAllowedOrigins);
  }
  const cookies: [string, string][] = [
    ['websocket.jwt_cookie', o.websocketJwtCookie],
    ['websocket.user_cookie', o.websocketUserCookie],
    ['websocket.pass_cookie', o.websocketPassCookie],
    ['websocket.token_cookie', o.websocketTokenCookie],
    ['http.token_cookie', o.httpTokenCookie],
  ];
  for (const [key, name] of cookies) {
    if (typeof name !== 'string' || (name !== '' && !isCookieName(name))) {
      bad(key, "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)", name);
    }
  }
  const nau = o.websocketNoAuthUser;
  if (typeof nau !== 'string') bad('websocket.no_auth_user', 'must be a string', nau);
  if (nau !== '') {
    // As nats-server: a user with a password from authorization or accounts, not in operator mode.
    const u = o.security.users.find((x) => x.user === nau);
    if (o.security.operator !== null || u === undefined || u.nkey !== '') {
      bad(
        'websocket.no_auth_user',
        'must name a user with a password defined in authorization or accounts',
        nau,
      );
    }
  }
  // As nats-server: a user JWT means something only in operator mode.
  if (o.websocketJwtCookie !== '' && o.security.operator === null) {
    bad(
      'websocket.jwt_cookie',
      'needs operator mode (operator and resolver) to check the JWT',
      o.websocketJwtCookie,
    );
  }
  for (const v of o.websocketAllowedOrigins) {
    if (typeof v !== 'string' || originOf(v) === null) {
      bad(
        'websocket.allowed_origins',
        'must list http(s) origins such as https://app.example.com',
        v,
      );
    }
  }
}
