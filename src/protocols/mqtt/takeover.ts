/**
 * MQTT sessions across the mesh: a client id is held by one node at a time,
 * and a CONNECT on another node takes the session over [MQTT-3.1.4-3].
 *
 * **Where a session is.** Each node holds, for every session it keeps in
 * memory (connected or not), a core subscription on
 * `$MQTT.takeover.<client key>` in the session's account (`<client key>` is
 * the store's keyOf: client ids hold characters subjects cannot). The mesh
 * carries that interest like any other, so the interest itself says which
 * node holds a client id: no directory, and no stream needed (it works with
 * memory stores too).
 *
 * **Takeover.** A CONNECT on node B for a client id B does not hold sends a
 * request to `$MQTT.takeover.<client key>` (`claim`). When no node has
 * interest the router says so at once (0 deliveries) and B goes on alone.
 * Else the holder A (`answer`) does what a takeover on its own node does:
 * closes the connection (5.0: DISCONNECT 0x8E Session taken over), sends or
 * cancels a pending will as the new CONNECT's clean start says, and ends
 * the session in memory (its core subscriptions and its holder interest
 * go). Then it reads the session from its store — the record with its
 * subscriptions, the queue of QoS 1/2 messages with the packet id each went
 * out with and whether its PUBREL was sent, the QoS 2 ids received and not
 * released — and answers with it. B writes it into its own store (so it is
 * as durable there as it was on A) and confirms; A then deletes its copy.
 * B's session binds from its store as after a restart: subscriptions back
 * in the core, the queue resent with DUP [MQTT-4.4.0-1], the QoS 2 ids
 * answered on PUBREL. A clean start asks A to end the session; nothing moves.
 *
 * **What holds** (docs/mqtt.md, "Sessions across nodes"):
 * - what A queued before it handed over is delivered on B, in order, once
 *   (A stops queueing when it answers, and B has all of it);
 * - a message published while the session moves (from A dropping its
 *   interest to B's interest reaching the publisher's node: a request round
 *   trip plus the mesh's interest propagation) is queued by neither node;
 * - if B's confirmation does not come within TAKEOVER_TIMEOUT_MS, A keeps
 *   its stored copy (the session is not lost: it comes back on A's restart,
 *   or expires there); if A's answer does not come in time, B starts
 *   without it (counted, logged);
 * - two CONNECTs for one client id on two nodes closer in time than the
 *   mesh's interest propagation may both be accepted (neither sees the
 *   other's interest yet): the next CONNECT for that id closes one of them.
 *
 * The subjects are `$MQTT.` subjects: no client may publish to them
 * (reserved.ts), so only nodes ask and answer.
 */
import { randomBytes } from 'node:crypto';
import type { ServerOptions } from '../../config/options.js';
import type { Account } from '../../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../core/message.js';
import type { Router } from '../../core/router.js';
import type { Logger } from '../../util/logger.js';
import type { SessionState } from './state.js';
import type { MqttStore, QueuedMessage, StoredSession } from './store.js';
import { decodeMessage, encodeMessage, keyOf } from './store-records.js';

/** How long a node waits for the holder's answer, and the holder for the confirmation. */
export const TAKEOVER_TIMEOUT_MS = 5000;
/** How often an answer with no route yet is sent again (see `reply`). */
export const TAKEOVER_RETRY_MS = 20;
/** Takeovers waiting for an answer or a confirmation at once, at most (past it: refused, counted). */
export const TAKEOVER_PENDING_MAX = 1024;
/** The subject prefix of the holder interest, `$MQTT.takeover.<client key>`. */
export const TAKEOVER_PREFIX = '$MQTT.takeover.';
/** Where answers and confirmations go: `$MQTT.handoff.<node nonce>.<n>`. */
export const HANDOFF_PREFIX = '$MQTT.handoff.';

let nextId = 1_900_000_000;

/** Counted events of takeovers across nodes (`/varz` mqtt, `weft_mqtt_…`). */
export interface TakeoverCounters {
  /** Sessions this node took from another node. */
  sessionsMovedIn: number;
  /** Sessions this node handed to another node (confirmed). */
  sessionsMovedOut: number;
  /** Connections on another node closed from here, or here from there. */
  remoteTakeovers: number;
  /** No answer (or no confirmation) within TAKEOVER_TIMEOUT_MS. */
  takeoverTimeouts: number;
  /** Refused at TAKEOVER_PENDING_MAX. */
  takeoverRefused: number;
  /** Answers or confirmations sent again: the asker's reply interest had not arrived yet. */
  answerRetries: number;
  /** Handoff answers from another node refused as malformed (nothing stored). */
  badAnswers: number;
}

/** What the takeover needs of the face's sessions (sessions.ts). */
export interface TakeoverSessions {
  readonly log: Logger;
  readonly router: Router;
  /** The session held in memory for this account and client id, if any. */
  heldSession(account: string, clientId: string): SessionState | undefined;
  /**
   * Another node takes the session: as a takeover on this node (the
   * connection closed, the will sent or cancelled as `clean` says), then
   * the session leaves memory. Returns it, or null when not held.
   */
  releaseSession(account: string, clientId: string, clean: boolean): SessionState | null;
  storeFailed(what: string, err: unknown): void;
}

/** The answer of the holder: the session as its store has it, or `found: false`. */
export interface Answer {
  readonly found: boolean;
  readonly session?: StoredSession;
  /** Queue entries: the store record (base64) with its packet id and PUBREL state. */
  readonly queue?: { m: string; p?: number; r?: boolean }[];
  readonly incoming?: number[];
}

interface Request {
  readonly clientId: string;
  readonly clean: boolean;
}

type Handler = (msg: Message) => void;

interface HeldSub extends Subscription {
  readonly account: Account;
}

export class MeshSessions implements Subscriber {
  readonly id = nextId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  readonly counters: TakeoverCounters = {
    sessionsMovedIn: 0,
    sessionsMovedOut: 0,
    remoteTakeovers: 0,
    takeoverTimeouts: 0,
    takeoverRefused: 0,
    answerRetries: 0,
    badAnswers: 0,
  };
  private readonly nonce = randomBytes(8).toString('hex');
  /** Holder interest by session. */
  private readonly held = new Map<SessionState, HeldSub>();
  /** Reply subscriptions by account name. */
  private readonly replies = new Map<string, { account: Account; sub: Subscription }>();
  private readonly handlers = new Map<string, Handler>();
  private next = 1;
  private stopped = false;

  constructor(private readonly sessions: TakeoverSessions) {}

  // --- holder interest (from the sessions' map, see HeldStates) -------------

  /** The node holds `s` now: its client id's interest goes out to the mesh. */
  hold(s: SessionState): void {
    if (this.held.has(s) || this.stopped) return;
    const sub: HeldSub = {
      subject: TAKEOVER_PREFIX + keyOf(s.clientId),
      queue: '',
      sid: s.clientId,
      owner: this,
      max: 0,
      delivered: 0,
      account: s.account,
    };
    this.held.set(s, sub);
    s.account.subscribe(sub);
  }

  /** The node no longer holds `s`. */
  unhold(s: SessionState): void {
    const sub = this.held.get(s);
    if (sub === undefined) return;
    this.held.delete(s);
    s.account.unsubscribe(sub);
  }

  stop(): void {
    this.stopped = true;
    for (const s of [...this.held.keys()]) this.unhold(s);
    for (const r of this.replies.values()) r.account.unsubscribe(r.sub);
    this.replies.clear();
    this.handlers.clear();
  }

  // --- the new node: claim ---------------------------------------------------

  /**
   * Before a CONNECT binds a client id this node does not hold: the node
   * holding it (if any) closes its connection and hands the session over,
   * which is written into `store` (as the new connection's `expiry`), or,
   * with `clean`, ends it. Resolves when done (or given up: counted).
   */
  async claim(
    account: Account,
    clientId: string,
    clean: boolean,
    expiry: number,
    store: MqttStore,
  ): Promise<void> {
    if (this.stopped) return;
    const req: Request = { clientId, clean };
    const reply = await this.request(
      account,
      TAKEOVER_PREFIX + keyOf(clientId),
      Buffer.from(JSON.stringify(req)),
    );
    if (reply === null) return;
    const a = parse<Answer>(reply.payload);
    if (a === null || !a.found || clean || a.session === undefined) return;
    const bad = answerProblem(a);
    if (bad !== null) {
      // A peer node's answer is checked like any input: nothing of it is stored.
      this.counters.badAnswers++;
      this.sessions.log.warn(`mqtt: session "${clientId}" from another node refused: ${bad}`);
      return;
    }
    this.counters.remoteTakeovers++;
    // A stored copy here is older than the holder's (it left this node since).
    if ((await store.loadSession(clientId)) !== null) await store.deleteSession(clientId);
    const refused = await store.saveSession({
      ...a.session,
      clientId,
      expiryInterval: expiry,
      disconnectedAt: null,
    });
    if (refused !== null) {
      this.sessions.log.warn(
        `mqtt: session "${clientId}" from another node not taken: account ${account.name} holds its most sessions`,
      );
      return;
    }
    for (const q of a.queue ?? []) {
      const d = decodeMessage(Buffer.from(q.m, 'base64'));
      if (d === null) continue;
      const id = await store.enqueue(clientId, d.message);
      if (typeof id === 'number' && q.p !== undefined) {
        await store.markSent(clientId, id, q.p, q.r === true);
      }
    }
    for (const pid of a.incoming ?? []) await store.rememberIncoming(clientId, pid);
    this.counters.sessionsMovedIn++;
    if (reply.reply !== '') this.reply(account, reply.reply, '', Buffer.from('{"ok":true}'));
  }

  // --- the holder: answer ------------------------------------------------------

  private async answer(account: Account, req: Request, reply: string): Promise<void> {
    const s = this.sessions.releaseSession(account.name, req.clientId, req.clean);
    if (s === null) {
      this.reply(account, reply, '', Buffer.from('{"found":false}'));
      return;
    }
    this.counters.remoteTakeovers++;
    const store = s.store;
    const stored = req.clean ? null : await store.loadSession(req.clientId);
    if (stored === null) {
      // A clean session (nothing stored), or a clean start: the session ends here.
      if (req.clean) await store.deleteSession(req.clientId);
      this.reply(account, reply, '', Buffer.from('{"found":false}'));
      return;
    }
    const queue = (await store.queued(req.clientId)).map((q: QueuedMessage) => ({
      m: encodeMessage(q.message, req.clientId).toString('base64'),
      ...(q.packetId !== undefined ? { p: q.packetId } : {}),
      ...(q.released === true ? { r: true } : {}),
    }));
    const answer: Answer = {
      found: true,
      session: stored,
      queue,
      incoming: await store.incoming(req.clientId),
    };
    const confirmed = this.open(account, (msg) => {
      confirmed?.close();
      if (parse<{ ok: boolean }>(msg.payload)?.ok !== true) return;
      // Gone from here unless the client came back meanwhile.
      if (this.sessions.heldSession(account.name, req.clientId) !== undefined) return;
      this.counters.sessionsMovedOut++;
      store
        .deleteSession(req.clientId)
        .catch((err: unknown) => this.sessions.storeFailed(`delete moved session`, err));
    });
    if (confirmed === null) {
      // No room to await a confirmation: the session goes, and the stored copy stays here.
      this.reply(account, reply, '', Buffer.from(JSON.stringify(answer)));
      return;
    }
    const timer = setTimeout(() => {
      if (!confirmed.close()) return;
      this.counters.takeoverTimeouts++;
      this.sessions.log.warn(
        `mqtt: session "${req.clientId}" handed to another node without confirmation in ${TAKEOVER_TIMEOUT_MS} ms: the stored copy stays here`,
      );
    }, TAKEOVER_TIMEOUT_MS);
    timer.unref();
    this.reply(account, reply, confirmed.subject, Buffer.from(JSON.stringify(answer)));
  }

  // --- messages ------------------------------------------------------------------

  deliver(sub: Subscription, msg: Message): void {
    const subject = msg.subject;
    if (subject.startsWith(HANDOFF_PREFIX)) {
      const h = this.handlers.get(subject);
      h?.({ subject, reply: msg.reply, headers: null, payload: Buffer.from(msg.payload) });
      return;
    }
    const req = parse<Request>(msg.payload);
    if (req === null || typeof req.clientId !== 'string' || msg.reply === '') return;
    const account = (sub as HeldSub).account;
    if (account === undefined) return;
    this.answer(account, { clientId: req.clientId, clean: req.clean === true }, msg.reply).catch(
      (err: unknown) => this.sessions.storeFailed(`hand session "${req.clientId}" over`, err),
    );
  }

  private publish(account: Account, subject: string, reply: string, payload: Buffer): number {
    return this.sessions.router.publish(account, { subject, reply, headers: null, payload }, this);
  }

  /**
   * Sends an answer or a confirmation. The asking node subscribes its reply
   * subjects at its first takeover in an account, and the mesh sends that
   * interest at the end of the event loop's turn, so a fast answer can find
   * no route yet: it is sent again every TAKEOVER_RETRY_MS until someone
   * has interest, for up to TAKEOVER_TIMEOUT_MS.
   */
  private reply(account: Account, subject: string, reply: string, payload: Buffer): void {
    const deadline = Date.now() + TAKEOVER_TIMEOUT_MS;
    const attempt = (): void => {
      if (this.stopped || this.publish(account, subject, reply, payload) > 0) return;
      if (Date.now() >= deadline) return;
      this.counters.answerRetries++;
      setTimeout(attempt, TAKEOVER_RETRY_MS).unref();
    };
    attempt();
  }

  /** A reply subject of this node in `account` whose messages go to `handler`. */
  private open(account: Account, handler: Handler): { subject: string; close(): boolean } | null {
    if (this.handlers.size >= TAKEOVER_PENDING_MAX) {
      this.counters.takeoverRefused++;
      return null;
    }
    let r = this.replies.get(account.name);
    if (r === undefined) {
      const sub = internalSubscription(`${HANDOFF_PREFIX}${this.nonce}.>`, this);
      account.subscribe(sub);
      r = { account, sub };
      this.replies.set(account.name, r);
    }
    const subject = `${HANDOFF_PREFIX}${this.nonce}.${(this.next++).toString(36)}`;
    this.handlers.set(subject, handler);
    return { subject, close: () => this.handlers.delete(subject) };
  }

  /** One answer to a request, or null: nobody holds it (at once) or no answer in time (counted). */
  private request(account: Account, subject: string, payload: Buffer): Promise<Message | null> {
    return new Promise((resolve) => {
      const reply = this.open(account, (msg) => {
        clearTimeout(timer);
        reply?.close();
        resolve(msg);
      });
      if (reply === null) {
        resolve(null);
        return;
      }
      const timer = setTimeout(() => {
        reply.close();
        this.counters.takeoverTimeouts++;
        this.sessions.log.warn(
          `mqtt: no answer from the node holding a session in ${TAKEOVER_TIMEOUT_MS} ms; connecting without it`,
        );
        resolve(null);
      }, TAKEOVER_TIMEOUT_MS);
      timer.unref();
      if (this.publish(account, subject, reply.subject, payload) === 0) {
        clearTimeout(timer);
        reply.close();
        resolve(null);
      }
    });
  }
}

/**
 * Takeover across nodes for a node in a mesh (a mesh listener or links to
 * dial); null for a lone node, which then holds no interest per session
 * (about 660 bytes each: the subscription and its place in the index).
 */
export function meshSessions(
  sessions: TakeoverSessions,
  o: Pick<ServerOptions, 'meshPort' | 'links'>,
): MeshSessions | null {
  const meshed = (o.meshPort !== null && o.meshPort >= 0) || o.links.length > 0;
  return meshed ? new MeshSessions(sessions) : null;
}

/**
 * The face's sessions by account and client id, telling the takeover which
 * sessions this node holds (a Map, so sessions.ts keeps using it as one).
 */
export class HeldStates extends Map<string, SessionState> {
  mesh: MeshSessions | null = null;

  override set(key: string, s: SessionState): this {
    const before = super.get(key);
    super.set(key, s);
    if (before !== s) {
      if (before !== undefined) this.mesh?.unhold(before);
      this.mesh?.hold(s);
    }
    return this;
  }

  override delete(key: string): boolean {
    const s = super.get(key);
    if (s !== undefined) this.mesh?.unhold(s);
    return super.delete(key);
  }

  override clear(): void {
    for (const s of super.values()) this.mesh?.unhold(s);
    super.clear();
  }
}

const isPacketId = (p: unknown): boolean =>
  Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 0xffff;

/** Why a handoff answer from a peer cannot be taken, or null when its shape is sound. */
export function answerProblem(a: Answer): string | null {
  const s = a.session as Partial<StoredSession> | undefined;
  if (s === undefined || typeof s !== 'object' || s === null) return 'no session';
  if (s.protocol !== 4 && s.protocol !== 5) return 'bad protocol level';
  const subs = s.subscriptions;
  if (!Array.isArray(subs)) return 'subscriptions are not a list';
  for (const x of subs as unknown[]) {
    const f = (x as { filter?: unknown; qos?: unknown } | null)?.filter;
    const q = (x as { qos?: unknown } | null)?.qos;
    if (typeof f !== 'string' || (q !== 0 && q !== 1 && q !== 2)) return 'a malformed subscription';
  }
  if (a.queue !== undefined) {
    if (!Array.isArray(a.queue)) return 'the queue is not a list';
    for (const q of a.queue as unknown[]) {
      const e = q as { m?: unknown; p?: unknown } | null;
      if (typeof e?.m !== 'string' || (e.p !== undefined && !isPacketId(e.p))) {
        return 'a malformed queue entry';
      }
    }
  }
  if (a.incoming !== undefined && (!Array.isArray(a.incoming) || !a.incoming.every(isPacketId))) {
    return 'malformed QoS 2 packet ids';
  }
  return null;
}

function parse<T>(b: Buffer): T | null {
  try {
    const v = JSON.parse(b.toString()) as unknown;
    return typeof v === 'object' && v !== null ? (v as T) : null;
  } catch {
    return null;
  }
}
