/**
 * The MQTT sessions of a node, by account and client id: binding a
 * logged-in connection to its session (takeover, clean start, resume from
 * memory or from the account's store), what happens when a connection ends
 * (the will, the session's expiry), and will messages with their 5.0 delay.
 */
import type { Guard } from '../../auth/guard.js';
import { reservedSubject } from '../../auth/reserved.js';
import type { Security } from '../../auth/security.js';
import type { ServerOptions } from '../../config/options.js';
import type { Congestion } from '../../connection/congestion.js';
import type { Flusher } from '../../connection/connection.js';
import type { Outbound } from '../../connection/outbound.js';
import type { ServerStats } from '../../connection/stats.js';
import type { Account } from '../../core/account.js';
import type { Router } from '../../core/router.js';
import type { Logger } from '../../util/logger.js';
import type { FaceHost } from '../face.js';
import { EXPIRY_NEVER } from './connect.js';
import type { Will } from './host.js';
import { toHeaders } from './properties.js';
import type { MqttSession } from './session.js';
import { type MqttCounters, SessionState } from './state.js';
import type { MqttStore, MqttStores, StoredMessage } from './store.js';
import { createMqttStores } from './store-factory.js';
import { mqttStreamNames } from './store-streams.js';
import { HeldStates, type MeshSessions, meshSessions } from './takeover.js';
import {
  filterToSubjects,
  isSharedFilter,
  parseSharedFilter,
  shareGroupToQueue,
  topicMatches,
  topicToSubject,
} from './topics.js';

/** How often the stores drop sessions whose expiry passed while no one held them. */
export const EXPIRY_SWEEP_MS = 60_000;
/** The longest a Node timer waits. */
const TIMER_MAX_MS = 2 ** 31 - 1;

interface PendingWill {
  readonly timer: NodeJS.Timeout;
  readonly fire: () => void;
}

export abstract class Sessions {
  readonly options: ServerOptions;
  readonly router: Router;
  readonly flusher: Flusher;
  readonly stats: ServerStats;
  readonly log: Logger;
  readonly outbound: Outbound;
  readonly congestion: Congestion;
  readonly security: Security;
  abstract readonly counters: MqttCounters;
  /** Which sessions it holds also tells the mesh (takeover.ts). */
  private readonly states = new HeldStates();
  /** Takeover across the nodes of the mesh (takeover.ts). */
  mesh: MeshSessions | null = null;
  private readonly wills = new Map<string, PendingWill>();
  private stores: MqttStores | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(protected readonly host: FaceHost) {
    this.options = host.options;
    this.router = host.router;
    this.flusher = host.flusher;
    this.stats = host.stats;
    this.log = host.log;
    this.outbound = host.outbound;
    this.congestion = host.congestion;
    this.security = host.security;
  }

  get sessionCount(): number {
    return this.states.size;
  }

  protected async startSessions(): Promise<void> {
    this.stores = createMqttStores({
      jetstream: this.host.jetstream,
      log: this.log,
      // The configured name only: a generated id changes on every start.
      node: this.options.name,
    });
    this.mesh = meshSessions(this, this.options);
    this.states.mesh = this.mesh;
    this.sweepTimer = setInterval(() => this.sweep(), EXPIRY_SWEEP_MS);
    this.sweepTimer.unref();
    if (this.host.jetstream !== null) await this.restoreAll();
  }

  /**
   * After a restart: every stored session of every account with JetStream
   * is back, offline, with its subscriptions in the core, so QoS 1/2
   * messages are queued for it before its client reconnects. Permissions are
   * applied again when it does (bindSession).
   */
  private async restoreAll(): Promise<void> {
    for (const account of [...this.host.accounts.all()]) {
      // Accounts with MQTT streams only: opening a store creates them.
      const js = this.host.jetstream?.account(account.name);
      if (js?.streams.has(mqttStreamNames(this.options.name).sess) !== true) continue;
      const store = await this.storeOf(account.name);
      await store.expire();
      for (const stored of await store.sessions()) {
        const key = `${account.name}\u0000${stored.clientId}`;
        const s = this.newState(
          key,
          stored.clientId,
          account,
          null,
          stored.protocol,
          stored.expiryInterval,
          store,
        );
        // Read before the subscriptions return: what they take meanwhile goes after it [MQTT-4.6.0-6].
        const queued = await store.queued(stored.clientId);
        const incoming = await store.incoming(stored.clientId);
        this.restore(s, stored.subscriptions, null);
        s.restoreQueue(queued);
        for (const id of incoming) s.incoming.add(id);
        s.disconnectedAt = stored.disconnectedAt ?? Date.now();
        this.states.set(key, s);
        this.startExpiry(s);
      }
      const n = [...this.states.values()].filter((x) => x.account === account).length;
      if (n > 0) this.log.info(`MQTT: ${n} stored sessions of account ${account.name} restored`);
    }
  }

  private startExpiry(s: SessionState): void {
    if (s.expiryInterval === EXPIRY_NEVER || s.expiryInterval === 0) return;
    const left = s.expiryInterval * 1000 - (Date.now() - (s.disconnectedAt ?? Date.now()));
    s.expiryTimer = setTimeout(() => this.expire(s), Math.min(Math.max(left, 0), TIMER_MAX_MS));
    s.expiryTimer.unref();
  }

  storeOf(account: string): Promise<MqttStore> {
    return this.stores!.forAccount(account);
  }

  storeFailed(what: string, err: unknown): void {
    this.counters.storeErrors++;
    this.log.error(`mqtt: cannot ${what}: ${(err as Error)?.message ?? err}`);
  }

  async bindSession(
    c: MqttSession,
    clientId: string,
    clean: boolean,
    expiry: number,
  ): Promise<{ state: SessionState; present: boolean }> {
    const account = c.identity!.account;
    const store = await this.storeOf(account.name);
    const key = `${account.name}\u0000${clientId}`;
    // Held by another node: that one closes it and hands it over [MQTT-3.1.4-3].
    if (!this.states.has(key)) await this.mesh?.claim(account, clientId, clean, expiry, store);
    const old = this.states.get(key);
    // [MQTT-3.1.4-3]: the connection holding the client id is closed.
    if (old?.conn != null) (old.conn as MqttSession).takenOver();
    const will = this.wills.get(key);
    if (will !== undefined) {
      // A new connection before the will delay ran out cancels the will
      // [MQTT-3.1.3-9]; a clean start ends the old session, which sends it.
      clearTimeout(will.timer);
      this.wills.delete(key);
      if (clean) will.fire();
    }
    let state = this.states.get(key);
    let present = false;
    if (clean) {
      // [MQTT-3.1.2-6]: clean start discards what was kept.
      state?.end();
      this.states.delete(key);
      state = undefined;
      if ((await store.loadSession(clientId)) !== null) await store.deleteSession(clientId);
    } else if (state !== undefined) {
      present = true;
      // Restored after a restart, or held under another identity's rules: the new ones apply.
      this.recheck(state, c.who.guard);
    } else {
      const stored = await store.loadSession(clientId);
      if (stored !== null) {
        // Read before the subscriptions return: what they take meanwhile goes after it [MQTT-4.6.0-6].
        const queued = await store.queued(clientId);
        const incoming = await store.incoming(clientId);
        state = this.newState(key, clientId, account, c.who.guard, c.version, expiry, store);
        this.restore(state, stored.subscriptions, c.who.guard);
        state.restoreQueue(queued);
        for (const id of incoming) state.incoming.add(id);
        present = true;
      }
    }
    state ??= this.newState(key, clientId, account, c.who.guard, c.version, expiry, store);
    state.expiryInterval = expiry;
    state.protocol = c.version;
    state.guard = c.who.guard;
    this.states.set(key, state);
    if (state.persistent) {
      const refused = await store.saveSession({
        clientId,
        protocol: c.version,
        expiryInterval: expiry,
        subscriptions: state.storedSubscriptions(),
        disconnectedAt: null,
      });
      if (refused !== null) {
        this.log.warn(
          `${c.tag()} - session "${clientId}" is not stored: account ${account.name} holds its most sessions`,
        );
      }
    }
    return { state, present };
  }

  private newState(
    key: string,
    clientId: string,
    account: Account,
    guard: Guard | null,
    version: 4 | 5,
    expiry: number,
    store: MqttStore,
  ): SessionState {
    return new SessionState(key, clientId, account, guard, version, expiry, store, this);
  }

  /** A stored session's subscriptions, back in the core (those its permissions still allow). */
  private restore(
    s: SessionState,
    subs: readonly import('./store.js').StoredSubscription[],
    guard: Guard | null,
  ): void {
    for (const sub of subs) {
      let match = sub.filter;
      let queue = '';
      if (isSharedFilter(sub.filter)) {
        const shared = parseSharedFilter(sub.filter);
        if ('problem' in shared) continue;
        match = shared.filter;
        queue = shareGroupToQueue(shared.group);
      }
      let check = false;
      if (guard !== null) {
        const verdicts = filterToSubjects(match).map((x) => guard.subscribe(x, queue));
        if (!verdicts.every((v) => v.ok)) continue;
        check = verdicts.some((v) => v.check);
      }
      s.subscribe({
        filter: sub.filter,
        match,
        queue,
        qos: sub.qos,
        noLocal: sub.noLocal === true,
        retainAsPublished: sub.retainAsPublished === true,
        retainHandling: sub.retainHandling ?? 0,
        identifier: sub.identifier,
        check,
      });
    }
  }

  heldSession(account: string, clientId: string): SessionState | undefined {
    return this.states.get(`${account}\u0000${clientId}`);
  }

  /** Another node takes the session (takeover.ts): a takeover here, then it leaves memory. */
  releaseSession(account: string, clientId: string, clean: boolean): SessionState | null {
    const key = `${account}\u0000${clientId}`;
    const s = this.states.get(key);
    if (s === undefined) return null;
    if (s.conn !== null) (s.conn as MqttSession).takenOver();
    const will = this.wills.get(key);
    if (will !== undefined) {
      clearTimeout(will.timer);
      this.wills.delete(key);
      if (clean) will.fire();
    }
    s.end();
    this.states.delete(key);
    return s;
  }

  /** Drops the subscriptions `guard` does not allow. */
  private recheck(s: SessionState, guard: Guard | null): void {
    if (guard === null) return;
    for (const e of [...s.entries.values()]) {
      const verdicts = e.core.map((x) => guard.subscribe(x.subject, x.queue));
      if (!verdicts.every((v) => v.ok)) s.unsubscribe(e.filter);
      else e.check = verdicts.some((v) => v.check);
    }
    // What was queued meanwhile reaches the client only where its rules
    // allow it now: a subscription it still holds, and no deny rule.
    const entries = [...s.entries.values()];
    const withheld = s.withhold((topic) => {
      const e = entries.find((x) => topicMatches(x.match, topic));
      return e !== undefined && (!e.check || guard.receive(topicToSubject(topic), e.queue));
    });
    if (withheld > 0) {
      this.security.counters.deliveriesDenied += withheld;
      this.log.warn(
        `mqtt: session "${s.clientId}" - ${withheld} queued message(s) withheld: its permissions no longer allow them`,
      );
    }
  }

  /** A bound connection closed: its will [MQTT-3.1.2-8], then its session stays or ends. */
  connectionEnded(c: MqttSession): void {
    const s = c.state;
    if (s === null) return;
    s.detach(c);
    if (s.conn !== null || this.states.get(s.key) !== s) return;
    const shutdown = this.host.shuttingDown;
    const will = c.graceful || shutdown ? null : c.will;
    if (will !== null) {
      // Sent after the will delay, or when the session ends if sooner [MQTT-3.1.3-9].
      const delay = Math.min(will.delay, s.expiryInterval);
      const fire = (): void => this.publishWill(s.account, s.guard, will, s.store);
      if (delay === 0) fire();
      else {
        const timer = setTimeout(
          () => {
            this.wills.delete(s.key);
            fire();
          },
          Math.min(delay * 1000, TIMER_MAX_MS),
        );
        this.wills.set(s.key, { timer, fire });
      }
    }
    if (s.expiryInterval === 0) {
      s.end();
      this.states.delete(s.key);
      return;
    }
    if (s.persistent) {
      s.store
        .saveSession({
          clientId: s.clientId,
          protocol: s.protocol,
          expiryInterval: s.expiryInterval,
          subscriptions: s.storedSubscriptions(),
          disconnectedAt: Date.now(),
        })
        .catch((err: unknown) => this.storeFailed(`save session "${s.clientId}"`, err));
    }
    if (!shutdown) this.startExpiry(s);
  }

  /** The session expired offline [MQTT-3.1.2-23]: gone, with a pending will sent. */
  private expire(s: SessionState): void {
    if (this.states.get(s.key) !== s || s.conn !== null) return;
    s.end();
    this.states.delete(s.key);
    const will = this.wills.get(s.key);
    if (will !== undefined) {
      clearTimeout(will.timer);
      this.wills.delete(s.key);
      will.fire();
    }
    s.store
      .deleteSession(s.clientId)
      .catch((err: unknown) => this.storeFailed(`delete session "${s.clientId}"`, err));
  }

  private publishWill(account: Account, guard: Guard | null, w: Will, store: MqttStore): void {
    const subject = topicToSubject(w.topic);
    if ((guard !== null && !guard.publish(subject)) || reservedSubject(subject)) {
      this.counters.publishDenied++;
      this.log.warn(`mqtt: will on "${w.topic}" not permitted; not sent`);
      return;
    }
    const { responseTopic, ...carried } = w.properties;
    const interval = w.properties.messageExpiryInterval;
    const expiresAt = interval !== undefined ? Date.now() + interval * 1000 : undefined;
    const dropped = { count: 0 };
    const headers = toHeaders(w.qos, w.retain, carried, expiresAt, dropped);
    this.counters.propertiesDropped += dropped.count;
    const reply = responseTopic !== undefined ? topicToSubject(responseTopic) : '';
    this.router.publish(account, { subject, reply, headers, payload: w.payload }, null);
    this.counters.willsPublished++;
    if (w.retain) {
      const m: StoredMessage | null =
        w.payload.length === 0
          ? null
          : {
              topic: w.topic,
              payload: w.payload,
              qos: w.qos,
              retain: true,
              properties: w.properties,
              ...(expiresAt !== undefined ? { expiresAt } : {}),
            };
      store.setRetained(w.topic, m).catch((err: unknown) => this.storeFailed('retain a will', err));
    }
  }

  /** Drops, in every store opened, sessions that expired while nobody held them. */
  private sweep(): void {
    for (const s of new Set([...this.states.values()].map((x) => x.store))) {
      s.expire().catch((err: unknown) => this.storeFailed('expire sessions', err));
    }
  }

  protected stopSessions(): void {
    this.mesh?.stop();
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    for (const w of this.wills.values()) clearTimeout(w.timer);
    this.wills.clear();
    for (const s of this.states.values()) {
      if (s.expiryTimer !== null) clearTimeout(s.expiryTimer);
      s.expiryTimer = null;
    }
  }

  protected async closeStores(): Promise<void> {
    for (const s of this.states.values()) s.end();
    this.states.clear();
    await this.stores?.close();
  }
}
