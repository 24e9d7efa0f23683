/**
 * The bounds of the MQTT face's durable state, their defaults, and the
 * counters of how often each was hit. Both stores (store-memory.ts,
 * store-streams.ts) apply them the same way, measured by `messageBytes`.
 */
import type { StoredMessage, StoredSession } from './store.js';

/** Messages queued for one session (offline queue and in-flight window together). */
export const DEFAULT_MAX_QUEUED_MESSAGES = 1000;
/** Bytes (`messageBytes`) queued for one session. */
export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Retained messages held for one account (one per topic). */
export const DEFAULT_MAX_RETAINED_MESSAGES = 100_000;
/** Bytes (`messageBytes`) of the retained messages of one account. */
export const DEFAULT_MAX_RETAINED_BYTES = 64 * 1024 * 1024;
/** Sessions stored for one account. */
export const DEFAULT_MAX_SESSIONS = 10_000;

/** A session expiry interval that means "never" (MQTT 5: 0xFFFFFFFF). */
export const SESSION_NEVER_EXPIRES = 0xffffffff;

export interface MqttStoreLimits {
  /** Per session; `enqueue` answers 'count' at it. */
  readonly maxQueuedMessages: number;
  /** Per session; `enqueue` answers 'bytes' past it. */
  readonly maxQueuedBytes: number;
  /** Per account; `setRetained` answers 'count' for a new topic at it. */
  readonly maxRetainedMessages: number;
  /** Per account; `setRetained` answers 'bytes' past it. */
  readonly maxRetainedBytes: number;
  /** Per account; `saveSession` answers 'sessions' for a new client id at it. */
  readonly maxSessions: number;
}

export const DEFAULT_STORE_LIMITS: MqttStoreLimits = {
  maxQueuedMessages: DEFAULT_MAX_QUEUED_MESSAGES,
  maxQueuedBytes: DEFAULT_MAX_QUEUED_BYTES,
  maxRetainedMessages: DEFAULT_MAX_RETAINED_MESSAGES,
  maxRetainedBytes: DEFAULT_MAX_RETAINED_BYTES,
  maxSessions: DEFAULT_MAX_SESSIONS,
};

/** How often a bound was hit, and what expired; for `/varz` and `/metrics`. */
export interface MqttStoreCounters {
  /** `enqueue` refused: the session held maxQueuedMessages. */
  queueFullMessages: number;
  /** `enqueue` refused: the message would take the session past maxQueuedBytes. */
  queueFullBytes: number;
  /** `setRetained` refused: a new topic while maxRetainedMessages were held. */
  retainedFullMessages: number;
  /** `setRetained` refused: past maxRetainedBytes. */
  retainedFullBytes: number;
  /** `saveSession` refused: a new client id while maxSessions were stored. */
  sessionsFull: number;
  /** Sessions deleted by `expire`. */
  sessionsExpired: number;
  /** Queued or retained messages dropped on read because their expiresAt had passed. */
  messagesExpired: number;
}

export function newCounters(): MqttStoreCounters {
  return {
    queueFullMessages: 0,
    queueFullBytes: 0,
    retainedFullMessages: 0,
    retainedFullBytes: 0,
    sessionsFull: 0,
    sessionsExpired: 0,
    messagesExpired: 0,
  };
}

/** Fills in the default of every limit not given. */
export function storeLimits(given: Partial<MqttStoreLimits> = {}): MqttStoreLimits {
  return { ...DEFAULT_STORE_LIMITS, ...given };
}

/** What a message counts toward the byte bounds: its topic and payload in bytes. */
export function messageBytes(m: StoredMessage): number {
  return Buffer.byteLength(m.topic) + m.payload.length;
}

/** Whether a message has expired at `now` (ms). */
export function messageExpired(m: StoredMessage, now: number): boolean {
  return m.expiresAt !== undefined && m.expiresAt <= now;
}

/** Whether a session's expiry interval has passed since it was disconnected. */
export function sessionExpired(s: StoredSession, now: number): boolean {
  if (s.disconnectedAt === null || s.expiryInterval >= SESSION_NEVER_EXPIRES) return false;
  return s.disconnectedAt + s.expiryInterval * 1000 <= now;
}

/**
 * The queue refusal for adding `bytes` to a queue of `count` messages and
 * `held` bytes, or null when it fits. A message larger than the whole byte
 * bound is refused even into an empty queue.
 */
export function queueRefusal(
  limits: MqttStoreLimits,
  count: number,
  held: number,
  bytes: number,
): 'count' | 'bytes' | null {
  if (count >= limits.maxQueuedMessages) return 'count';
  if (held + bytes > limits.maxQueuedBytes) return 'bytes';
  return null;
}

/**
 * QoS 1/2 messages a clean session (kept in memory, not in the store) may
 * hold beyond its in-flight window: the store's own default per session.
 */
export const QUEUE_MEMORY_MAX = DEFAULT_MAX_QUEUED_MESSAGES;
/**
 * A connected session's queue this long (or its in-flight window, if
 * larger) makes publishers pause (the node's Congestion, as a full mesh
 * link does) until it is down to half, so a QoS 1/2 subscriber slows its
 * publishers instead of losing messages at the queue's bound. Publishers
 * waiting longer than write_deadline on it make its client a slow consumer.
 * Short on purpose: queued copies that live long reach the old generation
 * and cost the collector; QoS 1 1→1 ran at 0.9–1.0× mosquitto with 500 and
 * 256, 1.13× with 128 (BENCHMARKS.md).
 */
export const QUEUE_STALL_AT = 128;
