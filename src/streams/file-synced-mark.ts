/**
 * The synced mark: `synced.mark` in a file store's directory says how far
 * the log is known to have reached stable storage — a segment, an offset in
 * it, and the last sequence written up to there. Open uses it to tell the
 * two kinds of bad bytes apart:
 *
 * - past the mark, in the newest segment: a write a crash cut short (a torn
 *   tail). Nothing there was acknowledged under sync `always`; it is cut.
 * - before the mark (or in any older segment, each fsynced before the next
 *   was started): damage to data that had been synced — reported, kept in
 *   the quarantine file, never cut silently.
 *
 * Cost: the mark moves after each fsync of a segment (under sync `always`,
 * after each writer round's acks: the segment is written with O_DSYNC). It
 * is rewritten in place (one 32-byte pwrite, no fsync) at most once per
 * MARK_WRITE_MS: a move within that time after the last write is held, and
 * one timer shared by every store's mark writes the latest one when the time
 * is up (so rounds that follow each other cost one pwrite per MARK_WRITE_MS,
 * not one each, and all busy stores one timer; bench/PROFILE.md, "mark
 * (round 13)"). It is fsynced at most once per MARK_FSYNC_MS, always
 * right after writing the latest position, and on close (after writing it).
 *
 * So after a process crash (the OS still holds the page) it lags by at most
 * MARK_WRITE_MS and the round in flight: what lies past it in the newest
 * segment is then whole records, acknowledged or not, which open reads back
 * as such (only bad bytes past the mark with nothing valid after them are
 * cut: file-recovery.ts; a valid record is never cut; only damage the
 * crash did not make, in that stretch, is taken for a torn tail, or zeros
 * there for fill: test/streams/synced-mark.test.ts). After a power loss
 * it may lag by up to MARK_FSYNC_MS, and damage within that last stretch is
 * taken for a torn tail (still logged and quarantined, not counted as
 * damage).
 *
 * Format, little-endian: u32 magic, u32 CRC-32 of bytes [8, 32), f64
 * segment name, f64 offset, f64 lastSeq. A mark that fails its check is
 * reported and ignored (open falls back to the structure of the log alone).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DOUBLE_FIRST } from './double-first.js';
import { crc32 } from './file-crc32.js';

export const MARK_FILE = 'synced.mark';
const MARK_LEN = 32;
const MAGIC = 0x314d5357; // "WSM1"
/** The mark is fsynced at most this often while the store runs (and always on close). */
export const MARK_FSYNC_MS = 1000;
/** The mark is rewritten at most this often; a move is written at most this long after it. */
export const MARK_WRITE_MS = 20;

export interface SyncedMark {
  /** Name (number) of the segment the offset is in. */
  segName: number;
  /** Bytes of that segment known to be on stable storage. */
  offset: number;
  /** Highest MSG or META sequence within those bytes. */
  lastSeq: number;
}

/** The mark in `dir`: null when there is none; `problem` says why one was ignored. */
export function readMark(dir: string): { mark: SyncedMark | null; problem: string | null } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path.join(dir, MARK_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { mark: null, problem: null };
    return { mark: null, problem: `${MARK_FILE}: ${(err as Error).message}` };
  }
  if (buf.length !== MARK_LEN) {
    return { mark: null, problem: `${MARK_FILE}: ${buf.length} bytes, expected ${MARK_LEN}` };
  }
  if (buf.readUInt32LE(0) !== MAGIC || crc32(buf, 8, MARK_LEN) !== buf.readUInt32LE(4)) {
    return { mark: null, problem: `${MARK_FILE}: checksum mismatch` };
  }
  const mark = {
    segName: buf.readDoubleLE(8),
    offset: buf.readDoubleLE(16),
    lastSeq: buf.readDoubleLE(24),
  };
  if (![mark.segName, mark.offset, mark.lastSeq].every((v) => Number.isSafeInteger(v) && v >= 0)) {
    return { mark: null, problem: `${MARK_FILE}: bad values` };
  }
  return { mark, problem: null };
}

/**
 * Marks holding a move, written together when the shared timer fires. At
 * most one entry per open file store (a mark leaves it on close).
 */
const held = new Set<MarkFile>();
/** Fires MARK_WRITE_MS after the first mark was held; made once, re-armed with refresh. */
let heldTimer: NodeJS.Timeout | null = null;

function hold(m: MarkFile): void {
  held.add(m);
  if (held.size > 1) return;
  if (heldTimer === null) {
    heldTimer = setTimeout(writeHeld, MARK_WRITE_MS);
    heldTimer.unref();
  } else heldTimer.refresh();
}

function writeHeld(): void {
  for (const m of held) m.writeHeld();
  held.clear();
}

/** The mark file of an open store. */
export class MarkFile {
  private fd: number;
  private readonly buf = Buffer.alloc(MARK_LEN);
  /** A double from the start (double-first.ts), then 0. */
  private lastFsync = DOUBLE_FIRST;
  /** When the mark was last written (ms); a double like lastFsync. */
  private lastWrite = DOUBLE_FIRST;
  private fsyncing = false;
  /** The latest mark (doubles from the start, as lastFsync), and whether it is newer than the file's. */
  private segName = DOUBLE_FIRST;
  private offset = DOUBLE_FIRST;
  private lastSeq = DOUBLE_FIRST;
  private pending = false;
  /** The mark is in `held`, for the shared timer to write. */
  held = false;
  /** Writes or fsyncs of the mark that failed (the mark then lags; nothing else is affected). */
  errors = 0;
  /** pwrites of the mark made (for tests and profiles). */
  writes = 0;

  constructor(dir: string) {
    this.lastFsync = 0;
    this.lastWrite = 0;
    this.segName = this.offset = this.lastSeq = 0;
    this.fd = fs.openSync(path.join(dir, MARK_FILE), 'a+');
    fs.closeSync(this.fd);
    this.fd = fs.openSync(path.join(dir, MARK_FILE), 'r+');
  }

  /**
   * Records the mark: written now when `durable` (and fsynced), when
   * MARK_WRITE_MS have passed since the last write, or when an fsync is due
   * (MARK_FSYNC_MS after the last); else held for the timer to write.
   */
  write(mark: SyncedMark, durable = false): void {
    if (this.fd < 0) return;
    this.segName = mark.segName;
    this.offset = mark.offset;
    this.lastSeq = mark.lastSeq;
    this.pending = true;
    if (durable) {
      this.flush(true);
      return;
    }
    const now = Date.now();
    if (
      (!this.held && now - this.lastWrite >= MARK_WRITE_MS) ||
      (!this.fsyncing && now - this.lastFsync >= MARK_FSYNC_MS)
    ) {
      this.flush(false, now);
      return;
    }
    if (this.held) return;
    this.held = true;
    hold(this);
  }

  /** The shared timer fired: writes the held move (unless a write since took it). */
  writeHeld(): void {
    this.held = false;
    if (this.pending) this.flush(false);
  }

  /** Writes the latest mark; fsyncs it when `durable` (synchronously) or when one is due. */
  private flush(durable: boolean, now = Date.now()): void {
    if (this.fd < 0) return;
    const b = this.buf;
    b.writeUInt32LE(MAGIC, 0);
    b.writeDoubleLE(this.segName, 8);
    b.writeDoubleLE(this.offset, 16);
    b.writeDoubleLE(this.lastSeq, 24);
    b.writeUInt32LE(crc32(b, 8, MARK_LEN), 4);
    this.pending = false;
    this.lastWrite = now;
    try {
      fs.writeSync(this.fd, b, 0, MARK_LEN, 0);
      this.writes++;
      if (durable) {
        fs.fsyncSync(this.fd);
        this.lastFsync = Date.now();
        return;
      }
    } catch {
      this.errors++;
      return;
    }
    if (this.fsyncing || now - this.lastFsync < MARK_FSYNC_MS) return;
    this.fsyncing = true;
    this.lastFsync = now;
    const fd = this.fd;
    fs.fsync(fd, (err) => {
      this.fsyncing = false;
      if (err) this.errors++;
    });
  }

  /** Writes the held mark and fsyncs it (a clean close leaves an exact mark), and closes. */
  close(): void {
    if (this.fd < 0) return;
    if (this.held) held.delete(this);
    this.held = false;
    if (this.pending) this.flush(true);
    else {
      try {
        fs.fsyncSync(this.fd);
      } catch {
        this.errors++;
      }
    }
    // An fsync still in flight holds the descriptor number; closing under it
    // is safe for the kernel (the fsync completes or fails with EBADF).
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * The records written since the last fsync, as (segment, end offset,
 * sequence), so the mark can say which sequence an fsynced offset reaches.
 * Holds the records of one sync interval at most (every fsync drains it),
 * one entry per writer batch and segment: an fsync reaches the end of a
 * batch (`FileWriter.batchNo`), never the middle, so the records of one
 * batch in one segment are one entry.
 */
export class UnsyncedSeqs {
  private segs: number[] = [];
  private ends: number[] = [];
  private seqs: number[] = [];
  private head = 0;
  private last = 0;
  /** The batch of the newest entry. */
  private batch = -1;

  /** A record of sequence `seq` ends at `end` in segment `segName`, written in batch `batch`. */
  push(segName: number, end: number, seq: number, batch: number): void {
    const n = this.segs.length - 1;
    if (n >= this.head && batch === this.batch && this.segs[n] === segName) {
      this.ends[n] = end;
      this.seqs[n] = seq;
      return;
    }
    this.batch = batch;
    this.segs.push(segName);
    this.ends.push(end);
    this.seqs.push(seq);
  }

  /** `segName` is synced up to `offset` (and every older segment wholly): the last sequence in it. */
  synced(segName: number, offset: number): number {
    let h = this.head;
    const n = this.segs.length;
    while (
      h < n &&
      (this.segs[h]! < segName || (this.segs[h] === segName && this.ends[h]! <= offset))
    ) {
      this.last = this.seqs[h]!;
      h++;
    }
    if (h === n) {
      this.segs = [];
      this.ends = [];
      this.seqs = [];
      h = 0;
    } else if (h >= 1024 && h * 2 >= n) {
      this.segs = this.segs.slice(h);
      this.ends = this.ends.slice(h);
      this.seqs = this.seqs.slice(h);
      h = 0;
    }
    this.head = h;
    return this.last;
  }

  /** Starts from `seq` (after open). */
  reset(seq: number): void {
    this.last = seq;
  }
}
