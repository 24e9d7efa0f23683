/**
 * What the MQTT face keeps across connections and restarts: sessions (their
 * subscriptions and expiry), each session's queue of QoS 1/2 messages not
 * yet acknowledged by the client (offline queue and in-flight window), the
 * QoS 2 packet identifiers received and not yet released, and retained
 * messages. The session (session.ts) uses only this interface; a memory
 * implementation serves tests, the durable one keeps it in streams (as
 * nats-server keeps MQTT state in JetStream).
 *
 * Every promise that changes state resolves once the change is durable: the
 * session answers the client (CONNACK, SUBACK, PUBACK, PUBREC) only then.
 *
 * **One store per account.** MQTT client identifiers and retained topics are
 * unique per account (as in nats-server, whose account session manager
 * holds them), so a store holds one account's state and the face asks an
 * `MqttStores` for the store of an account when the first client of that
 * account connects (`forAccount`). With JetStream on, the stores keep state
 * in the account's streams (store-streams.ts); with it off, or in an account
 * without JetStream, in memory (store-memory.ts), and nothing survives a
 * restart. docs/mqtt.md, "State and durability", has the layout and bounds.
 *
 * **Bounds** (store-limits.ts), each counted in `counters` when hit: queued
 * messages and bytes per session (`enqueue` refuses), retained messages and
 * bytes per account (`setRetained` refuses), stored sessions per account
 * (`saveSession` refuses a new one). The session expiry is applied by
 * `expire`, which the face calls at start and on a timer; a message whose
 * `expiresAt` has passed is dropped when read (`queued`, `retained`).
 */
import type { MqttStoreCounters, MqttStoreLimits } from './store-limits.js';

export type { MqttStoreCounters, MqttStoreLimits } from './store-limits.js';

/** MQTT 5 message properties that travel with a message (⇄ NATS headers). */
export interface MessageProperties {
  payloadFormatIndicator?: boolean;
  /** Seconds; the store keeps `expiresAt` instead of counting down. */
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}

/** A message as stored for a session's queue or as a retained message. */
export interface StoredMessage {
  /** The MQTT topic (not the core subject). */
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly properties?: MessageProperties;
  /** When it expires (ms since the epoch), from the message expiry interval; absent: never. */
  readonly expiresAt?: number;
}

/** A subscription of a session, as SUBSCRIBE made it. */
export interface StoredSubscription {
  /** The MQTT topic filter, with `$share/<group>/` when shared. */
  readonly filter: string;
  readonly qos: 0 | 1 | 2;
  /** MQTT 5 subscription options. */
  readonly noLocal?: boolean;
  readonly retainAsPublished?: boolean;
  readonly retainHandling?: 0 | 1 | 2;
  readonly identifier?: number;
}

export interface StoredSession {
  readonly clientId: string;
  /** 4: MQTT 3.1.1; 5: MQTT 5.0. */
  readonly protocol: 4 | 5;
  /** Seconds the session outlives its connection; 0xFFFFFFFF: never expires. */
  readonly expiryInterval: number;
  readonly subscriptions: readonly StoredSubscription[];
  /** When its last connection ended (ms), null while connected. */
  readonly disconnectedAt: number | null;
}

/** An entry of a session's outbound queue. */
export interface QueuedMessage {
  /** Store-assigned, increasing per session. */
  readonly id: number;
  readonly message: StoredMessage;
  /** The packet identifier it was sent with, when it has been sent. */
  readonly packetId?: number;
  /** QoS 2: PUBREC received, PUBREL sent, PUBCOMP awaited. */
  readonly released?: boolean;
}

/** Why a message was not queued (or retained): a bound of store-limits.ts was reached. */
export type QueueRefusal = 'count' | 'bytes';
/** Why a new session was not stored: the account holds `maxSessions`. */
export type SessionRefusal = 'sessions';

export interface MqttStore {
  open(): Promise<void>;
  close(): Promise<void>;

  /** Whether what it holds survives a restart (false: memory). */
  readonly durable: boolean;
  /** The bounds this store applies. */
  readonly limits: MqttStoreLimits;
  /** How often each bound was hit, and what expired. */
  readonly counters: MqttStoreCounters;

  loadSession(clientId: string): Promise<StoredSession | null>;
  /** Stores (or replaces) a session: null; a new one is refused when the account holds `maxSessions`. */
  saveSession(session: StoredSession): Promise<SessionRefusal | null>;
  /** Drops the session with its queue and its QoS 2 state (clean start, expiry). */
  deleteSession(clientId: string): Promise<void>;
  /** Every stored session (restart: restore subscriptions; expiry sweeps). */
  sessions(): Promise<StoredSession[]>;
  /**
   * Deletes (as deleteSession) every session whose expiry interval has
   * passed since `disconnectedAt`; returns their client ids. The face calls
   * it at start and on a timer. A session stored as connected when the node
   * stopped is taken as disconnected when the store was opened.
   */
  expire(now?: number): Promise<string[]>;

  /**
   * Queues a QoS 1/2 message for a session; refused past the session's
   * bounds (`maxQueuedMessages`, `maxQueuedBytes`; counted in `counters`).
   * State of a client with no saved session is kept while the store is
   * open and dropped when it is reopened.
   */
  enqueue(clientId: string, message: StoredMessage): Promise<number | QueueRefusal>;
  /** The session's queue, oldest first, without expired messages (they are removed, counted). */
  queued(clientId: string): Promise<QueuedMessage[]>;
  /** Records that entry `id` went out with `packetId` (or, QoS 2, was released). */
  markSent(clientId: string, id: number, packetId: number, released?: boolean): Promise<void>;
  /** The client acknowledged entry `id` (PUBACK, PUBCOMP): it is gone. */
  ack(clientId: string, id: number): Promise<void>;

  /** QoS 2 inbound: `packetId` was received (PUBREC sent) and not yet released. */
  rememberIncoming(clientId: string, packetId: number): Promise<void>;
  releaseIncoming(clientId: string, packetId: number): Promise<void>;
  incoming(clientId: string): Promise<number[]>;

  /**
   * Sets (or, with null, clears) the retained message of a topic. A new
   * topic past `maxRetainedMessages`, or a message that would take the
   * account past `maxRetainedBytes`, is refused (counted in `counters`);
   * the old one then stays. Null when done.
   */
  setRetained(topic: string, message: StoredMessage | null): Promise<QueueRefusal | null>;
  /**
   * Retained messages whose topics match an MQTT filter (wildcards `+`,
   * `#`; no `$share/` prefix), oldest first, without expired ones. Topics
   * starting with `$` are not matched by a filter starting with a wildcard
   * [MQTT-4.7.2-1].
   */
  retained(filter: string): Promise<StoredMessage[]>;
}

/** The stores of a node's accounts: one per account, opened at its first use. */
export interface MqttStores {
  /** The open store of `account` (the same one on every call until `close`). */
  forAccount(account: string): Promise<MqttStore>;
  /** Closes every store opened. */
  close(): Promise<void>;
}
