/**
 * An MQTT session's state, which outlives its connections [MQTT-3.1.2-4]:
 * its subscriptions (held in the core while the client is offline, so
 * QoS 1/2 messages are queued for it), its queue of QoS 1/2 messages sent
 * and not yet acknowledged or not yet sent, and the QoS 2 packet
 * identifiers received and not yet released. It is the core's `Subscriber`
 * for the session; a connection (session.ts) attaches to it and sends what
 * it hands over.
 *
 * A persistent session (clean session 0, or 5.0 session expiry > 0) keeps
 * this through the MqttStore, so it survives a restart; a clean one keeps
 * it in memory only and ends with its connection.
 */
import type { Guard } from '../../auth/guard.js';
import type { Congestion } from '../../connection/congestion.js';
import type { Account } from '../../core/account.js';
import type { Message, Subscriber, Subscription } from '../../core/message.js';
import type { MqttCounters } from './counters.js';
import { forgetLastAfterTick } from './last-msg.js';
import { fromHeaders, type MqttView, storedFrom } from './properties.js';
import type { MessageProperties, MqttStore, StoredMessage, StoredSubscription } from './store.js';
import { QUEUE_MEMORY_MAX, QUEUE_STALL_AT } from './store-limits.js';
import { dollarRuleAllows, filterToSubjects, subjectToTopic, topicMatches } from './topics.js';
import { collectWrite } from './write-collector.js';

export { type MqttCounters, newCounters } from './counters.js';
export { QUEUE_MEMORY_MAX, QUEUE_STALL_AT };

/** One message on its way to the client. */
export interface Outgoing {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly dup: boolean;
  readonly packetId?: number;
  readonly properties?: MessageProperties;
  /** Seconds left of its message expiry interval [MQTT-3.3.2-6]. */
  readonly expiryLeft?: number;
  readonly subscriptionIds?: number[];
}

/** What the state needs from the connection attached to it. */
export interface Attached {
  readonly id: number;
  readonly version: 4 | 5;
  /** QoS 1/2 messages the client takes unacknowledged: min(its Receive Maximum, mqtt.max_inflight). */
  readonly inflightMax: number;
  /** Sends a PUBLISH; false when it was not sent (too large for the client). */
  sendPublish(out: Outgoing): boolean;
  sendPubrel(packetId: number): void;
  /** The client takes no QoS 1/2 messages while publishers wait on it: close it as a slow consumer. */
  slowAcks(): void;
}

export interface StateHost {
  readonly counters: MqttCounters;
  /** Publishers pause while a connected session's queue is long (see QUEUE_STALL_AT). */
  readonly congestion: Congestion;
  /** How long publishers may wait on one session before its client is a slow consumer, ms. */
  readonly options: { readonly writeDeadlineMs: number };
  storeFailed(what: string, err: unknown): void;
}

/** A subscription of the session: one MQTT filter, one or two core subscriptions. */
export interface SubEntry {
  /** As subscribed, with `$share/<group>/` when shared. */
  readonly filter: string;
  /** The filter matched against topics (without the share prefix). */
  readonly match: string;
  readonly queue: string;
  readonly qos: 0 | 1 | 2;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly identifier: number | undefined;
  /** Deliveries are checked against the subscribe deny rules (set again when the rules change). */
  check: boolean;
  core: CoreSub[];
}

interface CoreSub extends Subscription {
  readonly entry: SubEntry;
}

/** A QoS 1/2 message of the session's queue. */
interface Pending {
  /** The store's id; -1 while the store has not yet taken it; 0 for a clean session (not stored). */
  storeId: number;
  readonly message: StoredMessage;
  packetId: number;
  /** QoS 2: PUBREC received, PUBREL sent. */
  released: boolean;
  sent: boolean;
}

/** The subscriptions of a session that has none (never written). */
const NO_ENTRIES: ReadonlyMap<string, SubEntry> = new Map();

export class SessionState implements Subscriber {
  readonly kind = 'client' as const;
  readonly echo = true;
  /** Its subscriptions by filter; made at the first (an idle session holds none). */
  private entryMap: Map<string, SubEntry> | null = null;
  /** Non-shared entries, and entries with a subscription identifier (for deliveries). */
  private plain = 0;
  private withIds = 0;
  conn: Attached | null = null;
  /** The last connection's id (`/subsz` shows it while offline). */
  private lastId = 0;
  guard: Guard | null;
  private readonly queue: Pending[] = [];
  private inflight = 0;
  /** The queue's entries before this index are all sent: pump() starts there. */
  private sentLead = 0;
  /**
   * The queue's entries sent and not yet acknowledged, by packet id: an
   * acknowledgement and a new packet id are found without scanning a queue
   * that may hold hundreds (made at the first QoS 1/2 send).
   */
  private sentById: Map<number, Pending> | null = null;
  private nextPacketId = 1;
  /** QoS 2 packet ids received and not yet released (PUBREL) [MQTT-4.3.3-2]; made at first use. */
  private incomingSet: Set<number> | null = null;
  /** The message this session is publishing now (No Local). */
  ownMsg: Message | null = null;
  /** The last message delivered (overlapping subscriptions deliver once [MQTT-3.3.5-1]). */
  private lastMsg: Message | null = null;
  expiryTimer: NodeJS.Timeout | null = null;
  /** When publishers began to wait on this session's queue (ms), 0 when they do not. */
  private stalledSince = 0;
  private stallTimer: NodeJS.Timeout | null = null;
  /** When its last connection ended (ms), null while connected. */
  disconnectedAt: number | null = null;

  constructor(
    readonly key: string,
    readonly clientId: string,
    readonly account: Account,
    guard: Guard | null,
    public protocol: 4 | 5,
    /** Seconds it outlives its connection; 0xFFFFFFFF never expires. */
    public expiryInterval: number,
    /** The store of its account. */
    readonly store: MqttStore,
    private readonly host: StateHost,
  ) {
    this.guard = guard;
  }

  get id(): number {
    return this.conn?.id ?? this.lastId;
  }

  get entries(): ReadonlyMap<string, SubEntry> {
    return this.entryMap ?? NO_ENTRIES;
  }

  get incoming(): Set<number> {
    this.incomingSet ??= new Set();
    return this.incomingSet;
  }

  /** Kept in the store (and across restarts). */
  get persistent(): boolean {
    return this.expiryInterval > 0;
  }

  /** Kept beyond memory: persistent, in a durable store. */
  get durable(): boolean {
    return this.persistent && this.store.durable;
  }

  // --- subscriptions --------------------------------------------------------

  /** Adds or replaces a subscription [MQTT-3.8.4-3]; true when it replaced one. */
  subscribe(e: Omit<SubEntry, 'core'>): boolean {
    const replaced = this.unsubscribe(e.filter);
    const entry: SubEntry = { ...e, core: [] };
    for (const subject of filterToSubjects(e.match)) {
      const sub: CoreSub = {
        subject,
        queue: e.queue,
        sid: e.filter,
        owner: this,
        max: 0,
        delivered: 0,
        entry,
      };
      entry.core.push(sub);
      this.account.subscribe(sub);
    }
    this.entryMap ??= new Map();
    this.entryMap.set(e.filter, entry);
    if (e.queue === '') this.plain++;
    if (e.identifier !== undefined) this.withIds++;
    return replaced;
  }

  unsubscribe(filter: string): boolean {
    const e = this.entryMap?.get(filter);
    if (e === undefined) return false;
    for (const sub of e.core) this.account.unsubscribe(sub);
    this.entryMap!.delete(filter);
    if (e.queue === '') this.plain--;
    if (e.identifier !== undefined) this.withIds--;
    return true;
  }

  storedSubscriptions(): StoredSubscription[] {
    return [...this.entries.values()].map((e) => ({
      filter: e.filter,
      qos: e.qos,
      noLocal: e.noLocal,
      retainAsPublished: e.retainAsPublished,
      retainHandling: e.retainHandling,
      ...(e.identifier !== undefined ? { identifier: e.identifier } : {}),
    }));
  }

  // --- deliveries from the core --------------------------------------------

  /** The dispatch that set `lastMsg` is over (last-msg.ts). */
  forgetLastMsg(): void {
    this.lastMsg = null;
  }

  accepts(sub: Subscription, msg: Message): boolean {
    const e = (sub as CoreSub).entry;
    if (e.check && this.guard !== null && !this.guard.receive(msg.subject, sub.queue)) return false;
    return !(e.noLocal && msg === this.ownMsg);
  }

  deliver(sub: Subscription, msg: Message): void {
    const entry = (sub as CoreSub).entry;
    if (entry.queue === '') {
      // One message reaches each of a session's overlapping subscriptions:
      // it is sent once, at the highest QoS of those that match [MQTT-3.3.5-1].
      const last = this.lastMsg;
      if (msg === last) return;
      this.lastMsg = msg;
      if (last === null) forgetLastAfterTick(this);
    }
    const topic = subjectToTopic(msg.subject);
    if (topic === null) {
      this.host.counters.untranslatable++;
      return;
    }
    const view = fromHeaders(msg.headers);
    let qos = -1;
    let retain = false;
    if (entry.queue !== '' || this.plain === 1) {
      if (!dollarRuleAllows(entry.match, topic) || !this.accepts(sub, msg)) return;
      qos = Math.min(entry.qos, view.qos);
      retain = entry.retainAsPublished && view.retain;
    } else {
      for (const e of this.entries.values()) {
        if (e.queue !== '' || !topicMatches(e.match, topic)) continue;
        if (e.noLocal && msg === this.ownMsg) continue;
        if (e.check && this.guard !== null && !this.guard.receive(msg.subject)) continue;
        qos = Math.max(qos, Math.min(e.qos, view.qos));
        retain ||= e.retainAsPublished && view.retain;
      }
      if (qos < 0) return;
    }
    if (msg.reply !== '') this.guard?.delivered(msg.reply);
    const response = msg.reply === '' ? null : subjectToTopic(msg.reply);
    this.send(topic, msg, view, qos as 0 | 1 | 2, retain, response);
  }

  private send(
    topic: string,
    msg: Message,
    view: MqttView,
    qos: 0 | 1 | 2,
    retain: boolean,
    response: string | null,
  ): void {
    if (view.expiresAt !== undefined && view.expiresAt <= Date.now()) {
      this.host.counters.expired++;
      return;
    }
    if (qos === 0) {
      const c = this.conn;
      if (c === null) return; // QoS 0 is not queued for an offline client
      // Not stored: a plain message keeps the core's payload view (encoded at once).
      const m: StoredMessage =
        view.properties === undefined && view.expiresAt === undefined && response === null
          ? { topic, payload: msg.payload, qos: 0, retain }
          : storedFrom(topic, msg, view, 0, retain, response);
      c.sendPublish(this.outgoing(m, 0, false));
      return;
    }
    if (this.conn === null && !this.persistent) return;
    this.enqueue(storedFrom(topic, msg, view, qos, retain, response));
  }

  /** Queues a QoS 1/2 message (the store first, for a persistent session), then sends what the window allows. */
  enqueue(m: StoredMessage): void {
    if (!this.persistent && this.queue.length >= QUEUE_MEMORY_MAX) {
      // A clean session's queue is not in the store: bounded here, as the store bounds the rest.
      this.host.counters.queueOverflows++;
      return;
    }
    const p: Pending = { storeId: 0, message: m, packetId: 0, released: false, sent: false };
    this.queue.push(p);
    this.stallIfLong();
    if (!this.persistent) {
      this.pump();
      return;
    }
    p.storeId = -1;
    const write = this.store.enqueue(this.clientId, m).then(
      (r) => {
        if (typeof r === 'string') {
          this.host.counters.queueOverflows++;
          this.drop(p);
        } else p.storeId = r;
        this.pump();
      },
      (err: unknown) => {
        this.host.storeFailed(`queue a message for "${this.clientId}"`, err);
        this.drop(p);
      },
    );
    collectWrite(write);
  }

  private removeAt(i: number): void {
    this.queue.splice(i, 1);
    if (i < this.sentLead) this.sentLead--;
  }

  private drop(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) this.removeAt(i);
    if (p.sent) {
      this.inflight--;
      this.sentById?.delete(p.packetId);
    }
    if (this.stalledSince !== 0 && this.queue.length <= this.stallAt() / 2) this.unstall();
  }

  /** Publishers wait while this connected session's queue is long. */
  private stallIfLong(): void {
    if (this.conn === null || this.queue.length < this.stallAt()) return;
    if (this.stalledSince !== 0) return;
    this.stalledSince = Date.now();
    this.host.counters.queueStalls++;
    this.host.congestion.enter(this);
    // Publishers (local ones paused) may send nothing more: the deadline needs its own timer.
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      if (this.stalledSince !== 0) this.conn?.slowAcks();
    }, this.host.options.writeDeadlineMs);
    this.stallTimer.unref();
  }

  /** The queue length that makes publishers wait (QUEUE_STALL_AT, at least the window). */
  private stallAt(): number {
    return Math.max(QUEUE_STALL_AT, this.conn?.inflightMax ?? 0);
  }

  /**
   * Drops queued messages not yet sent that `allowed` refuses (a session
   * restored after a restart held no permissions until its client came
   * back): returns how many. Sent ones stay, to be completed [MQTT-4.4.0-1].
   */
  withhold(allowed: (topic: string) => boolean): number {
    let n = 0;
    for (let i = 0; i < this.queue.length; i++) {
      const p = this.queue[i]!;
      if (p.sent || p.storeId === -1 || allowed(p.message.topic)) continue;
      this.removeAt(i--);
      this.forget(p);
      n++;
    }
    return n;
  }

  /** Publishers wait on this session now. */
  get stalling(): boolean {
    return this.stalledSince !== 0;
  }

  private unstall(): void {
    if (this.stalledSince === 0) return;
    this.stalledSince = 0;
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.host.congestion.leave(this);
  }

  /** Sends queued messages in order while the in-flight window has room. */
  pump(): void {
    const c = this.conn;
    if (c === null) return;
    // From the first entry not known to be sent: a scan of the in-flight
    // prefix per PUBACK was 10.9% of QoS 1 (Issue 16 — mqtt1).
    for (let i = this.sentLead; i < this.queue.length && this.inflight < c.inflightMax; i++) {
      const p = this.queue[i]!;
      if (p.sent) {
        if (i === this.sentLead) this.sentLead++;
        continue;
      }
      if (p.storeId === -1) break; // order: wait for the store
      const exp = p.message.expiresAt;
      if (exp !== undefined && exp <= Date.now()) {
        this.host.counters.expired++;
        this.removeAt(i--);
        this.forget(p);
        continue;
      }
      p.packetId = this.newPacketId();
      p.sent = true;
      if (i === this.sentLead) this.sentLead++;
      this.inflight++;
      this.sentById ??= new Map();
      this.sentById.set(p.packetId, p);
      if (p.storeId > 0) {
        this.store
          .markSent(this.clientId, p.storeId, p.packetId)
          .catch((err: unknown) => this.host.storeFailed('record a sent message', err));
      }
      if (!c.sendPublish(this.outgoing(p.message, p.packetId, false))) {
        // Too large for this client: discarded as if sent [MQTT-3.1.2-25].
        this.removeAt(i--);
        this.inflight--;
        this.sentById.delete(p.packetId);
        this.forget(p);
      }
    }
  }

  private forget(p: Pending): void {
    if (p.storeId > 0) {
      this.store
        .ack(this.clientId, p.storeId)
        .catch((err: unknown) => this.host.storeFailed('drop an acknowledged message', err));
    }
  }

  private outgoing(m: StoredMessage, packetId: number, dup: boolean): Outgoing {
    const ids = this.withIds === 0 ? undefined : this.identifiers(m.topic);
    // Optional fields added, not spread (Issue 16 — mqtt1, bench/PROFILE.md).
    const o: { -readonly [K in keyof Outgoing]: Outgoing[K] } = {
      topic: m.topic,
      payload: m.payload,
      qos: m.qos,
      retain: m.retain,
      dup,
    };
    if (packetId > 0) o.packetId = packetId;
    if (m.properties !== undefined) o.properties = m.properties;
    if (m.expiresAt !== undefined)
      o.expiryLeft = Math.max(1, Math.ceil((m.expiresAt - Date.now()) / 1000));
    if (ids !== undefined && ids.length > 0) o.subscriptionIds = ids;
    return o;
  }

  /** The subscription identifiers of the subscriptions that match `topic` [MQTT-3.3.4-3]. */
  private identifiers(topic: string): number[] {
    const out: number[] = [];
    for (const e of this.entries.values()) {
      if (e.identifier !== undefined && topicMatches(e.match, topic)) out.push(e.identifier);
    }
    return out;
  }

  /** A retained message for a new subscription: RETAIN set [MQTT-3.3.1-8]. */
  deliverRetained(entry: SubEntry, m: StoredMessage): void {
    if (m.expiresAt !== undefined && m.expiresAt <= Date.now()) return;
    const qos = Math.min(entry.qos, m.qos) as 0 | 1 | 2;
    const copy: StoredMessage = { ...m, qos, retain: true };
    if (qos === 0) this.conn?.sendPublish(this.outgoing(copy, 0, false));
    else this.enqueue(copy);
  }

  private newPacketId(): number {
    // Ids in use are the ones in flight; the window is far below 65535.
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (this.sentById?.has(id) !== true) return id;
    }
  }

  // --- acknowledgements from the client ------------------------------------

  private sentWith(packetId: number, qos: 1 | 2): Pending | undefined {
    const p = this.sentById?.get(packetId);
    return p !== undefined && p.message.qos === qos ? p : undefined;
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2): the message is delivered. False when unknown. */
  acknowledged(packetId: number, qos: 1 | 2): boolean {
    const p = this.sentWith(packetId, qos);
    if (p === undefined || (qos === 2 && !p.released)) return false;
    this.drop(p);
    this.forget(p);
    this.pump();
    return true;
  }

  /** PUBREC: the client has the QoS 2 message; PUBREL follows [MQTT-4.3.3-1]. */
  received(packetId: number): boolean {
    const p = this.sentWith(packetId, 2);
    if (p === undefined) return false;
    if (!p.released) {
      p.released = true;
      if (p.storeId > 0) {
        this.store
          .markSent(this.clientId, p.storeId, packetId, true)
          .catch((err: unknown) => this.host.storeFailed('record a PUBREC', err));
      }
    }
    this.conn?.sendPubrel(packetId);
    return true;
  }

  // --- connections ---------------------------------------------------------

  /**
   * A connection takes the session. When it resumes one, what was sent and
   * not acknowledged goes again, with DUP set, in order [MQTT-4.4.0-1].
   */
  attach(c: Attached, resume: boolean): void {
    this.conn = c;
    this.lastId = c.id;
    this.disconnectedAt = null;
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.inflight = 0;
    this.sentLead = 0;
    if (!resume) this.sentById?.clear();
    for (const p of this.queue) {
      if (!p.sent) continue;
      if (!resume) {
        p.sent = false;
        continue;
      }
      this.inflight++;
      if (p.released) c.sendPubrel(p.packetId);
      else c.sendPublish(this.outgoing(p.message, p.packetId, true));
    }
    this.pump();
  }

  /** Rebuilds the queue from the store (after a restart). */
  restoreQueue(
    entries: readonly {
      id: number;
      message: StoredMessage;
      packetId?: number;
      released?: boolean;
    }[],
  ): void {
    for (const q of entries) {
      const p: Pending = {
        storeId: q.id,
        message: q.message,
        packetId: q.packetId ?? 0,
        released: q.released === true,
        sent: q.packetId !== undefined,
      };
      this.queue.push(p);
      if (p.sent) {
        this.sentById ??= new Map();
        this.sentById.set(p.packetId, p);
      }
      if (q.packetId !== undefined && q.packetId >= this.nextPacketId) {
        this.nextPacketId = q.packetId === 65535 ? 1 : q.packetId + 1;
      }
    }
  }

  detach(c: Attached): void {
    if (this.conn !== c) return;
    this.conn = null;
    this.unstall();
    this.disconnectedAt = Date.now();
  }

  /** The session ends: its interest leaves the core. */
  end(): void {
    for (const e of [...this.entries.keys()]) this.unsubscribe(e);
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.queue.length = 0;
    this.sentLead = 0;
    this.inflight = 0;
    this.sentById = null;
    this.unstall();
  }

  get queuedCount(): number {
    return this.queue.length;
  }
}
