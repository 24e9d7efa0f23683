/**
 * An account's retained messages in the durable store, mesh-wide.
 *
 * Each node keeps every retained message of the account in its own stream
 * `$MQTT_rmsgs_<node>`: what was set through it under
 * `$MQTT.rmsg.<node>.<topic key>`, and what was set through each other node
 * under that node's token, copied by a stream source (docs/streams.md,
 * "Mirrors and sources") from the other node's stream, filtered to what
 * that node set itself (`$MQTT.rmsg.<other>.>`), so nothing is copied
 * twice or comes back. Sources pull from anywhere in the mesh and catch up
 * after outages and restarts; the node adds one for each
 * `$MQTT_rmsgs_<other>` stream it sees in the mesh (polled every
 * RETAINED_PEERS_POLL_MS) and never removes one (an unreachable origin is
 * retried by its feed).
 *
 * The stream keeps one record per subject, so per topic one version per
 * node that set it. Each record carries when it was set (`at`, ms): the
 * newest version wins (ties: the greater node token), and a clear is a
 * tombstone record so that it wins over older versions elsewhere. A node
 * sets `at` past every version it knows of the topic, so its own set or
 * clear always wins over what it has seen. Tombstones older than
 * RETAINED_TOMBSTONE_MS are removed by `expire` (a node away longer than
 * that may bring back a message cleared meanwhile).
 *
 * The index (topic → node → version) is brought up to date from the
 * stream before each read or write (`catchUp`, from the last sequence it
 * read), so copies stored by the sources are seen without a hook.
 * Retained bounds count the winning versions held; copies from other nodes
 * are taken whatever the bound (their node applied it).
 */
import type { AccountJetStream } from '../../jetstream/service.js';
import type { Stream } from '../../streams/stream.js';
import type { StreamSource } from '../../streams/stream-config.js';
import type { QueueRefusal, StoredMessage } from './store.js';
import { type MqttStoreCounters, type MqttStoreLimits, messageBytes } from './store-limits.js';
import { copyMessage } from './store-memory.js';
import { decodeRetained, encodeRetained, keyOf } from './store-records.js';
import { hasWildcard, topicMatches } from './topics.js';

/** Tombstones (retained clears) are kept this long for nodes that were away. */
export const RETAINED_TOMBSTONE_MS = 24 * 60 * 60 * 1000;
/** How often a node looks for other nodes' retained streams to source from. */
export const RETAINED_PEERS_POLL_MS = 1000;
/** The stream-name prefix of every node's retained stream. */
export const RETAINED_STREAM_PREFIX = '$MQTT_rmsgs';

interface Version {
  /** Where it is in this node's stream. */
  readonly seq: number;
  readonly at: number;
  readonly bytes: number;
  readonly expiresAt: number | undefined;
  readonly deleted: boolean;
  /** The message itself while the cache holds it (see `cache`). */
  message: StoredMessage | null;
}

type Versions = Map<string, Version>;

export class StreamRetained {
  /** Topic → node token → its newest version here. */
  private readonly topics = new Map<string, Versions>();
  /** The winning versions that are messages (not clears): count and bytes. */
  private held = 0;
  private heldBytes = 0;
  /** The last stream sequence read into the index. */
  private indexed = 0;
  private catching: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Sources added for other nodes (by stream name). */
  private readonly peers = new Set<string>();
  /** Records that did not decode. */
  skipped = 0;
  /**
   * Bytes of retained messages held in memory with their versions, bounded
   * by the account's maxRetainedBytes: nats-server keeps retained messages
   * in memory too, and a wildcard subscribe then reads no disk. Versions
   * past the bound are read from the stream (counted in `uncachedReads`).
   */
  private cachedBytes = 0;
  uncachedReads = 0;

  constructor(
    private readonly js: AccountJetStream,
    private readonly stream: Stream,
    /** This node's token in subjects and stream names ('local' when unnamed). */
    private readonly node: string,
    /** The subject prefix, `$MQTT`. */
    private readonly prefix: string,
    private readonly limits: MqttStoreLimits,
    private readonly counters: MqttStoreCounters,
  ) {
    for (const s of stream.config.sources ?? []) this.peers.add(s.name);
  }

  /** Reads the stream into the index and, when `mesh`, starts looking for other nodes. */
  async open(mesh: boolean): Promise<void> {
    await this.catchUp();
    if (!mesh) return;
    this.timer = setInterval(() => {
      this.findPeers().catch(() => {});
    }, RETAINED_PEERS_POLL_MS);
    this.timer.unref();
    await this.findPeers();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Adds a source for each other node's retained stream not sourced yet. */
  private async findPeers(): Promise<void> {
    const mine = this.stream.name;
    const fresh = this.js
      .remoteNames()
      .filter(
        (n) => n.startsWith(`${RETAINED_STREAM_PREFIX}_`) && n !== mine && !this.peers.has(n),
      );
    if (fresh.length === 0) return;
    const cs = this.js.streams.get(mine);
    if (cs === undefined || cs.stream !== this.stream) return;
    for (const n of fresh) this.peers.add(n);
    const sources: StreamSource[] = [...this.peers].sort().map((name) => ({
      name,
      filter_subject: `${this.prefix}.rmsg.${name.slice(RETAINED_STREAM_PREFIX.length + 1)}.>`,
    }));
    await this.js.update(cs, { ...this.stream.config, sources });
  }

  /** Reads what the stream holds past the last sequence read. */
  catchUp(): Promise<void> {
    if (this.stream.state().lastSeq <= this.indexed) return Promise.resolve();
    this.catching ??= this.read().finally(() => {
      this.catching = null;
    });
    return this.catching;
  }

  private async read(): Promise<void> {
    const skip = `${this.prefix}.rmsg.`.length;
    for (let m = await this.stream.messages.next(this.indexed + 1); m !== null; ) {
      this.indexed = m.seq;
      const r = decodeRetained(m.payload);
      const origin = m.subject.slice(skip, m.subject.indexOf('.', skip));
      if (r === null || origin === '') this.skipped++;
      else this.apply(r.topic, origin, version(m.seq, r.at, r.message));
      m = await this.stream.messages.next(m.seq + 1);
    }
  }

  private apply(topic: string, origin: string, v: Version): void {
    let vs = this.topics.get(topic);
    if (vs === undefined) {
      vs = new Map();
      this.topics.set(topic, vs);
    }
    const cur = vs.get(origin);
    if (cur !== undefined && cur.seq >= v.seq) return;
    this.count(winner(vs), -1);
    if (cur !== undefined) this.uncache(cur);
    this.cache(v);
    vs.set(origin, v);
    this.count(winner(vs), 1);
  }

  private cache(v: Version): void {
    if (v.message === null) return;
    if (this.cachedBytes + v.bytes > this.limits.maxRetainedBytes) v.message = null;
    else this.cachedBytes += v.bytes;
  }

  private uncache(v: Version): void {
    if (v.message === null) return;
    this.cachedBytes -= v.bytes;
    v.message = null;
  }

  /** Puts back `old` (or nothing) for `origin` if `v` is still there: a write that failed. */
  private revert(topic: string, origin: string, v: Version, old: Version | undefined): void {
    const vs = this.topics.get(topic);
    if (vs === undefined || vs.get(origin) !== v) return;
    this.count(winner(vs), -1);
    this.uncache(v);
    if (old === undefined) vs.delete(origin);
    else vs.set(origin, old);
    this.count(winner(vs), 1);
    if (vs.size === 0) this.topics.delete(topic);
  }

  private count(w: Version | null, sign: 1 | -1): void {
    if (w === null || w.deleted) return;
    this.held += sign;
    this.heldBytes += sign * w.bytes;
  }

  async set(topic: string, message: StoredMessage | null): Promise<QueueRefusal | null> {
    await this.catchUp();
    const vs = this.topics.get(topic);
    const won = vs === undefined ? null : winner(vs);
    const live = won !== null && !won.deleted ? won : null;
    if (message === null && live === null) return null;
    if (message !== null) {
      const bytes = messageBytes(message);
      if (live === null && this.held >= this.limits.maxRetainedMessages) {
        this.counters.retainedFullMessages++;
        return 'count';
      }
      if (this.heldBytes - (live?.bytes ?? 0) + bytes > this.limits.maxRetainedBytes) {
        this.counters.retainedFullBytes++;
        return 'bytes';
      }
    }
    let at = Date.now();
    for (const v of vs?.values() ?? []) at = Math.max(at, v.at + 1);
    const subject = `${this.prefix}.rmsg.${this.node}.${keyOf(topic)}`;
    const before = this.stream.state().lastSeq;
    // One record per subject: the stream drops this node's previous one once this is in.
    const done = this.stream.store(subject, null, encodeRetained(topic, message, at));
    const seq = this.stream.state().lastSeq;
    if (seq === before) {
      await done;
      return null;
    }
    const old = vs?.get(this.node);
    const v = version(seq, at, message === null ? null : copyMessage(message));
    this.apply(topic, this.node, v);
    // Nothing unread before it: the index need not read it back.
    if (this.indexed === seq - 1) this.indexed = seq;
    try {
      await done;
    } catch (err) {
      this.revert(topic, this.node, v, old);
      throw err;
    }
    // Other nodes' sources read this stream through a pull consumer: wake it.
    notifyConsumers(this.js, this.stream, seq, subject);
    return null;
  }

  async get(filter: string): Promise<StoredMessage[]> {
    await this.catchUp();
    const now = Date.now();
    const found: Version[] = [];
    const topics = hasWildcard(filter) ? this.topics.keys() : [filter];
    for (const topic of topics) {
      const vs = this.topics.get(topic);
      if (vs === undefined || !topicMatches(filter, topic)) continue;
      const w = winner(vs);
      if (w === null || w.deleted) continue;
      if (w.expiresAt !== undefined && w.expiresAt <= now) {
        this.counters.messagesExpired++;
        await this.set(topic, null);
        continue;
      }
      found.push(w);
    }
    found.sort((a, b) => a.seq - b.seq);
    const out: StoredMessage[] = [];
    for (const f of found) {
      if (f.message !== null) {
        out.push(f.message);
        continue;
      }
      this.uncachedReads++;
      const m = await this.stream.messages.get(f.seq);
      const r = m === null ? null : decodeRetained(m.payload);
      if (r?.message != null) out.push(r.message);
    }
    return out;
  }

  /** Removes the tombstones of topics cleared everywhere longer than RETAINED_TOMBSTONE_MS ago. */
  async expire(now: number): Promise<void> {
    const ops: Promise<unknown>[] = [];
    for (const [topic, vs] of this.topics) {
      const w = winner(vs);
      // Older versions it beat go with it: every node drops the same ones.
      if (w === null || !w.deleted || w.at > now - RETAINED_TOMBSTONE_MS) continue;
      this.topics.delete(topic);
      for (const v of vs.values()) this.uncache(v);
      const key = keyOf(topic);
      for (const origin of vs.keys()) {
        ops.push(this.stream.messages.purge({ subject: `${this.prefix}.rmsg.${origin}.${key}` }));
      }
    }
    await Promise.all(ops);
  }
}

/**
 * Tells a stream's consumers of a record written straight to the stream
 * (not captured), as a captured message tells them, so a waiting pull gets
 * it at once instead of at its next request.
 */
export function notifyConsumers(
  js: AccountJetStream,
  stream: Stream,
  seq: number,
  subject: string,
): void {
  const cs = js.streams.get(stream.name);
  if (cs !== undefined && cs.stream === stream) cs.consumers.stored(seq, subject);
}

function version(seq: number, at: number, message: StoredMessage | null): Version {
  return {
    seq,
    at,
    bytes: message === null ? 0 : messageBytes(message),
    expiresAt: message?.expiresAt,
    deleted: message === null,
    message,
  };
}

/** The version that wins: the newest; between equals, the greater node token. */
function winner(vs: Versions): Version | null {
  let best: Version | null = null;
  let bestOrigin = '';
  for (const [origin, v] of vs) {
    if (best === null || v.at > best.at || (v.at === best.at && origin > bestOrigin)) {
      best = v;
      bestOrigin = origin;
    }
  }
  return best;
}
