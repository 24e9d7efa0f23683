/**
 * A consumer's deliveries awaiting an ack: the pending set (per stream
 * sequence: its latest consumer sequence, deliveries, redelivery deadline
 * and stored time), the ack floor derived from it, and the redelivery
 * queue. The consumer (consumer.ts) decides what an ack means; this keeps
 * the bookkeeping consistent.
 *
 * The pending entries are not objects: an index from stream sequence to a
 * slot of four typed arrays (`PendingSlots`; the index is a ring over the
 * pending window, pending-index.ts). With thousands pending
 * (max_ack_pending 20,000) one object per delivery lived long enough to be
 * promoted and made the pull consumer spend 29 % in GC (bench/PROFILE.md,
 * "Issue 16 — jscons").
 *
 * Invariants: `slots` is in ascending stream sequence (entries are added
 * as the consumer's cursor moves forward, restored in that order, and a
 * redelivery updates its entry in place); `rdq` holds pending sequences due for
 * redelivery, first in, first out, each once; everything at or below
 * `floor.stream_seq` is acknowledged.
 */
import type { SeqPair } from './consumer-state.js';
import { PendingPacker } from './pending-codec.js';
import { PendingIndex } from './pending-index.js';

/** Where the consumer is: its last consumer sequence and its cursor (next stream sequence). */
export interface AckProgress {
  consumerSeq(): number;
  cursorSeq(): number;
}

/** Slots the arrays start with; they double when full. */
const FIRST_SLOTS = 64;
/** Arrays larger than this are given back when nothing is pending. */
const KEEP_SLOTS = 4096;

/**
 * The fields of the pending entries, one slot each, reused through a free
 * list. Bound: as many slots as were ever pending at once (max_ack_pending
 * when set), given back once nothing is pending.
 */
class PendingSlots {
  cseq = new Float64Array(FIRST_SLOTS);
  deliveries = new Float64Array(FIRST_SLOTS);
  deadline = new Float64Array(FIRST_SLOTS);
  time = new Float64Array(FIRST_SLOTS);
  private readonly free: number[] = [];
  private used = 0;

  alloc(): number {
    const f = this.free.pop();
    if (f !== undefined) return f;
    if (this.used === this.cseq.length) this.grow(this.used * 2);
    return this.used++;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  /** Nothing is pending: every slot is free (large arrays are given back). */
  reset(): void {
    this.free.length = 0;
    this.used = 0;
    if (this.cseq.length > KEEP_SLOTS) {
      this.cseq = new Float64Array(FIRST_SLOTS);
      this.deliveries = new Float64Array(FIRST_SLOTS);
      this.deadline = new Float64Array(FIRST_SLOTS);
      this.time = new Float64Array(FIRST_SLOTS);
    }
  }

  private grow(n: number): void {
    const more = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.cseq = more(this.cseq);
    this.deliveries = more(this.deliveries);
    this.deadline = more(this.deadline);
    this.time = more(this.time);
  }
}

export class AckPending {
  /** Stream sequence → slot, in ascending stream sequence (pending-index.ts). */
  private readonly slots = new PendingIndex();
  private readonly f = new PendingSlots();
  /**
   * The highest stream sequence ever made pending: one above it is not
   * pending, known without a lookup (bench/PROFILE.md, "Issue 16 — cons3").
   */
  private top = 0;
  /** Pending sequences due for redelivery, first in, first out (as nats-server's queue). */
  readonly rdq: number[] = [];
  /** Updated in place (no object per ack); readers copy it. */
  floor: SeqPair = { consumer_seq: 0, stream_seq: 0 };

  constructor(private readonly progress: AckProgress) {}

  get size(): number {
    return this.slots.size;
  }

  /** Pending entries moved out of the index's window (pending-index.ts). */
  get evicted(): number {
    return this.slots.evicted;
  }

  has(seq: number): boolean {
    return this.slots.get(seq) >= 0;
  }

  /** How often `seq` was delivered, 0 when it is not pending. */
  deliveries(seq: number): number {
    if (seq > this.top) return 0;
    const s = this.slots.get(seq);
    return s < 0 ? 0 : this.f.deliveries[s]!;
  }

  /** When pending `seq` is due for redelivery (ms), or undefined. */
  deadline(seq: number): number | undefined {
    const s = this.slots.get(seq);
    return s < 0 ? undefined : this.f.deadline[s];
  }

  /** Moves a pending sequence's redelivery deadline (nothing when it is not pending). */
  setDeadline(seq: number, ms: number): void {
    const s = this.slots.get(seq);
    if (s >= 0) this.f.deadline[s] = ms;
  }

  /**
   * A delivery now awaiting its ack: a new entry (`isNew`: the caller knows
   * `seq` is not pending), or a redelivery updating its entry.
   */
  delivered(
    seq: number,
    cseq: number,
    deliveries: number,
    deadline: number,
    time: number,
    isNew: boolean,
  ): void {
    let s = isNew ? -1 : this.slots.get(seq);
    if (s < 0) {
      s = this.f.alloc();
      this.slots.set(seq, s);
      if (seq > this.top) this.top = seq;
    }
    const f = this.f;
    f.cseq[s] = cseq;
    f.deliveries[s] = deliveries;
    f.deadline[s] = deadline;
    f.time[s] = time;
  }

  /**
   * Acknowledges `sseq` (and, with ack policy all, every pending sequence
   * below it); the sequences no longer pending are added to `done` when it
   * is given. Returns how many there were; the floor is updated.
   */
  ack(sseq: number, all: boolean, done: number[] | null): number {
    let n = 0;
    if (all) {
      // Ascending (see PendingIndex), collected first: deleting moves the ring.
      const below: number[] = [];
      const ix = this.slots;
      for (const seq of ix.behindEntries().keys()) if (seq <= sseq) below.push(seq);
      const last = Math.min(sseq, ix.ringLast);
      for (let seq = ix.ringFirst; seq <= last; seq++) if (ix.at(seq) >= 0) below.push(seq);
      for (const seq of below) {
        this.f.release(this.slots.delete(seq));
        done?.push(seq);
      }
      n = below.length;
    } else {
      const s = this.slots.delete(sseq);
      if (s >= 0) {
        this.f.release(s);
        done?.push(sseq);
        n = 1;
      }
    }
    if (n > 0) this.updateFloor();
    return n;
  }

  /**
   * Removes `sseq` (given up on, or gone from the stream) and its queued
   * redelivery; returns how often it was delivered, 0 if it was not pending.
   */
  drop(sseq: number): number {
    const s = this.slots.delete(sseq);
    if (s < 0) return 0;
    const deliveries = this.f.deliveries[s]!;
    this.f.release(s);
    const i = this.rdq.indexOf(sseq);
    if (i >= 0) this.rdq.splice(i, 1);
    this.updateFloor();
    return deliveries;
  }

  queueRedelivery(sseq: number): void {
    if (!this.rdq.includes(sseq)) this.rdq.push(sseq);
  }

  /** Pending sequences past their deadline and not yet queued, oldest first. */
  due(now: number): number[] {
    const due: number[] = [];
    const deadline = this.f.deadline;
    const ix = this.slots;
    for (const [seq, s] of ix.behindEntries()) {
      if (deadline[s]! <= now && !this.rdq.includes(seq)) due.push(seq);
    }
    const last = ix.ringLast;
    for (let seq = ix.ringFirst; seq <= last; seq++) {
      const s = ix.at(seq);
      if (s >= 0 && deadline[s]! <= now && !this.rdq.includes(seq)) due.push(seq);
    }
    return due.sort((a, b) => a - b);
  }

  /** Deliveries pending that were delivered more than once. */
  redelivered(): number {
    let n = 0;
    const d = this.f.deliveries;
    const ix = this.slots;
    for (const s of ix.behindEntries().values()) if (d[s]! > 1) n++;
    const last = ix.ringLast;
    for (let seq = ix.ringFirst; seq <= last; seq++) {
      const s = ix.at(seq);
      if (s >= 0 && d[s]! > 1) n++;
    }
    return n;
  }

  /** The pending entries as the state file keeps them: [stream seq, consumer seq, deliveries, time ms]. */
  toState(): [number, number, number, number][] {
    const out: [number, number, number, number][] = [];
    const f = this.f;
    const ix = this.slots;
    for (const [seq, s] of ix.behindEntries())
      out.push([seq, f.cseq[s]!, f.deliveries[s]!, f.time[s]!]);
    const last = ix.ringLast;
    for (let seq = ix.ringFirst; seq <= last; seq++) {
      const s = ix.at(seq);
      if (s >= 0) out.push([seq, f.cseq[s]!, f.deliveries[s]!, f.time[s]!]);
    }
    return out;
  }

  /**
   * The pending entries packed for the state file (pending-codec.ts), or
   * null when one does not fit the packing (then `toState`).
   */
  pack(): string | null {
    const p = new PendingPacker(this.slots.size);
    const f = this.f;
    const ix = this.slots;
    for (const [seq, s] of ix.behindEntries()) p.add(seq, f.cseq[s]!, f.deliveries[s]!, f.time[s]!);
    const last = ix.ringLast;
    for (let seq = ix.ringFirst; seq <= last; seq++) {
      const s = ix.at(seq);
      if (s >= 0) p.add(seq, f.cseq[s]!, f.deliveries[s]!, f.time[s]!);
    }
    return p.finish();
  }

  /** The ack floor: everything at or below it is acknowledged. */
  updateFloor(): void {
    const floor = this.floor;
    if (this.slots.size === 0) {
      this.slots.reset();
      this.f.reset();
      floor.consumer_seq = this.progress.consumerSeq();
      floor.stream_seq = Math.max(0, this.progress.cursorSeq() - 1);
      return;
    }
    // The oldest unacknowledged: O(1), not a scan (a scan made 20,000
    // pending acks crawl), and not a Map's iterator either (it steps over
    // deleted entries: see pending-order.ts).
    const min = this.slots.first()!;
    if (min - 1 > floor.stream_seq) {
      floor.consumer_seq = this.f.cseq[this.slots.get(min)]! - 1;
      floor.stream_seq = min - 1;
    }
  }
}
