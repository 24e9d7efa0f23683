/**
 * How the Redis face reaches the account's streams, on this node or on any
 * other node of the mesh (docs/redis.md, "Streams").
 *
 * - A stream on this node is read straight from its store (identical to
 *   what the JetStream API would answer, without the JSON) and written
 *   straight to it (stream-store-here.ts: the stream stores the entry,
 *   answered once durable under its sync policy, and the router delivers
 *   it to NATS, MQTT and every other subscriber of the subject with the
 *   stream as origin).
 *   The new entry's ID is computed and the entry stored in one turn, so
 *   pipelined XADDs need no lock.
 * - A publish that must go through the router awaits the stream's ack on
 *   a reply inbox (stream-acks.ts).
 * - A stream on another node is reached through the JetStream API over the
 *   router (`$JS.API.STREAM.INFO/MSG.GET/MSG.DELETE/PURGE/DELETE`); XADDs
 *   to it are serialised per stream on this node and sent with
 *   `Nats-Expected-Last-Sequence`, retried when another writer came first.
 * - Streams are created with `$JS.API.STREAM.CREATE` (the account's limits
 *   and subject overlaps are checked there).
 *
 * What Redis keeps beside entries — the last ID after XDEL of the top
 * entry, XSETID's last ID, entries-added and max-deleted-id — is held in
 * memory on the node that serves the command (`StreamMeta`): it does not
 * survive a restart and is not shared across nodes (docs: weak spots).
 */
import type { Account } from '../../core/account.js';
import type { AccountJetStream, CapturedStream } from '../../jetstream/service.js';
import { NO_PUB_HEADERS, readPubHeaders } from '../../streams/headers.js';
import type { StreamConfig } from '../../streams/stream-config.js';
import type { FaceHost } from '../face.js';
import { ReplyInbox } from '../reply-inbox.js';
import type { RedisFaceState } from './command.js';
import type { Reply } from './encoder.js';
import type { LaterReply, Slot } from './reply-line.js';
import { type AppendResult, REDIS_JS_TIMEOUT_MS, StreamAcks } from './stream-acks.js';
import {
  compareIds,
  ID_ZERO,
  idOf,
  redisSubject,
  type StreamId,
  xaddSubject,
} from './stream-map.js';
import { StoreHere } from './stream-store-here.js';
import {
  type ApiClient,
  JsApiError,
  LocalView,
  newMeta,
  RemoteView,
  redisStreamConfig,
  type StreamMeta,
  type StreamStateView,
  type StreamView,
} from './stream-views.js';
import { BlockedReads } from './stream-wait.js';

export { REDIS_JS_TIMEOUT_MS } from './stream-acks.js';
export {
  JsApiError,
  redisStreamConfig,
  type StoredEntryMsg,
  type StreamMeta,
  type StreamStateView,
  type StreamView,
} from './stream-views.js';
/** XADDs to a stream on another node retried when another writer came first, at most. */
export const REDIS_XADD_RETRIES = 5;
/** Streams on other nodes this node remembers the last ID of, at most. */
export const REMOTE_META_MAX = 10_000;
/** Reads of the top entry of a stream on this node that keeps growing under them, at most. */
const LAST_TRIES_MAX = 100;
/** Entries walked back from the top to find the last one held (after XDELs of the top), at most. */
const LAST_WALK_MAX = 1000;

export type { AppendResult } from './stream-acks.js';

/** An XADD as the command parsed it. */
export interface XaddRequest {
  readonly name: string;
  /** Make the stream when missing (no NOMKSTREAM). */
  readonly create: boolean;
  /** Null when the client may publish to `subject`, else the error to answer. */
  check(subject: string): string | null;
  /** The entry after `last`, or the error to answer (XADD's ID rules). */
  build(last: StreamId): { id: StreamId; headers: Buffer; payload: Buffer } | string;
}

export type XaddOutcome =
  | { seq: number; id: StreamId; view: StreamView }
  | { error: string }
  /** NOMKSTREAM and no stream. */
  | { none: true };

/** The Redis face's way to the account's streams (one per face). */
export class RedisStreams implements ApiClient {
  readonly inbox: ReplyInbox;
  /** Blocked XREADs (and XREADGROUPs). */
  readonly blocked = new BlockedReads();
  private readonly localMeta = new WeakMap<object, StreamMeta>();
  /** The view of each local stream, made once (an XADD used to make one, and a closure, each). */
  private readonly localViews = new WeakMap<CapturedStream, LocalView>();
  private readonly remoteMeta = new Map<string, StreamMeta>();
  /** The last view of each stream on another node this node XADDed to (REMOTE_META_MAX at most). */
  private readonly remoteViews = new Map<string, StreamView>();
  /** XADDs waiting for the ones before them to a stream, per account and stream. */
  private readonly queues = new Map<string, Promise<void>>();
  /**
   * The consumer-group part of XINFO STREAM (set by the consumer-group
   * commands): how many groups, and each group's FULL description with at
   * most `count` pending entries (0: all). Null: no groups.
   */
  groupInfo:
    | ((
        account: Account,
        view: StreamView,
        count: number,
      ) => Promise<{ count: number; full: Reply[] }>)
    | null = null;
  /** Counted events (`/varz` redis.streams); `queued`: XADDs that waited in a stream's queue. */
  readonly counters = {
    appended: 0,
    appendErrors: 0,
    remoteRetries: 0,
    timeouts: 0,
    queued: 0,
  };

  /** Publishes through the router awaiting the stream's ack (streams on other nodes). */
  private readonly acks: StreamAcks;
  /** Stores into streams on this node. */
  private readonly here: StoreHere;

  constructor(readonly host: FaceHost) {
    this.inbox = new ReplyInbox();
    this.acks = new StreamAcks(host.router, this.inbox, this.counters);
    this.here = new StoreHere(host, this.counters);
  }

  stop(): void {
    this.acks.stop();
    this.inbox.stop();
  }

  /** The account's JetStream on this node, or the error to answer. */
  private js(account: Account): AccountJetStream {
    const js = this.host.jetstream?.account(account.name);
    if (js === undefined) {
      throw new JsApiError(
        503,
        0,
        'JetStream is not enabled for this account on this node: Weft keeps Redis streams in JetStream streams',
      );
    }
    return js;
  }

  /** The stream `name` of `account`, here or elsewhere; null when there is none. */
  async open(account: Account, name: string): Promise<StreamView | null> {
    const js = this.js(account);
    const cs = js.streams.get(name);
    if (cs !== undefined) {
      let meta = this.localMeta.get(cs.stream);
      if (meta === undefined) {
        meta = newMeta();
        this.localMeta.set(cs.stream, meta);
      }
      return this.localView(js, cs, meta);
    }
    if (!js.remoteHas(name)) return null;
    let info: { config: StreamConfig; state: Record<string, number>; created?: string };
    try {
      info = (await this.api(account, `STREAM.INFO.${name}`, null)) as typeof info;
    } catch (err) {
      if (err instanceof JsApiError && err.errCode === 10059) return null;
      throw err;
    }
    const s = info.state;
    const lastSeq = s.last_seq ?? 0;
    const st: StreamStateView = {
      messages: s.messages ?? 0,
      bytes: s.bytes ?? 0,
      firstSeq: (s.messages ?? 0) === 0 ? lastSeq + 1 : (s.first_seq ?? 1),
      lastSeq,
    };
    // Keyed by the stream's creation too: a stream deleted and made again starts afresh.
    const key = `${account.name}\u0000${name}\u0000${info.created ?? ''}`;
    let meta = this.remoteMeta.get(key);
    if (meta === undefined) {
      meta = newMeta();
      this.remoteMeta.set(key, meta);
      // Bounded: the oldest memory goes first (it is only a floor for the next ID).
      if (this.remoteMeta.size > REMOTE_META_MAX) {
        const oldest = this.remoteMeta.keys().next().value;
        if (oldest !== undefined) this.remoteMeta.delete(oldest);
      }
    }
    return new RemoteView(this, account, info.config, st, meta);
  }

  private localView(js: AccountJetStream, cs: CapturedStream, meta: StreamMeta): LocalView {
    const kept = this.localViews.get(cs);
    if (kept !== undefined && kept.meta === meta && kept.js === js) return kept;
    const v = new LocalView(cs, meta, js, (c) => js.delete(c));
    this.localViews.set(cs, v);
    return v;
  }

  /** Creates the stream Redis makes for `name` (or finds it made meanwhile). */
  async create(account: Account, name: string): Promise<StreamView> {
    await this.api(account, `STREAM.CREATE.${name}`, redisStreamConfig(name));
    const v = await this.open(account, name);
    if (v === null) throw new JsApiError(500, 0, `stream ${name} was created but is not reachable`);
    return v;
  }

  /** The names of every stream of the account, on every node. */
  async names(account: Account): Promise<string[]> {
    const js = this.js(account);
    return [...new Set([...js.streams.keys(), ...js.remoteNames()])].sort();
  }

  /** A JetStream API request (`$JS.API.<api>`) through the router; its answer, or a JsApiError. */
  api(account: Account, api: string, body: unknown): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const box = this.inbox.open(account, (m) => {
        if (timer !== null) clearTimeout(timer);
        let v: Record<string, unknown>;
        try {
          v = JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>;
        } catch {
          reject(new JsApiError(500, 0, 'the JetStream API answered something that is not JSON'));
          return;
        }
        const e = v.error as { code?: number; err_code?: number; description?: string } | undefined;
        if (e !== undefined) {
          reject(new JsApiError(e.code ?? 500, e.err_code ?? 0, e.description ?? 'error'));
        } else resolve(v);
      });
      if (box === null) {
        reject(new JsApiError(503, 0, 'too many requests are waiting for JetStream on this node'));
        return;
      }
      timer = setTimeout(() => {
        box.close();
        this.counters.timeouts++;
        reject(new JsApiError(504, 0, `no answer from JetStream within ${REDIS_JS_TIMEOUT_MS}ms`));
      }, REDIS_JS_TIMEOUT_MS);
      timer.unref();
      const payload = Buffer.from(body === null ? '' : JSON.stringify(body));
      const n = this.host.router.publish(
        account,
        { subject: `$JS.API.${api}`, reply: box.subject, headers: null, payload },
        this.inbox,
      );
      if (n === 0) {
        clearTimeout(timer);
        box.close();
        reject(new JsApiError(503, 0, 'JetStream did not answer: no responders'));
      }
    });
  }

  /**
   * The largest ID of the stream now: what this node remembers when the
   * stream has not grown since, else the ID of its last message (or of
   * the last one held, walking back over deleted ones), never below what
   * this node gave out.
   */
  async lastId(v: StreamView): Promise<StreamId> {
    const st = v.state();
    if (v.meta.seq === st.lastSeq) return v.meta.lastId;
    let id = ID_ZERO;
    const floor = Math.max(st.firstSeq, st.lastSeq - LAST_WALK_MAX);
    for (let seq = st.lastSeq; seq >= floor && seq >= 1; seq--) {
      const m = await v.get(seq);
      if (m !== null) {
        id = idOf(m);
        break;
      }
    }
    if (compareIds(v.meta.lastId, id) > 0) id = v.meta.lastId;
    // Only when nothing was appended meanwhile (a read is not in the same turn).
    if (v.state().lastSeq === st.lastSeq) {
      v.meta.seq = st.lastSeq;
      v.meta.lastId = id;
    }
    return id;
  }

  /**
   * XADD: appends the entry `req.build` makes from the stream's last ID,
   * publishing on the stream's XADD subject; resolves once the stream
   * acked it (durable) or refused it. The effect is ordered when this
   * returns: XADDs to one stream from this node are published in call
   * order (at once when the stream is here and its top is known, else
   * queued behind the ones before).
   */
  xadd(account: Account, req: XaddRequest): Promise<XaddOutcome> {
    if (this.queues.size === 0 || !this.queues.has(`${account.name}\u0000${req.name}`)) {
      const fast = this.xaddNow(account, req);
      if (fast !== null) return fast;
    }
    const key = `${account.name}\u0000${req.name}`;
    this.counters.queued++;
    let release: () => void = () => {};
    const turn = new Promise<void>((r) => {
      release = r;
    });
    const prev = this.queues.get(key) ?? Promise.resolve();
    const tail = prev.then(() => turn);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return prev.then(async () => {
      try {
        return await this.xaddQueued(account, req, release);
      } finally {
        release();
      }
    });
  }

  /**
   * `settled` then `open`, in this turn, for a stream on this node with no
   * XADD queued to it (the consumer groups' commands): its view; undefined
   * when only they can answer (a queued XADD, a stream elsewhere or none).
   */
  openHere(account: Account, name: string): LocalView | undefined {
    if (this.queues.size !== 0 && this.queues.has(`${account.name}\u0000${name}`)) return undefined;
    const js = this.host.jetstream?.account(account.name);
    const cs = js?.streams.get(name);
    if (js === undefined || cs === undefined) return undefined;
    let meta = this.localMeta.get(cs.stream);
    if (meta === undefined) {
      meta = newMeta();
      this.localMeta.set(cs.stream, meta);
    }
    return this.localView(js, cs, meta);
  }

  /** Resolves once the XADDs queued for a stream now have been published (reads after writes). */
  settled(account: Account, name: string): Promise<void> {
    return this.queues.get(`${account.name}\u0000${name}`) ?? Promise.resolve();
  }

  /**
   * Null when no XADD to the stream is queued; else a promise resolved
   * once none is (every one published, XADD's fast path open again).
   */
  drained(account: Account, name: string): Promise<void> | null {
    const key = `${account.name}\u0000${name}`;
    if (!this.queues.has(key)) return null;
    return this.drainedKey(key);
  }

  private async drainedKey(key: string): Promise<void> {
    // Each tail's own `then` (made first, in `xadd`) drops the key when it is the last.
    for (let p = this.queues.get(key); p !== undefined; p = this.queues.get(key)) await p;
  }

  /**
   * The view of stream `name` when an XADD can append to it in this turn:
   * the stream is on this node, its top ID is known and no XADD to it is
   * queued. Null otherwise (then `xadd` takes it). XADD's fast path
   * (bench/PROFILE.md, "Issue 16 — rstream").
   */
  hereForXadd(account: Account, name: string): LocalView | null {
    if (this.queues.size !== 0 && this.queues.has(`${account.name}\u0000${name}`)) return null;
    const js = this.host.jetstream?.account(account.name);
    const cs = js?.streams.get(name);
    if (js === undefined || cs === undefined) return null;
    const meta = this.localMeta.get(cs.stream);
    if (meta === undefined || meta.seq !== cs.stream.state().lastSeq) return null;
    return this.localView(js, cs, meta);
  }

  /**
   * Appends the entry an XADD built after `v.meta.lastId` (`id`, its
   * headers and payload, publishing on `subject`) to the stream here, in
   * this turn (`v` from `hereForXadd`, in the same turn). The slot is
   * filled with the ID (`<head>-<seq>`, or `head` when seq is -1, a bulk
   * string) once the stream acked the entry (stored with the time `now`,
   * XADD's clock; durable under its sync policy), or with the error: the same outcome as `xadd`, with no
   * promise, one slot and one callback per entry — or per run (`tail`: the
   * connection's last reply in line, returned when the entry joined it;
   * undefined: no run).
   */
  appendEntry(
    account: Account,
    v: LocalView,
    subject: string,
    id: StreamId,
    headers: Buffer,
    payload: Buffer,
    head: string,
    seq: number,
    now: number,
    tail?: Slot | null,
  ): LaterReply {
    const cs = v.cs;
    const before = cs.stream.state().lastSeq;
    const later =
      (tail === undefined
        ? null
        : this.here.storeInRun(account, v, subject, headers, payload, head, seq, now, tail)) ??
      this.here.storeLater(account, cs, subject, headers, payload, head, seq, now);
    if (cs.stream.state().lastSeq === before + 1) {
      v.meta.seq = before + 1;
      v.meta.lastId = id;
    }
    return later;
  }

  /** The XADD in this turn, when the stream is here and its top known; else null. */
  private xaddNow(account: Account, req: XaddRequest): Promise<XaddOutcome> | null {
    const js = this.host.jetstream?.account(account.name);
    const cs = js?.streams.get(req.name);
    if (js === undefined || cs === undefined) return null;
    const meta = this.localMeta.get(cs.stream);
    if (meta === undefined || meta.seq !== cs.stream.state().lastSeq) return null;
    return this.publishEntry(account, this.localView(js, cs, meta), req);
  }

  private async xaddQueued(
    account: Account,
    req: XaddRequest,
    release: () => void,
  ): Promise<XaddOutcome> {
    const kept = this.host.jetstream?.account(account.name)?.streams.has(req.name)
      ? undefined
      : this.remoteViews.get(`${account.name}\u0000${req.name}`);
    const cached = kept !== undefined;
    let v = kept ?? (await this.open(account, req.name));
    if (v === null) {
      if (!req.create) return { none: true };
      const refused = req.check(redisSubject(req.name));
      if (refused !== null) return { error: refused };
      v = await this.create(account, req.name);
    }
    if (v.local) return this.appendHere(account, v, req, release);
    const key = `${account.name}\u0000${req.name}`;
    for (let attempt = 0; ; attempt++) {
      const r = await this.publishEntry(account, v, req, await this.lastId(v));
      if (!('error' in r)) {
        // Kept for the next XADD from this node: no STREAM.INFO while nobody else writes.
        this.remoteViews.delete(key);
        this.remoteViews.set(key, v);
        if (this.remoteViews.size > REMOTE_META_MAX) {
          const oldest = this.remoteViews.keys().next().value;
          if (oldest !== undefined) this.remoteViews.delete(oldest);
        }
        return r;
      }
      this.remoteViews.delete(key);
      // Another writer came first (or the kept view is stale): look again.
      const stale = cached && attempt === 0;
      if (!stale && !r.error.includes('wrong last sequence')) return r;
      if (attempt >= REDIS_XADD_RETRIES) return r;
      this.counters.remoteRetries++;
      let again = await this.open(account, req.name);
      if (again === null) {
        // Deleted meanwhile: made again, as an XADD to a missing key does.
        if (!req.create) return { none: true };
        const refused = req.check(redisSubject(req.name));
        if (refused !== null) return { error: refused };
        again = await this.create(account, req.name);
      }
      if (again.local) return this.appendHere(account, again, req, release);
      v = again;
    }
  }

  /** XADD to a stream on this node once its top is known: the check and the append in one turn. */
  private async appendHere(
    account: Account,
    v: StreamView,
    req: XaddRequest,
    release: () => void,
  ): Promise<XaddOutcome> {
    for (let tries = 0; ; tries++) {
      if (v.meta.seq === v.state().lastSeq) {
        const ack = this.publishEntry(account, v, req);
        release();
        return ack;
      }
      if (tries >= LAST_TRIES_MAX) {
        return { error: 'ERR the stream grows too fast to find its top entry; try again' };
      }
      await this.lastId(v);
    }
  }

  /**
   * Builds and publishes the entry after the stream's last ID: in this
   * turn for a stream here (its top known: `v.meta`), with
   * `Nats-Expected-Last-Sequence` for one elsewhere (`last` read first).
   */
  private publishEntry(
    account: Account,
    v: StreamView,
    req: XaddRequest,
    last: StreamId = v.meta.lastId,
  ): Promise<XaddOutcome> {
    const subject = xaddSubject(v.config);
    if ('error' in subject) return Promise.resolve({ error: subject.error });
    const refused = req.check(subject.subject);
    if (refused !== null) return Promise.resolve({ error: refused });
    const made = req.build(last);
    if (typeof made === 'string') return Promise.resolve({ error: made });
    const before = v.state().lastSeq;
    let headers = made.headers;
    if (!v.local) {
      const expect = Buffer.from(
        `Nats-Expected-Stream: ${v.name}\r\nNats-Expected-Last-Sequence: ${before}\r\n\r\n`,
      );
      headers = Buffer.concat([headers.subarray(0, headers.length - 2), expect]);
    }
    const ack =
      v instanceof LocalView
        ? this.here.storeHere(
            account,
            v.cs,
            subject.subject,
            headers,
            made.payload,
            // The entry's own headers are all Redis-*: none a stream reads.
            headers === made.headers ? NO_PUB_HEADERS : readPubHeaders(headers),
          )
        : this.acks.publish(account, subject.subject, headers, made.payload);
    const id = made.id;
    if (v.local && v.state().lastSeq === before + 1) {
      v.meta.seq = before + 1;
      v.meta.lastId = id;
    }
    return acked(ack, v, id);
  }
}

/**
 * The outcome of an XADD once acked. Its own scope, so that what waits
 * for the ack holds the ID and the view, not the entry's bytes.
 */
function acked(ack: Promise<AppendResult>, v: StreamView, id: StreamId): Promise<XaddOutcome> {
  return ack.then((r) => {
    if ('error' in r) return r;
    if (!v.local) {
      v.meta.seq = r.seq;
      v.meta.lastId = id;
    }
    return { seq: r.seq, id, view: v };
  });
}

const BY_FACE = new WeakMap<RedisFaceState, RedisStreams>();

/** Called with each face's RedisStreams when it is made (the consumer groups set `groupInfo`). */
const STREAMS_MADE: ((face: RedisFaceState, s: RedisStreams) => void)[] = [];

export function whenStreamsMade(fn: (face: RedisFaceState, s: RedisStreams) => void): void {
  STREAMS_MADE.push(fn);
}

/**
 * The face's RedisStreams, made on first use (the streams and consumer
 * group commands share it: one reply inbox, one memory of each stream).
 */
export function streamsOf(face: RedisFaceState): RedisStreams {
  let s = BY_FACE.get(face);
  if (s === undefined) {
    s = new RedisStreams(face.host);
    BY_FACE.set(face, s);
    for (const made of STREAMS_MADE) made(face, s);
  }
  return s;
}

/**
 * The streams' counters for the face's `/varz` (`redis.streams`), or null
 * when no stream command ran yet: XADDs acked and refused, remote retries,
 * timeouts, reply-inbox refusals, blocked reads now / refused / timed out.
 */
export function streamsVarz(face: RedisFaceState): Record<string, number> | null {
  const s = BY_FACE.get(face);
  if (s === undefined) return null;
  return {
    ...s.counters,
    inboxRefused: s.inbox.refused,
    blocked: s.blocked.size,
    blockedRefused: s.blocked.refused,
    blockedTimedOut: s.blocked.timedOut,
  };
}
