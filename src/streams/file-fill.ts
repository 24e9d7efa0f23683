/**
 * Zero-filling the active segment ahead of the writer (sync `always`).
 *
 * Why: a durable write that grows a file also needs the file system to
 * commit the new size (on ext4, a journal commit per writer round). A write
 * into space already written with zeros and synced changes no size, so the
 * round's O_DSYNC write (or fdatasync) is only the data. Measured on this
 * machine's ext4 (bench/PROFILE.md, "prealloc (round 5)").
 *
 * How: when what the writer has written comes within half a chunk of
 * the filled end, the writer loop writes the next chunk of zeros (never
 * past `segmentBytes`) and makes it durable, beside the rounds (`start`:
 * a round that would reach the zeros being written waits for them). A chunk is
 * the segment's data so far, within FILL_MIN_BYTES and `fillBytes`. Zeros, not fallocate: an allocated but unwritten extent
 * would need the same journal commit when first written.
 *
 * Only while rounds are small: the fill saves a fixed cost per round (the
 * inode and a second data block of a growing file) and costs per byte (the
 * zeros copied into the page cache, written back and flushed: the disk
 * takes every byte twice). Rounds averaging FILL_ROUND_BYTES or more (large
 * records, or a large window) are written past the filled end, growing the
 * file; smaller rounds fill again. Measured on this machine's ext4, CPU per
 * message: fill against none, 16 B rounds of ~8 KB 2.73 vs 3.43 µs, 1 KiB
 * rounds of ~130 KB 5.45 vs 5.70 (bands overlapping); this rule against
 * filling always, 2 KiB 7.37 vs 8.19 µs, 4 KiB 9.33 vs 10.67
 * (bench/PROFILE.md, "jsfill (round 15)").
 *
 * What a zero tail means to readers: the record format's first field is the
 * record's length, at least HEADER, so zero bytes never parse as a record
 * (checkRecord: "bad length 0"). On open (file-recovery.ts) zeros running
 * from the end of the last whole record to the end of the newest segment,
 * past the synced mark, are this fill: the end of the log, not a torn write,
 * not damage. Zeros before the mark are damage as before. Older segments
 * hold no fill: a segment is cut to its data (and that fsynced) before the
 * next one is created, so a crash can leave a zero tail only in the newest.
 * Close cuts the active segment's fill too: closed files hold only records.
 * Reads stop at `Segment.written` (file-read-window.ts), and every size the
 * store counts (max_bytes, stats) is the data's, never the file's.
 *
 * A fill that fails (ENOSPC, EIO) fails no publish: it is counted
 * (`fillFailures`, `lastFillError`), the segment is not filled again, and
 * records are written past the filled end, growing the file as without
 * fill; if that write fails too, it is the writer's usual failure.
 */
import type { Segment } from './file-index.js';
import { type FileOps, writeAll } from './file-ops.js';

/** Default bytes of zeros written ahead at a time, at most (0 turns filling off). */
export const FILL_BYTES = 1024 * 1024;
/**
 * The least written ahead at a time: a fill is as large as the segment's
 * data so far, between this and `fillBytes`, so a stream that holds little
 * (a store per stream, many streams) keeps little fill on disk.
 */
export const FILL_MIN_BYTES = 64 * 1024;
/**
 * Rounds (one durable write each) averaging at least this many bytes are
 * not filled for: at that size the fill costs more than it saves (above).
 */
export const FILL_ROUND_BYTES = 192 * 1024;

/** The fill's counters (in the store's `stats`). */
export interface FillStats {
  /** Zero-fill writes made (each one durable). */
  fills: number;
  /** Bytes of zeros written ahead. */
  fillBytesWritten: number;
  /** Fills that failed (the segment was then not filled again). */
  fillFailures: number;
  /** Why the last fill failed, or null. */
  lastFillError: string | null;
  /** Bytes of unused fill cut from segments sealed by a roll. */
  fillBytesCut: number;
}

export function emptyFillStats(): FillStats {
  return { fills: 0, fillBytesWritten: 0, fillFailures: 0, lastFillError: null, fillBytesCut: 0 };
}

let zeros: Buffer | null = null;

function zeroBuf(len: number): Buffer {
  if (zeros === null || zeros.length < len) zeros = Buffer.alloc(len);
  return zeros.subarray(0, len);
}

export class SegmentFill {
  /** A segment whose fill failed: not filled again. */
  private off: Segment | null = null;

  constructor(
    private readonly ops: FileOps,
    /** Bytes per fill; 0: never fill. */
    private readonly bytes: number,
    private readonly segmentBytes: number,
    /** The descriptor is O_DSYNC: a write is durable when it returns. */
    private readonly dsync: boolean,
    private readonly stats: FillStats,
  ) {}

  /** Bytes of one fill of `seg` now. */
  private chunk(seg: Segment): number {
    return Math.min(this.bytes, Math.max(FILL_MIN_BYTES, seg.written));
  }

  /**
   * The fill under way, begun by `start`: its write runs beside the
   * writer's rounds, which write below `busyFrom` meanwhile (a round that
   * would reach it waits: `blocks`). One at a time.
   */
  private busy: Promise<void> | null = null;
  private busySeg: Segment | null = null;
  private busyFrom = 0;

  /** The rounds' bytes, a moving average over about four rounds. */
  private roundAvg = 0;

  /** Notes the bytes of a round just written (large rounds are not filled for). */
  round(bytes: number): void {
    this.roundAvg += (bytes - this.roundAvg) / 4;
  }

  /** Whether `seg` should be filled further now. */
  wanted(seg: Segment): boolean {
    if (this.bytes === 0 || seg.fd < 0 || seg === this.off || this.busy !== null) return false;
    if (this.roundAvg >= FILL_ROUND_BYTES) return false;
    const end = Math.max(seg.filled, seg.written);
    return end - seg.written < this.chunk(seg) / 2 && end < this.segmentBytes;
  }

  /**
   * Begins `fill(seg)` without waiting for it: at 1 KiB publishes a fill
   * (1 MiB, O_DSYNC) took a fifth of the writer's time between its rounds
   * (bench/PROFILE.md, "jspub (round 12)").
   */
  start(seg: Segment): void {
    this.busySeg = seg;
    this.busyFrom = Math.max(seg.filled, seg.written);
    this.busy = this.fill(seg).finally(() => {
      this.busy = null;
      this.busySeg = null;
    });
  }

  /** Whether a write of `len` bytes at `seg.written` would reach the fill under way. */
  blocks(seg: Segment, len: number): boolean {
    return this.busy !== null && this.busySeg === seg && seg.written + len > this.busyFrom;
  }

  /** Settled once no fill is under way. */
  idle(): Promise<void> {
    return this.busy ?? Promise.resolve();
  }

  /** Writes the next zeros past `seg.filled` (or its written end), durable. Never throws. */
  async fill(seg: Segment): Promise<void> {
    const from = Math.max(seg.filled, seg.written);
    const len = Math.min(this.chunk(seg), this.segmentBytes - from);
    if (len <= 0) return;
    try {
      await writeAll(this.ops, seg.fd, [zeroBuf(len)], from);
      if (!this.dsync) await this.ops.sync(seg.fd, true);
      this.stats.fills++;
      this.stats.fillBytesWritten += len;
    } catch (err) {
      this.stats.fillFailures++;
      this.stats.lastFillError = err instanceof Error ? err.message : String(err);
      this.off = seg;
    }
    // Even after a failure: some zeros may be there, and a roll must cut them.
    seg.filled = from + len;
  }

  /**
   * Cuts a segment being sealed back to its data and makes that durable
   * (before the next segment exists: see the file comment). Throws what
   * failed (the writer's usual failure then). True when it cut (one fsync).
   */
  async seal(seg: Segment): Promise<boolean> {
    await this.idle();
    if (seg.fd < 0 || seg.filled <= seg.written) return false;
    await this.ops.ftruncate(seg.fd, seg.written);
    await this.ops.sync(seg.fd, true);
    this.stats.fillBytesCut += seg.filled - seg.written;
    seg.filled = seg.written;
    return true;
  }
}
