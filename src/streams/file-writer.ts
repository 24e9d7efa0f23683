/**
 * The file store's writer: the segment files and everything that changes
 * them after open. The store encodes a record and hands it over with
 * `enqueue` (which picks its segment, rolling to a new one when it would
 * not fit), then asks `settle` for a promise that resolves once everything
 * queued so far is durable. Nothing else in the store writes to disk.
 *
 * - Group commit: records are queued in log order. One writer round takes
 *   the whole queue as a batch: one writev per segment touched, then
 *   (sync `always`) one fdatasync covering every operation in it, so
 *   publishers arriving during an fsync share the next one. Under
 *   `interval` a batch resolves after the writev and a timer fsyncs.
 * - Rolling: a new segment is named lastSeq + 1 (or one past the active
 *   segment's name) and starts with a META record. A segment is always
 *   fsynced before the writer moves on to the next, and a new file is
 *   followed by a directory fsync, so only the newest segment can ever have
 *   a torn tail.
 * - Compaction: a segment other than the active one is deleted once it
 *   holds no message and no tombstone still needed for an older segment
 *   (see `Segment.tombMin`). The directory is fsynced before the next
 *   round, so a delete never reaches the disk ahead of one it depends on.
 * - Failure: after a failed write or fsync every queued and later
 *   operation is rejected with the same StoreError.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Segment } from './file-index.js';
import { encodeControl, HEADER, T_META } from './file-record.js';
import { StoreError, type SyncPolicy } from './store.js';

/** The writer's counters; the store's `stats` object holds them (among others). */
export interface WriterStats {
  /** Writer rounds: each is one writev per segment touched and, under `always`, one fdatasync. */
  batches: number;
  /** Records in the largest batch. */
  maxBatch: number;
  writes: number;
  fsyncs: number;
  bytesWritten: number;
  segmentsCreated: number;
  segmentsDeleted: number;
}

/** Where the log stands: what a new segment's META record carries. */
export interface LogPosition {
  readonly lastSeq: number;
  readonly lastTime: number;
}

export interface FileWriterOptions {
  dir: string;
  /** The directory, open for fsync; the writer closes it with the segments. */
  dirFd: number;
  sync: SyncPolicy;
  segmentBytes: number;
  /** Every segment by id, shared with the index (which reads `live`). */
  segments: Map<number, Segment>;
  position: LogPosition;
  stats: WriterStats;
  /** Called after each fsync of a segment with how far it is now synced (the synced mark). */
  onSynced?: (seg: Segment, offset: number) => void;
}

const segFile = (name: number): string => String(name).padStart(20, '0') + '.seg';

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fsyncP(fd: number, dataOnly: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | null): void => (err ? reject(err) : resolve());
    if (dataOnly) fs.fdatasync(fd, cb);
    else fs.fsync(fd, cb);
  });
}

function writevP(fd: number, bufs: Buffer[], pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.writev(fd, bufs, pos, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Writes all of `bufs` at `pos` (one writev; a short write is finished with plain writes). */
async function writeAll(fd: number, bufs: Buffer[], pos: number): Promise<number> {
  let total = 0;
  for (const b of bufs) total += b.length;
  let done = await writevP(fd, bufs, pos);
  if (done < total) {
    const rest = Buffer.concat(bufs, total);
    while (done < total) done += await writevP(fd, [rest.subarray(done)], pos + done);
  }
  return total;
}

export class FileWriter {
  private readonly dir: string;
  private dirFd: number;
  private readonly sync: SyncPolicy;
  private readonly segmentBytes: number;
  private readonly segments: Map<number, Segment>;
  private readonly position: LogPosition;
  private readonly stats: WriterStats;
  private readonly onSynced: ((seg: Segment, offset: number) => void) | undefined;
  /** Oldest first; the last is `active`. */
  private segList: Segment[] = [];
  private active!: Segment;
  private nextSegId = 1;

  // The write queue: records in log order, with the segment each goes to,
  // and for each operation awaiting durability its settle functions.
  private qBufs: Buffer[] = [];
  private qSegs: Segment[] = [];
  private qResolve: ((v: never) => void)[] = [];
  private qReject: ((e: Error) => void)[] = [];
  private qValue: unknown[] = [];
  /** Highest sequence assigned when the queue was last added to. */
  private qLastSeq = 0;
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
  /** Set by the first failed write, fsync or delete; the store is unusable from then on. */
  failed: StoreError | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: FileWriterOptions) {
    this.dir = opts.dir;
    this.dirFd = opts.dirFd;
    this.sync = opts.sync;
    this.segmentBytes = opts.segmentBytes;
    this.segments = opts.segments;
    this.position = opts.position;
    this.stats = opts.stats;
    this.onSynced = opts.onSynced;
  }

  // ---- open ----

  /** Registers a segment file (found on open, or a new one with fd -1 until written). */
  addSegment(name: number, fd: number): Segment {
    const seg: Segment = {
      id: this.nextSegId++,
      name,
      path: path.join(this.dir, segFile(name)),
      fd,
      size: 0,
      written: 0,
      live: 0,
      lastMsgSeq: 0,
      tombMin: Infinity,
    };
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
   * interval timer and a first compaction round.
   */
  start(): void {
    if (this.segList.length === 0) {
      this.addSegment(1, fs.openSync(path.join(this.dir, segFile(1)), 'wx+'));
      this.stats.segmentsCreated++;
    }
    this.active = this.segList[this.segList.length - 1]!;
    if (this.active.size === 0) {
      const meta = encodeControl(T_META, this.position.lastSeq, this.position.lastTime);
      fs.writeSync(this.active.fd, meta, 0, meta.length, 0);
      this.active.size = this.active.written = meta.length;
      fs.fdatasyncSync(this.active.fd);
      fs.fsyncSync(this.dirFd);
    }
    this.durableSeq = this.qLastSeq = this.position.lastSeq;
    if (this.sync.kind === 'interval') {
      this.timer = setInterval(
        () => {
          if (this.dirty || this.dirDirty) {
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
    this.push(rec, seg);
    return seg;
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
    this.push(encodeControl(T_META, lastSeq, lastTime), seg);
    return seg;
  }

  private push(buf: Buffer, seg: Segment): void {
    seg.size += buf.length;
    this.qBufs.push(buf);
    this.qSegs.push(seg);
  }

  /** A promise settled with `value` once everything queued so far is durable. */
  settle<T>(value: T): Promise<T> {
    this.qLastSeq = this.position.lastSeq;
    this.kick();
    return new Promise<T>((resolve, reject) => {
      this.qResolve.push(resolve as (v: never) => void);
      this.qReject.push(reject);
      this.qValue.push(value);
    });
  }

  /** Asks for a compaction round (a segment may have lost its last message). */
  compactSoon(): void {
    this.compactWanted = true;
  }

  /** Waits until `seq` (appended, maybe not durable yet) is durable. */
  async durable(seq: number): Promise<void> {
    while (seq > this.durableSeq) {
      if (this.failed !== null) throw this.failed;
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
    this.flushing = true;
    this.loop().then(
      () => {
        this.flushing = false;
        if (this.qBufs.length > 0 || (this.compactWanted && this.failed === null)) this.kick();
        else for (const w of this.idleWaiters.splice(0)) w();
      },
      () => {},
    );
  };

  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (this.failed !== null) break;
        if (this.qBufs.length > 0) await this.writeBatch();
        else if (this.syncWanted) await this.syncNow();
        else if (this.compactWanted) await this.compact();
        else break;
        // Let the publishers just resolved append again, so they share the next batch.
        if (this.qBufs.length < 64) await new Promise<void>((r) => setImmediate(r));
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private async writeBatch(): Promise<void> {
    const bufs = this.qBufs;
    const segs = this.qSegs;
    const resolves = this.qResolve;
    const rejects = this.qReject;
    const values = this.qValue;
    const upTo = this.qLastSeq;
    this.qBufs = [];
    this.qSegs = [];
    this.qResolve = [];
    this.qReject = [];
    this.qValue = [];
    try {
      const n = bufs.length;
      for (let i = 0; i < n; ) {
        const seg = segs[i]!;
        let j = i + 1;
        while (j < n && segs[j] === seg) j++;
        // The segment left behind is made durable before the next is written.
        if (this.unsynced !== null && this.unsynced !== seg) await this.syncNow();
        if (seg.fd < 0) {
          seg.fd = await new Promise<number>((resolve, reject) =>
            fs.open(seg.path, 'wx+', (e, fd) => (e ? reject(e) : resolve(fd))),
          );
          this.dirDirty = true;
        }
        const bytes = await writeAll(
          seg.fd,
          i === 0 && j === n ? bufs : bufs.slice(i, j),
          seg.written,
        );
        seg.written += bytes;
        this.unsynced = seg;
        this.stats.writes++;
        this.stats.bytesWritten += bytes;
        i = j;
      }
      this.stats.batches++;
      if (n > this.stats.maxBatch) this.stats.maxBatch = n;
      if (this.sync.kind === 'always' || this.syncWanted) await this.syncNow();
      else this.dirty = true;
    } catch (err) {
      const e = new StoreError('io', `${this.dir}: write failed: ${errText(err)}`);
      for (const r of rejects) r(e);
      throw e;
    }
    this.durableSeq = upTo;
    for (let k = 0; k < resolves.length; k++) resolves[k]!(values[k] as never);
    for (const w of this.flushWaiters.splice(0)) w.resolve();
  }

  /** fsyncs what was written and not yet synced, and the directory if files came or went. */
  private async syncNow(): Promise<void> {
    this.syncWanted = false;
    const seg = this.unsynced;
    if (seg !== null) {
      this.unsynced = null;
      const offset = seg.written;
      await fsyncP(seg.fd, true);
      this.stats.fsyncs++;
      this.onSynced?.(seg, offset);
    }
    if (this.dirDirty) {
      this.dirDirty = false;
      await fsyncP(this.dirFd, false);
      this.stats.fsyncs++;
    }
    this.dirty = false;
  }

  /** Deletes dead segments, in rounds; each round's deletes are durable before the next. */
  private async compact(): Promise<void> {
    this.compactWanted = false;
    for (;;) {
      const doomed: Segment[] = [];
      // Highest message sequence in the older segments still on disk.
      let older = 0;
      for (const s of this.segList) {
        if (s !== this.active && s.live === 0 && s.tombMin > older && s.fd >= 0) doomed.push(s);
        if (s.lastMsgSeq > older) older = s.lastMsgSeq;
      }
      if (doomed.length === 0) return;
      // The records that killed these must be on disk before the files go.
      await this.syncNow();
      for (const s of doomed) {
        this.segments.delete(s.id);
        this.segList.splice(this.segList.indexOf(s), 1);
        fs.closeSync(s.fd);
        s.fd = -1;
        await fs.promises.unlink(s.path);
        this.stats.segmentsDeleted++;
      }
      this.dirDirty = true;
      await this.syncNow();
    }
  }

  private fail(err: unknown): void {
    const e =
      err instanceof StoreError ? err : new StoreError('io', `${this.dir}: ${errText(err)}`);
    this.failed ??= e;
    for (const r of this.qReject.splice(0)) r(e);
    this.qResolve = [];
    this.qValue = [];
    this.qBufs = [];
    this.qSegs = [];
    for (const w of this.flushWaiters.splice(0)) w.reject(e);
    for (const w of this.idleWaiters.splice(0)) w();
  }

  // ---- close ----

  /** Segment files on disk now, oldest first. */
  segmentFiles(): string[] {
    return this.segList.map((s) => s.path);
  }

  /** Writes and fsyncs everything queued (unless failed), then closes every file. */
  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.failed === null) {
      this.syncWanted = true;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        this.kick();
      });
    }
    this.closeFds();
  }

  /** Closes every descriptor (also used when open fails half way). */
  closeFds(): void {
    for (const s of this.segList) {
      if (s.fd >= 0) fs.closeSync(s.fd);
      s.fd = -1;
    }
    if (this.dirFd >= 0) fs.closeSync(this.dirFd);
    this.dirFd = -1;
  }
}
