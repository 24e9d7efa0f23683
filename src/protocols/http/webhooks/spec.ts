/**
 * A webhook's definition: what the YAML `webhooks:` list and a
 * `POST /v1/webhooks` body hold, checked here with every error naming its
 * key (`webhooks[2].timeout`, or `timeout` for the API), and filled with
 * the defaults documented in docs/webhooks.md.
 */
import { classifySubject } from '../../../core/subject.js';
import { ConfigError } from '../../../errors.js';

/** A webhook, checked and with its defaults. */
export interface WebhookSpec {
  /** Unique on the node: names its consumer, its metrics and its dead-letter subject. */
  readonly name: string;
  /** Where each message is POSTed (http: or https:). */
  readonly url: string;
  /** The subject filter (wildcards allowed). */
  readonly subject: string;
  /** The stream to deliver from (at-least-once), '' for a core subscription (at-most-once). */
  readonly stream: string;
  /** The account it runs in (`$G` without accounts). */
  readonly account: string;
  /** HMAC-SHA256 key of the `Weft-Signature` header; '' sends no signature. */
  readonly secret: string;
  /** POSTs in flight at once (1 keeps the order). */
  readonly concurrency: number;
  /** One POST's deadline, ms (the answer's headers and its capped body). */
  readonly timeoutMs: number;
  /** First retry delay, ms; the n-th is up to base·2^(n-1), capped at retryMaxMs (full jitter). */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** The longest `Retry-After` honoured, ms. */
  readonly retryAfterMaxMs: number;
  /** Attempts before the dead letter; -1: retry forever. */
  readonly maxDeliver: number;
  /** Where a message that exhausted max_deliver is published. */
  readonly deadLetter: string;
  /** Core webhooks: messages waiting for a free slot, at most (then dropped, counted). */
  readonly queue: number;
  /** Core webhooks: bytes waiting for a free slot, at most. */
  readonly queueBytes: number;
}

export const WEBHOOK_DEFAULTS = Object.freeze({
  concurrency: 1,
  timeoutMs: 10_000,
  retryBaseMs: 1000,
  retryMaxMs: 60_000,
  retryAfterMaxMs: 600_000,
  maxDeliver: 10,
  queue: 1000,
  queueBytes: 8 * 1024 * 1024,
});

/** The most POSTs one webhook may have in flight. */
export const MAX_CONCURRENCY = 256;
/** The longest delay a Node timer takes (~24.8 days). */
const MAX_MS = 2 ** 31 - 1;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The dead-letter subject of a webhook that names none. */
export function defaultDeadLetter(name: string): string {
  return `$WEFT.WEBHOOK.${name}.DEAD`;
}

/** The keys a definition may have (YAML and API). */
const KEYS = new Set([
  'name',
  'url',
  'subject',
  'stream',
  'account',
  'secret',
  'concurrency',
  'timeout',
  'retry_base',
  'retry_max',
  'retry_after_max',
  'max_deliver',
  'dead_letter',
  'queue',
  'queue_bytes',
]);

/** A definition as given: YAML's or JSON's values, before checking. */
export type WebhookInput = Record<string, unknown>;

/**
 * Checks one definition. `at` prefixes the keys in errors (`webhooks[0].`
 * in the config, '' for the API); `account` is used when the input names
 * none (and `allowAccount` false refuses one: the API runs a webhook in
 * its caller's account).
 */
export function parseWebhook(
  input: unknown,
  at: string,
  opts: { account: string; allowAccount: boolean },
): WebhookSpec {
  const key = (k: string): string => `${at}${k}`;
  const fail = (k: string, why: string, v: unknown): never => {
    throw new ConfigError(key(k), `${why}, got ${JSON.stringify(v)}`);
  };
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError(
      at === '' ? 'body' : at.replace(/\.$/, ''),
      'must be a mapping (name, url, subject, …)',
    );
  }
  const r = input as WebhookInput;
  for (const k of Object.keys(r)) {
    if (!KEYS.has(k)) throw new ConfigError(key(k), `unknown key (known: ${[...KEYS].join(', ')})`);
  }
  const str = (k: string, required: boolean): string => {
    const v = r[k];
    if (v === undefined || v === null) {
      if (required) throw new ConfigError(key(k), 'is required');
      return '';
    }
    if (typeof v !== 'string') return fail(k, 'must be a string', v);
    return v;
  };
  const name = str('name', true);
  if (!NAME.test(name)) fail('name', 'must be 1 to 64 letters, digits, - or _', name);
  const url = str('url', true);
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    fail('url', 'must be an http:// or https:// URL', url);
  }
  const subject = str('subject', true);
  if (classifySubject(subject) === 'invalid') fail('subject', 'must be a valid subject', subject);
  const stream = str('stream', false);
  if (stream !== '' && !/^[^\s.*>/\\]{1,255}$/.test(stream)) {
    fail('stream', 'must be a stream name (no spaces, dots, wildcards or slashes)', stream);
  }
  if (!opts.allowAccount && r.account !== undefined) {
    throw new ConfigError(
      key('account'),
      "is not set through the API: a webhook runs in its creator's account",
    );
  }
  const account = str('account', false) || opts.account;
  const secret = str('secret', false);
  const int = (k: string, dflt: number, min: number, max: number): number => {
    const v = r[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      return fail(k, `must be a whole number from ${min} to ${max}`, v);
    }
    return v;
  };
  const ms = (k: string, dflt: number): number => {
    const v = r[k];
    if (v === undefined || v === null) return dflt;
    const n = durationMs(v);
    if (n === null)
      return fail(k, 'must be a duration such as 500ms, 2s or 1m (a number: seconds)', v);
    return n;
  };
  const retryBaseMs = ms('retry_base', WEBHOOK_DEFAULTS.retryBaseMs);
  const retryMaxMs = ms('retry_max', Math.max(WEBHOOK_DEFAULTS.retryMaxMs, retryBaseMs));
  if (retryMaxMs < retryBaseMs)
    fail('retry_max', `must be at least retry_base (${retryBaseMs}ms)`, r.retry_max);
  const maxDeliver = int('max_deliver', WEBHOOK_DEFAULTS.maxDeliver, -1, 1_000_000);
  if (maxDeliver === 0) fail('max_deliver', 'must be -1 (forever) or at least 1', maxDeliver);
  const deadLetter = str('dead_letter', false) || defaultDeadLetter(name);
  if (classifySubject(deadLetter) !== 'literal') {
    fail('dead_letter', 'must be a subject without wildcards', deadLetter);
  }
  return {
    name,
    url,
    subject,
    stream,
    account,
    secret,
    concurrency: int('concurrency', WEBHOOK_DEFAULTS.concurrency, 1, MAX_CONCURRENCY),
    timeoutMs: ms('timeout', WEBHOOK_DEFAULTS.timeoutMs),
    retryBaseMs,
    retryMaxMs,
    retryAfterMaxMs: ms('retry_after_max', WEBHOOK_DEFAULTS.retryAfterMaxMs),
    maxDeliver,
    deadLetter,
    queue: int('queue', WEBHOOK_DEFAULTS.queue, 1, 1_000_000),
    queueBytes: bytes(r.queue_bytes, WEBHOOK_DEFAULTS.queueBytes, (v) =>
      fail('queue_bytes', 'must be a size such as 1048576, 512KB or 8MiB (at least 1KiB)', v),
    ),
  };
}

/** The YAML `webhooks:` list: each entry checked, names unique. */
export function parseWebhookList(key: string, value: unknown): WebhookSpec[] {
  if (!Array.isArray(value)) {
    throw new ConfigError(
      key,
      `must be a list of webhooks (name, url, subject, …), got ${JSON.stringify(value)}`,
    );
  }
  const out: WebhookSpec[] = [];
  const seen = new Set<string>();
  value.forEach((v, i) => {
    const spec = parseWebhook(v, `${key}[${i}].`, { account: '$G', allowAccount: true });
    if (seen.has(spec.name))
      throw new ConfigError(`${key}[${i}].name`, `repeats ${JSON.stringify(spec.name)}`);
    seen.add(spec.name);
    out.push(spec);
  });
  return out;
}

/**
 * The config's webhooks against the rest of the options: each runs in an
 * account the node has (`$G`, a configured account, or any in operator
 * mode, where accounts come from JWTs).
 */
export function checkWebhookAccounts(
  webhooks: readonly WebhookSpec[],
  accounts: readonly { readonly name: string }[],
  operatorMode: boolean,
): void {
  webhooks.forEach((w, i) => {
    if (w.account === '$G' || operatorMode || accounts.some((a) => a.name === w.account)) return;
    throw new ConfigError(
      `webhooks[${i}].account`,
      `names no configured account (known: $G${accounts.map((a) => `, ${a.name}`).join('')}), got ${JSON.stringify(w.account)}`,
    );
  });
}

/** The definition as the API shows and the store keeps it (snake_case, durations in ms). */
export function specRecord(s: WebhookSpec, withSecret: boolean): Record<string, unknown> {
  return {
    name: s.name,
    url: s.url,
    subject: s.subject,
    ...(s.stream === '' ? {} : { stream: s.stream }),
    account: s.account,
    ...(withSecret ? { secret: s.secret } : { signed: s.secret !== '' }),
    concurrency: s.concurrency,
    timeout: `${s.timeoutMs}ms`,
    retry_base: `${s.retryBaseMs}ms`,
    retry_max: `${s.retryMaxMs}ms`,
    retry_after_max: `${s.retryAfterMaxMs}ms`,
    max_deliver: s.maxDeliver,
    dead_letter: s.deadLetter,
    queue: s.queue,
    queue_bytes: s.queueBytes,
  };
}

/** `500ms`, `2s`, `1m30s`, `1h`; a number is seconds. Null when not one, ≤ 0 or too long. */
export function durationMs(v: unknown): number | null {
  let ms: number;
  if (typeof v === 'number') ms = v * 1000;
  else if (typeof v === 'string' && v.trim() !== '') {
    const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
    const text = v.trim();
    ms = 0;
    while (part.lastIndex < text.length) {
      const m = part.exec(text);
      if (m === null) return null;
      ms += Number(m[1]) * units[m[2]!]!;
    }
  } else return null;
  if (!Number.isFinite(ms) || ms < 1 || ms > MAX_MS) return null;
  return Math.round(ms);
}

function bytes(v: unknown, dflt: number, fail: (v: unknown) => never): number {
  if (v === undefined || v === null) return dflt;
  const units: Record<string, number> = {
    '': 1,
    b: 1,
    kb: 1024,
    kib: 1024,
    k: 1024,
    mb: 1024 ** 2,
    mib: 1024 ** 2,
    m: 1024 ** 2,
  };
  let n: number | null = null;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
    const unit = m === null ? undefined : units[m[2]!.toLowerCase()];
    if (m !== null && unit !== undefined) n = Math.round(Number(m[1]) * unit);
  }
  if (n === null || !Number.isSafeInteger(n) || n < 1024) return fail(v);
  return n;
}
