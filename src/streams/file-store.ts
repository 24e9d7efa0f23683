/**
 * The file store: the embedded default StreamStore, a segmented
 * append-only log in one directory. No acknowledged message is lost: an
 * append resolves only once its record is durable under the sync policy.
 *
 * - Files: `<20-digit name>.seg`, the name being lastSeq + 1 when the
 *   segment was created (strictly increasing). Records: see file-record.ts.
 *   A new segment is started when the next record would take the active one
 *   past `segmentBytes`.
 * - Writes: records are encoded at call time, in sequence order, and
 *   queued. One writer takes the whole queue as a batch: one writev per
 *   segment touched, then (sync `always`) one fdatasync covering every
 *   append in it — group commit: publishers arriving during an fsync share
 *   the next one. Under `interval` a batch resolves after the writev and a
 *   timer fsyncs. A segment is always fsynced before the writer moves on to
 *   the next, so only the newest segment can ever have a torn tail.
 * - Reads: positional `readSync` at the offset the index holds, CRC checked.
 *   A read of a message whose append has not resolved yet waits for it, so
 *   a reader never sees a message that a crash could still take back.
 * - Open: every record of every segment is read and checked. A damaged tail
 *   of the newest segment (nothing valid after it) is a write cut short by a
 *   crash and is truncated (`recovered.truncatedBytes`); any other damage
 *   throws StoreError('corrupt') naming the file and offset.
 * - Compaction: a segment other than the active one is deleted once it
 *   holds no message and no tombstone still needed for an older segment
 *   (see `Segment.tombMin`). The directory is fsynced before the next
 *   round, so a delete never reaches the disk ahead of one it depends on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classifySubject } from '../core/subject.js';
import { crc32 } from './file-crc32.js';
import { MessageIndex, type Segment } from './file-index.js';
import {
  encodeControl,
  encodeMsg,
  HEADER,
  recBody,
  recLength,
  recSeq,
  recSubject,
  recTime,
  recType,
  T_DELETE,
  T_META,
  T_MSG,
  T_PURGE,
} from './file-record.js';
import { scanSegment } from './segment-scan.js';
import {
  type PurgeOptions,
  type StoredMessage,
  StoreError,
  type StoreState,
  type StreamStore,
  type SyncPolicy,
} from './store.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_MSG_SIZE = 16 * 1024 * 1024;

export interface FileStoreOptions {
  sync: SyncPolicy;
  /** Start a new segment file past this size (default 64 MiB). */
  segmentBytes?: number;
  /** Largest headers + payload accepted (default 16 MiB); more is StoreError('too_large'). */
  maxMsgSize?: number;
}

/** Counters since open. */
export interface FileStoreStats {
  appends: number;
  removes: number;
  purges: number;
  /** Writer rounds: each is one writev per segment touched and, under `always`, one fdatasync. */
  batches: number;
  /** Records in the largest batch. */
  maxBatch: number;
  writes: number;
  fsyncs: number;
  bytesWritten: number;
  reads: number;
  segmentsCreated: number;
  segmentsDeleted: number;
}

/** What open found: worth a log line when `truncatedBytes` is not 0. */
export interface RecoveryReport {
  segments: number;
  records: number;
  messages: number;
  /** Bytes cut from the end of the newest segment (a write a crash cut short). */
  truncatedBytes: number;
  truncatedFile: string | null;
  /** Why the first cut record was bad. */
  truncatedReason: string | null;
  ms: number;
}

const SEG_RE = /^(\d{20})\.seg$/;
const segFile = (name: number): string => String(name).padStart(20, '0') + '.seg';

/** Directories open in this process: a second store on one directory would corrupt it. */
const openDirs = new Set<string>();

function errText(err: unknown): string {
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

/** Opens (creating if needed) the file store in `dir`, recovering what is there. */
export async function openFileStore(dir: string, opts: FileStoreOptions): Promise<FileStore> {
  const abs = path.resolve(dir);
  if (openDirs.has(abs)) throw new StoreError('io', `${abs}: store already open in this process`);
  openDirs.add(abs);
  try {
    const store = new FileStore(abs, opts);
    store.recover();
    return store;
  } catch (err) {
    openDirs.delete(abs);
    throw err;
  }
}

export class FileStore implements StreamStore {
  readonly stats: FileStoreStats = {
    appends: 0,
    removes: 0,
    purges: 0,
    batches: 0,
    maxBatch: 0,
    writes: 0,
    fsyncs: 0,
    bytesWritten: 0,
    reads: 0,
    segmentsCreated: 0,
    segmentsDeleted: 0,
  };
  recovered: RecoveryReport = {
    segments: 0,
    records: 0,
    messages: 0,
    truncatedBytes: 0,
    truncatedFile: null,
    truncatedReason: null,
    ms: 0,
  };

  private readonly sync: SyncPolicy;
  private readonly segmentBytes: number;
  private readonly maxMsgSize: number;
  private readonly segments = new Map<number, Segment>();
  /** Oldest first; the last is `active`. */
  private segList: Segment[] = [];
  private active!: Segment;
  private nextSegId = 1;
  private readonly index = new MessageIndex(this.segments);
  private dirFd = -1;

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
  private durableSeq = 0;
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
  private failed: StoreError | null = null;
  private closing = false;
  private closed: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly dir: string,
    opts: FileStoreOptions,
  ) {
    this.sync = opts.sync;
    this.segmentBytes = Math.max(256, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    this.maxMsgSize = opts.maxMsgSize ?? DEFAULT_MAX_MSG_SIZE;
  }

  // ---- open and recovery ----

  /** Reads the directory back (synchronously: it runs once, before anything else). */
  recover(): void {
    const t0 = Date.now();
    fs.mkdirSync(this.dir, { recursive: true });
    this.dirFd = fs.openSync(this.dir, 'r');
    const names = fs
      .readdirSync(this.dir)
      .filter((f) => SEG_RE.test(f))
      .sort();
    const rec = this.recovered;
    try {
      for (let k = 0; k < names.length; k++) {
        const file = path.join(this.dir, names[k]!);
        const seg = this.addSegment(Number(names[k]!.slice(0, 20)), fs.openSync(file, 'r+'));
        const size = fs.fstatSync(seg.fd).size;
        const last = k === names.length - 1;
        let hasMeta = false;
        const r = scanSegment(seg.fd, size, (buf, rel, pos) => {
          if (pos === 0 && recType(buf, rel) === T_META) hasMeta = true;
          this.replay(seg, buf, rel, pos);
          rec.records++;
        });
        if (r.bad !== null) {
          const where = `${file}: ${r.bad} at offset ${r.good}`;
          if (!last) throw new StoreError('corrupt', `${where} (not the newest segment)`);
          if (r.validAfter >= 0) {
            throw new StoreError('corrupt', `${where}; a valid record follows at ${r.validAfter}`);
          }
          fs.ftruncateSync(seg.fd, r.good);
          fs.fdatasyncSync(seg.fd);
          rec.truncatedBytes = size - r.good;
          rec.truncatedFile = file;
          rec.truncatedReason = r.bad;
        }
        seg.size = seg.written = r.good;
        // A newest segment whose META never reached the disk: its name is a
        // floor for lastSeq (it was lastSeq + 1 at creation).
        if (last && !hasMeta && seg.name - 1 > this.index.lastSeq)
          this.index.lastSeq = seg.name - 1;
      }
      if (this.segList.length === 0) {
        this.addSegment(1, fs.openSync(path.join(this.dir, segFile(1)), 'wx+'));
        this.stats.segmentsCreated++;
      }
      this.active = this.segList[this.segList.length - 1]!;
      if (this.active.size === 0) {
        const meta = encodeControl(T_META, this.index.lastSeq, this.index.lastTime);
        fs.writeSync(this.active.fd, meta, 0, meta.length, 0);
        this.active.size = this.active.written = meta.length;
        fs.fdatasyncSync(this.active.fd);
        fs.fsyncSync(this.dirFd);
      }
    } catch (err) {
      this.closeFds();
      if (err instanceof StoreError) throw err;
      throw new StoreError('io', `${this.dir}: ${errText(err)}`);
    }
    this.durableSeq = this.qLastSeq = this.index.lastSeq;
    rec.segments = this.segList.length;
    rec.messages = this.index.messages;
    rec.ms = Date.now() - t0;
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

  private addSegment(name: number, fd: number): Segment {
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

  /** Applies one valid record found on open, in log order. */
  private replay(seg: Segment, buf: Buffer, rel: number, pos: number): void {
    const seq = recSeq(buf, rel);
    const ix = this.index;
    switch (recType(buf, rel)) {
      case T_MSG:
        if (seq <= ix.lastSeq) {
          throw new StoreError(
            'corrupt',
            `${seg.path}: sequence ${seq} out of order at offset ${pos}`,
          );
        }
        ix.add(seq, recSubject(buf, rel), recTime(buf, rel), seg, pos, recLength(buf, rel));
        break;
      case T_DELETE:
        if (ix.drop(seq)) seg.tombMin = Math.min(seg.tombMin, seq);
        break;
      case T_PURGE: {
        const filter = recSubject(buf, rel);
        const literal = filter !== '' && classifySubject(filter) === 'literal';
        const victims = ix.purgeVictims(filter, literal, seq, 0);
        for (const v of victims) ix.drop(v);
        if (victims.length > 0) seg.tombMin = Math.min(seg.tombMin, victims[0]!);
        break;
      }
      case T_META:
        if (seq > ix.lastSeq) {
          ix.lastSeq = seq;
          ix.lastTime = recTime(buf, rel);
        }
        break;
    }
  }

  // ---- the write path ----

  private usable(): StoreError | null {
    if (this.closing) return new StoreError('closed', 'store is closed');
    return this.failed;
  }

  /** The segment a record of `len` bytes goes to, starting a new one when the active is full. */
  private segmentFor(len: number): Segment {
    const a = this.active;
    if (a.size + len <= this.segmentBytes || a.size <= HEADER) return a;
    const name = Math.max(this.index.lastSeq + 1, a.name + 1);
    const seg = this.addSegment(name, -1);
    this.active = seg;
    this.stats.segmentsCreated++;
    this.compactWanted = true;
    this.push(encodeControl(T_META, this.index.lastSeq, this.index.lastTime), seg);
    return seg;
  }

  /** Queues a record for `seg` (the caller has taken it from segmentFor). */
  private push(buf: Buffer, seg: Segment): void {
    seg.size += buf.length;
    this.qBufs.push(buf);
    this.qSegs.push(seg);
  }

  /** A promise settled with `value` once everything queued so far is durable. */
  private settleAfterFlush<T>(value: T): Promise<T> {
    this.qLastSeq = this.index.lastSeq;
    this.kick();
    return new Promise<T>((resolve, reject) => {
      this.qResolve.push(resolve as (v: never) => void);
      this.qReject.push(reject);
      this.qValue.push(value);
    });
  }

  append(
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
    time: number = Date.now(),
  ): Promise<StoredMessage> {
    const err = this.usable();
    if (err !== null) return Promise.reject(err);
    const subjLen = Buffer.byteLength(subject);
    const size = (headers === null ? 0 : headers.length) + payload.length;
    if (subjLen > 0xffff || size > this.maxMsgSize) {
      return Promise.reject(
        new StoreError('too_large', `message of ${size} bytes (max ${this.maxMsgSize})`),
      );
    }
    const seq = this.index.lastSeq + 1;
    const rec = encodeMsg(seq, time, subject, subjLen, headers, payload);
    const seg = this.segmentFor(rec.length);
    const off = seg.size;
    this.push(rec, seg);
    this.index.add(seq, subject, time, seg, off, rec.length);
    this.stats.appends++;
    const body = recBody(rec, 0);
    return this.settleAfterFlush<StoredMessage>({
      seq,
      subject,
      time,
      headers: body.headers,
      payload: body.payload,
    });
  }

  remove(seq: number): Promise<boolean> {
    const err = this.usable();
    if (err !== null) return Promise.reject(err);
    if (!this.index.has(seq)) return Promise.resolve(false);
    const rec = encodeControl(T_DELETE, seq, 0);
    const seg = this.segmentFor(rec.length);
    this.push(rec, seg);
    this.index.drop(seq);
    seg.tombMin = Math.min(seg.tombMin, seq);
    this.compactWanted = true;
    this.stats.removes++;
    return this.settleAfterFlush(true);
  }

  purge(opts: PurgeOptions = {}): Promise<number> {
    const err = this.usable();
    if (err !== null) return Promise.reject(err);
    const filter = opts.subject ?? '';
    const literal = filter !== '' && classifySubject(filter) === 'literal';
    const victims = this.index.purgeVictims(
      filter,
      literal,
      opts.upToSeq ?? Infinity,
      Math.max(0, opts.keep ?? 0),
    );
    if (victims.length === 0) return Promise.resolve(0);
    // Written as "matching, below one past the newest victim": `keep` is
    // resolved now, so replay removes exactly these whatever else is on disk.
    const rec = encodeControl(T_PURGE, victims[victims.length - 1]! + 1, 0, filter);
    const seg = this.segmentFor(rec.length);
    this.push(rec, seg);
    for (const v of victims) this.index.drop(v);
    seg.tombMin = Math.min(seg.tombMin, victims[0]!);
    this.compactWanted = true;
    this.stats.purges++;
    return this.settleAfterFlush(victims.length);
  }

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
    this.writer().then(
      () => {
        this.flushing = false;
        if (this.qBufs.length > 0 || (this.compactWanted && this.failed === null)) this.kick();
        else for (const w of this.idleWaiters.splice(0)) w();
      },
      () => {},
    );
  };

  private async writer(): Promise<void> {
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
      await fsyncP(seg.fd, true);
      this.stats.fsyncs++;
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

  // ---- the read path ----

  /** Waits until `seq` (appended, maybe not durable yet) is durable. */
  private async durable(seq: number): Promise<void> {
    while (seq > this.durableSeq) {
      if (this.failed !== null) throw this.failed;
      await new Promise<void>((resolve, reject) => {
        this.flushWaiters.push({ resolve, reject });
        this.kick();
      });
    }
  }

  /** The held message `seq` from disk, or null. */
  private read(seq: number): StoredMessage | null {
    const loc = this.index.locate(seq);
    if (loc === null) return null;
    const seg = this.segments.get(loc.seg)!;
    const buf = Buffer.allocUnsafe(loc.len);
    let got = 0;
    try {
      while (got < loc.len) {
        const n = fs.readSync(seg.fd, buf, got, loc.len - got, loc.off + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      throw new StoreError('io', `${seg.path}: read at ${loc.off}: ${errText(err)}`);
    }
    this.stats.reads++;
    if (
      got < loc.len ||
      buf.readUInt32LE(0) !== loc.len ||
      crc32(buf, 8, loc.len) !== buf.readUInt32LE(4) ||
      recType(buf, 0) !== T_MSG ||
      recSeq(buf, 0) !== seq
    ) {
      throw new StoreError(
        'corrupt',
        `${seg.path}: bad record for sequence ${seq} at offset ${loc.off}`,
      );
    }
    const body = recBody(buf, 0);
    return {
      seq,
      subject: loc.subject,
      time: recTime(buf, 0),
      headers: body.headers,
      payload: body.payload,
    };
  }

  async get(seq: number): Promise<StoredMessage | null> {
    const err = this.usable();
    if (err !== null) throw err;
    if (seq > this.durableSeq && this.index.has(seq)) await this.durable(seq);
    return this.read(seq);
  }

  async next(seq: number, filter = ''): Promise<StoredMessage | null> {
    const err = this.usable();
    if (err !== null) throw err;
    const literal = filter !== '' && classifySubject(filter) === 'literal';
    for (;;) {
      const s = this.index.nextSeq(seq, filter, literal);
      if (s === 0) return null;
      if (s <= this.durableSeq) return this.read(s);
      await this.durable(s);
    }
  }

  async lastBySubject(subject: string): Promise<StoredMessage | null> {
    const err = this.usable();
    if (err !== null) throw err;
    for (;;) {
      const seqs = this.index.seqsOf(subject);
      if (seqs === undefined) return null;
      const s = seqs[seqs.length - 1]!;
      if (s <= this.durableSeq) return this.read(s);
      await this.durable(s);
    }
  }

  subjectSeqs(subject: string): readonly number[] {
    const err = this.usable();
    if (err !== null) throw err;
    return (this.index.seqsOf(subject) ?? []).slice();
  }

  seqForTime(time: number): number {
    const err = this.usable();
    if (err !== null) throw err;
    return this.index.seqForTime(time);
  }

  state(): StoreState {
    const err = this.usable();
    if (err !== null) throw err;
    const ix = this.index;
    return {
      messages: ix.messages,
      bytes: ix.bytes,
      firstSeq: ix.firstSeq,
      lastSeq: ix.lastSeq,
      firstTime: ix.firstTime,
      lastTime: ix.lastTime,
      subjects: ix.subjectCount,
    };
  }

  /** Segment files on disk now, oldest first (for tests and /streamz). */
  segmentFiles(): string[] {
    return this.segList.map((s) => s.path);
  }

  // ---- close ----

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.failed === null) {
      this.syncWanted = true;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        this.kick();
      });
    }
    this.closeFds();
    openDirs.delete(this.dir);
    if (this.failed !== null) throw this.failed;
  }

  private closeFds(): void {
    for (const s of this.segList) {
      if (s.fd >= 0) fs.closeSync(s.fd);
      s.fd = -1;
    }
    if (this.dirFd >= 0) fs.closeSync(this.dirFd);
    this.dirFd = -1;
  }
}
