/**
 * The Redis face's consumer groups, per account: the groups of each stream
 * (state.ts), kept in the account's record stream (store.ts) and bound to
 * one durable JetStream consumer each (feed.ts). Commands (commands/
 * groups.ts) parse and reply; the work is here.
 *
 * Each change is applied in memory at once, in command order, and its
 * record written; the command is answered once the record is written (to
 * the OS; the record stream is fsynced on a timer, store.ts). New entries
 * (`>`) of one group are read one read at a time (the group's read
 * lock), so two readers never take the same pull's messages. JetStream
 * acks (XACK, NOACK reads) are sent once the change is written.
 *
 * Bounds: a read takes at most REDIS_GROUP_READ_MAX entries per key
 * (COUNT above it, or none, is cut there; counted in `readsCapped`).
 */
import type { Account } from '../../../core/account.js';
import type { AccountJetStream, CapturedStream } from '../../../jetstream/service.js';
import type { FaceHost } from '../../face.js';
import { consumerNameOf, GroupFeed, type Pulled } from './feed.js';
import { type AckIds, type IdKey, MIN_ID, nextId } from './ids.js';
import {
  type GroupCounters,
  type GroupEntry,
  GroupError,
  LiveGroup,
  REDIS_GROUP_READ_MAX,
  readMax,
} from './live.js';
import { NewRead } from './read-new.js';
import type { RecordDone } from './record-done.js';
import {
  apply,
  applyAck,
  GroupState,
  type Nack,
  type Op,
  pendingOf,
  UNKNOWN_READ,
} from './state.js';
import type { GroupStore, StoredGroup } from './store.js';
import type { StreamsView } from './view.js';

export class AccountGroups {
  private readonly byStream = new Map<string, Map<string, LiveGroup>>();
  /** Groups being created (`<stream>\0<group>`): a second CREATE meanwhile is BUSYGROUP. */
  private readonly creating = new Set<string>();
  /** The feeds' count of late entries: `counters.lateEntries`. */
  private readonly late: { count: number };

  constructor(
    readonly account: Account,
    private readonly js: AccountJetStream,
    private readonly host: FaceHost,
    readonly view: StreamsView,
    readonly store: GroupStore,
    readonly counters: GroupCounters,
  ) {
    this.late = {
      get count(): number {
        return counters.lateEntries;
      },
      set count(v: number) {
        counters.lateEntries = v;
      },
    };
  }

  /** Groups in service in the account. */
  get size(): number {
    let n = 0;
    for (const m of this.byStream.values()) n += m.size;
    return n;
  }

  async open(): Promise<void> {
    for (const g of await this.store.open()) {
      // A group whose stream is gone (deleted while the node was down, or before):
      // its records go, as Redis drops a key's groups with the key.
      const cs = this.js.streams.get(g.stream);
      if (
        (cs === undefined && !this.js.remoteHas(g.stream) && !this.js.offline.has(g.stream)) ||
        (cs !== undefined && cs.stream.created.getTime() !== g.streamCreated)
      ) {
        this.store.counters.staleGroups++;
        await this.store.remove(g).catch((err: unknown) => this.logFailure('remove', err));
        continue;
      }
      let m = this.byStream.get(g.stream);
      if (m === undefined) {
        m = new Map();
        this.byStream.set(g.stream, m);
      }
      const live = new LiveGroup(g);
      m.set(g.state.name, live);
      // Meet the group's consumer now: reconciling after a crash (acks it
      // missed, reads whose record was lost) need not wait for a read.
      if (cs !== undefined) {
        void this.feed(cs, live).catch((err: unknown) => this.logFailure('bind', err));
      }
    }
  }

  /**
   * The groups of `cs`, by name. Groups of an earlier stream of that name
   * (deleted and created again) are dropped here, with their records and
   * consumers' bindings.
   */
  groupsOf(cs: CapturedStream): Map<string, LiveGroup> {
    const name = cs.stream.name;
    let m = this.byStream.get(name);
    if (m === undefined) {
      m = new Map();
      this.byStream.set(name, m);
      return m;
    }
    const created = cs.stream.created.getTime();
    for (const [n, g] of m) {
      if (g.stored.streamCreated === created) continue;
      m.delete(n);
      g.feed?.close();
      this.store.counters.staleGroups++;
      void this.store.remove(g.stored).catch((err: unknown) => this.logFailure('remove', err));
    }
    return m;
  }

  get(cs: CapturedStream, group: string): LiveGroup | undefined {
    return this.groupsOf(cs).get(group);
  }

  // ---- XGROUP ---------------------------------------------------------

  /** XGROUP CREATE; false when the name is taken. `id` null: `$`. */
  async create(
    cs: CapturedStream,
    group: string,
    id: IdKey | null,
    entriesRead: number | null,
  ): Promise<boolean> {
    const groups = this.groupsOf(cs);
    const key = `${cs.stream.name}\0${group}`;
    // Taken, or being created by another client: Redis's BUSYGROUP either way.
    if (groups.has(group) || this.creating.has(key)) return false;
    this.creating.add(key);
    try {
      return await this.createNew(cs, groups, group, id, entriesRead);
    } finally {
      this.creating.delete(key);
    }
  }

  private async createNew(
    cs: CapturedStream,
    groups: Map<string, LiveGroup>,
    group: string,
    id: IdKey | null,
    entriesRead: number | null,
  ): Promise<boolean> {
    const last = id ?? (await this.view.lastId(cs));
    // Redis 7.0: unknown (nil) unless ENTRIESREAD gives it, even for `$`.
    const er = entriesRead ?? UNKNOWN_READ;
    const state = new GroupState(group, last, er, Date.now());
    let stored: StoredGroup;
    try {
      stored = await this.store.create(cs.stream.name, cs.stream.created.getTime(), state);
    } catch (err) {
      throw this.failure('create', err);
    }
    // Seen by other commands only once its consumer exists too.
    const live = new LiveGroup(stored);
    try {
      // An earlier consumer of that name (a group destroyed while its stream was away).
      const stale = cs.consumers.byName.get(consumerNameOf(group));
      if (stale !== undefined) await cs.consumers.delete(stale.name);
      await this.feed(cs, live);
    } catch (err) {
      // No consumer (the account's consumer limit, a full disk): no group either.
      await this.store.remove(stored).catch((e: unknown) => this.logFailure('remove', e));
      this.logFailure('consumer', err);
      throw new GroupError(
        `ERR the group's JetStream consumer cannot be created: ${(err as Error).message ?? String(err)}`,
      );
    }
    groups.set(group, live);
    return true;
  }

  /** XGROUP DESTROY; false when there is no such group. */
  async destroy(cs: CapturedStream, group: string): Promise<boolean> {
    const groups = this.groupsOf(cs);
    const g = groups.get(group);
    if (g === undefined) return false;
    groups.delete(group);
    g.feed?.close();
    try {
      const c = cs.consumers.byName.get(consumerNameOf(group));
      if (c !== undefined) await cs.consumers.delete(c.name);
      await this.store.remove(g.stored);
    } catch (err) {
      throw this.failure('destroy', err);
    }
    return true;
  }

  /** XGROUP SETID: the group's position moves; its JetStream consumer starts again there. */
  async setId(
    cs: CapturedStream,
    g: LiveGroup,
    id: IdKey | null,
    er: number | null,
  ): Promise<void> {
    const last = id ?? (await this.view.lastId(cs));
    await this.lock(g);
    try {
      await this.commit(g, { o: 'setid', last, er: er ?? UNKNOWN_READ });
      g.feed?.close();
      g.feed = null;
      const c = cs.consumers.byName.get(consumerNameOf(g.state.name));
      if (c !== undefined) await cs.consumers.delete(c.name);
      await this.feed(cs, g);
    } finally {
      this.unlock(g);
    }
  }

  /** XGROUP CREATECONSUMER: 1 created, 0 there already. */
  async createConsumer(g: LiveGroup, consumer: string): Promise<number> {
    if (g.state.consumers.has(consumer)) return 0;
    await this.commit(g, { o: 'cc', c: consumer, t: Date.now() });
    return 1;
  }

  /** XGROUP DELCONSUMER: how many pending entries it had (0 when no such consumer). */
  async delConsumer(cs: CapturedStream, g: LiveGroup, consumer: string): Promise<number> {
    const c = g.state.consumers.get(consumer);
    if (c === undefined) return 0;
    const seqs: number[] = [];
    for (const [, n] of c.pel.from(MIN_ID)) seqs.push(n.seq);
    await this.commit(g, { o: 'dc', c: consumer });
    // Its entries leave the PEL, as acknowledged (Redis forgets them).
    this.jsAck(cs, g, seqs);
    return seqs.length;
  }

  // ---- XREADGROUP -----------------------------------------------------

  /**
   * New entries (`>`) for `consumer`: up to `count` (0: all, to
   * REDIS_GROUP_READ_MAX). `first`: one entry already pulled (a blocked read woken).
   */
  async readNew(
    cs: CapturedStream,
    g: LiveGroup,
    consumer: string,
    count: number,
    noack: boolean,
    closed: () => boolean,
    first: Pulled[] = [],
  ): Promise<GroupEntry[]> {
    await this.lock(g);
    let feed: GroupFeed;
    try {
      feed = await this.feed(cs, g);
    } catch (err) {
      this.unlock(g);
      throw err;
    }
    const r = new NewRead(this.view, cs, g.state, feed, readMax(count));
    for (const p of first) r.consider(p);
    return this.readOn(r, g, consumer, count, noack, closed, false);
  }

  /**
   * `readNew` in this turn, where it can run here whole: the group's read
   * lock free, its feed bound, the consumer answering in process, the
   * entries-read counter known. Its record is written with `done` (a
   * `LaterReply`, told once written, as `commit`'s Promise would be), and
   * the entries returned; the caller answers through `done`. None
   * returned: nothing new (`done` unused; the consumer's seen time set, as
   * `readNew` does). Null when it cannot start in this turn (nothing
   * changed: the caller takes `readNew`). A Promise when it started here
   * and must finish through the message path (`done` unused then too).
   *
   * Why: ~25 promises per XREADGROUP on `readNew`'s way (bench/PROFILE.md,
   * "Issue 16 — rgroup3 (round 10)").
   */
  readNewNow(
    cs: CapturedStream,
    g: LiveGroup,
    consumer: string,
    count: number,
    noack: boolean,
    closed: () => boolean,
    done: RecordDone,
  ): GroupEntry[] | Promise<GroupEntry[]> | null {
    const feed = g.feed;
    if (feed === null || feed.cs !== cs || !feed.alive() || !this.tryLock(g)) return null;
    const r = new NewRead(this.view, cs, g.state, feed, readMax(count));
    if (!r.takeNow()) {
      if (r.taken.length === 0) {
        this.unlock(g);
        return null;
      }
      return this.readOn(r, g, consumer, count, noack, closed, false);
    }
    r.order();
    if (r.taken.length === REDIS_GROUP_READ_MAX && r.max !== count) this.counters.readsCapped++;
    const now = Date.now();
    if (r.taken.length === 0) {
      this.unlock(g);
      // Redis makes the consumer only when it serves it something.
      const c = g.state.consumers.get(consumer);
      if (c !== undefined) c.seen = now;
      return r.entries();
    }
    const er = r.entriesRead();
    if (typeof er !== 'number') {
      er.catch(() => {});
      return this.readOn(r, g, consumer, count, noack, closed, true);
    }
    if (noack) done.ackAfter(feed, r.seqs());
    try {
      this.commitNotify(g, r.op(consumer, now, er, noack), done, r.taken);
    } finally {
      this.unlock(g);
    }
    return r.entries();
  }

  /**
   * The rest of a `>` read holding the group's read lock (let go here once
   * its record is queued): pulls what is missing (not when `pulled`), then
   * writes the record; the entries once it is written.
   */
  private async readOn(
    r: NewRead,
    g: LiveGroup,
    consumer: string,
    count: number,
    noack: boolean,
    closed: () => boolean,
    pulled: boolean,
  ): Promise<GroupEntry[]> {
    let write: Promise<void> | null = null;
    try {
      while (!pulled && r.room > 0) {
        const got = await r.feed.pull(r.room);
        if (got.length === 0) break;
        for (const p of got) r.consider(p);
      }
      r.order();
      // Cut at the bound where the client asked for more (or for all).
      if (!pulled && r.taken.length === REDIS_GROUP_READ_MAX && r.max !== count) {
        this.counters.readsCapped++;
      }
      const now = Date.now();
      if (closed()) {
        r.feed.giveBack(r.seqs());
        return [];
      }
      if (r.taken.length === 0) {
        // Redis makes the consumer only when it serves it something.
        const c = g.state.consumers.get(consumer);
        if (c !== undefined) c.seen = now;
      } else {
        // Redis's rule, entry by entry (lag.ts).
        const counted = r.entriesRead();
        const er = typeof counted === 'number' ? counted : await counted;
        write = this.commit(g, r.op(consumer, now, er, noack));
      }
    } finally {
      this.unlock(g);
    }
    if (write !== null) await write;
    if (noack && r.taken.length > 0) r.feed.ack(r.seqs());
    return r.entries();
  }

  /** The consumer's pending entries after `after` (exclusive), delivered again. */
  async readHistory(
    cs: CapturedStream,
    g: LiveGroup,
    consumer: string,
    after: IdKey,
    count: number,
  ): Promise<GroupEntry[]> {
    const c = g.state.consumers.get(consumer);
    const from = nextId(after);
    const out: GroupEntry[] = [];
    const found: IdKey[] = [];
    if (c !== undefined && from !== null) {
      const max = count <= 0 ? REDIS_GROUP_READ_MAX : Math.min(count, REDIS_GROUP_READ_MAX);
      const picked: [IdKey, Nack][] = [];
      for (const e of c.pel.from(from)) {
        if (picked.length >= max) break;
        picked.push(e);
      }
      for (const [id, n] of picked) {
        const m = await cs.stream.messages.get(n.seq);
        out.push({ id, msg: m });
        if (m !== null) found.push(id);
      }
    }
    const now = Date.now();
    if (c === undefined || found.length > 0) {
      await this.commit(g, { o: 'hist', c: consumer, t: now, ids: found });
    } else c.seen = now;
    return out;
  }

  // ---- XACK, XCLAIM, XAUTOCLAIM ------------------------------------

  async ack(cs: CapturedStream, g: LiveGroup, ids: readonly IdKey[]): Promise<number> {
    const found: IdKey[] = [];
    const seqs: number[] = [];
    for (const id of new Set(ids)) {
      const n = g.state.pel.get(id);
      if (n === undefined) continue;
      found.push(id);
      seqs.push(n.seq);
    }
    if (found.length === 0) return 0;
    await this.commit(g, { o: 'ack', ids: found });
    this.jsAck(cs, g, seqs);
    return found.length;
  }

  /**
   * `ack` without a Promise: how many of `ids` were pending; when some,
   * their record is written with `done` (told once written; the JetStream
   * acks go then, as `ack` sends them).
   */
  ackNow(cs: CapturedStream, g: LiveGroup, ack: AckIds, done: RecordDone): number {
    const { ids: found, nacks } = pendingOf(g.state, ack.ids);
    if (found.length === 0) return 0;
    const seqs: number[] = new Array(nacks.length);
    for (let i = 0; i < nacks.length; i++) seqs[i] = nacks[i]!.seq;
    done.jsAckAfter(cs, g, seqs);
    // `commitNotify` without `apply`'s lookups: the entries are in hand.
    applyAck(g.state, found, nacks);
    const all = found.length === ack.ids.length; // each pending, once: `found` is `ack.ids`
    this.store.writeNotify(g.stored, { o: 'ack', ids: found }, done, all ? ack.texts : undefined);
    return found.length;
  }

  // ---- blocking ---------------------------------------------------------

  /**
   * Waits up to `ms` (0: for ever) for a new entry in any of `groups`:
   * the group that got one and that entry, or null (timed out, or the
   * client went away: `onClose` cancels).
   */
  async waitAny(
    groups: readonly { cs: CapturedStream; g: LiveGroup }[],
    ms: number,
    onClose: (cancel: () => void) => void,
  ): Promise<{ index: number; first: Pulled[] } | null> {
    const feeds = await Promise.all(groups.map(({ cs, g }) => this.feed(cs, g)));
    return new Promise((resolve) => {
      let settled = false;
      const waits: { cancel(): void }[] = [];
      const finish = (r: { index: number; first: Pulled[] } | null): void => {
        if (settled) return;
        settled = true;
        if (timer !== null) clearTimeout(timer);
        for (const w of waits) w.cancel();
        resolve(r);
      };
      const timer = ms > 0 ? setTimeout(() => finish(null), ms) : null;
      feeds.forEach((feed, index) => {
        const w = feed.wait(ms, () => {});
        waits.push(w);
        void w.got.then((got) => {
          if (settled) {
            if (got.length > 0) feed.giveBack(got.map((p) => p.seq));
            return;
          }
          // Empty: the wait ended without an entry (expired, the consumer's
          // max_waiting reached, the consumer deleted): answered as timed out.
          finish(got.length === 0 ? null : { index, first: got });
        });
      });
      onClose(() => finish(null));
    });
  }

  // ---- the group's consumer -----------------------------------------

  /**
   * The group's JetStream consumer, created when missing (from the group's
   * position). An existing one (after a restart) is reconciled with the
   * PEL: what it holds as pending that the PEL does not is acked when the
   * group had delivered it, or given back to be delivered (a read whose
   * record a crash took).
   */
  feed(cs: CapturedStream, g: LiveGroup): Promise<GroupFeed> {
    const have = g.feed;
    if (have !== null && have.cs === cs && have.alive()) return Promise.resolve(have);
    if (g.binding !== null) return g.binding;
    g.binding = (async () => {
      g.feed?.close();
      g.feed = null;
      const name = consumerNameOf(g.state.name);
      const existed = cs.consumers.byName.has(name);
      const start = await this.view.seqAfter(cs, g.state.lastId);
      const consumer = await GroupFeed.consumerFor(cs, g.state.name, start);
      const feed = new GroupFeed(this.account, cs, consumer, this.late, this.counters);
      if (existed) await this.reconcile(cs, g, feed);
      g.feed = feed;
      return feed;
    })().finally(() => {
      g.binding = null;
    });
    return g.binding;
  }

  private async reconcile(cs: CapturedStream, g: LiveGroup, feed: GroupFeed): Promise<void> {
    const inPel = new Set<number>();
    for (const [, n] of g.state.pel.from(MIN_ID)) inPel.add(n.seq);
    const ack: number[] = [];
    const back: number[] = [];
    for (const seq of feed.pendingSeqs()) {
      if (inPel.has(seq)) continue;
      const m = await cs.stream.messages.get(seq);
      if (m !== null && this.view.idOf(cs, m) > g.state.lastId) back.push(seq);
      else ack.push(seq);
    }
    feed.ack(ack);
    feed.giveBack(back);
  }

  jsAck(cs: CapturedStream, g: LiveGroup, seqs: number[]): void {
    if (seqs.length === 0) return;
    const f = g.feed;
    // Not bound yet: binding reconciles (what the PEL lacks is acked then).
    if (f !== null && f.cs === cs && f.alive()) f.ack(seqs);
  }

  // ---- plumbing -------------------------------------------------------

  /** Applies a change and writes its record; resolves once written (store.ts: fsynced on a timer). */
  commit(g: LiveGroup, op: Op): Promise<void> {
    apply(g.state, op);
    return this.store.write(g.stored, op).catch((err: unknown) => {
      throw this.failure('write', err);
    });
  }

  /** `commit` whose record write tells `done` (no Promise); a read's IDs from `ids`' blocks. */
  commitNotify(g: LiveGroup, op: Op, done: RecordDone, ids?: NewRead['taken']): void {
    apply(g.state, op);
    this.store.writeNotify(g.stored, op, done, ids);
  }

  /** The reply to a record write that failed (`commit`'s rejection, counted and logged). */
  writeFailed(err: unknown): string {
    return this.failure('write', err).message;
  }

  /** The group's read lock, in turn (first come, first served). */
  private lock(g: LiveGroup): Promise<void> {
    if (this.tryLock(g)) return Promise.resolve();
    return new Promise((r) => g.lockWaiters.push(r));
  }

  /** Takes the group's read lock when free, with nobody waiting for it. */
  private tryLock(g: LiveGroup): boolean {
    if (g.locked) return false;
    g.locked = true;
    return true;
  }

  /** Lets the read lock go: to the first waiting, else free. */
  private unlock(g: LiveGroup): void {
    const next = g.lockWaiters.shift();
    if (next === undefined) g.locked = false;
    else next();
  }

  private failure(what: string, err: unknown): GroupError {
    if (err instanceof GroupError) return err;
    this.counters.writeFailures++;
    this.logFailure(what, err);
    return new GroupError(
      `ERR consumer group state not saved: ${(err as Error).message ?? String(err)}`,
    );
  }

  private logFailure(what: string, err: unknown): void {
    this.host.log.error(
      `redis: consumer group ${what} in account ${this.account.name}: ${String(err)}`,
    );
  }

  /** For `AccountJetStream` users: which stream a group's consumer belongs to. */
  get jetstream(): AccountJetStream {
    return this.js;
  }
}
