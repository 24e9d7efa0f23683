/**
 * The file writer's queue: records in log order, each with the segment it
 * goes to, and the operations waiting for them to be durable, each a
 * callback and a number it is called back with (an append's sequence).
 * One writer round takes the whole queue as a batch (`take`). A callback,
 * not a promise, per operation: an append on the publish path costs one
 * array slot here, and a group commit settles its batch in one loop.
 */
import type { Segment } from './file-index.js';
import { recSeq, recType, T_MSG } from './file-record.js';

/** Called once: with null when the operation is durable, else with why it failed. */
export type WriteDone = (err: Error | null, arg: number) => void;

/** What one writer round writes and settles. */
export interface WriteBatch {
  bufs: Buffer[];
  segs: Segment[];
  done: WriteDone[];
  args: number[];
}

/** The callbacks of operations that will not be written, to be told why. */
export interface Waiters {
  done: WriteDone[];
  args: number[];
}

export class WriteQueue {
  private bufs: Buffer[] = [];
  private segs: Segment[] = [];
  private done: WriteDone[] = [];
  private args: number[] = [];

  /** Records queued. */
  get length(): number {
    return this.bufs.length;
  }

  /** The last record queued, if any. */
  get tail(): Buffer | undefined {
    return this.bufs[this.bufs.length - 1];
  }

  /** Queues a record for `seg` (whose size grows by it). */
  push(buf: Buffer, seg: Segment): void {
    seg.size += buf.length;
    this.bufs.push(buf);
    this.segs.push(seg);
  }

  /** Queues a waiter: settled once everything queued so far is durable. */
  wait(done: WriteDone, arg: number): void {
    this.done.push(done);
    this.args.push(arg);
  }

  /** Takes the whole queue as a batch; the queue is empty after. */
  take(): WriteBatch {
    const b: WriteBatch = { bufs: this.bufs, segs: this.segs, done: this.done, args: this.args };
    this.bufs = [];
    this.segs = [];
    this.done = [];
    this.args = [];
    return b;
  }

  /** Puts a batch that failed back at the head of the queue. */
  putBack(b: WriteBatch): void {
    this.bufs = b.bufs.concat(this.bufs);
    this.segs = b.segs.concat(this.segs);
    this.done = b.done.concat(this.done);
    this.args = b.args.concat(this.args);
  }

  /** Bytes queued. */
  bytes(): number {
    let n = 0;
    for (const b of this.bufs) n += b.length;
    return n;
  }

  /**
   * After a failure: drops every MSG record (`drop` hears each sequence),
   * keeps the rest (deletes, purges, META) and grows their segments' sizes
   * by them; returns every waiter, which will not be settled otherwise.
   */
  dropMessages(drop: (seq: number) => void): Waiters {
    const keptBufs: Buffer[] = [];
    const keptSegs: Segment[] = [];
    for (let i = 0; i < this.bufs.length; i++) {
      const buf = this.bufs[i]!;
      if (recType(buf, 0) === T_MSG) {
        drop(recSeq(buf, 0));
      } else {
        keptBufs.push(buf);
        keptSegs.push(this.segs[i]!);
        this.segs[i]!.size += buf.length;
      }
    }
    this.bufs = keptBufs;
    this.segs = keptSegs;
    const w: Waiters = { done: this.done, args: this.args };
    this.done = [];
    this.args = [];
    return w;
  }
}

/**
 * Settles every waiter of a batch. A callback that throws does not stop
 * the others (nor the writer): its error is thrown again on its own, as a
 * promise's reaction that throws would surface as an unhandled rejection.
 */
export function settleAll(w: Waiters, err: Error | null): void {
  const { done, args } = w;
  for (let k = 0; k < done.length; k++) {
    try {
      done[k]!(err, args[k]!);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}
