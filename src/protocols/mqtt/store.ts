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
 */

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

/** Why a message was not queued. */
export type QueueRefusal = 'count' | 'bytes';

export interface MqttStore {
  open(): Promise<void>;
  close(): Promise<void>;

  loadSession(clientId: string): Promise<StoredSession | null>;
  saveSession(session: StoredSession): Promise<void>;
  /** Drops the session with its queue and its QoS 2 state (clean start, expiry). */
  deleteSession(clientId: string): Promise<void>;
  /** Every stored session (restart: restore subscriptions; expiry sweeps). */
  sessions(): Promise<StoredSession[]>;

  /** Queues a QoS 1/2 message for a session; refused past the session's bounds (counted by the caller). */
  enqueue(clientId: string, message: StoredMessage): Promise<number | QueueRefusal>;
  /** The session's queue, oldest first. */
  queued(clientId: string): Promise<QueuedMessage[]>;
  /** Records that entry `id` went out with `packetId` (or, QoS 2, was released). */
  markSent(clientId: string, id: number, packetId: number, released?: boolean): Promise<void>;
  /** The client acknowledged entry `id` (PUBACK, PUBCOMP): it is gone. */
  ack(clientId: string, id: number): Promise<void>;

  /** QoS 2 inbound: `packetId` was received (PUBREC sent) and not yet released. */
  rememberIncoming(clientId: string, packetId: number): Promise<void>;
  releaseIncoming(clientId: string, packetId: number): Promise<void>;
  incoming(clientId: string): Promise<number[]>;

  /** Sets (or, with null, clears) the retained message of a topic. */
  setRetained(topic: string, message: StoredMessage | null): Promise<void>;
  /** Retained messages whose topics match an MQTT filter (wildcards `+`, `#`). */
  retained(filter: string): Promise<StoredMessage[]>;
}
