/**
 * An account's JetStream limits (the account's `jetstream` block:
 * `max_streams`, `max_consumers`, `max_file`, `max_mem`) and how
 * nats-server 2.9 applies them, measured against it
 * (test/jetstream/accounts.test.ts runs the same steps on both):
 *
 * - `max_streams`: a stream create past it is refused (10027). 0 or -1: none.
 * - `max_consumers`: counted per stream, as nats-server 2.9 does (not per
 *   account): a stream takes the smaller of its own `max_consumers` and the
 *   account's; a consumer create past it is refused (10026). 0 or -1: none.
 * - `max_file` / `max_mem`: a stream's `max_bytes` is reserved against the
 *   account at create and update; the reservations of the account's other
 *   streams of the same storage plus this one's (a stream without
 *   `max_bytes` counts 1 byte, reserving nothing) must not pass the limit
 *   (10047 file, 10028 memory). A publish that would take the bytes the
 *   account's streams of that storage hold past the limit is refused in
 *   its PubAck (10002). -1: none.
 *
 * Limits hold per node: in a mesh each node applies them to the streams it
 * owns (as a non-clustered nats-server does).
 */
import type { AccountJetStreamConfig } from '../auth/types.js';
import type { StreamConfig } from '../streams/stream-config.js';
import { JsErr, type StreamApiError } from '../streams/stream-errors.js';

export type JsLimits = Omit<AccountJetStreamConfig, 'enabled'>;

/** `$G`'s and every account's without a limits block. */
export const NO_JS_LIMITS: JsLimits = Object.freeze({
  maxStreams: -1,
  maxConsumers: -1,
  maxStore: -1,
  maxMemory: -1,
});

/** The limits of an account JetStream config. */
export function limitsOf(c: AccountJetStreamConfig): JsLimits {
  return {
    maxStreams: c.maxStreams,
    maxConsumers: c.maxConsumers,
    maxStore: c.maxStore,
    maxMemory: c.maxMemory,
  };
}

/** The account's byte limit for a storage type (-1: none). */
export function byteLimit(limits: JsLimits, storage: StreamConfig['storage']): number {
  return storage === 'memory' ? limits.maxMemory : limits.maxStore;
}

/**
 * Why a stream create (`existing` = the account's other streams) or update
 * (`updating`) does not fit the account's limits, or null.
 */
export function streamLimitError(
  limits: JsLimits,
  existing: Iterable<StreamConfig>,
  config: StreamConfig,
  updating: boolean,
): StreamApiError | null {
  let count = 0;
  let reserved = 0;
  for (const c of existing) {
    if (c.name === config.name) continue;
    count++;
    if (c.storage === config.storage && c.max_bytes > 0) reserved += c.max_bytes;
  }
  if (!updating && limits.maxStreams > 0 && count >= limits.maxStreams) {
    return JsErr.MaximumStreams();
  }
  const max = byteLimit(limits, config.storage);
  const add = config.max_bytes > 0 ? config.max_bytes : 1;
  if (max >= 0 && reserved + add > max) {
    return config.storage === 'memory'
      ? JsErr.MemoryResourcesExceeded()
      : JsErr.StorageResourcesExceeded();
  }
  return null;
}

/** How many consumers a stream may have under the account's limit (0: no limit). */
export function consumerLimit(limits: JsLimits, stream: StreamConfig): number {
  const own = Math.max(stream.max_consumers, 0);
  const acc = Math.max(limits.maxConsumers, 0);
  if (own === 0) return acc;
  return acc > 0 && acc < own ? acc : own;
}

/**
 * Whether storing a message in a stream of `storage` would take the
 * account past its limit; `measure` tells the message's bytes and those
 * the account's streams of that storage hold (asked only when there is a
 * limit: without one a publish pays nothing).
 */
export function publishLimitError(
  limits: JsLimits,
  storage: StreamConfig['storage'],
  measure: () => { bytes: number; used: number },
): StreamApiError | null {
  const max = byteLimit(limits, storage);
  if (max < 0) return null;
  const m = measure();
  return m.used + m.bytes > max ? JsErr.AccountResourcesExceeded() : null;
}

/** Requests and publishes refused for each limit, counted per account (/jsz, /metrics). */
export interface LimitsHit {
  streams: number;
  consumers: number;
  storage: number;
  memory: number;
  /** Publishes (and sourced messages) refused with 10002. */
  publish: number;
}

/** Which count an API error of a limit goes to, by its err_code. */
export const LIMIT_OF_ERR_CODE: Readonly<Record<number, keyof LimitsHit>> = {
  10027: 'streams',
  10026: 'consumers',
  10047: 'storage',
  10028: 'memory',
};

/** The `limits` block of `$JS.API.INFO`, as nats-server 2.9 writes it. */
export function limitsInfo(limits: JsLimits): Record<string, unknown> {
  return {
    max_memory: limits.maxMemory,
    max_storage: limits.maxStore,
    max_streams: limits.maxStreams,
    max_consumers: limits.maxConsumers,
    max_ack_pending: -1,
    memory_max_stream_bytes: -1,
    storage_max_stream_bytes: -1,
    max_bytes_required: false,
  };
}
