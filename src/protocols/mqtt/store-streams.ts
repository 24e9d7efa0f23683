/**
 * The durable MQTT store: one account's MQTT state kept in three of its
 * JetStream streams, as nats-server keeps it in `$MQTT_sess`, `$MQTT_msgs`
 * and `$MQTT_rmsgs` (docs/mqtt.md, "State and durability"):
 *
 * | stream              | subject                                | record                        |
 * |---------------------|----------------------------------------|-------------------------------|
 * | `$MQTT_sess_<node>` | `$MQTT.sess.<node>.<client>`           | the session (JSON)            |
 * |                     | `$MQTT.sess.<node>.<client>.in.<pid>`  | a QoS 2 packet id, unreleased |
 * | `$MQTT_msgs_<node>` | `$MQTT.msgs.<node>.<client>.q`         | a queued message; id = seq    |
 * |                     | `$MQTT.msgs.<node>.<client>.m`         | an in-flight mark             |
 * | `$MQTT_rmsgs_<node>`| `$MQTT.rmsg.<origin node>.<topic>`     | a retained message (store-retained.ts) |
 *
 * `<node>` is the node's token (mqttStreamNames: its name; an unnamed node
 * has no `_<node>` suffix and the token `local`); `<client>` and `<topic>`
 * are `keyOf` (a hash: client ids and topics hold characters subjects
 * cannot). `$MQTT_sess` and `$MQTT_rmsgs` keep one message per subject, so
 * a write replaces the one before. Writes go
 * straight to the stream (`Stream.store`, with the account's limits) and
 * resolve once durable under the node's sync policy; removals are the
 * store's `remove`/`purge`, durable the same way.
 *
 * The store keeps an index in memory (which sessions, which queue entries
 * with their sizes and marks, which packet ids, which retained topics) and
 * reads payloads from the streams when asked. `open` rebuilds the index by
 * reading the streams once; records that do not decode are skipped and
 * counted (`skippedRecords`), and records of clients with no session
 * record (state of clean sessions) are removed.
 *
 * The streams are ordinary streams of the account (visible in `nats stream
 * ls`, counted in its limits). A client that may publish to `$MQTT.>` can
 * write into them; deny it that subject.
 */
import type { AccountJetStream } from '../../jetstream/service.js';
import { NO_PUB_HEADERS } from '../../streams/headers.js';
import type { StoredMessage as StoredStreamMessage } from '../../streams/store.js';
import type { Stream } from '../../streams/stream.js';
import { normalizeConfig } from '../../streams/stream-config.js';
import type {
  MqttStore,
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
  newCounters,
  queueRefusal,
  sessionExpired,
  storeLimits,
} from './store-limits.js';
import {
  decodeIncoming,
  decodeMark,
  decodeMessage,
  decodeSession,
  encodeIncoming,
  encodeMark,
  encodeMessage,
  encodeSession,
  keyOf,
} from './store-records.js';
import { notifyConsumers, RETAINED_STREAM_PREFIX, StreamRetained } from './store-retained.js';

/**
 * The names of a node's MQTT streams and its token in their subjects. A
 * named node (`server_name`, which a mesh needs anyway) gets `_<token>`
 * after each stream name, so that nodes of a mesh keep theirs apart; an
 * unnamed one (its id changes on every start) gets no suffix and the token
 * `local`. The token is the name when it is a plain word, else its keyOf.
 */
export function mqttStreamNames(node = ''): {
  sess: string;
  msgs: string;
  rmsgs: string;
  prefix: string;
  token: string;
} {
  const token = node === '' ? 'local' : /^[A-Za-z0-9_-]{1,64}$/.test(node) ? node : keyOf(node);
  const suffix = node === '' ? '' : `_${token}`;
  return {
    sess: `$MQTT_sess${suffix}`,
    msgs: `$MQTT_msgs${suffix}`,
    rmsgs: `${RETAINED_STREAM_PREFIX}${suffix}`,
    prefix: '$MQTT',
    token,
  };
}

interface Entry {
  readonly bytes: number;
  readonly expiresAt: number | undefined;
  packetId?: number;
  released?: boolean;
  /** Seq of the entry's newest mark, 0 when none. */
  markSeq: number;
}

interface Client {
  readonly clientId: string;
  readonly key: string;
  session: StoredSession | null;
  /** Seq of the session record, 0 when none. */
  sessionSeq: number;
  /** Queue entries by id (their seq in `$MQTT_msgs`), oldest first. */
  readonly queue: Map<number, Entry>;
  queueBytes: number;
  /** Packet id → seq of its record. */
  readonly incoming: Map<number, number>;
}

export interface StreamMqttStoreOptions {
  limits?: Partial<MqttStoreLimits>;
  /**
   * The node's name (`server_name`), '' when unnamed: names its streams
   * (mqttStreamNames). A named node sources the retained messages of the
   * other nodes of its mesh (store-retained.ts).
   */
  node?: string;
}

export class StreamMqttStore implements MqttStore {
  readonly durable = true;
  readonly limits: MqttStoreLimits;
  readonly counters: MqttStoreCounters = newCounters();
  /** Records read from the streams that did not decode (skipped). */
  get skippedRecords(): number {
    return this.skipped + (this.retainedSet?.skipped ?? 0);
  }
  private skipped = 0;
  /** Retained messages read from the stream because the memory cache was full (store-retained.ts). */
  get retainedUncachedReads(): number {
    return this.retainedSet?.uncachedReads ?? 0;
  }
  private readonly names: ReturnType<typeof mqttStreamNames>;
  private sess: Stream | null = null;
  private msgs: Stream | null = null;
  private readonly clients = new Map<string, Client>();
  private sessionCount = 0;
  private retainedSet: StreamRetained | null = null;
  private closed = false;
  private readonly mesh: boolean;

  constructor(
    private readonly js: AccountJetStream,
    opts: StreamMqttStoreOptions = {},
  ) {
    this.limits = storeLimits(opts.limits);
    this.names = mqttStreamNames(opts.node);
    this.mesh = (opts.node ?? '') !== '';
  }

  /** Opens (creating them when missing) the three streams and reads them into the index. */
  async open(): Promise<void> {
    const n = this.names;
    this.sess = await this.stream(n.sess, `${n.prefix}.sess.${n.token}.>`, 1);
    this.msgs = await this.stream(n.msgs, `${n.prefix}.msgs.${n.token}.>`, -1);
    const rmsgs = await this.stream(n.rmsgs, `${n.prefix}.rmsg.${n.token}.>`, 1);
    this.retainedSet = new StreamRetained(
      this.js,
      rmsgs,
      n.token,
      n.prefix,
      this.limits,
      this.counters,
    );
    await this.load(Date.now());
    await this.retainedSet.open(this.mesh);
  }

  private async stream(name: string, subject: string, perSubject: number): Promise<Stream> {
    const have = this.js.streams.get(name);
    if (have !== undefined) return have.stream;
    const config = normalizeConfig(
      { name, subjects: [subject], max_msgs_per_subject: perSubject, storage: 'file' },
      name,
    );
    return (await this.js.create(config)).stream;
  }

  async close(): Promise<void> {
    // The streams are the account's: JetStream closes them when it stops.
    this.closed = true;
    this.retainedSet?.close();
  }

  // ---- sessions ----

  async loadSession(clientId: string): Promise<StoredSession | null> {
    return this.clients.get(clientId)?.session ?? null;
  }

  async saveSession(session: StoredSession): Promise<SessionRefusal | null> {
    const c = this.client(session.clientId);
    const before = c.session;
    if (before === null && this.sessionCount >= this.limits.maxSessions) {
      this.counters.sessionsFull++;
      return 'sessions';
    }
    const copy: StoredSession = {
      ...session,
      subscriptions: session.subscriptions.map((s) => ({ ...s })),
    };
    const w = this.write(this.sess!, this.subject('sess', c.key), encodeSession(copy));
    const seqBefore = c.sessionSeq;
    c.session = copy;
    c.sessionSeq = w.seq;
    if (before === null) this.sessionCount++;
    try {
      await w.done;
    } catch (err) {
      if (c.session === copy) {
        c.session = before;
        c.sessionSeq = seqBefore;
        if (before === null) this.sessionCount--;
      }
      throw err;
    }
    return null;
  }

  async deleteSession(clientId: string): Promise<void> {
    const c = this.clients.get(clientId);
    if (c === undefined) return;
    this.live();
    this.clients.delete(clientId);
    if (c.session !== null) this.sessionCount--;
    const ops: Promise<unknown>[] = [
      this.sess!.messages.purge({ subject: this.subject('sess', c.key) }),
      this.msgs!.messages.purge({ subject: this.subject('msgs', `${c.key}.q`) }),
      this.msgs!.messages.purge({ subject: this.subject('msgs', `${c.key}.m`) }),
    ];
    for (const seq of c.incoming.values()) ops.push(this.sess!.messages.remove(seq));
    await Promise.all(ops);
  }

  async sessions(): Promise<StoredSession[]> {
    const out: StoredSession[] = [];
    for (const c of this.clients.values()) if (c.session !== null) out.push(c.session);
    return out;
  }

  async expire(now = Date.now()): Promise<string[]> {
    const gone: string[] = [];
    for (const c of this.clients.values()) {
      if (c.session !== null && sessionExpired(c.session, now)) gone.push(c.clientId);
    }
    for (const id of gone) await this.deleteSession(id);
    this.counters.sessionsExpired += gone.length;
    await this.retainedSet?.expire(now);
    return gone;
  }

  // ---- queues ----

  async enqueue(clientId: string, message: StoredMessage): Promise<number | QueueRefusal> {
    const c = this.client(clientId);
    const bytes = messageBytes(message);
    const refused = queueRefusal(this.limits, c.queue.size, c.queueBytes, bytes);
    if (refused !== null) {
      if (refused === 'count') this.counters.queueFullMessages++;
      else this.counters.queueFullBytes++;
      return refused;
    }
    const w = this.write(
      this.msgs!,
      this.subject('msgs', `${c.key}.q`),
      encodeMessage(message, clientId),
    );
    if (w.seq > 0) {
      c.queue.set(w.seq, { bytes, expiresAt: message.expiresAt, markSeq: 0 });
      c.queueBytes += bytes;
    }
    try {
      await w.done;
    } catch (err) {
      this.dropEntry(c, w.seq);
      throw err;
    }
    return w.seq;
  }

  async queued(clientId: string): Promise<QueuedMessage[]> {
    const c = this.clients.get(clientId);
    if (c === undefined) return [];
    const now = Date.now();
    const out: QueuedMessage[] = [];
    for (const [id, e] of [...c.queue]) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        this.counters.messagesExpired++;
        await this.ack(clientId, id);
        continue;
      }
      const stored = await this.msgs!.messages.get(id);
      const decoded = stored === null ? null : decodeMessage(stored.payload);
      if (decoded === null) {
        // Removed or damaged under the store (an API purge): it is gone.
        this.dropEntry(c, id);
        continue;
      }
      out.push({
        id,
        message: decoded.message,
        ...(e.packetId === undefined ? {} : { packetId: e.packetId }),
        ...(e.released === true ? { released: true } : {}),
      });
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
    const e = c?.queue.get(id);
    if (c === undefined || e === undefined) return;
    const rel = released === true;
    const w = this.write(
      this.msgs!,
      this.subject('msgs', `${c.key}.m`),
      encodeMark({ id, packetId, released: rel }),
    );
    const old = e.markSeq;
    e.packetId = packetId;
    e.released = rel;
    e.markSeq = w.seq;
    await w.done;
    // The newer mark is durable: the one it replaces can go.
    if (old > 0) await this.msgs!.messages.remove(old);
  }

  async ack(clientId: string, id: number): Promise<void> {
    const c = this.clients.get(clientId);
    const e = c?.queue.get(id);
    if (c === undefined || e === undefined) return;
    this.live();
    this.dropEntry(c, id);
    // The entry first: a mark left without its entry is ignored (and removed) at open.
    const gone = this.msgs!.messages.remove(id);
    const mark = e.markSeq > 0 ? this.msgs!.messages.remove(e.markSeq) : null;
    await Promise.all([gone, mark]);
  }

  private dropEntry(c: Client, id: number): void {
    const e = c.queue.get(id);
    if (e === undefined) return;
    c.queue.delete(id);
    c.queueBytes -= e.bytes;
  }

  // ---- QoS 2 inbound ----

  async rememberIncoming(clientId: string, packetId: number): Promise<void> {
    const c = this.client(clientId);
    if (c.incoming.has(packetId)) return;
    const w = this.write(
      this.sess!,
      this.subject('sess', `${c.key}.in.${packetId}`),
      encodeIncoming(clientId, packetId),
    );
    c.incoming.set(packetId, w.seq);
    try {
      await w.done;
    } catch (err) {
      if (c.incoming.get(packetId) === w.seq) c.incoming.delete(packetId);
      throw err;
    }
  }

  async releaseIncoming(clientId: string, packetId: number): Promise<void> {
    const c = this.clients.get(clientId);
    const seq = c?.incoming.get(packetId);
    if (c === undefined || seq === undefined) return;
    this.live();
    c.incoming.delete(packetId);
    await this.sess!.messages.remove(seq);
  }

  async incoming(clientId: string): Promise<number[]> {
    const c = this.clients.get(clientId);
    return c === undefined ? [] : [...c.incoming.keys()].sort((a, b) => a - b);
  }

  // ---- retained (store-retained.ts) ----

  async setRetained(topic: string, message: StoredMessage | null): Promise<QueueRefusal | null> {
    this.live();
    return this.retainedSet!.set(topic, message);
  }

  async retained(filter: string): Promise<StoredMessage[]> {
    this.live();
    return this.retainedSet!.get(filter);
  }

  // ---- open ----

  /**
   * Rebuilds the index from the streams. A session stored as connected (the
   * node stopped under it) is taken as disconnected at `now`. Queue entries,
   * marks and packet ids of clients without a session record are removed.
   */
  private async load(now: number): Promise<void> {
    const stale: Array<[Stream, number]> = [];
    for await (const m of scan(this.sess!)) {
      const rest = m.subject.slice(this.subject('sess', '').length);
      const dot = rest.indexOf('.');
      if (dot < 0) {
        const s = decodeSession(m.payload);
        if (s === null || keyOf(s.clientId) !== rest) {
          this.skipped++;
          continue;
        }
        const c = this.client(s.clientId);
        if (c.session === null) this.sessionCount++;
        c.session = s.disconnectedAt === null ? { ...s, disconnectedAt: now } : s;
        c.sessionSeq = m.seq;
        continue;
      }
      const inc = decodeIncoming(m.payload);
      if (inc === null || keyOf(inc.clientId) !== rest.slice(0, dot)) {
        this.skipped++;
        continue;
      }
      this.client(inc.clientId).incoming.set(inc.packetId, m.seq);
    }
    const owner = new Map<number, Client>();
    for await (const m of scan(this.msgs!)) {
      if (m.subject.endsWith('.q')) {
        const d = decodeMessage(m.payload);
        if (d === null || d.clientId === '') {
          this.skipped++;
          continue;
        }
        const c = this.client(d.clientId);
        const bytes = messageBytes(d.message);
        c.queue.set(m.seq, { bytes, expiresAt: d.message.expiresAt, markSeq: 0 });
        c.queueBytes += bytes;
        owner.set(m.seq, c);
        continue;
      }
      const mark = decodeMark(m.payload);
      const e = mark === null ? undefined : owner.get(mark.id)?.queue.get(mark.id);
      if (mark === null || e === undefined) {
        // Its entry was acknowledged (the entry goes first), or it is not ours.
        if (mark !== null) stale.push([this.msgs!, m.seq]);
        else this.skipped++;
        continue;
      }
      if (e.markSeq > 0) stale.push([this.msgs!, e.markSeq]);
      e.markSeq = m.seq;
      e.packetId = mark.packetId;
      e.released = mark.released;
    }
    for (const c of [...this.clients.values()]) {
      if (c.session !== null) continue;
      this.clients.delete(c.clientId);
      for (const [id, e] of c.queue) {
        stale.push([this.msgs!, id]);
        if (e.markSeq > 0) stale.push([this.msgs!, e.markSeq]);
      }
      for (const seq of c.incoming.values()) stale.push([this.sess!, seq]);
    }
    await Promise.all(stale.map(([s, seq]) => s.messages.remove(seq)));
  }

  // ---- helpers ----

  /** `$MQTT.<kind>.<node token>.<rest>`. */
  private subject(kind: 'sess' | 'msgs', rest: string): string {
    return `${this.names.prefix}.${kind}.${this.names.token}.${rest}`;
  }

  private live(): void {
    if (this.closed || this.sess === null) throw new Error('MQTT store is not open');
  }

  private client(clientId: string): Client {
    this.live();
    let c = this.clients.get(clientId);
    if (c === undefined) {
      c = {
        clientId,
        key: keyOf(clientId),
        session: null,
        sessionSeq: 0,
        queue: new Map(),
        queueBytes: 0,
        incoming: new Map(),
      };
      this.clients.set(clientId, c);
    }
    return c;
  }

  /**
   * Starts a durable write: `seq` is the sequence the record takes (0 when
   * the stream refused it at once; `done` then rejects with why).
   */
  private write(
    stream: Stream,
    subject: string,
    data: Buffer,
  ): { seq: number; done: Promise<unknown> } {
    this.live();
    const before = stream.state().lastSeq;
    const stored = stream.store(subject, null, data, NO_PUB_HEADERS);
    const after = stream.state().lastSeq;
    const seq = after > before ? after : 0;
    // A consumer of the stream (someone's `nats` client) hears of it as of a captured message.
    const done = stored.then(() => notifyConsumers(this.js, stream, seq, subject));
    return { seq, done };
  }
}

/** Every message a stream holds, oldest first. */
async function* scan(stream: Stream): AsyncGenerator<StoredStreamMessage> {
  for (
    let m = await stream.messages.next(0);
    m !== null;
    m = await stream.messages.next(m.seq + 1)
  ) {
    yield m;
  }
}
