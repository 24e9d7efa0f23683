/**
 * The file writer's queue: records in log order, each with the segment it
 * goes to, and the operations waiting for them to be durable, each a
 * callback and a number it is called back with (an append's sequence).
 * One writer round takes the whole queue as a batch (`take`).
 *
 * - Records are encoded in place (`claim`) into an arena, a buffer of
 *   ARENA_BYTES that successive records fill: consecutive records for one
 *   segment are one chunk, so a batch is written with one buffer per
 *   arena and segment, not one per record, and no buffer is allocated per
 *   record (bench/PROFILE.md, "Issue 16 — jspub", third round). A record
 *   over ARENA_BYTES / 4, or one the caller keeps (`pushOwn`), is a chunk
 *   of its own.
 * - An arena is used again once it is full and every chunk of it is
 *   written (`written`); at most ARENAS_FREE wait for reuse. An arena with
 *   a chunk in a batch that failed is never reused. Nothing outside the
 *   queue refers to an arena's bytes: reads go to the files.
 * - A callback, not a promise, per operation: an append on the publish
 *   path costs one array slot here, and a group commit settles its batch
 *   in one loop (`settleAll`).
 */
import type { Segment } from './file-index.js';
import { recLength, recSeq, recType, T_MSG } from './file-record.js';

/** The size of a record arena. */
export const ARENA_BYTES = 256 * 1024;
/** Written arenas kept for reuse. */
export const ARENAS_FREE = 2;

interface Arena {
  buf: Buffer;
  /** Bytes claimed. */
  used: number;
  /** Its chunks not yet written. */
  pending: number;
}

function newArena(): Arena {
  return { buf: Buffer.allocUnsafeSlow(ARENA_BYTES), used: 0, pending: 0 };
}

/**
 * The arena of a chunk in no arena (a record in a buffer of its own, a
 * batch put back): an object of the arenas' shape, not null, so `claim`'s
 * `cArena[n] === a` sees only arenas — a null there (a record in its own
 * buffer queued before one in an arena) deoptimised the optimised `claim` at a process's new
 * stream (bench/PROFILE.md, "xadd5 (round 13)"). Never counted or reused.
 */
const NO_ARENA: Arena = { buf: Buffer.alloc(0), used: 0, pending: 0 };

/** Called once: with null when the operation is durable, else with why it failed. */
export type WriteDone = (err: Error | null, arg: number) => void;

/**
 * The operations waiting for a batch (or, after a failure, for nothing):
 * the first `n` of `done` and `args` (the arrays may be longer: a settled
 * batch's arrays are reused by a later one, so they do not grow again
 * every round).
 */
export interface Waiters {
  done: (WriteDone | undefined)[];
  args: number[];
  n: number;
  /** Set by `settleAll`: the arrays may be reused. */
  settled?: boolean;
}

/** What one writer round writes and settles: chunks of records, each for one segment. */
export interface WriteBatch extends Waiters {
  bufs: Buffer[];
  segs: Segment[];
  /** The arena of each chunk, or NO_ARENA. */
  arenas: Arena[];
  /** Records in the chunks. */
  records: number;
}

export class WriteQueue {
  // Chunks: bytes [start, end) of buf, for seg.
  private cBuf: Buffer[] = [];
  private cStart: number[] = [];
  private cEnd: number[] = [];
  private cSeg: Segment[] = [];
  private cArena: Arena[] = [];
  private records = 0;
  private done: (WriteDone | undefined)[] = [];
  private args: number[] = [];
  /** Waiters queued: the first `nWait` of `done` and `args`. */
  private nWait = 0;
  /** The last batch taken: once settled, its waiter arrays serve the queue again. */
  private lastTaken: WriteBatch | null = null;
  private arena = newArena();
  /**
   * Written arenas for reuse: the first `nFree`. Made with its final kind
   * of elements (objects), so its hidden class never changes: an empty
   * `[]` changes it at its first push, in every queue, and the optimised
   * `claim` of the first store deoptimised at the next store's first
   * full arena (bench/PROFILE.md, "store4 (round 10)").
   */
  private readonly free: (Arena | null)[] = new Array<Arena | null>(ARENAS_FREE).fill(null);
  private nFree = 0;
  /** Arenas allocated (a full one is replaced by a free one when there is one). */
  allocated = 1;
  /** Where the last `claim` put its record: `buf` at `at`. */
  buf: Buffer = this.arena.buf;
  at = 0;

  /** Records queued. */
  get length(): number {
    return this.records;
  }

  /**
   * Room at the end of the queue for a record of `len` bytes for `seg`
   * (whose size grows by it): the caller writes it into `buf` at `at`
   * before anything else is queued.
   */
  claim(len: number, seg: Segment): void {
    seg.size += len;
    this.records++;
    if (len > ARENA_BYTES >> 2) {
      this.buf = Buffer.allocUnsafeSlow(len);
      this.at = 0;
      this.chunk(this.buf, 0, len, seg, NO_ARENA);
      return;
    }
    let a = this.arena;
    if (a.used + len > ARENA_BYTES) {
      a.used = ARENA_BYTES; // full: reusable once its chunks are written
      if (a.pending === 0) this.release(a);
      let next: Arena;
      if (this.nFree > 0) {
        next = this.free[--this.nFree]!;
        this.free[this.nFree] = null;
      } else {
        next = newArena();
        this.allocated++;
      }
      a = this.arena = next;
    }
    const at = a.used;
    a.used = at + len;
    this.buf = a.buf;
    this.at = at;
    const n = this.cBuf.length - 1;
    if (n >= 0 && this.cArena[n] === a && this.cSeg[n] === seg && this.cEnd[n] === at) {
      this.cEnd[n] = at + len;
    } else {
      a.pending++;
      this.chunk(a.buf, at, at + len, seg, a);
    }
  }

  /** Queues a record in a buffer of its own that the caller keeps (no copy). */
  pushOwn(rec: Buffer, seg: Segment): void {
    seg.size += rec.length;
    this.records++;
    this.buf = rec;
    this.at = 0;
    this.chunk(rec, 0, rec.length, seg, NO_ARENA);
  }

  private chunk(buf: Buffer, start: number, end: number, seg: Segment, a: Arena): void {
    this.cBuf.push(buf);
    this.cStart.push(start);
    this.cEnd.push(end);
    this.cSeg.push(seg);
    this.cArena.push(a);
  }

  /** A batch was written: its arenas' chunks are no longer needed. */
  written(b: WriteBatch): void {
    for (const a of b.arenas) {
      if (a !== NO_ARENA && --a.pending === 0 && a.used === ARENA_BYTES && a !== this.arena) {
        this.release(a);
      }
    }
  }

  private release(a: Arena): void {
    if (this.nFree >= ARENAS_FREE) return;
    a.used = 0;
    this.free[this.nFree++] = a;
  }

  /** Queues a record already encoded (a copy is queued). */
  push(rec: Buffer, seg: Segment): void {
    this.claim(rec.length, seg);
    rec.copy(this.buf, this.at);
  }

  /** Queues a waiter: settled once everything queued so far is durable. */
  wait(done: WriteDone, arg: number): void {
    const k = this.nWait++;
    this.done[k] = done;
    this.args[k] = arg;
  }

  /** The type and sequence of the last record queued, or null. */
  tail(): { type: number; seq: number } | null {
    const n = this.cBuf.length - 1;
    if (n < 0) return null;
    let off = this.cStart[n]!;
    const buf = this.cBuf[n]!;
    while (off + recLength(buf, off) < this.cEnd[n]!) off += recLength(buf, off);
    return { type: recType(buf, off), seq: recSeq(buf, off) };
  }

  /** Takes the whole queue as a batch; the queue is empty after. */
  take(): WriteBatch {
    const n = this.cBuf.length;
    const bufs = new Array<Buffer>(n);
    for (let i = 0; i < n; i++) bufs[i] = this.cBuf[i]!.subarray(this.cStart[i]!, this.cEnd[i]!);
    const b: WriteBatch = {
      bufs,
      segs: this.cSeg,
      arenas: this.cArena,
      records: this.records,
      done: this.done,
      args: this.args,
      n: this.nWait,
    };
    this.cBuf = [];
    this.cStart = [];
    this.cEnd = [];
    this.cSeg = [];
    this.cArena = [];
    this.records = 0;
    // One batch is in flight at a time: the one before it is settled by now
    // (unless it failed: then new arrays).
    const last = this.lastTaken;
    if (last !== null && last.settled === true) {
      this.done = last.done;
      this.args = last.args;
      last.n = 0;
    } else {
      this.done = [];
      this.args = [];
    }
    this.nWait = 0;
    this.lastTaken = b;
    return b;
  }

  /** Puts a batch that failed back at the head of the queue (its arenas are not reused). */
  putBack(b: WriteBatch): void {
    this.cArena = b.bufs.map((): Arena => NO_ARENA).concat(this.cArena);
    this.cBuf = b.bufs.concat(this.cBuf);
    this.cStart = b.bufs.map(() => 0).concat(this.cStart);
    this.cEnd = b.bufs.map((x) => x.length).concat(this.cEnd);
    this.cSeg = b.segs.concat(this.cSeg);
    this.records += b.records;
    this.done = b.done.slice(0, b.n).concat(this.done.slice(0, this.nWait));
    this.args = b.args.slice(0, b.n).concat(this.args.slice(0, this.nWait));
    this.nWait += b.n;
    // Its arrays are queued again here: never reused from the batch.
    b.settled = false;
  }

  /** Bytes queued. */
  bytes(): number {
    let n = 0;
    for (let i = 0; i < this.cBuf.length; i++) n += this.cEnd[i]! - this.cStart[i]!;
    return n;
  }

  /**
   * After a failure: drops every MSG record (`drop` hears each sequence),
   * keeps the rest (deletes, purges, META), in order, and grows their
   * segments' sizes by them; returns every waiter, which will not be
   * settled otherwise.
   */
  dropMessages(drop: (seq: number) => void): Waiters {
    const kept: { rec: Buffer; seg: Segment }[] = [];
    for (let i = 0; i < this.cBuf.length; i++) {
      const buf = this.cBuf[i]!;
      for (let off = this.cStart[i]!; off < this.cEnd[i]!; off += recLength(buf, off)) {
        if (recType(buf, off) === T_MSG) drop(recSeq(buf, off));
        else kept.push({ rec: buf.subarray(off, off + recLength(buf, off)), seg: this.cSeg[i]! });
      }
    }
    const w: Waiters = { done: this.done, args: this.args, n: this.nWait };
    this.take();
    // Its arrays are `w`'s: settled through `w`, never reused from the batch.
    this.lastTaken = null;
    for (const k of kept) this.push(k.rec, k.seg);
    return w;
  }
}

/**
 * Settles every waiter. A callback that throws does not stop the others
 * (nor the writer): its error is thrown again on its own, as a promise's
 * reaction that throws would surface as an unhandled rejection.
 */
export function settleAll(w: Waiters, err: Error | null): void {
  const { done, args, n } = w;
  for (let k = 0; k < n; k++) {
    const d = done[k]!;
    done[k] = undefined;
    try {
      d(err, args[k]!);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
  // After the last callback: only then may a later batch reuse the arrays.
  w.settled = true;
}
