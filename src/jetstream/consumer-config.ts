/**
 * Consumer configuration: nats-server 2.9's JSON shape, with its defaults
 * and checks, plus Weft's one extension, `dead_letter_subject`.
 */
import { randomBytes } from 'node:crypto';
import { byteLength, consumerNameError, MAX_DESCRIPTION_BYTES, NameErr } from '../streams/names.js';
import { StreamApiError } from '../streams/stream-errors.js';

export type DeliverPolicy =
  | 'all'
  | 'last'
  | 'new'
  | 'by_start_sequence'
  | 'by_start_time'
  | 'last_per_subject';
export type AckPolicy = 'none' | 'all' | 'explicit';

export interface ConsumerConfig {
  durable_name?: string;
  name?: string;
  description?: string;
  deliver_policy: DeliverPolicy;
  opt_start_seq?: number;
  opt_start_time?: string;
  ack_policy: AckPolicy;
  /** Nanoseconds; absent with ack policy none (as nats-server): DEFAULT_ACK_WAIT_NS applies. */
  ack_wait?: number;
  max_deliver: number;
  backoff?: number[];
  filter_subject?: string;
  replay_policy: string;
  rate_limit_bps?: number;
  sample_freq?: string;
  max_waiting?: number;
  /** Absent with ack policy none (as nats-server): no limit. */
  max_ack_pending?: number;
  flow_control?: boolean;
  idle_heartbeat?: number;
  headers_only?: boolean;
  max_batch?: number;
  max_expires?: number;
  deliver_subject?: string;
  deliver_group?: string;
  inactive_threshold?: number;
  num_replicas: number;
  mem_storage?: boolean;
  /** Weft: where messages that reach max_deliver or are terminated are published. */
  dead_letter_subject?: string;
}

export const NS_PER_MS = 1_000_000;
/** nats-server's default ack_wait: 30 s. */
export const DEFAULT_ACK_WAIT_NS = 30_000 * NS_PER_MS;

/** Consumer errors, as nats-server 2.9 sends them. */
export const ConsumerErr = {
  NotFound: () => new StreamApiError(404, 10014, 'consumer not found'),
  /** nats-server's answer when a consumer's store can not be made (the detail is logged). */
  StoreFailed: () => new StreamApiError(500, 10012, 'error creating store for consumer'),
  NameExists: () => new StreamApiError(400, 10013, 'consumer name already in use'),
  DurableNameMismatch: () =>
    new StreamApiError(
      400,
      10017,
      'consumer name in subject does not match durable name in request',
    ),
  InvalidName: NameErr.ConsumerBadName,
  EphemeralWithDurable: () =>
    new StreamApiError(
      400,
      10020,
      'consumer expected to be ephemeral but a durable name was set in request',
    ),
  Invalid: (why: string) => new StreamApiError(400, 10012, why),
  BadPolicy: (why: string) => new StreamApiError(400, 10094, why),
  SmallHeartbeat: () =>
    new StreamApiError(400, 10083, 'consumer idle heartbeat needs to be >= 100ms'),
  HeartbeatRequiresPush: () =>
    new StreamApiError(400, 10088, 'consumer idle heartbeat requires a push based consumer'),
  FlowControlRequiresPush: () =>
    new StreamApiError(400, 10089, 'consumer flow control requires a push based consumer'),
  FlowControlNeedsHeartbeats: () =>
    new StreamApiError(400, 10108, 'consumer with flow control also needs heartbeats'),
} as const;

const DELIVER: readonly string[] = [
  'all',
  'last',
  'new',
  'by_start_sequence',
  'by_start_time',
  'last_per_subject',
];
const ACK: readonly string[] = ['none', 'all', 'explicit'];

/** Field order of nats-server's JSON, so `config` reads the same as the reference's. */
const ORDER: readonly (keyof ConsumerConfig)[] = [
  'durable_name',
  'name',
  'description',
  'deliver_policy',
  'opt_start_seq',
  'opt_start_time',
  'ack_policy',
  'ack_wait',
  'max_deliver',
  'backoff',
  'filter_subject',
  'replay_policy',
  'rate_limit_bps',
  'sample_freq',
  'max_waiting',
  'max_ack_pending',
  'flow_control',
  'idle_heartbeat',
  'headers_only',
  'max_batch',
  'max_expires',
  'deliver_subject',
  'deliver_group',
  'inactive_threshold',
  'num_replicas',
  'mem_storage',
  'dead_letter_subject',
];

/** A random ephemeral name, 8 characters like nats-server's. */
export function ephemeralName(): string {
  return randomBytes(6).toString('base64url').slice(0, 8);
}

/**
 * Checks a requested configuration and fills in the defaults; `name` is the
 * consumer's name from the subject (or a generated one for ephemerals).
 */
export function normalizeConsumerConfig(raw: unknown, durable: boolean): ConsumerConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw ConsumerErr.Invalid('consumer config required');
  }
  const r: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || v === null || v === '') continue;
    r[k] = v;
  }
  for (const k of ['durable_name', 'name']) {
    if (r[k] === undefined) continue;
    if (typeof r[k] !== 'string') throw ConsumerErr.InvalidName();
    const bad = consumerNameError(r[k] as string);
    if (bad !== null) throw bad;
  }
  if (r.description !== undefined) {
    if (typeof r.description !== 'string') throw ConsumerErr.Invalid('invalid JSON');
    if (byteLength(r.description) > MAX_DESCRIPTION_BYTES) {
      throw NameErr.ConsumerDescriptionTooLong();
    }
  }
  const deliver = (r.deliver_policy as string | undefined) ?? 'all';
  if (!DELIVER.includes(deliver)) throw ConsumerErr.Invalid(`invalid deliver policy ${deliver}`);
  const push = typeof r.deliver_subject === 'string';
  const ack = (r.ack_policy as string | undefined) ?? (push ? 'none' : 'explicit');
  if (!ACK.includes(ack)) throw ConsumerErr.Invalid(`invalid ack policy ${ack}`);
  // A pull consumer may have ack policy none, as in nats-server 2.9 (the v3
  // clients' ordered consumer is one): a delivery counts as acknowledged.
  // Heartbeats and flow control, checked in nats-server's order. Zero and
  // false are left out of the config, as nats-server's JSON omits them.
  const heartbeat = num(r.idle_heartbeat, 0);
  if (r.flow_control !== undefined && typeof r.flow_control !== 'boolean') {
    throw ConsumerErr.Invalid('invalid JSON');
  }
  const flowControl = r.flow_control === true;
  if (heartbeat <= 0) delete r.idle_heartbeat;
  if (!flowControl) delete r.flow_control;
  if (push && heartbeat > 0 && heartbeat < 100 * NS_PER_MS) throw ConsumerErr.SmallHeartbeat();
  if (!push && heartbeat > 0) throw ConsumerErr.HeartbeatRequiresPush();
  if (!push && flowControl) throw ConsumerErr.FlowControlRequiresPush();
  if (deliver === 'by_start_sequence' && !(Number(r.opt_start_seq) > 0)) {
    throw ConsumerErr.BadPolicy(
      'consumer delivery policy is deliver by start sequence, but optional start sequence is not set',
    );
  }
  if (deliver === 'by_start_time' && typeof r.opt_start_time !== 'string') {
    throw ConsumerErr.BadPolicy(
      'consumer delivery policy is deliver by start time, but optional start time is not set',
    );
  }
  if (deliver === 'last_per_subject' && r.filter_subject === undefined) {
    throw ConsumerErr.BadPolicy(
      'consumer delivery policy is deliver last per subject, but optional filter subject is not set',
    );
  }
  if (flowControl && heartbeat <= 0) throw ConsumerErr.FlowControlNeedsHeartbeats();
  const cfg: Record<string, unknown> = {
    ...r,
    deliver_policy: deliver,
    ack_policy: ack,
    max_deliver: num(r.max_deliver, -1),
    replay_policy: (r.replay_policy as string | undefined) ?? 'instant',
    num_replicas: num(r.num_replicas, 0),
  };
  // With ack policy none nothing waits for an ack: nats-server leaves both
  // out unless given.
  const ackWait = num(r.ack_wait, 0);
  const maxAckPending = num(r.max_ack_pending, 0);
  if (ack !== 'none' || ackWait !== 0) cfg.ack_wait = ackWait === 0 ? DEFAULT_ACK_WAIT_NS : ackWait;
  if (ack !== 'none' || maxAckPending !== 0) {
    cfg.max_ack_pending = maxAckPending === 0 ? 1000 : maxAckPending;
  }
  if (cfg.max_deliver === 0) cfg.max_deliver = -1;
  if (!push) cfg.max_waiting = num(r.max_waiting, 512);
  if (!durable && cfg.inactive_threshold === undefined) cfg.inactive_threshold = 5000 * NS_PER_MS;
  if (cfg.filter_subject === '>') delete cfg.filter_subject;
  const out: Record<string, unknown> = {};
  for (const k of ORDER) if (cfg[k] !== undefined) out[k] = cfg[k];
  for (const k of Object.keys(cfg)) if (!(k in out)) out[k] = cfg[k];
  return out as unknown as ConsumerConfig;
}

function num(v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw ConsumerErr.Invalid('invalid JSON');
  return v;
}

/**
 * Fields an update may not change, with nats-server 2.9's reason (it
 * answers 500/10012 with it). Filter and deliver group are Weft's own
 * restrictions for now.
 */
const FIXED: readonly [keyof ConsumerConfig, string][] = [
  ['deliver_policy', 'deliver policy can not be updated'],
  ['opt_start_seq', 'start sequence can not be updated'],
  ['opt_start_time', 'start time can not be updated'],
  ['ack_policy', 'ack policy can not be updated'],
  ['replay_policy', 'replay policy can not be updated'],
  ['idle_heartbeat', 'heart beats can not be updated'],
  ['flow_control', 'flow control can not be updated'],
  ['max_waiting', 'max waiting can not be updated'],
  ['filter_subject', 'consumer configuration update can not change filter_subject'],
  ['deliver_group', 'consumer configuration update can not change deliver_group'],
];

/** Why `next` can not replace `prev`, or null. */
export function consumerUpdateError(
  prev: ConsumerConfig,
  next: ConsumerConfig,
): StreamApiError | null {
  for (const [k, why] of FIXED) {
    if (JSON.stringify(prev[k]) !== JSON.stringify(next[k])) {
      return new StreamApiError(500, 10012, why);
    }
  }
  if (prev.deliver_subject === undefined && next.deliver_subject !== undefined) {
    return new StreamApiError(500, 10012, 'can not update pull consumer to push based');
  }
  if (prev.deliver_subject !== undefined && next.deliver_subject === undefined) {
    return new StreamApiError(500, 10012, 'can not update push consumer to pull based');
  }
  return null;
}

export function sameConsumerConfig(a: ConsumerConfig, b: ConsumerConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** How long a delivery (its `deliveries`th) waits for its ack: the backoff's step, else ack_wait. */
export function ackWaitMs(cfg: ConsumerConfig, deliveries: number): number {
  const b = cfg.backoff;
  if (b !== undefined && b.length > 0)
    return b[Math.min(deliveries - 1, b.length - 1)]! / NS_PER_MS;
  return (cfg.ack_wait ?? DEFAULT_ACK_WAIT_NS) / NS_PER_MS;
}

/** Whether a message delivered `deliveries` times may not be delivered again (max_deliver). */
export function exhausted(cfg: ConsumerConfig, deliveries: number): boolean {
  return cfg.max_deliver > 0 && deliveries >= cfg.max_deliver;
}
