/**
 * The security blocks of the config (YAML or nats-server's format, with
 * nats-server's key names): `authorization`, `accounts`, `system_account`,
 * `no_auth_user`, `operator`, `resolver`, `resolver_preload`. Read into one
 * SecurityConfig, checked as a whole at start; every error names its key
 * (`accounts.B.imports[0].stream.account`) and the CLI exits with 2.
 */

import { DEFAULT_ACCOUNT } from '../core/account.js';
import { mappingError } from '../core/subject-mapping.js';
import { ConfigError } from '../errors.js';
import { RESPONSE_EXPIRES_DEFAULT_MS } from './permissions.js';
import { checkRule, covers, tokens } from './subject-rules.js';
import {
  type AccountConfig,
  type AccountJetStreamConfig,
  type ExportConfig,
  type ImportConfig,
  type LimitsConfig,
  NO_LIMITS,
  NO_SECURITY,
  type OperatorConfig,
  type PermissionsConfig,
  type SecurityConfig,
  type SubjectRules,
  type UserConfig,
} from './types.js';

/** The top-level keys read here. */
export const SECURITY_KEYS = [
  'authorization',
  'accounts',
  'system_account',
  'no_auth_user',
  'operator',
  'resolver',
  'resolver_preload',
] as const;

/** What the security blocks set beyond SecurityConfig (`authorization.timeout`). */
export interface SecurityDocument {
  security: SecurityConfig;
  authTimeoutMs?: number;
}

type Doc = Record<string, unknown>;

function fail(key: string, why: string, value?: unknown): never {
  const got = value === undefined ? '' : `, got ${JSON.stringify(value)}`;
  throw new ConfigError(key, `${why}${got}`);
}

function block(key: string, v: unknown): Doc {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(key, 'must be a block', v);
  return v as Doc;
}

function only(key: string, d: Doc, allowed: readonly string[]): void {
  const extra = Object.keys(d).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    fail(
      `${key}.${extra[0]}`,
      `not supported here (${key} takes ${allowed.join(', ')}); unsupported: ${extra.join(', ')}`,
    );
  }
}

function str(key: string, v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string' || v === '') fail(key, 'must be a non-empty string', v);
  return v as string;
}

function list(key: string, v: unknown): unknown[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) fail(key, 'must be a list', v);
  return v as unknown[];
}

function count(key: string, v: unknown, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    fail(key, `must be a whole number, ${min} or more`, v);
  }
  return v as number;
}

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?\s*$/i;
const SIZE_UNIT: Record<string, number> = {
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** A byte size (`1GB`, `512MiB`, a number); -1 allowed where `unlimited` is. */
function size(key: string, v: unknown, unlimited = false): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && (v >= 0 || (unlimited && v === -1))) {
    return v;
  }
  const m = typeof v === 'string' ? SIZE.exec(v) : null;
  if (m === null) fail(key, 'must be a size such as 1048576, 512KB or 1GB', v);
  const unit = SIZE_UNIT[(m![2] ?? 'b')[0].toLowerCase()];
  return Math.round(Number(m![1]) * unit);
}

function durationMs(key: string, v: unknown): number {
  if (typeof v === 'number' && v >= 0) return Math.round(v * 1000);
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(v) : null;
  if (m === null) fail(key, 'must be a duration such as 500ms, 2s or 1m', v);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m![2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m![1]) * unit);
}

function subjects(key: string, v: unknown): string[] {
  const out: string[] = [];
  list(key, v).forEach((s, i) => {
    const k = `${key}[${i}]`;
    const text = str(k, s);
    const bad = checkRule(text);
    if (bad !== null) fail(k, `${bad}`, s);
    out.push(text);
  });
  return out;
}

/** `publish: "a.>"`, `publish: [..]` (an allow list) or `publish: {allow, deny}`. */
function rules(key: string, v: unknown): SubjectRules {
  if (typeof v === 'string' || Array.isArray(v)) return { allow: subjects(key, v), deny: [] };
  const d = block(key, v);
  only(key, d, ['allow', 'deny']);
  return {
    allow: d.allow === undefined ? null : subjects(`${key}.allow`, d.allow),
    deny: d.deny === undefined ? [] : subjects(`${key}.deny`, d.deny),
  };
}

const OPEN: SubjectRules = { allow: null, deny: [] };

export function parsePermissions(key: string, v: unknown): PermissionsConfig {
  const d = block(key, v);
  only(key, d, ['publish', 'subscribe', 'allow_responses']);
  let allowResponses: PermissionsConfig['allowResponses'] = null;
  const r = d.allow_responses;
  // As nats-server: max 0 (or unset) is 1 reply, expires 0 (or unset) is
  // RESPONSE_EXPIRES_DEFAULT_MS; a grant never outlives it.
  if (r === true) allowResponses = { max: 1, expiresMs: RESPONSE_EXPIRES_DEFAULT_MS };
  else if (r !== undefined && r !== false) {
    const rb = block(`${key}.allow_responses`, r);
    only(`${key}.allow_responses`, rb, ['max', 'expires']);
    allowResponses = {
      max: (rb.max === undefined ? 0 : count(`${key}.allow_responses.max`, rb.max)) || 1,
      expiresMs:
        (rb.expires === undefined ? 0 : durationMs(`${key}.allow_responses.expires`, rb.expires)) ||
        RESPONSE_EXPIRES_DEFAULT_MS,
    };
  }
  return {
    publish: d.publish === undefined ? OPEN : rules(`${key}.publish`, d.publish),
    subscribe: d.subscribe === undefined ? OPEN : rules(`${key}.subscribe`, d.subscribe),
    allowResponses,
  };
}

/** Weft's `limits` block (nats-server has none in its config file; JWT accounts carry limits). */
export function parseLimits(key: string, v: unknown): LimitsConfig {
  if (v === undefined) return NO_LIMITS;
  const d = block(key, v);
  only(key, d, [
    'max_connections',
    'max_subscriptions',
    'max_payload',
    'msgs_per_second',
    'bytes_per_second',
    'rate_exceeded',
  ]);
  const rate = d.rate_exceeded ?? 'slow';
  if (rate !== 'slow' && rate !== 'drop')
    fail(`${key}.rate_exceeded`, 'must be slow or drop', rate);
  return {
    maxConnections:
      d.max_connections === undefined ? 0 : count(`${key}.max_connections`, d.max_connections),
    maxSubscriptions:
      d.max_subscriptions === undefined
        ? 0
        : count(`${key}.max_subscriptions`, d.max_subscriptions),
    maxPayload: d.max_payload === undefined ? 0 : size(`${key}.max_payload`, d.max_payload),
    msgsPerSecond:
      d.msgs_per_second === undefined ? 0 : count(`${key}.msgs_per_second`, d.msgs_per_second),
    bytesPerSecond:
      d.bytes_per_second === undefined ? 0 : size(`${key}.bytes_per_second`, d.bytes_per_second),
    rateExceeded: rate as 'slow' | 'drop',
  };
}

function parseUser(key: string, v: unknown, account: string): UserConfig {
  const d = block(key, v);
  only(key, d, ['user', 'password', 'pass', 'nkey', 'permissions', 'limits']);
  const nkey = d.nkey === undefined ? '' : str(`${key}.nkey`, d.nkey);
  if (nkey !== '') {
    if (!/^U[A-Z2-7]{55}$/.test(nkey))
      fail(`${key}.nkey`, 'must be a user public nkey (U…, 56 characters)', nkey);
    if (d.user !== undefined || d.password !== undefined || d.pass !== undefined) {
      fail(key, 'an nkey user has no user or password');
    }
  } else if (d.user === undefined) fail(`${key}.user`, 'is required (or nkey)');
  const password = d.password ?? d.pass;
  return {
    user: nkey !== '' ? nkey : str(`${key}.user`, d.user),
    password: password === undefined ? '' : str(`${key}.password`, password),
    nkey,
    account,
    permissions:
      d.permissions === undefined ? null : parsePermissions(`${key}.permissions`, d.permissions),
    limits: parseLimits(`${key}.limits`, d.limits),
  };
}

function parseUsers(key: string, v: unknown, account: string): UserConfig[] {
  return list(key, v).map((u, i) => parseUser(`${key}[${i}]`, u, account));
}

function parseExport(key: string, v: unknown): ExportConfig {
  const d = block(key, v);
  only(key, d, ['stream', 'service', 'accounts', 'response_type']);
  const kind = d.stream !== undefined ? 'stream' : d.service !== undefined ? 'service' : null;
  if (kind === null || (d.stream !== undefined && d.service !== undefined)) {
    fail(key, 'must have exactly one of stream or service');
  }
  const subject = subjects(`${key}.${kind}`, d[kind!])[0];
  if (d.response_type !== undefined && d.response_type !== 'singleton') {
    fail(`${key}.response_type`, 'only singleton responses are supported', d.response_type);
  }
  return {
    kind: kind!,
    subject,
    accounts:
      d.accounts === undefined
        ? null
        : list(`${key}.accounts`, d.accounts).map((a, i) => str(`${key}.accounts[${i}]`, a)),
  };
}

function parseImport(key: string, v: unknown): ImportConfig {
  const d = block(key, v);
  only(key, d, ['stream', 'service', 'prefix', 'to']);
  const kind = d.stream !== undefined ? 'stream' : d.service !== undefined ? 'service' : null;
  if (kind === null || (d.stream !== undefined && d.service !== undefined)) {
    fail(key, 'must have exactly one of stream or service');
  }
  const src = block(`${key}.${kind}`, d[kind!]);
  only(`${key}.${kind}`, src, ['account', 'subject']);
  const subject = subjects(`${key}.${kind}.subject`, src.subject)[0];
  let to = d.to === undefined ? '' : subjects(`${key}.to`, d.to)[0];
  if (d.prefix !== undefined) {
    if (kind !== 'stream') fail(`${key}.prefix`, 'is for stream imports (use to: for a service)');
    if (d.to !== undefined) fail(`${key}.prefix`, 'and to: cannot both be set');
    to = `${subjects(`${key}.prefix`, d.prefix)[0]}.${subject}`;
  }
  // nats-server's mapping rule (src/core/subject-mapping.ts): a stream maps the
  // exported subject to `to`, a service its local `to` to the exported subject.
  const bad = kind === 'stream' ? mappingError(subject, to) : mappingError(to || subject, subject);
  if (bad !== null) fail(`${key}.to`, `cannot map: ${bad}`, to);
  return { kind: kind!, account: str(`${key}.${kind}.account`, src.account), subject, to };
}

const JS_OFF: AccountJetStreamConfig = {
  enabled: false,
  maxStreams: -1,
  maxConsumers: -1,
  maxStore: -1,
  maxMemory: -1,
};

function parseAccountJetStream(key: string, v: unknown): AccountJetStreamConfig {
  if (v === undefined || v === false || v === 'disabled') return JS_OFF;
  if (v === true || v === 'enabled') return { ...JS_OFF, enabled: true };
  const d = block(key, v);
  only(key, d, ['max_mem', 'max_memory', 'max_file', 'max_store', 'max_streams', 'max_consumers']);
  const mem = d.max_mem ?? d.max_memory;
  const file = d.max_file ?? d.max_store;
  const limit = (k: string, x: unknown): number =>
    x === undefined ? -1 : x === -1 ? -1 : count(`${key}.${k}`, x, 0);
  return {
    enabled: true,
    maxStreams: limit('max_streams', d.max_streams),
    maxConsumers: limit('max_consumers', d.max_consumers),
    maxStore: file === undefined ? -1 : size(`${key}.max_file`, file, true),
    maxMemory: mem === undefined ? -1 : size(`${key}.max_mem`, mem, true),
  };
}

/** Also a directory name (`<data_dir>/streams/<account>`): no path separators or NUL. */
const ACCOUNT_NAME = /^[^\s.*>/\\\0]+$/;

function parseAccount(
  key: string,
  name: string,
  v: unknown,
): { account: AccountConfig; users: UserConfig[] } {
  if (!ACCOUNT_NAME.test(name)) {
    fail(key, 'an account name has no spaces, dots, wildcards or slashes', name);
  }
  const d = v === null || v === undefined ? {} : block(key, v);
  only(key, d, ['users', 'exports', 'imports', 'jetstream', 'default_permissions', 'limits']);
  return {
    account: {
      name,
      exports:
        d.exports === undefined
          ? []
          : list(`${key}.exports`, d.exports).map((e, i) => parseExport(`${key}.exports[${i}]`, e)),
      imports:
        d.imports === undefined
          ? []
          : list(`${key}.imports`, d.imports).map((e, i) => parseImport(`${key}.imports[${i}]`, e)),
      jetstream: parseAccountJetStream(`${key}.jetstream`, d.jetstream),
      defaultPermissions:
        d.default_permissions === undefined
          ? null
          : parsePermissions(`${key}.default_permissions`, d.default_permissions),
      limits: parseLimits(`${key}.limits`, d.limits),
    },
    users: d.users === undefined ? [] : parseUsers(`${key}.users`, d.users, name),
  };
}

function parseOperator(doc: Doc): OperatorConfig | null {
  if (doc.operator === undefined) {
    for (const k of ['resolver', 'resolver_preload']) {
      if (doc[k] !== undefined) fail(k, 'needs operator (decentralised JWT authentication)');
    }
    return null;
  }
  const jwts = list('operator', doc.operator).map((j, i) => str(`operator[${i}]`, j));
  let resolver: OperatorConfig['resolver'] = { kind: 'memory' };
  const r = doc.resolver;
  if (r !== undefined && r !== 'MEMORY' && r !== 'memory') {
    if (typeof r === 'string') {
      fail('resolver', 'must be MEMORY or { type: full, dir }; URL resolvers are not supported', r);
    }
    const d = block('resolver', r);
    // nats-server's allow_delete, interval and timeout govern $SYS pushes and
    // server-to-server sync, which Weft does not do: accepted, no effect.
    only('resolver', d, ['type', 'dir', 'limit', 'allow_delete', 'interval', 'timeout']);
    if (d.type !== 'full' && d.type !== 'cache' && d.type !== 'dir') {
      fail(
        'resolver.type',
        'must be full (a directory of account JWTs); URL resolvers are not supported',
        d.type,
      );
    }
    resolver = {
      kind: 'dir',
      dir: str('resolver.dir', d.dir),
      ...(d.limit === undefined ? {} : { limit: count('resolver.limit', d.limit, 1) }),
    };
  }
  const preload: Record<string, string> = {};
  if (doc.resolver_preload !== undefined) {
    for (const [k, j] of Object.entries(block('resolver_preload', doc.resolver_preload))) {
      if (!/^A[A-Z2-7]{55}$/.test(k))
        fail(`resolver_preload.${k}`, 'must be keyed by an account public key (A…)');
      preload[k] = str(`resolver_preload.${k}`, j);
    }
  }
  return { jwts, resolver, preload };
}

/** Reads the security keys of a config document (other keys are ignored here). */
export function parseSecurity(doc: Doc): SecurityDocument {
  if (SECURITY_KEYS.every((k) => doc[k] === undefined)) return { security: NO_SECURITY };
  const users: UserConfig[] = [];
  const accounts: AccountConfig[] = [];
  let token = '';
  let defaultPermissions: PermissionsConfig | null = null;
  let authTimeoutMs: number | undefined;
  if (doc.authorization !== undefined) {
    const key = 'authorization';
    const a = block(key, doc.authorization);
    only(key, a, [
      'token',
      'user',
      'password',
      'pass',
      'users',
      'permissions',
      'default_permissions',
      'timeout',
    ]);
    if (a.token !== undefined) token = str(`${key}.token`, a.token);
    if (a.user !== undefined)
      users.push(
        parseUser(
          key,
          { user: a.user, password: a.password ?? a.pass, permissions: a.permissions },
          DEFAULT_ACCOUNT,
        ),
      );
    else if (a.permissions !== undefined)
      fail(`${key}.permissions`, 'is for the single user (user/password); users set their own');
    if (a.users !== undefined) users.push(...parseUsers(`${key}.users`, a.users, DEFAULT_ACCOUNT));
    if (a.default_permissions !== undefined)
      defaultPermissions = parsePermissions(`${key}.default_permissions`, a.default_permissions);
    if (token !== '' && users.length > 0)
      fail(`${key}.token`, 'cannot be combined with users (as nats-server)');
    if (a.user !== undefined && a.users !== undefined)
      fail(`${key}.user`, 'cannot be combined with users (as nats-server)');
    if (a.timeout !== undefined) authTimeoutMs = durationMs(`${key}.timeout`, a.timeout);
  }
  if (doc.accounts !== undefined) {
    for (const [name, v] of Object.entries(block('accounts', doc.accounts))) {
      const parsed = parseAccount(`accounts.${name}`, name, v);
      accounts.push(parsed.account);
      users.push(...parsed.users);
    }
  }
  const operator = parseOperator(doc);
  if (operator !== null && (users.length > 0 || token !== '' || accounts.length > 0)) {
    fail(
      'operator',
      'cannot be combined with authorization or accounts (JWT accounts come from the resolver)',
    );
  }
  const systemAccount =
    doc.system_account === undefined ? '$SYS' : str('system_account', doc.system_account);
  const noAuthUser = doc.no_auth_user === undefined ? '' : str('no_auth_user', doc.no_auth_user);
  const security: SecurityConfig = {
    token,
    users,
    accounts,
    defaultPermissions,
    systemAccount,
    noAuthUser,
    operator,
  };
  checkSecurity(security);
  return { security, authTimeoutMs };
}

/** The rules between the parts: unique names, imports that match exports, known accounts. */
export function checkSecurity(s: SecurityConfig): void {
  const seen = new Set<string>();
  for (const u of s.users) {
    if (seen.has(u.user)) fail('users', `user "${u.user}" is defined twice`);
    seen.add(u.user);
  }
  const byName = new Map(s.accounts.map((a) => [a.name, a]));
  if (byName.size !== s.accounts.length) fail('accounts', 'an account is defined twice');
  if (byName.has(DEFAULT_ACCOUNT))
    fail(
      `accounts.${DEFAULT_ACCOUNT}`,
      'is the global account, implicit: define users in authorization',
    );
  if (s.noAuthUser !== '') {
    const u = s.users.find((x) => x.user === s.noAuthUser);
    if (u === undefined || u.nkey !== '')
      fail(
        'no_auth_user',
        'must name a user with a password defined in authorization or accounts',
        s.noAuthUser,
      );
  }
  if (s.systemAccount !== '$SYS' && s.operator === null && !byName.has(s.systemAccount)) {
    fail('system_account', 'must name an account defined in accounts', s.systemAccount);
  }
  s.accounts.forEach((a) => {
    a.imports.forEach((imp, i) => {
      const key = `accounts.${a.name}.imports[${i}]`;
      const from = byName.get(imp.account);
      if (from === undefined)
        fail(`${key}.${imp.kind}.account`, 'names no account defined in accounts', imp.account);
      if (imp.account === a.name)
        fail(`${key}.${imp.kind}.account`, 'an account cannot import from itself');
      const t = tokens(imp.subject);
      const ok = from!.exports.some(
        (e) =>
          e.kind === imp.kind &&
          covers(tokens(e.subject), t) &&
          (e.accounts === null || e.accounts.includes(a.name)),
      );
      if (!ok) {
        fail(
          key,
          `account ${imp.account} exports no ${imp.kind} covering "${imp.subject}" to ${a.name}`,
        );
      }
    });
    a.exports.forEach((e, i) => {
      for (const n of e.accounts ?? []) {
        if (!byName.has(n))
          fail(
            `accounts.${a.name}.exports[${i}].accounts`,
            'names no account defined in accounts',
            n,
          );
      }
    });
  });
}
