/**
 * A stream's configuration in JetStream's JSON shape (field names, defaults
 * and units as nats-server 2.9: ages and windows in nanoseconds, -1 for "no
 * limit"), and its validation. Errors are the ones nats-server returns for
 * the same mistakes.
 */
import { classifySubject } from '../core/subject.js';
import { byteLength, MAX_DESCRIPTION_BYTES, NameErr, streamNameError } from './names.js';
import { JsErr, type StreamApiError } from './stream-errors.js';

export type Retention = 'limits' | 'interest' | 'workqueue';
export type Discard = 'old' | 'new';
export type Storage = 'file' | 'memory';

export interface StreamConfig {
  name: string;
  description?: string;
  subjects: string[];
  retention: Retention;
  max_consumers: number;
  max_msgs: number;
  max_bytes: number;
  /** Nanoseconds; 0 means no limit. */
  max_age: number;
  max_msgs_per_subject: number;
  max_msg_size: number;
  discard: Discard;
  storage: Storage;
  num_replicas: number;
  /** Nanoseconds. */
  duplicate_window: number;
  /** Serve `$JS.API.DIRECT.GET.<stream>[.<subject>]` (src/jetstream/direct.ts). */
  allow_direct: boolean;
  mirror_direct: boolean;
  /** With discard new: refuse a message on a subject at max_msgs_per_subject (present only when true). */
  discard_new_per_subject?: boolean;
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  /** Fed from one other stream, keeping its sequence numbers. */
  mirror?: StreamSource;
  /** Fed from other streams, with this stream's own sequence numbers. */
  sources?: StreamSource[];
  /**
   * Weft: where its consumers publish the messages they give up on (max
   * deliver, +TERM), unless a consumer names its own (or '' for none).
   */
  dead_letter_subject?: string;
}

/** Where a mirror or a source reads from: another stream of the account, anywhere in the mesh. */
export interface StreamSource {
  name: string;
  opt_start_seq?: number;
  opt_start_time?: string;
  filter_subject?: string;
}

export const NS_PER_MS = 1_000_000;
/** nats-server's default duplicate window: 2 minutes. */
export const DEFAULT_DUPLICATE_WINDOW_NS = 120_000 * NS_PER_MS;

/** Whether `name` may name a stream (names.ts: nats-server's rules, length in bytes). */
export function isValidStreamName(name: string): boolean {
  return streamNameError(name) === null;
}

type Raw = Record<string, unknown>;

function int(raw: Raw, key: string, dflt: number): number {
  const v = raw[key];
  if (v === undefined || v === null) return dflt;
  // As Go's json.Unmarshal into an int: anything else is invalid JSON.
  if (typeof v !== 'number' || !Number.isInteger(v)) throw JsErr.InvalidJson();
  return v;
}

/** -1 (and 0, as nats-server's defaults do) mean "no limit". */
function limit(raw: Raw, key: string): number {
  const v = int(raw, key, -1);
  return v === 0 ? -1 : v;
}

function bool(raw: Raw, key: string): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw JsErr.InvalidJson();
  return v;
}

function oneOf<T extends string>(raw: Raw, key: string, allowed: readonly T[], dflt: T): T {
  const v = raw[key];
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw JsErr.InvalidJson();
  return v as T;
}

/** Whether some literal subject matches both patterns. */
export function subjectsOverlap(a: string, b: string): boolean {
  const ta = a.split('.');
  const tb = b.split('.');
  for (let i = 0; ; i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === '>' || y === '>') return x !== undefined && y !== undefined;
    if (x === undefined || y === undefined) return x === y;
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
}

/**
 * Checks a request body and fills in defaults. `name` is the stream named by
 * the API subject; the body must name the same one. Throws StreamApiError.
 */
export function normalizeConfig(body: unknown, name: string): StreamConfig {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw JsErr.InvalidJson();
  const raw = body as Raw;
  if (raw.name !== name) throw JsErr.StreamNameMismatch();
  const bad = streamNameError(name);
  if (bad !== null) throw bad;
  if (typeof raw.description === 'string' && byteLength(raw.description) > MAX_DESCRIPTION_BYTES) {
    throw NameErr.StreamDescriptionTooLong();
  }
  for (const k of ['republish', 'subject_transform'] as const) {
    if (raw[k] !== undefined && raw[k] !== null) throw JsErr.NotSupported(k);
  }
  const mirror = raw.mirror === undefined || raw.mirror === null ? undefined : source(raw.mirror);
  let sources: StreamSource[] | undefined;
  if (raw.sources !== undefined && raw.sources !== null) {
    if (!Array.isArray(raw.sources)) throw JsErr.InvalidJson();
    sources = raw.sources.map(source);
    if (sources.length === 0) sources = undefined;
  }
  let subjects: string[];
  if (raw.subjects === undefined || raw.subjects === null) subjects = [];
  else if (Array.isArray(raw.subjects) && raw.subjects.every((s) => typeof s === 'string')) {
    subjects = [...(raw.subjects as string[])];
  } else throw JsErr.InvalidJson();
  if (mirror !== undefined) {
    if (subjects.length > 0) throw JsErr.MirrorWithSubjects();
    if (sources !== undefined) throw JsErr.MirrorWithSources();
  }
  // As nats-server: a stream that is not fed from elsewhere captures its own name by default.
  if (subjects.length === 0 && mirror === undefined && sources === undefined) subjects = [name];
  for (const s of subjects) {
    if (classifySubject(s) === 'invalid') throw JsErr.InvalidConfig('invalid subject');
  }
  for (let i = 0; i < subjects.length; i++) {
    if (subjectsOverlap(subjects[i]!, '$JS.API.>')) {
      throw JsErr.InvalidConfig('subjects overlap with jetstream api');
    }
    for (let j = i + 1; j < subjects.length; j++) {
      // One message must be captured once: overlapping patterns would store it twice.
      if (subjectsOverlap(subjects[i]!, subjects[j]!)) {
        throw JsErr.InvalidConfig('duplicate subjects detected');
      }
    }
  }
  const retention = oneOf<Retention>(
    raw,
    'retention',
    ['limits', 'interest', 'workqueue'],
    'limits',
  );
  const replicas = int(raw, 'num_replicas', 1);
  if (replicas > 1) throw JsErr.Replicas();
  if (replicas < 0) throw JsErr.InvalidConfig('replicas must be 1');
  const maxAge = int(raw, 'max_age', 0);
  if (maxAge < 0) throw JsErr.InvalidConfig('max age needs to be >= 0');
  let window = int(raw, 'duplicate_window', 0);
  if (window < 0) throw JsErr.InvalidConfig('duplicates window can not be negative');
  if (window === 0) window = DEFAULT_DUPLICATE_WINDOW_NS;
  // As nats-server: the window never outlives the messages it refers to.
  if (maxAge > 0 && window > maxAge) window = maxAge;
  if (bool(raw, 'sealed'))
    throw JsErr.InvalidConfig('stream configuration for create can not be sealed');
  const cfg: StreamConfig = {
    name,
    subjects,
    retention,
    max_consumers: limit(raw, 'max_consumers'),
    max_msgs: limit(raw, 'max_msgs'),
    max_bytes: limit(raw, 'max_bytes'),
    max_age: maxAge,
    max_msgs_per_subject: limit(raw, 'max_msgs_per_subject'),
    max_msg_size: limit(raw, 'max_msg_size'),
    discard: oneOf<Discard>(raw, 'discard', ['old', 'new'], 'old'),
    storage: oneOf<Storage>(raw, 'storage', ['file', 'memory'], 'file'),
    num_replicas: 1,
    duplicate_window: window,
    allow_direct: bool(raw, 'allow_direct'),
    mirror_direct: bool(raw, 'mirror_direct'),
    ...(bool(raw, 'discard_new_per_subject') ? { discard_new_per_subject: true } : {}),
    sealed: false,
    deny_delete: bool(raw, 'deny_delete'),
    deny_purge: bool(raw, 'deny_purge'),
    allow_rollup_hdrs: bool(raw, 'allow_rollup_hdrs'),
  };
  const why = rollupOrDiscardError(cfg);
  if (why !== null) throw why;
  if (mirror !== undefined) cfg.mirror = mirror;
  if (sources !== undefined) cfg.sources = sources;
  const dls = raw.dead_letter_subject;
  if (dls !== undefined && dls !== null && dls !== '') {
    if (typeof dls !== 'string' || classifySubject(dls) !== 'literal') {
      throw JsErr.InvalidConfig('dead letter subject must be a literal subject');
    }
    cfg.dead_letter_subject = dls;
  }
  if (typeof raw.description === 'string' && raw.description !== '') {
    return { name, description: raw.description, ...withoutName(cfg) };
  }
  return cfg;
}

function withoutName(cfg: StreamConfig): Omit<StreamConfig, 'name'> {
  const { name: _n, ...rest } = cfg;
  return rest;
}

/** A mirror's or source's `{name, opt_start_seq, opt_start_time, filter_subject}`. */
function source(v: unknown): StreamSource {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw JsErr.InvalidJson();
  const raw = v as Raw;
  if (raw.external !== undefined && raw.external !== null) {
    throw JsErr.NotSupported('external (another JetStream domain)');
  }
  if (typeof raw.name !== 'string' || !isValidStreamName(raw.name)) {
    throw JsErr.InvalidConfig('stream source name is invalid');
  }
  const out: StreamSource = { name: raw.name };
  const seq = int(raw, 'opt_start_seq', 0);
  if (seq < 0) throw JsErr.InvalidJson();
  if (seq > 0) out.opt_start_seq = seq;
  if (raw.opt_start_time !== undefined && raw.opt_start_time !== null) {
    if (typeof raw.opt_start_time !== 'string' || Number.isNaN(Date.parse(raw.opt_start_time))) {
      throw JsErr.InvalidJson();
    }
    out.opt_start_time = raw.opt_start_time;
  }
  if (
    raw.filter_subject !== undefined &&
    raw.filter_subject !== null &&
    raw.filter_subject !== ''
  ) {
    if (
      typeof raw.filter_subject !== 'string' ||
      classifySubject(raw.filter_subject) === 'invalid'
    ) {
      throw JsErr.InvalidConfig('stream source filter subject is invalid');
    }
    out.filter_subject = raw.filter_subject;
  }
  return out;
}

/** nats-server 2.9's checks of rollups and discard new per subject, on create and update. */
function rollupOrDiscardError(cfg: StreamConfig): StreamApiError | null {
  if (cfg.deny_purge && cfg.allow_rollup_hdrs) {
    return JsErr.InvalidConfig('roll-ups require the purge permission');
  }
  if (cfg.discard_new_per_subject === true) {
    if (cfg.discard !== 'new') {
      return JsErr.InvalidConfig('discard new per subject requires discard new policy to be set');
    }
    if (cfg.max_msgs_per_subject <= 0) {
      return JsErr.InvalidConfig('discard new per subject requires max msgs per subject > 0');
    }
  }
  return null;
}

/** Why `next` may not replace `prev` (an update), or null. */
export function updateError(prev: StreamConfig, next: StreamConfig): StreamApiError | null {
  if (prev.deny_delete && !next.deny_delete) {
    return JsErr.InvalidConfig('stream configuration update can not cancel deny message deletes');
  }
  if (prev.deny_purge && !next.deny_purge) {
    return JsErr.InvalidConfig('stream configuration update can not cancel deny purge');
  }
  if (JSON.stringify(prev.mirror) !== JSON.stringify(next.mirror)) {
    return JsErr.MirrorNotUpdatable();
  }
  if (prev.storage !== next.storage) {
    return JsErr.InvalidConfig('stream configuration update can not change storage type');
  }
  if (prev.retention !== next.retention) {
    return JsErr.InvalidConfig('stream configuration update can not change retention policy');
  }
  return null;
}

/** Configs equal field by field (create is idempotent for an identical config). */
export function sameConfig(a: StreamConfig, b: StreamConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
