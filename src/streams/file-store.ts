/**
 * The file store: the embedded default StreamStore, a segmented
 * append-only log in one directory. No acknowledged message is lost: an
 * append resolves only once its record is durable under the sync policy.
 *
 * - Files: `<20-digit name>.seg`, the name being lastSeq + 1 when the
 *   segment was created (strictly increasing). Records: see file-record.ts.
 * - Writes: records are encoded at call time, in sequence order, and handed
 *   to the writer (file-writer.ts): group commit, fsync policy, segment
 *   rolling and compaction live there, and what a failed write does (the
 *   store refuses writes, stays readable, and retries: `writeError`).
 * - Reads: positional `readSync` at the offset the index holds, CRC checked,
 *   reading ahead READ_AHEAD_BYTES into one of READ_WINDOWS windows
 *   (file-read-window.ts), so a consumer reading in order costs one system
 *   call per window, not one per message (segments are append-only: a window never goes stale).
 *   A read of a message whose append has not resolved yet waits for it, so
 *   a reader never sees a message that a crash could still take back.
 * - Open (file-recovery.ts): every record of every segment is read and
 *   checked. Bad bytes past the synced mark (file-synced-mark.ts) at the end
 *   of the newest segment are a write cut short by a crash and are cut
 *   (`recovered.truncatedBytes`); any other bad range is damage to synced
 *   data: skipped, copied to the quarantine file (file-quarantine.ts) and
 *   reported in `recovered.damage`, while every valid record around it is
 *   read back. Open fails only when the files cannot be read at all.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classifySubject } from '../core/subject.js';
import { crc32 } from './file-crc32.js';
import { emptyFillStats } from './file-fill.js';
import { MessageIndex, type Segment } from './file-index.js';
import { primeIndex } from './file-index-prime.js';
import { errnoOf, realFileOps } from './file-ops.js';
import { DEFAULT_QUARANTINE_BYTES, QUARANTINE_FILE, type Quarantine } from './file-quarantine.js';
import { containReadDamage } from './file-read-damage.js';
import { ReadWindows } from './file-read-window.js';
import {
  AppendedMessage,
  encodeControl,
  encodeMsg,
  encodeMsgAt,
  HEADER,
  recBody,
  recSeq,
  recTime,
  recType,
  T_DELETE,
  T_META,
  T_MSG,
  T_PURGE,
} from './file-record.js';
import { emptyReport, type RecoveryReport, recoverSegments } from './file-recovery.js';
import { WRITE_RETRY_MAX_MS, WRITE_RETRY_MIN_MS } from './file-retry.js';
import {
  DEFAULT_MAX_MSG_SIZE,
  DEFAULT_SEGMENT_BYTES,
  type FileStoreOptions,
  type FileStoreStats,
} from './file-store-types.js';
import { MarkFile, UnsyncedSeqs } from './file-synced-mark.js';
import { FileWriter } from './file-writer.js';
import { errText } from './file-writer-types.js';
import {
  type AppendDone,
  badSkip,
  type PurgeOptions,
  type StoredMessage,
  StoreError,
  type StoreState,
  type StreamStore,
  type SyncPolicy,
  subjectTooLong,
} from './store.js';

export type { DamagedRange, DamageReport, RecoveryReport } from './file-recovery.js';
export {
  DEFAULT_MAX_MSG_SIZE,
  DEFAULT_SEGMENT_BYTES,
  type FileStoreOptions,
  type FileStoreStats,
} from './file-store-types.js';

const SEG_RE = /^(\d{20})\.seg$/;

/** Directories open in this process: a second store on one directory would corrupt it. */
const openDirs = new Set<string>();

/** Opens (creating if needed) the file store in `dir`, recovering what is there. */
export async function openFileStore(dir: string, opts: FileStoreOptions): Promise<FileStore> {
  const abs = path.resolve(dir);
  if (openDirs.has(abs)) throw new StoreError('io', `${abs}: store already open in this process`);
  openDirs.add(abs);
  try {
    primeIndex();
    const store = new FileStore(abs, opts);
    store.recover();
    return store;
  } catch (err) {
    openDirs.delete(abs);
    throw err;
  }
}

export class FileStore implements StreamStore {
  private readonly windows = new ReadWindows();
  readonly stats: FileStoreStats = {
    appends: 0,
    removes: 0,
    purges: 0,
    skips: 0,
    batches: 0,
    maxBatch: 0,
    earlyRounds: 0,
    writes: 0,
    fsyncs: 0,
    bytesWritten: 0,
    reads: 0,
    readHits: 0,
    damagedReads: 0,
    segmentsCreated: 0,
    segmentsDeleted: 0,
    writeFailures: 0,
    writeRetries: 0,
    appendsFailed: 0,
    arenas: 0,
    ...emptyFillStats(),
  };
  /** What open found (torn tail, damage); see file-recovery.ts. */
  readonly recovered: RecoveryReport;
  private mark: MarkFile | null = null;
  /** Records written since the last fsync, for the synced mark's lastSeq. */
  private readonly unsynced = new UnsyncedSeqs();
  private readonly quarantineBytes: number;
  private quarantine: Quarantine | null = null;
  private readonly onDamage: FileStoreOptions['onDamage'];

  private readonly sync: SyncPolicy;
  private readonly segmentBytes: number;
  private readonly maxMsgSize: number;
  private readonly writeOpts: Pick<
    FileStoreOptions,
    'fileOps' | 'writeRetry' | 'onWriteState' | 'fillBytes'
  >;
  private readonly segments = new Map<number, Segment>();
  private readonly index = new MessageIndex(this.segments);
  /** Set by `recover`, which runs right after the constructor. */
  private writer!: FileWriter;
  private closing = false;
  private closed: Promise<void> | null = null;

  constructor(
    readonly dir: string,
    opts: FileStoreOptions,
  ) {
    this.sync = opts.sync;
    this.segmentBytes = Math.max(256, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    this.maxMsgSize = opts.maxMsgSize ?? DEFAULT_MAX_MSG_SIZE;
    this.writeOpts = opts;
    this.quarantineBytes = opts.quarantineBytes ?? DEFAULT_QUARANTINE_BYTES;
    this.onDamage = opts.onDamage;
    this.recovered = emptyReport(path.join(dir, QUARANTINE_FILE));
  }

  // ---- open and recovery ----

  /** Reads the directory back (synchronously: it runs once, before anything else). */
  recover(): void {
    const t0 = Date.now();
    fs.mkdirSync(this.dir, { recursive: true });
    const dirFd = fs.openSync(this.dir, 'r');
    this.writer = new FileWriter({
      dir: this.dir,
      dirFd,
      sync: this.sync,
      segmentBytes: this.segmentBytes,
      segments: this.segments,
      position: this.index,
      stats: this.stats,
      ops: this.writeOpts.fileOps ?? realFileOps,
      retry: this.writeOpts.writeRetry ?? { minMs: WRITE_RETRY_MIN_MS, maxMs: WRITE_RETRY_MAX_MS },
      fillBytes: this.writeOpts.fillBytes,
      onDrop: (seq) => this.index.drop(seq),
      onState: (err) => {
        // Windows may hold bytes past where the files were cut back to.
        this.windows.clear();
        this.writeOpts.onWriteState?.(err);
      },
      onSynced: (seg, offset) => this.synced(seg, offset),
    });
    const names = fs
      .readdirSync(this.dir)
      .filter((f) => SEG_RE.test(f))
      .sort();
    const rec = this.recovered;
    try {
      this.quarantine = recoverSegments({
        dir: this.dir,
        names,
        addSegment: (name, fd) => this.writer.addSegment(name, fd),
        index: this.index,
        quarantineBytes: this.quarantineBytes,
        report: rec,
      });
      this.writer.start();
      this.unsynced.reset(this.index.lastSeq);
      // Everything on disk now is synced (open fsynced what it changed, and
      // the rest was written before): the mark says so before any append.
      const active = this.segments.get(Math.max(...this.segments.keys()))!;
      fs.fdatasyncSync(active.fd);
      this.mark = new MarkFile(this.dir);
      this.mark.write(
        { segName: active.name, offset: active.written, lastSeq: this.index.lastSeq },
        true,
      );
      fs.fsyncSync(dirFd);
    } catch (err) {
      this.mark?.close();
      this.writer.closeFds();
      if (err instanceof StoreError) throw err;
      throw new StoreError('io', `${this.dir}: ${errText(err)}`, errnoOf(err));
    }
    rec.segments = this.writer.segmentCount;
    rec.messages = this.index.messages;
    rec.ms = Date.now() - t0;
  }

  /** The writer fsynced `seg` up to `offset`: move the synced mark there. */
  private synced(seg: Segment, offset: number): void {
    const lastSeq = this.unsynced.synced(seg.name, offset);
    this.mark?.write({ segName: seg.name, offset, lastSeq });
  }

  // ---- the write path ----

  /** Why reads fail (closed), or null. */
  private usable(): StoreError | null {
    if (this.closing) return new StoreError('closed', 'store is closed');
    return null;
  }

  /** Why writes are refused (closed, or a write failed and is being retried), or null. */
  private writable(): StoreError | null {
    return this.usable() ?? this.writer.failed;
  }

  get writeError(): StoreError | null {
    return this.writer.failed;
  }

  append(
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
    time: number = Date.now(),
  ): Promise<StoredMessage> {
    const subjLen = Buffer.byteLength(subject);
    const size = (headers === null ? 0 : headers.length) + payload.length;
    const err = this.refusal(subjLen, size);
    if (err !== null) return Promise.reject(err);
    // A record of its own: the message resolved with refers to it.
    const seq = this.index.lastSeq + 1;
    const w = this.writer;
    const seg = w.enqueue(encodeMsg(seq, time, subject, subjLen, headers, payload));
    this.indexed(seq, subject, time, seg, HEADER + subjLen + size);
    return w.settle<StoredMessage>(new AppendedMessage(seq, subject, time, w.recBuf, w.recOff));
  }

  /**
   * `append` of the message whose payload is `payload[pStart, pEnd)`,
   * encoded in place in the writer's queue, told of through `done`. Its own
   * function, not `append`'s with a flag: optimised code of this, the
   * publish path, then never holds `append`'s branches, which a process may
   * take first long after (a stream's first XADD, a message with headers)
   * and which would throw it away (bench/PROFILE.md, "store4 (round 10)").
   */
  appendNotify(
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
    time: number,
    done: AppendDone | null,
    pStart = 0,
    pEnd = payload.length,
    stamp = -1,
    subjBytes = -1,
  ): Error | null {
    // Known to a run's caller (one measure per run, not per XADD: xadd-run.ts).
    const subjLen = subjBytes >= 0 ? subjBytes : Buffer.byteLength(subject);
    const hdrLen = headers === null ? 0 : headers.length;
    const size = hdrLen + pEnd - pStart;
    const err = this.refusal(subjLen, size);
    if (err !== null) return err;
    const seq = this.index.lastSeq + 1;
    const len = HEADER + subjLen + size;
    const w = this.writer;
    const seg = w.claim(len);
    encodeMsgAt(
      w.recBuf,
      w.recOff,
      len,
      seq,
      time,
      subject,
      subjLen,
      headers,
      payload,
      pStart,
      pEnd,
      stamp,
    );
    this.indexed(seq, subject, time, seg, len);
    if (done !== null) w.notify(done, seq);
    return null;
  }

  notifyQueued(done: AppendDone): void {
    this.writer.notify(done, this.index.lastSeq);
  }

  /** state()'s lastSeq with no object made: a run's appends read it per entry (Stream.appendInRun). */
  get appendedSeq(): number {
    return this.index.lastSeq;
  }

  /**
   * Why a message with a subject of `subjLen` UTF-8 bytes and `size` bytes
   * of headers and payload is refused (closed, writes failing, subject too
   * long, too large), or null.
   */
  private refusal(subjLen: number, size: number): StoreError | null {
    const err = this.writable();
    if (err !== null) return err;
    const tooLong = subjectTooLong(subjLen);
    if (tooLong !== null) return tooLong;
    if (size > this.maxMsgSize) {
      return new StoreError('too_large', `message of ${size} bytes (max ${this.maxMsgSize})`);
    }
    return null;
  }

  /** Indexes message `seq`, just queued as the last `len` bytes of `seg`. */
  private indexed(seq: number, subject: string, time: number, seg: Segment, len: number): void {
    this.index.add(seq, subject, time, seg, seg.size - len, len);
    this.unsynced.push(seg.name, seg.size, seq, this.writer.batchNo);
    this.stats.appends++;
  }

  remove(seq: number): Promise<boolean> {
    const err = this.writable();
    if (err !== null) return Promise.reject(err);
    if (!this.index.has(seq)) return Promise.resolve(false);
    const seg = this.writer.enqueue(encodeControl(T_DELETE, seq, 0));
    this.index.drop(seq);
    seg.tombMin = Math.min(seg.tombMin, seq);
    this.writer.compactSoon();
    this.stats.removes++;
    return this.writer.settle(true);
  }

  purge(opts: PurgeOptions = {}): Promise<number> {
    const err = this.writable();
    if (err !== null) return Promise.reject(err);
    const filter = opts.subject ?? '';
    // Checked before matching: the PURGE record holds the filter in 16 bits.
    const tooLong = subjectTooLong(Buffer.byteLength(filter), 'purge filter');
    if (tooLong !== null) return Promise.reject(tooLong);
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
    const seg = this.writer.enqueue(rec);
    for (const v of victims) this.index.drop(v);
    seg.tombMin = Math.min(seg.tombMin, victims[0]!);
    this.writer.compactSoon();
    this.stats.purges++;
    return this.writer.settle(victims.length);
  }

  skip(toSeq: number): Promise<void> {
    const err = this.writable() ?? badSkip(toSeq);
    if (err !== null) return Promise.reject(err);
    const ix = this.index;
    if (toSeq - 1 <= ix.lastSeq) return Promise.resolve();
    // A META record mid-segment: replay raises lastSeq to it, as it does
    // for the one starting each segment (file-record.ts).
    const seg = this.writer.enqueue(encodeControl(T_META, toSeq - 1, ix.lastTime));
    ix.lastSeq = toSeq - 1;
    this.unsynced.push(seg.name, seg.size, toSeq - 1, this.writer.batchNo);
    this.stats.skips++;
    return this.writer.settle(undefined);
  }

  // ---- the read path ----

  /**
   * The held message `seq` from disk, or null. A record that fails its
   * checks here was damaged after open (it was valid then): it is contained
   * like damage found at open — dropped from the index (it reads as
   * deleted, and readers go on past it), its bytes copied to the quarantine
   * file, added to `recovered.damage` and reported through `onDamage` —
   * so one bad record never blocks the readers of a stream.
   */
  private read(seq: number): StoredMessage | null {
    const loc = this.index.locate(seq);
    if (loc === null) return null;
    const seg = this.segments.get(loc.seg)!;
    // In a read-ahead window: read there, the headers and payload views of
    // it (no Buffer and no copy per message: bench/PROFILE.md, "Issue 16 —
    // rgroup3 (round 10)"). Else read from the file into a buffer of its own.
    let buf = this.windows.holding(seg, loc.off, loc.len);
    let at = 0;
    let got = loc.len;
    if (buf !== null) {
      at = this.windows.at;
      this.stats.readHits++;
    } else {
      buf = Buffer.allocUnsafe(loc.len);
      try {
        got = this.windows.readAhead(seg, loc.off, loc.len, buf);
      } catch (err) {
        throw new StoreError('io', `${seg.path}: read at ${loc.off}: ${errText(err)}`);
      }
    }
    this.stats.reads++;
    if (
      got < loc.len ||
      buf.readUInt32LE(at) !== loc.len ||
      crc32(buf, at + 8, at + loc.len) !== buf.readUInt32LE(at + 4) ||
      recType(buf, at) !== T_MSG ||
      recSeq(buf, at) !== seq
    ) {
      const why = got < loc.len ? `short read (${got} of ${loc.len} bytes)` : 'bad record on read';
      this.stats.damagedReads++;
      this.index.drop(seq);
      const range = containReadDamage(this.recovered.damage, this.quarantine, seg, {
        seq,
        off: loc.off,
        len: loc.len,
        bytes: buf.subarray(at, at + got),
        why,
      });
      this.onDamage?.(range, this);
      return null;
    }
    const body = recBody(buf, at);
    return {
      seq,
      subject: loc.subject,
      time: recTime(buf, at),
      headers: body.headers,
      payload: body.payload,
    };
  }

  async get(seq: number): Promise<StoredMessage | null> {
    const err = this.usable();
    if (err !== null) throw err;
    if (seq > this.writer.durableSeq && this.index.has(seq)) await this.durable(seq);
    return this.read(seq);
  }

  async next(seq: number, filter = ''): Promise<StoredMessage | null> {
    const err = this.usable();
    if (err !== null) throw err;
    const literal = filter !== '' && classifySubject(filter) === 'literal';
    for (;;) {
      const s = this.index.nextSeq(seq, filter, literal);
      if (s === 0) return null;
      if (s <= this.writer.durableSeq) {
        const m = this.read(s);
        if (m !== null) return m;
        seq = s + 1; // damaged, now dropped: go on past it
        continue;
      }
      await this.durable(s);
    }
  }

  nextNow(seq: number, filter = ''): StoredMessage | null | undefined {
    if (this.closing) return undefined; // `next` says why
    const literal = filter !== '' && classifySubject(filter) === 'literal';
    for (;;) {
      const s = this.index.nextSeq(seq, filter, literal);
      if (s === 0) return null;
      if (s > this.writer.durableSeq) return undefined; // `next` waits for it
      const m = this.read(s);
      if (m !== null) return m;
      seq = s + 1; // damaged, now dropped: go on past it
    }
  }

  /**
   * Waits until the held message `seq` is durable. When its write failed
   * the index has dropped it by then (the caller looks again and does not
   * find it); one still held and not durable would be a writer bug.
   */
  private async durable(seq: number): Promise<void> {
    await this.writer.durable(seq);
    if (seq > this.writer.durableSeq && this.index.has(seq)) {
      throw this.writer.failed ?? new StoreError('io', `sequence ${seq} is not durable`);
    }
  }

  async lastBySubject(subject: string): Promise<StoredMessage | null> {
    const err = this.usable();
    if (err !== null) throw err;
    for (;;) {
      const seqs = this.index.seqsOf(subject);
      if (seqs === undefined) return null;
      const s = seqs.last();
      if (s <= this.writer.durableSeq) {
        const m = this.read(s);
        if (m !== null) return m;
        continue; // damaged, now dropped: the one before it
      }
      await this.durable(s);
    }
  }

  subjectSeqs(subject: string): readonly number[] {
    const err = this.usable();
    if (err !== null) throw err;
    return this.index.seqsOf(subject)?.toArray() ?? [];
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
    return this.writer.segmentFiles();
  }

  // ---- close ----

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    // A write failure was told to onWriteState when it happened; close
    // tries once more and never throws for it (nothing acknowledged is lost).
    await this.writer.close();
    this.mark?.close();
    openDirs.delete(this.dir);
  }
}
