/**
 * The MQTT state in memory: for tests, and the store when JetStream is off
 * (or in an account without JetStream). Nothing survives a restart: every
 * session, queue, QoS 2 packet identifier and retained message is gone
 * when the node stops. It applies the same bounds as the durable store
 * (store-limits.ts) and passes the same suite (test/mqtt/store-suite.ts).
 */
import type {
  MqttStore,
  MqttStores,
  QueuedMessage,
  QueueRefusal,
  SessionRefusal,
  StoredMessage,
  StoredSession,
} from './store.js';
import {
  type MqttStoreCounters,
  type MqttStoreLimits,
  messageBytes,
  messageExpired,
  newCounters,
  queueRefusal,
  sessionExpired,
  storeLimits,
} from './store-limits.js';
import { hasWildcard, topicMatches } from './topics.js';

interface ClientState {
  queue: Map<number, QueuedMessage>;
  queueBytes: number;
  incoming: Set<number>;
}

export class MemoryMqttStore implements MqttStore {
  readonly durable = false;
  readonly limits: MqttStoreLimits;
  readonly counters: MqttStoreCounters = newCounters();
  private readonly sessionsById = new Map<string, StoredSession>();
  private readonly clients = new Map<string, ClientState>();
  /** Topic → message; insertion order is the order they were set. */
  private readonly retainedByTopic = new Map<string, StoredMessage>();
  private retainedBytes = 0;
  private nextId = 1;

  constructor(limits: Partial<MqttStoreLimits> = {}) {
    this.limits = storeLimits(limits);
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async loadSession(clientId: string): Promise<StoredSession | null> {
    return this.sessionsById.get(clientId) ?? null;
  }

  async saveSession(session: StoredSession): Promise<SessionRefusal | null> {
    if (
      !this.sessionsById.has(session.clientId) &&
      this.sessionsById.size >= this.limits.maxSessions
    ) {
      this.counters.sessionsFull++;
      return 'sessions';
    }
    this.sessionsById.set(session.clientId, copySession(session));
    return null;
  }

  async deleteSession(clientId: string): Promise<void> {
    this.sessionsById.delete(clientId);
    this.clients.delete(clientId);
  }

  async sessions(): Promise<StoredSession[]> {
    return [...this.sessionsById.values()];
  }

  async expire(now = Date.now()): Promise<string[]> {
    const gone: string[] = [];
    for (const s of this.sessionsById.values()) if (sessionExpired(s, now)) gone.push(s.clientId);
    for (const id of gone) await this.deleteSession(id);
    this.counters.sessionsExpired += gone.length;
    return gone;
  }

  private client(clientId: string): ClientState {
    let c = this.clients.get(clientId);
    if (c === undefined) {
      c = { queue: new Map(), queueBytes: 0, incoming: new Set() };
      this.clients.set(clientId, c);
    }
    return c;
  }

  async enqueue(clientId: string, message: StoredMessage): Promise<number | QueueRefusal> {
    const c = this.client(clientId);
    const bytes = messageBytes(message);
    const refused = queueRefusal(this.limits, c.queue.size, c.queueBytes, bytes);
    if (refused !== null) {
      if (refused === 'count') this.counters.queueFullMessages++;
      else this.counters.queueFullBytes++;
      return refused;
    }
    const id = this.nextId++;
    c.queue.set(id, { id, message: copyMessage(message) });
    c.queueBytes += bytes;
    return id;
  }

  async queued(clientId: string): Promise<QueuedMessage[]> {
    const c = this.clients.get(clientId);
    if (c === undefined) return [];
    const now = Date.now();
    const out: QueuedMessage[] = [];
    for (const q of [...c.queue.values()]) {
      if (messageExpired(q.message, now)) {
        this.counters.messagesExpired++;
        this.drop(c, q.id);
        continue;
      }
      out.push(q);
    }
    return out;
  }

  async markSent(
    clientId: string,
    id: number,
    packetId: number,
    released?: boolean,
  ): Promise<void> {
    const c = this.clients.get(clientId);
    const q = c?.queue.get(id);
    if (c === undefined || q === undefined) return;
    c.queue.set(id, { ...q, packetId, ...(released === true ? { released: true } : {}) });
  }

  async ack(clientId: string, id: number): Promise<void> {
    const c = this.clients.get(clientId);
    if (c !== undefined) this.drop(c, id);
  }

  private drop(c: ClientState, id: number): void {
    const q = c.queue.get(id);
    if (q === undefined) return;
    c.queue.delete(id);
    c.queueBytes -= messageBytes(q.message);
  }

  async rememberIncoming(clientId: string, packetId: number): Promise<void> {
    this.client(clientId).incoming.add(packetId);
  }

  async releaseIncoming(clientId: string, packetId: number): Promise<void> {
    this.clients.get(clientId)?.incoming.delete(packetId);
  }

  async incoming(clientId: string): Promise<number[]> {
    const c = this.clients.get(clientId);
    return c === undefined ? [] : [...c.incoming].sort((a, b) => a - b);
  }

  async setRetained(topic: string, message: StoredMessage | null): Promise<QueueRefusal | null> {
    const old = this.retainedByTopic.get(topic);
    const oldBytes = old === undefined ? 0 : messageBytes(old);
    if (message === null) {
      if (old === undefined) return null;
      this.retainedByTopic.delete(topic);
      this.retainedBytes -= oldBytes;
      return null;
    }
    const bytes = messageBytes(message);
    if (old === undefined && this.retainedByTopic.size >= this.limits.maxRetainedMessages) {
      this.counters.retainedFullMessages++;
      return 'count';
    }
    if (this.retainedBytes - oldBytes + bytes > this.limits.maxRetainedBytes) {
      this.counters.retainedFullBytes++;
      return 'bytes';
    }
    this.retainedByTopic.delete(topic);
    this.retainedByTopic.set(topic, copyMessage(message));
    this.retainedBytes += bytes - oldBytes;
    return null;
  }

  async retained(filter: string): Promise<StoredMessage[]> {
    const now = Date.now();
    const found: StoredMessage[] = [];
    const candidates = hasWildcard(filter)
      ? this.retainedByTopic.values()
      : [this.retainedByTopic.get(filter)].filter((m) => m !== undefined);
    for (const m of candidates) {
      if (!topicMatches(filter, m.topic)) continue;
      if (messageExpired(m, now)) {
        this.counters.messagesExpired++;
        await this.setRetained(m.topic, null);
        continue;
      }
      found.push(m);
    }
    return found;
  }
}

/** One memory store per account. */
export class MemoryMqttStores implements MqttStores {
  private readonly stores = new Map<string, MemoryMqttStore>();

  constructor(private readonly limits: Partial<MqttStoreLimits> = {}) {}

  async forAccount(account: string): Promise<MqttStore> {
    let s = this.stores.get(account);
    if (s === undefined) {
      s = new MemoryMqttStore(this.limits);
      this.stores.set(account, s);
    }
    return s;
  }

  async close(): Promise<void> {
    this.stores.clear();
  }
}

/** A copy the caller cannot change under the store (its payload buffer may be reused). */
export function copyMessage(m: StoredMessage): StoredMessage {
  const props = m.properties;
  return {
    ...m,
    payload: Buffer.from(m.payload),
    ...(props === undefined
      ? {}
      : {
          properties: {
            ...props,
            ...(props.correlationData === undefined
              ? {}
              : { correlationData: Buffer.from(props.correlationData) }),
            ...(props.userProperties === undefined
              ? {}
              : { userProperties: structuredClone(props.userProperties) }),
          },
        }),
  };
}

function copySession(s: StoredSession): StoredSession {
  return { ...s, subscriptions: s.subscriptions.map((x) => ({ ...x })) };
}
