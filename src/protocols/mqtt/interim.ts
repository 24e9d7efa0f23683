/**
 * INTERIM: the few calls the session makes into the codec (codec.ts, branch
 * h-mqttwire) and the store (store-memory.ts, branch h-mqttstore) until those
 * are merged; this file is deleted then. Nothing else imports mqtt-packet or
 * keeps MQTT state in memory.
 */
import mqttPacket from 'mqtt-packet';
import type {
  MqttStore,
  QueuedMessage,
  QueueRefusal,
  StoredMessage,
  StoredSession,
} from './store.js';
import { topicMatches } from './topics.js';

export type Packet = mqttPacket.Packet;

/** A parse failure: what MQTT 5 says in the DISCONNECT that closes (0x81 malformed, 0x95 too large). */
export interface PacketError {
  readonly reasonCode: number;
  readonly message: string;
}

export interface PacketReader {
  /** Parses what arrived; stops at the first error. */
  feed(chunk: Buffer): void;
  stop(): void;
}

/** A parser of client packets with a bound on the packet size. */
export function packetReader(
  maxPacketSize: number,
  onPacket: (p: Packet) => void,
  onError: (e: PacketError) => void,
): PacketReader {
  const parser = mqttPacket.parser({});
  let stopped = false;
  parser.on('packet', (p: Packet) => {
    if (!stopped) onPacket(p);
  });
  parser.on('error', (err: Error) => {
    if (stopped) return;
    stopped = true;
    onError({ reasonCode: 0x81, message: err.message });
  });
  // The remaining length is known before the body is buffered: check it there.
  const inner = parser as unknown as {
    _parseLength(): boolean;
    packet: { length: number };
    _emitError(e: Error): void;
  };
  const parseLength = inner._parseLength.bind(parser);
  inner._parseLength = () => {
    const ok = parseLength();
    if (ok && inner.packet.length + 5 > maxPacketSize && !stopped) {
      stopped = true;
      onError({
        reasonCode: 0x95,
        message: `packet of ${inner.packet.length} bytes exceeds the maximum packet size ${maxPacketSize}`,
      });
      inner._emitError(new Error('packet too large'));
      return false;
    }
    return ok;
  };
  return {
    feed(chunk) {
      if (!stopped) parser.parse(chunk);
    },
    stop() {
      stopped = true;
    },
  };
}

/** Encodes one packet for a client of `version` (4: 3.1.1, 5: 5.0). */
export function encodePacket(p: Packet, version: 4 | 5): Buffer {
  return mqttPacket.generate(p, { protocolVersion: version });
}

interface Entry {
  session: StoredSession | null;
  queue: QueuedMessage[];
  incoming: Set<number>;
  nextId: number;
}

/** Queue bound of the interim store (the real store has its own). */
const QUEUE_MAX = 10_000;

/** A memory store: enough for the session's tests until store-memory.ts is merged. */
export class InterimStore implements MqttStore {
  private readonly entries = new Map<string, Entry>();
  private readonly retainedByTopic = new Map<string, StoredMessage>();

  private entry(id: string): Entry {
    let e = this.entries.get(id);
    if (e === undefined) {
      e = { session: null, queue: [], incoming: new Set(), nextId: 1 };
      this.entries.set(id, e);
    }
    return e;
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async loadSession(id: string): Promise<StoredSession | null> {
    return this.entries.get(id)?.session ?? null;
  }
  async saveSession(s: StoredSession): Promise<void> {
    this.entry(s.clientId).session = s;
  }
  async deleteSession(id: string): Promise<void> {
    this.entries.delete(id);
  }
  async sessions(): Promise<StoredSession[]> {
    return [...this.entries.values()].flatMap((e) => (e.session === null ? [] : [e.session]));
  }
  async enqueue(id: string, message: StoredMessage): Promise<number | QueueRefusal> {
    const e = this.entry(id);
    if (e.queue.length >= QUEUE_MAX) return 'count';
    const n = e.nextId++;
    e.queue.push({ id: n, message });
    return n;
  }
  async queued(id: string): Promise<QueuedMessage[]> {
    return [...(this.entries.get(id)?.queue ?? [])];
  }
  async markSent(id: string, n: number, packetId: number, released?: boolean): Promise<void> {
    const q = this.entries.get(id)?.queue;
    const i = q?.findIndex((m) => m.id === n) ?? -1;
    if (q !== undefined && i >= 0) q[i] = { ...q[i]!, packetId, released: released === true };
  }
  async ack(id: string, n: number): Promise<void> {
    const e = this.entries.get(id);
    if (e !== undefined) e.queue = e.queue.filter((m) => m.id !== n);
  }
  async rememberIncoming(id: string, packetId: number): Promise<void> {
    this.entry(id).incoming.add(packetId);
  }
  async releaseIncoming(id: string, packetId: number): Promise<void> {
    this.entries.get(id)?.incoming.delete(packetId);
  }
  async incoming(id: string): Promise<number[]> {
    return [...(this.entries.get(id)?.incoming ?? [])];
  }
  async setRetained(topic: string, m: StoredMessage | null): Promise<void> {
    if (m === null) this.retainedByTopic.delete(topic);
    else this.retainedByTopic.set(topic, m);
  }
  async retained(filter: string): Promise<StoredMessage[]> {
    return [...this.retainedByTopic.values()].filter((m) => topicMatches(filter, m.topic));
  }
}
