/**
 * A stream: a configuration applied over a StreamStore. `store` is the one
 * way in for captured messages; it applies what nats-server applies on a
 * publish, in its order: de-duplication by `Nats-Msg-Id`, the
 * `Nats-Expected-*` headers, the message size limit, then the limits
 * (discard new refuses, discard old removes the oldest after the append).
 *
 * Every check reads the store's synchronous state and the append is called
 * in the same turn, so concurrent publishes are checked and numbered in
 * arrival order without a queue, and the store's group commit still batches
 * their fsyncs.
 */

import { Fifo } from './fifo.js';
import { H, NO_PUB_HEADERS, type PubHeaders, parseHeaders, readPubHeaders } from './headers.js';
import {
  type AppendDone,
  type StoredMessage,
  StoreError,
  type StoreState,
  type StreamStore,
} from './store.js';
import { NS_PER_MS, type StreamConfig } from './stream-config.js';
import { JsErr, StreamApiError, storeFailure } from './stream-errors.js';
import { type PublishAdmission, type StoreDone, type StoreNotice, tell } from './stream-notice.js';
import { rollupOf } from './stream-rollup.js';
import { type RunDone, RunNotice } from './stream-run.js';

export type { PublishAdmission, StoreDone, StoreNotice } from './stream-notice.js';

export interface PubResult {
  seq: number;
  duplicate?: boolean;
}

interface DedupEntry {
  seq: number;
  time: number;
  /** Settles with the original append: a duplicate is acked only once the original is durable. */
  done: Promise<unknown>;
}

/** How often limits by age are applied, at most (ms). */
const AGE_TICK_MAX_MS = 1000;
const AGE_TICK_MIN_MS = 50;

export class Stream {
  private cfg: StreamConfig;
  /** Msg id → where it was stored; insertion order is time order. */
  private readonly dedup = new Map<string, DedupEntry>();
  private lastMsgId = '';
  /** The newest message whose append succeeded, and its id (lastMsgId after a failed write). */
  private storedSeq = 0;
  private storedMsgId = '';
  private ageTimer: NodeJS.Timeout | null = null;
  private closedFlag = false;
  /**
   * The `done` of each plain publish appended by `storeNotify` and not yet
   * told of, oldest first: `appendNotify` calls back in
   * append order, so one bound callback (`appended`) serves them all, not
   * a closure per publish. Holds what the store's writer holds in flight.
   * A ring (fifo.ts): no allocation per publish once grown.
   */
  private readonly notifyQ = new Fifo<StoreDone | StoreNotice>(256);
  /** The run `appendInRun` appends under, its notice not queued yet. */
  private run: StoreNotice | null = null;
  /** Asked after the stream's own checks, before a message is stored (stream-notice.ts); null: none. */
  admit: PublishAdmission | null = null;

  constructor(
    config: StreamConfig,
    readonly messages: StreamStore,
    readonly created: Date,
  ) {
    this.cfg = config;
  }

  get config(): StreamConfig {
    return this.cfg;
  }

  get name(): string {
    return this.cfg.name;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Rebuilds the de-duplication window and the last message id from what
   * the store holds (after a restart), applies the limits and starts the
   * age timer.
   */
  async open(): Promise<void> {
    const st = this.messages.state();
    const windowMs = this.cfg.duplicate_window / NS_PER_MS;
    let seq = this.messages.seqForTime(Date.now() - windowMs);
    for (;;) {
      const m = await this.messages.next(seq);
      if (m === null) break;
      const id = parseHeaders(m.headers).get(H.msgId);
      if (id !== undefined && id !== '') {
        this.dedup.delete(id);
        this.dedup.set(id, { seq: m.seq, time: m.time, done: Promise.resolve() });
      }
      seq = m.seq + 1;
    }
    if (st.lastSeq > 0) {
      const last = await this.messages.get(st.lastSeq);
      this.lastMsgId = last === null ? '' : (parseHeaders(last.headers).get(H.msgId) ?? '');
    }
    this.storedSeq = st.lastSeq;
    this.storedMsgId = this.lastMsgId;
    // A store that cannot write yet (a full disk at start) still opens, readable.
    await (this.enforceLimits() ?? Promise.resolve()).catch((err: unknown) => {
      if (!(err instanceof StoreError && err.code === 'unwritable')) throw err;
    });
    this.startAgeTimer();
  }

  /** Replaces the configuration (checked by the caller) and applies the new limits. */
  async update(config: StreamConfig): Promise<void> {
    this.cfg = config;
    this.startAgeTimer();
    await this.enforceLimits();
  }

  state(): StoreState {
    return this.messages.state();
  }

  /**
   * Stores a captured message. Rejects with a StreamApiError the publisher
   * should see. The store copies `headers` and `payload` before this
   * returns (they may be views of a reused read buffer). `pub`: the
   * publish headers (`Nats-Msg-Id`, `Nats-Expected-*`, `Nats-Rollup`) when
   * the caller knows them already (`NO_PUB_HEADERS` for none), so the
   * header block is not read again; by default they are read from it.
   */
  store(
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
    pub: PubHeaders = readPubHeaders(headers),
  ): Promise<PubResult> {
    if (this.closedFlag) return Promise.reject(JsErr.StreamNotFound());
    if (this.run !== null) this.endRun();
    const cfg = this.cfg;
    const now = Date.now();
    this.pruneDedup(now);
    const msgId = pub.msgId ?? '';
    if (msgId !== '') {
      const seen = this.dedup.get(msgId);
      if (seen !== undefined) return seen.done.then(() => ({ seq: seen.seq, duplicate: true }));
    }
    // Refused before anything changes while the store cannot write.
    const unwritable = this.messages.writeError;
    if (unwritable !== null) return Promise.reject(storeFailure(unwritable));
    const st = this.messages.state();
    const expStream = pub.expectedStream;
    if (expStream !== undefined && expStream !== '' && expStream !== cfg.name) {
      return Promise.reject(JsErr.StreamNotMatch());
    }
    const expLast = pub.expectedLastSeq;
    if (expLast !== undefined && Number(expLast) !== st.lastSeq) {
      return Promise.reject(JsErr.WrongLastSequence(st.lastSeq));
    }
    const expLastId = pub.expectedLastMsgId;
    if (expLastId !== undefined && expLastId !== '' && expLastId !== this.lastMsgId) {
      return Promise.reject(JsErr.WrongLastMsgId(this.lastMsgId));
    }
    const expSubj = pub.expectedLastSubjectSeq;
    if (expSubj !== undefined) {
      const seqs = this.messages.subjectSeqs(subject);
      const last = seqs.length === 0 ? 0 : seqs[seqs.length - 1]!;
      if (Number(expSubj) !== last) return Promise.reject(JsErr.WrongLastSequence(last));
    }
    const rollup = rollupOf(pub.rollup, cfg);
    if (rollup instanceof StreamApiError) return Promise.reject(rollup);
    const size = (headers === null ? 0 : headers.length) + payload.length;
    if (cfg.max_msg_size >= 0 && size > cfg.max_msg_size) {
      return Promise.reject(JsErr.MsgSizeExceeded());
    }
    if (cfg.discard === 'new') {
      // A message on a subject at max_msgs_per_subject replaces that
      // subject's oldest, so max_msgs does not refuse it; with
      // discard_new_per_subject it is refused instead (nats-server 2.9).
      const perSubject = cfg.max_msgs_per_subject;
      const atSubjectLimit =
        perSubject > 0 && this.messages.subjectSeqs(subject).length >= perSubject;
      if (atSubjectLimit && cfg.discard_new_per_subject === true) {
        return Promise.reject(JsErr.MaxMsgsPerSubject());
      }
      if (cfg.max_msgs > 0 && st.messages >= cfg.max_msgs && !atSubjectLimit)
        return Promise.reject(JsErr.MaxMessages());
      const bytes = Buffer.byteLength(subject) + size;
      if (cfg.max_bytes > 0 && st.bytes + bytes > cfg.max_bytes) {
        return Promise.reject(JsErr.MaxBytes());
      }
    }
    const refused = this.admit?.admitPublish(subject, size) ?? null;
    if (refused !== null) return Promise.reject(refused);
    let appended: Promise<StoredMessage>;
    try {
      appended = this.messages.append(subject, headers, payload, now);
    } catch (err) {
      return Promise.reject(storeFailure(err));
    }
    const seq = this.messages.state().lastSeq;
    if (msgId !== '') {
      // A duplicate that arrives before the original is durable waits for it,
      // and fails with it.
      const done = appended.then(() => undefined);
      done.catch(() => {});
      this.dedup.set(msgId, { seq, time: now, done });
    }
    this.lastMsgId = msgId;
    // A rollup replaces what came before it once it is in (nats-server purges after the store).
    const rolled =
      rollup === null
        ? null
        : this.messages.purge(rollup === 'sub' ? { subject, upToSeq: seq } : { upToSeq: seq });
    const trimmed = this.enforceLimits(subject);
    const stored = (m: StoredMessage): PubResult => {
      if (m.seq > this.storedSeq) {
        this.storedSeq = m.seq;
        this.storedMsgId = msgId;
      }
      return { seq: m.seq };
    };
    const failed = (err: unknown): never => {
      if (msgId !== '' && this.dedup.get(msgId)?.seq === seq) this.dedup.delete(msgId);
      // A failed write fails everything queued after it too: the last id
      // is that of the last message stored.
      if (this.messages.writeError !== null) this.lastMsgId = this.storedMsgId;
      throw storeFailure(err);
    };
    // Most publishes remove nothing: one promise, not a Promise.all, per message.
    if (trimmed === null && rolled === null) return appended.then(stored, failed);
    return Promise.all([appended, trimmed, rolled]).then(([m]) => stored(m), failed);
  }

  /**
   * `store` without a promise per message, for the capture: `done` is
   * called once, never in this turn. A plain publish (no publish headers,
   * no limit that removes messages on a publish, a store with
   * `appendNotify`) is checked and appended here and told of with its
   * group commit; any other goes through `store`, with the same outcome.
   * `time`: the message's time (ms), when the caller read `Date.now()` in
   * this turn already; -1 (default): read here.
   */
  storeNotify(
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
    done: StoreDone | StoreNotice,
    pub: PubHeaders = readPubHeaders(headers),
    time = -1,
  ): void {
    this.notify(subject, headers, pub, payload, 0, payload.length, done, time);
  }

  /**
   * `storeNotify` of a message with no header block whose payload is
   * `buf[start, end)` (a range of a read buffer): a plain publish is copied
   * into the store from the range, with no `Buffer` view of it made.
   */
  storeNotifyRange(
    subject: string,
    buf: Buffer,
    start: number,
    end: number,
    done: StoreDone | StoreNotice,
  ): void {
    this.notify(subject, null, NO_PUB_HEADERS, buf, start, end, done, -1);
  }

  /** `storeNotify` with the payload `payload[pStart, pEnd)`. */
  private notify(
    subject: string,
    headers: Buffer | null,
    pub: PubHeaders,
    payload: Buffer,
    pStart: number,
    pEnd: number,
    done: StoreDone | StoreNotice,
    time: number,
  ): void {
    const store = this.messages;
    if (this.run !== null) this.endRun();
    if (pub !== NO_PUB_HEADERS || !this.plain(store)) {
      const whole = pStart === 0 && pEnd === payload.length;
      this.store(subject, headers, whole ? payload : payload.subarray(pStart, pEnd), pub).then(
        (r) => tell(done, null, r.seq, r.duplicate === true),
        (err: unknown) => tell(done, err, 0, false),
      );
      return;
    }
    // The caller's clock when it read it in this turn (XADD's, for its ID): one call fewer.
    const now = time < 0 ? Date.now() : time;
    this.pruneDedup(now);
    const size = (headers === null ? 0 : headers.length) + pEnd - pStart;
    let refused = this.refusal(subject, size);
    if (refused === null) {
      refused = store.appendNotify!(subject, headers, payload, now, this.appended, pStart, pEnd);
      if (refused === null) {
        // Never called back in this turn: queued in time.
        this.notifyQ.push(done);
        this.lastMsgId = '';
        if (this.cfg.max_age > 0) this.expire();
        return;
      }
      refused = storeFailure(refused);
    }
    queueMicrotask(() => tell(done, refused, 0, false));
  }

  /**
   * `storeNotify` of a run of plain publishes on one subject (none with
   * publish headers: the caller knows), each checked and appended in order
   * in this turn as `storeNotify` would (a refused one is skipped, the next
   * is stored or refused on its own), told with one notice (stream-run.ts):
   * `seqs[i]` is set here to each stored record's sequence, and `done` is
   * called once, never in this turn. False, with nothing done, when the run
   * cannot take this path (a store without `notifyQueued`, a limit that
   * removes messages on a publish, a closed or failed store): the caller
   * stores each with `storeNotify`.
   */
  storeNotifyRun(
    subject: string,
    heads: readonly Buffer[],
    payloads: readonly Buffer[],
    time: number,
    seqs: number[],
    done: RunDone,
  ): boolean {
    const cfg = this.cfg;
    const store = this.messages;
    if (this.run !== null) this.endRun();
    if (!this.plain(store)) return false;
    let seq: number;
    try {
      seq = store.state().lastSeq;
    } catch {
      return false; // closing: each is refused as `storeNotify` refuses it
    }
    this.pruneDedup(time);
    let refused: unknown = null;
    let stored = 0;
    for (let i = 0; i < payloads.length; i++) {
      const h = heads[i]!;
      const p = payloads[i]!;
      const size = h.length + p.length;
      let why = this.refusal(subject, size);
      if (why === null) {
        const err = store.appendNotify!(subject, h, p, time, null);
        if (err === null) {
          seqs[i] = ++seq;
          stored++;
          continue;
        }
        why = storeFailure(err);
      }
      refused ??= why;
    }
    if (stored === 0) {
      queueMicrotask(() => done(null, refused));
      return true;
    }
    // One notice for the run, after its last record: in order with the others.
    store.notifyQueued!(this.appended);
    this.notifyQ.push(new RunNotice(done, refused));
    this.lastMsgId = '';
    if (cfg.max_age > 0) this.expire();
    return true;
  }

  /** A plain publish may be appended with a notice (no limit that removes on a publish). */
  private plain(store: StreamStore): boolean {
    const c = this.cfg;
    if (store.notifyQueued === undefined || store.appendNotify === undefined) return false;
    if (this.closedFlag || store.writeError !== null) return false;
    return c.max_msgs <= 0 && c.max_bytes <= 0 && c.max_msgs_per_subject <= 0;
  }

  /** Why a publish of `size` bytes on `subject` is refused (size limit, the account's), or null. */
  private refusal(subject: string, size: number): unknown {
    const max = this.cfg.max_msg_size;
    return max >= 0 && size > max
      ? JsErr.MsgSizeExceeded()
      : (this.admit?.admitPublish(subject, size) ?? null);
  }

  /** The run `appendInRun` appends under now; null: none. */
  get openRun(): StoreNotice | null {
    return this.run;
  }

  /**
   * A plain publish (`payload[ps, pe)`) appended now under `run`, a notice
   * told once for all appended under it while open (from its first append
   * to the turn's end or another notice queued here, when it goes in line):
   * the Redis face's pipelined XADDs (redis/xadd-run.ts). The sequence, or
   * 0 when nothing was stored (no plain publish now, or this one refused:
   * the caller uses `storeNotify`, which tells why). `stamp`, `subjLen`:
   * the store's (StreamStore.appendNotify).
   */
  appendInRun(
    subject: string,
    headers: Buffer,
    payload: Buffer,
    ps: number,
    pe: number,
    time: number,
    run: StoreNotice,
    stamp = -1,
    subjLen = -1,
  ): number {
    const store = this.messages;
    if (!this.plain(store) || this.refusal(subject, headers.length + pe - ps) !== null) return 0;
    if (this.run !== run) this.endRun();
    this.pruneDedup(time);
    if (store.appendNotify!(subject, headers, payload, time, null, ps, pe, stamp, subjLen) !== null)
      return 0;
    if (this.run !== run) {
      this.run = run;
      // nextTick: before any I/O as a microtask, at a fifth of queueMicrotask's cost.
      process.nextTick(Stream.endRunOf, this);
    }
    this.lastMsgId = '';
    if (this.cfg.max_age > 0) this.expire();
    return store.appendedSeq ?? store.state().lastSeq;
  }

  /**
   * The open run's notice goes in line (its appends are queued). A method,
   * and one function for nextTick: an arrow made per stream was a call
   * target per stream, so the first run of a new stream threw the
   * optimised append path away ("wrong call target"; bench/PROFILE.md,
   * "Issue 16 — xadd4 (round 13)").
   */
  private endRun(): void {
    const run = this.run;
    if (run === null) return;
    this.run = null;
    this.messages.notifyQueued!(this.appended);
    this.notifyQ.push(run);
  }

  private static endRunOf(s: Stream): void {
    s.endRun();
  }

  /** `storeNotify`'s callback from the store: tells the oldest waiting publish. */
  private readonly appended: AppendDone = (err, seq) => {
    const done = this.notifyQ.shift()!;
    if (err === null) {
      if (seq > this.storedSeq) {
        this.storedSeq = seq;
        this.storedMsgId = '';
      }
      tell(done, null, seq, false);
    } else {
      if (this.messages.writeError !== null) this.lastMsgId = this.storedMsgId;
      tell(done, storeFailure(err), 0, false);
    }
  };

  /**
   * Stores a mirrored message under its origin's sequence `seq` (above the
   * last one; a gap is skipped), with its origin's time, then applies the
   * limits. No publish checks: they were made where it was published.
   */
  async replicate(
    seq: number,
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
    time: number,
  ): Promise<void> {
    if (this.closedFlag) throw JsErr.StreamNotFound();
    const last = this.messages.state().lastSeq;
    if (seq <= last) throw JsErr.StoreFailed(`mirrored sequence ${seq} is not after ${last}`);
    try {
      if (seq > last + 1) await this.messages.skip(seq);
      await Promise.all([
        this.messages.append(subject, headers, payload, time),
        this.enforceLimits(subject),
      ]);
    } catch (err) {
      throw storeFailure(err);
    }
  }

  /**
   * Drops the oldest messages while a limit is exceeded (discard old; also
   * after an update). Null when there was nothing to drop.
   */
  private enforceLimits(subject?: string): Promise<unknown> | null {
    const cfg = this.cfg;
    const store = this.messages;
    const ops: Promise<unknown>[] = [];
    if (cfg.max_msgs_per_subject > 0) {
      const subjects = subject === undefined ? null : [subject];
      if (subjects !== null) {
        const seqs = store.subjectSeqs(subject!);
        const over = seqs.length - cfg.max_msgs_per_subject;
        for (let i = 0; i < over; i++) ops.push(store.remove(seqs[i]!));
      } else {
        // After an update or a restart: every subject, once, through purge's `keep`.
        ops.push(this.trimEverySubject());
      }
    }
    if (cfg.max_msgs > 0) {
      const over = store.state().messages - cfg.max_msgs;
      if (over > 0) ops.push(store.purge({ keep: cfg.max_msgs }));
    }
    if (cfg.max_bytes > 0) {
      let st = store.state();
      while (st.bytes > cfg.max_bytes && st.messages > 0) {
        ops.push(store.remove(st.firstSeq));
        st = store.state();
      }
    }
    if (cfg.max_age > 0) this.expire();
    return ops.length === 0 ? null : Promise.all(ops);
  }

  private async trimEverySubject(): Promise<void> {
    const keep = this.cfg.max_msgs_per_subject;
    const seen = new Set<string>();
    let seq = this.messages.state().firstSeq;
    for (;;) {
      const m = await this.messages.next(seq);
      if (m === null) break;
      seq = m.seq + 1;
      if (seen.has(m.subject)) continue;
      seen.add(m.subject);
      if (this.messages.subjectSeqs(m.subject).length > keep) {
        await this.messages.purge({ subject: m.subject, keep });
      }
    }
  }

  /** Removes the messages older than max_age. */
  private expire(): void {
    if (this.cfg.max_age <= 0 || this.closedFlag) return;
    const cutoff = Date.now() - this.cfg.max_age / NS_PER_MS;
    const upTo = this.messages.seqForTime(cutoff);
    if (upTo > this.messages.state().firstSeq) {
      this.messages.purge({ upToSeq: upTo }).catch(() => {});
    }
  }

  private startAgeTimer(): void {
    if (this.ageTimer !== null) clearInterval(this.ageTimer);
    this.ageTimer = null;
    if (this.cfg.max_age <= 0 || this.closedFlag) return;
    const ms = this.cfg.max_age / NS_PER_MS;
    const tick = Math.max(AGE_TICK_MIN_MS, Math.min(AGE_TICK_MAX_MS, Math.floor(ms / 2)));
    this.ageTimer = setInterval(() => this.expire(), tick);
    this.ageTimer.unref();
  }

  private pruneDedup(now: number): void {
    if (this.dedup.size === 0) return; // no iterator per publish without ids
    const oldest = now - this.cfg.duplicate_window / NS_PER_MS;
    for (const [id, e] of this.dedup) {
      if (e.time >= oldest) break;
      this.dedup.delete(id);
    }
  }

  /** Purges as the API asks: `filter` subject, below `seq`, or all but the newest `keep`. */
  purge(opts: { filter?: string; seq?: number; keep?: number }): Promise<number> {
    return this.messages.purge({
      subject: opts.filter === '' ? undefined : opts.filter,
      upToSeq: opts.seq,
      keep: opts.keep,
    });
  }

  /** Stops the age timer and closes the store. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.endRun();
    this.closedFlag = true;
    if (this.ageTimer !== null) clearInterval(this.ageTimer);
    this.ageTimer = null;
    await this.messages.close();
  }
}
