/**
 * The file store's writer: the segment files and everything that changes
 * them after open. The store encodes a record and hands it over with
 * `enqueue` (which picks its segment, rolling to a new one when it would
 * not fit), then asks `settle` for a promise that resolves once everything
 * queued so far is durable. Nothing else in the store writes to disk.
 *
 * - Group commit: records are queued in log order. One writer round takes
 *   the whole queue as a batch: one writev per segment touched, durable
 *   when it returns under sync `always` (the segment is open with O_DSYNC:
 *   the write and its fdatasync are one system call, one thread-pool job;
 *   without O_DSYNC, one fdatasync after the writes), so publishers
 *   arriving during a round share the next one. Under `interval` a batch
 *   resolves after the writev, made synchronously (to the page cache: no
 *   thread-pool round trip), and a timer fsyncs.
 * - Rolling: a new segment is named lastSeq + 1 (or one past the active
 *   segment's name) and starts with a META record. A segment is always
 *   fsynced before the writer moves on to the next, and a new file is
 *   followed by a directory fsync, so only the newest segment can ever have
 *   a torn tail.
 * - Compaction (file-writer-compact.ts): a segment other than the active
 *   one is deleted once nothing in it is needed. The directory is fsynced
 *   before the next round, so a delete never reaches the disk ahead of one
 *   it depends on.
 * - Failure (a write, fsync, create or delete fails: ENOSPC, EIO, a short
 *   write): nothing not yet acknowledged is kept half way. The messages of
 *   the failed batch and of everything queued behind it are dropped from
 *   the index (`onDrop`; their sequences stay unused) and their appends
 *   rejected with StoreError 'unwritable'; the segments are cut back to
 *   where the batch began, so no record that failed is on disk. Deletes,
 *   purges and skips that were queued are kept in memory (their effect is
 *   already visible) and written first when writing works again. From the
 *   failure on, the store refuses writes (`failed`), reads go on, and a
 *   retry timer (file-retry.ts, backing off from minMs to maxMs) cuts again
 *   if needed and writes a META record as a probe; once it is durable, the
 *   store takes writes again. `onState` hears of both.
 */
import * as path from 'node:path';
import { CutBack, storeError } from './file-cut.js';
import { FILL_BYTES, SegmentFill } from './file-fill.js';
import { newSegment, type Segment } from './file-index.js';
import {
  DSYNC_SUPPORTED,
  type FileOps,
  ShortWriteError,
  writeAll,
  writeAllSync,
} from './file-ops.js';
import { encodeControl, HEADER, T_META } from './file-record.js';
import { probeBytes, RetryTimer } from './file-retry.js';
import { settleAll, type Waiters, type WriteDone, WriteQueue } from './file-write-queue.js';
import { deadSegments, deleteSegment } from './file-writer-compact.js';
import {
  EARLY_ROUND_BYTES,
  EARLY_ROUND_RECORDS,
  type FileWriterOptions,
  type LogPosition,
  type WriterStats,
} from './file-writer-types.js';
import type { StoreError, SyncPolicy } from './store.js';

const segFile = (name: number): string => String(name).padStart(20, '0') + '.seg';

export class FileWriter {
  private readonly dir: string;
  private dirFd: number;
  private readonly sync: SyncPolicy;
  /**
   * Segments written are open with O_DSYNC (sync `always`, where the
   * platform has it): a write is durable when it returns, no fdatasync after.
   */
  private readonly dsync: boolean;
  private readonly segmentBytes: number;
  private readonly segments: Map<number, Segment>;
  private readonly position: LogPosition;
  private readonly stats: WriterStats;
  private readonly ops: FileOps;
  private readonly retry: RetryTimer;
  /** Zero-fills the active segment ahead (file-fill.ts). */
  private readonly filler: SegmentFill;
  private readonly onDrop: (seq: number) => void;
  private readonly onState: (err: StoreError | null) => void;
  private readonly onSynced: ((seg: Segment, offset: number) => void) | undefined;
  /** Oldest first; the last is `active`. */
  private segList: Segment[] = [];
  private active!: Segment;
  private nextSegId = 1;

  /** Records in log order and the operations awaiting their durability. */
  private readonly q = new WriteQueue();
  /** Highest sequence assigned when the queue was last added to. */
  private qLastSeq = 0;
  /** The batch records queued now will be written in (one more per writer round). */
  batchNo = 0;
  /** Every message up to this sequence is durable under the policy (and written). */
  durableSeq = 0;
  /** The segment with written but not yet fsynced bytes, if any. */
  private unsynced: Segment | null = null;
  private dirDirty = false;
  private dirty = false;
  private syncWanted = false;
  private compactWanted = false;
  private flushing = false;
  private scheduled = false;
  /** Settled when the writer next finishes a batch (readers of not yet durable messages). */
  private flushWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private idleWaiters: (() => void)[] = [];
  /** Set while writes are refused: the failure that began it (or the last retry's). */
  failed: StoreError | null = null;
  /** Segments to cut back before anything more is written to them (file-cut.ts). */
  private readonly cutTo = new CutBack();
  /** A retry is due: the loop runs `resume`. */
  private retryDue = false;
  /** Bytes the next retry's probe writes (what failed, within file-retry.ts's bounds). */
  private probeBytes = probeBytes(0);
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: FileWriterOptions) {
    this.dir = opts.dir;
    this.dirFd = opts.dirFd;
    this.sync = opts.sync;
    this.dsync = opts.sync.kind === 'always' && DSYNC_SUPPORTED;
    this.segmentBytes = opts.segmentBytes;
    this.segments = opts.segments;
    this.position = opts.position;
    this.stats = opts.stats;
    this.ops = opts.ops;
    this.retry = new RetryTimer(opts.retry, () => {
      this.retryDue = true;
      this.kick();
    });
    this.onDrop = opts.onDrop;
    this.onState = opts.onState;
    this.onSynced = opts.onSynced;
    const fill = opts.sync.kind === 'always' ? (opts.fillBytes ?? FILL_BYTES) : 0;
    this.filler = new SegmentFill(opts.ops, fill, opts.segmentBytes, this.dsync, opts.stats);
  }

  // ---- open ----

  /** Registers a segment file (found on open, or a new one with fd -1 until written). */
  addSegment(name: number, fd: number): Segment {
    const seg = newSegment(this.nextSegId++, name, path.join(this.dir, segFile(name)), fd);
    this.segments.set(seg.id, seg);
    this.segList.push(seg);
    return seg;
  }

  get segmentCount(): number {
    return this.segList.length;
  }

  /**
   * Ends open: makes sure a segment exists and starts with META (writing
   * one synchronously into an empty newest segment), then starts the
   * interval timer and a first compaction round. When that META cannot be
   * written (a full disk), the store opens readable and refusing writes,
   * with the META queued for the first retry.
   */
  start(): void {
    if (this.segList.length === 0) {
      this.addSegment(1, this.ops.openSync(path.join(this.dir, segFile(1)), 'wx+', this.dsync));
      this.stats.segmentsCreated++;
    } else if (this.dsync) {
      // The newest segment, opened by recovery, is written from here on.
      const seg = this.segList[this.segList.length - 1]!;
      const fd = this.ops.openSync(seg.path, 'r+', true);
      this.ops.close(seg.fd);
      seg.fd = fd;
    }
    this.active = this.segList[this.segList.length - 1]!;
    this.durableSeq = this.qLastSeq = this.position.lastSeq;
    if (this.active.size === 0) {
      const meta = encodeControl(T_META, this.position.lastSeq, this.position.lastTime);
      try {
        const n = this.ops.writeSync(this.active.fd, meta, 0);
        if (n !== meta.length) throw new ShortWriteError(n, meta.length);
        this.ops.syncSync(this.active.fd, true);
        this.ops.syncSync(this.dirFd, false);
        this.active.size = this.active.written = meta.length;
      } catch (err) {
        this.q.pushOwn(meta, this.active);
        this.cutTo.note(this.active, 0);
        this.dirDirty = true;
        const waiters = this.takeQueue();
        this.failed = storeError(this.dir, err);
        this.refuse(waiters, true);
      }
    }
    if (this.sync.kind === 'interval') {
      this.timer = setInterval(
        () => {
          if (this.failed === null && (this.dirty || this.dirDirty)) {
            this.syncWanted = true;
            this.kick();
          }
        },
        Math.max(1, this.sync.intervalMs),
      );
      this.timer.unref();
    }
    this.compactWanted = true;
    this.kick();
  }

  // ---- queueing ----

  /**
   * Queues a record in log order, rolling to a new segment first when it
   * would take the active one past `segmentBytes`. Returns the segment it
   * goes to; the record starts at `seg.size - rec.length` (no object is
   * allocated per append).
   */
  enqueue(rec: Buffer): Segment {
    const seg = this.segmentFor(rec.length);
    this.q.pushOwn(rec, seg);
    return seg;
  }

  /**
   * `enqueue` for a record encoded in place: room for `len` bytes, which
   * the caller fills at `recBuf[recOff…]` before anything else is queued.
   */
  claim(len: number): Segment {
    const seg = this.segmentFor(len);
    this.q.claim(len, seg);
    return seg;
  }

  /** Where the last `claim`'s record goes. */
  get recBuf(): Buffer {
    return this.q.buf;
  }

  get recOff(): number {
    return this.q.at;
  }

  /** The segment a record of `len` bytes goes to, starting a new one when the active is full. */
  private segmentFor(len: number): Segment {
    const a = this.active;
    if (a.size + len <= this.segmentBytes || a.size <= HEADER) return a;
    const { lastSeq, lastTime } = this.position;
    const name = Math.max(lastSeq + 1, a.name + 1);
    const seg = this.addSegment(name, -1);
    this.active = seg;
    this.stats.segmentsCreated++;
    this.compactWanted = true;
    this.q.pushOwn(encodeControl(T_META, lastSeq, lastTime), seg);
    return seg;
  }

  /** A promise settled with `value` once everything queued so far is durable. */
  settle<T>(value: T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.notify((err) => (err === null ? resolve(value) : reject(err)), 0);
    });
  }

  /**
   * Calls `done(null, arg)` once everything queued so far is durable, or
   * `done(err, arg)` if it will not be written (no promise: the publish
   * path's form of `settle`). `done` must not throw.
   */
  notify(done: WriteDone, arg: number): void {
    this.qLastSeq = this.position.lastSeq;
    this.kick();
    this.q.wait(done, arg);
    // A round this large starts now, not at the end of the turn: its write
    // runs while the rest of the read is parsed (see EARLY_ROUND_BYTES).
    const q = this.q;
    if (
      this.sync.kind === 'always' &&
      !this.flushing &&
      q.length >= EARLY_ROUND_RECORDS &&
      q.bytes() >= EARLY_ROUND_BYTES
    ) {
      this.stats.earlyRounds++;
      this.run();
    }
  }

  /** Asks for a compaction round (a segment may have lost its last message). */
  compactSoon(): void {
    this.compactWanted = true;
  }

  /**
   * Waits until `seq` (appended, maybe not durable yet) is durable, or its
   * write failed (then the index no longer holds it: the caller looks again).
   */
  async durable(seq: number): Promise<void> {
    while (seq > this.durableSeq && this.failed === null) {
      await new Promise<void>((resolve, reject) => {
        this.flushWaiters.push({ resolve, reject });
        this.kick();
      });
    }
  }

  // ---- the writer loop ----

  private kick(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every append made in this turn of the
    // event loop (a read batch of publishes) joins the first batch.
    setImmediate(this.runWriter);
  }

  private readonly runWriter = (): void => {
    this.scheduled = false;
    // Begun early by `notify` since it was scheduled: that loop takes what is queued.
    if (!this.flushing) this.run();
  };

  private run(): void {
    this.flushing = true;
    this.loop().then(
      () => {
        this.flushing = false;
        const more = this.q.length > 0 || this.compactWanted || this.syncWanted;
        if (this.retryDue || (this.failed === null && more)) this.kick();
        else for (const w of this.idleWaiters.splice(0)) w();
      },
      () => {},
    );
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        // The zero fill runs beside the rounds (file-fill.ts `start`).
        if (this.failed === null && this.filler.wanted(this.active)) this.filler.start(this.active);
        if (this.failed !== null) {
          if (!this.retryDue) break;
          await this.resume();
        } else if (this.q.length > 0) await this.writeBatch();
        else if (this.syncWanted) await this.syncNow();
        else if (this.compactWanted) await this.compact();
        else break;
        // Let the publishers just resolved append again, so they share the next batch.
        // Nothing queued: no turn to wait (an append later kicks the writer, into
        // the same check phase the wait would have ended in); waiting was a loop
        // turn more per batch (bench/PROFILE.md, "Issue 16 — rgroup7 (round 13)").
        if (this.q.length > 0 && this.q.length < 64)
          await new Promise<void>((r) => setImmediate(r));
      }
    } catch (err) {
      await this.fail(err);
    }
  }

  private async writeBatch(): Promise<void> {
    const batch = this.q.take();
    this.batchNo++;
    this.stats.batches++;
    const { bufs, segs } = batch;
    const upTo = this.qLastSeq;
    /** Each segment's length before this batch: where a failure cuts it back to. */
    const before = new Map<Segment, number>();
    /** The last segment written with O_DSYNC: the synced mark moves there once the acks are out. */
    let dsynced: Segment | null = null;
    /** Bytes this round wrote (the zero fill is for small rounds: file-fill.ts). */
    let roundBytes = 0;
    try {
      const n = bufs.length;
      for (let i = 0; i < n; ) {
        const seg = segs[i]!;
        let j = i + 1;
        while (j < n && segs[j] === seg) j++;
        // The segment left behind is made durable before the next is written.
        if (this.unsynced !== null && this.unsynced !== seg) await this.syncNow();
        if (seg.fd < 0) {
          // The segment sealed by this roll loses its fill first (file-fill.ts).
          const prev = this.segList[this.segList.indexOf(seg) - 1];
          if (prev !== undefined && (await this.filler.seal(prev))) this.stats.fsyncs++;
          seg.fd = await this.ops.open(seg.path, 'wx+', this.dsync);
          this.dirDirty = true;
        }
        if (!before.has(seg)) before.set(seg, seg.written);
        const part = i === 0 && j === n ? bufs : bufs.slice(i, j);
        let len = 0;
        for (const b of part) len += b.length;
        if (this.filler.blocks(seg, len)) await this.filler.idle();
        // Under `interval` the write goes to the page cache: made here, on
        // the event loop, it costs less than a thread-pool job's round trip.
        const bytes =
          this.sync.kind === 'interval'
            ? writeAllSync(this.ops, seg.fd, part, seg.written)
            : await writeAll(this.ops, seg.fd, part, seg.written);
        seg.written += bytes;
        roundBytes += bytes;
        this.stats.writes++;
        this.stats.bytesWritten += bytes;
        if (this.dsync) {
          // Written with O_DSYNC: as if fdatasynced right after.
          this.stats.fsyncs++;
          dsynced = seg;
        } else this.unsynced = seg;
        i = j;
      }
      if (batch.records > this.stats.maxBatch) this.stats.maxBatch = batch.records;
      this.filler.round(roundBytes);
      this.stats.arenas = this.q.allocated;
      if (this.sync.kind === 'always' || this.syncWanted) {
        // Under O_DSYNC only the directory (a new segment) may be left to sync.
        if (this.syncWanted || this.unsynced !== null || this.dirDirty) await this.syncNow();
      } else this.dirty = true;
    } catch (err) {
      // Nothing of this batch is acknowledged: it goes back to the head of
      // the queue for `fail` to drop or keep, and its segments are cut back.
      this.q.putBack(batch);
      for (const [seg, len] of before) this.cutTo.note(seg, len);
      throw err;
    }
    this.durableSeq = upTo;
    this.q.written(batch);
    settleAll(batch, null);
    for (const w of this.flushWaiters.splice(0)) w.resolve();
    // The mark moves after the acks went out, not before them (it is a hint
    // for open: file-synced-mark.ts, written at most once per MARK_WRITE_MS).
    // A crash finds it behind whole records the crash left intact: read back.
    if (dsynced !== null) this.onSynced?.(dsynced, dsynced.written);
  }

  /** fsyncs what was written and not yet synced, and the directory if files came or went. */
  private async syncNow(): Promise<void> {
    this.syncWanted = false;
    const seg = this.unsynced;
    if (seg !== null) {
      // Cleared only once done: a failed fsync is tried again by the retry.
      const offset = seg.written;
      await this.ops.sync(seg.fd, true);
      if (this.unsynced === seg) this.unsynced = null;
      this.stats.fsyncs++;
      this.onSynced?.(seg, offset);
    }
    if (this.dirDirty) {
      await this.ops.sync(this.dirFd, false);
      this.dirDirty = false;
      this.stats.fsyncs++;
    }
    this.dirty = false;
  }

  /** Deletes dead segments (file-writer-compact.ts), in rounds; each round's deletes are durable before the next. */
  private async compact(): Promise<void> {
    this.compactWanted = false;
    for (;;) {
      const doomed = deadSegments(this.segList, this.active);
      if (doomed.length === 0) return;
      // The records that killed these must be on disk before the files go.
      await this.syncNow();
      for (const s of doomed) {
        await deleteSegment(this.ops, s, this.segments, this.segList);
        this.dirDirty = true;
        this.stats.segmentsDeleted++;
      }
      await this.syncNow();
    }
  }

  // ---- failure and retry ----

  /**
   * Empties the queue after a failure: messages are dropped from the index
   * (their appends will be rejected), deletes, purges and META records stay
   * queued, and every segment's size is what is written plus what stays.
   * Returns every operation that was waiting.
   */
  private takeQueue(): Waiters {
    this.probeBytes = probeBytes(this.q.bytes());
    this.cutTo.apply();
    for (const seg of this.segList) seg.size = seg.written;
    return this.q.dropMessages((seq) => {
      this.onDrop(seq);
      this.stats.appendsFailed++;
    });
  }

  /**
   * Goes on from a failure (`failed` is set): rejects what waited, tells
   * `onState` (when it is new), and schedules the next retry.
   */
  private refuse(waiters: Waiters, first: boolean, before?: string): void {
    const e = this.failed!;
    if (first) this.stats.writeFailures++;
    settleAll(waiters, e);
    // Readers waiting for a message that will not be written look again.
    for (const w of this.flushWaiters.splice(0)) w.resolve();
    if (first || before !== e.message) this.onState(e);
    this.retry.failed(first);
  }

  /** A write, fsync, create or delete failed: see the file comment. */
  private async fail(err: unknown): Promise<void> {
    const waiters = this.takeQueue();
    const before = this.failed;
    // Set at once: writes are refused from here on.
    this.failed = storeError(this.dir, err);
    // A fill under way ends first: nothing is written past a cut.
    await this.filler.idle();
    try {
      // Cut now, so a crash from here on finds none of what failed.
      await this.cutTo.cut(this.ops, this.stats);
    } catch {
      // Tried again before anything more is written.
    }
    this.refuse(waiters, before === null, before?.message);
  }

  /**
   * A retry: cuts back what a failure left; probes for room (zeros past the
   * end of the active segment, cut off again); then writes what stayed
   * queued and a META record (where the log stands: sequences given to
   * failed appends are not given again after a restart), fsynced. If that
   * works the store takes writes again; if not, `fail` refuses on.
   */
  private async resume(): Promise<void> {
    this.retryDue = false;
    this.stats.writeRetries++;
    await this.cutTo.cut(this.ops, this.stats);
    const a = this.active;
    if (a.fd >= 0) {
      // Past the end: a crash before the cut leaves a zero tail, which open cuts as torn.
      this.cutTo.note(a, a.written);
      await writeAll(this.ops, a.fd, [Buffer.alloc(this.probeBytes)], a.written);
      await this.cutTo.cut(this.ops, this.stats);
    }
    const { lastSeq, lastTime } = this.position;
    const tail = this.q.tail();
    // One probe, not one per retry: a META kept from the last retry serves.
    if (tail === null || tail.type !== T_META || tail.seq !== lastSeq) {
      this.enqueue(encodeControl(T_META, lastSeq, lastTime));
    }
    this.qLastSeq = lastSeq;
    this.syncWanted = true;
    await this.writeBatch();
    this.failed = null;
    this.retry.recovered();
    this.compactWanted = true;
    this.onState(null);
  }

  // ---- close ----

  /** Segment files on disk now, oldest first. */
  segmentFiles(): string[] {
    return this.segList.map((s) => s.path);
  }

  /**
   * Writes and fsyncs everything queued, cuts the active segment's fill,
   * then closes every file. A store
   * refusing writes tries once more first; if that fails too, what it kept
   * queued (deletes, purges) is lost with it, never an acknowledged write.
   */
  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.retry.stop();
    if (this.failed !== null) this.retryDue = true;
    else this.syncWanted = true;
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick();
    });
    // Closed files hold only records (the next open fills again). Should
    // the cut fail, the zero tail is read as fill on open: nothing is lost.
    if (this.active !== undefined && this.failed === null) {
      await this.filler.seal(this.active).then(
        (cut) => {
          if (cut) this.stats.fsyncs++;
        },
        () => {},
      );
    }
    this.closeFds();
  }

  /** Closes every descriptor (also used when open fails half way). */
  closeFds(): void {
    for (const s of this.segList) {
      if (s.fd >= 0) this.ops.close(s.fd);
      s.fd = -1;
    }
    if (this.dirFd >= 0) this.ops.close(this.dirFd);
    this.dirFd = -1;
  }
}
