/**
 * A consumer's deliveries awaiting an ack: the pending set (per stream
 * sequence: its latest consumer sequence, deliveries, redelivery deadline
 * and stored time), the ack floor derived from it, and the redelivery
 * queue. The consumer (consumer.ts) decides what an ack means; this keeps
 * the bookkeeping consistent.
 *
 * Invariants: `map` is in ascending stream sequence (entries are added as
 * the consumer's cursor moves forward, restored in that order, and a
 * redelivery updates its entry in place), and `order` lists them in the
 * same order (pending-order.ts); `rdq` holds pending sequences due for
 * redelivery, first in, first out, each once; everything at or below
 * `floor.stream_seq` is acknowledged.
 */
import type { Pending, SeqPair } from './consumer-state.js';
import { PendingOrder } from './pending-order.js';

/** Where the consumer is: its last consumer sequence and its cursor (next stream sequence). */
export interface AckProgress {
  dseq(): number;
  cursor(): number;
}

export class AckPending {
  readonly map = new Map<number, Pending>();
  /** `map`'s sequences in delivery order, for the ack floor (pending-order.ts). */
  private readonly order = new PendingOrder();
  /** Pending sequences due for redelivery, first in, first out (as nats-server's queue). */
  readonly rdq: number[] = [];
  floor: SeqPair = { consumer_seq: 0, stream_seq: 0 };

  constructor(private readonly progress: AckProgress) {}

  get size(): number {
    return this.map.size;
  }

  /** A delivery now awaiting its ack (`isNew`: not a redelivery of an entry already here). */
  delivered(seq: number, p: Pending, isNew: boolean): void {
    this.map.set(seq, p);
    if (isNew) this.order.push(seq, this.map);
  }

  /**
   * Acknowledges `sseq` (and, with ack policy all, every pending sequence
   * below it); returns the sequences no longer pending, floor updated.
   */
  ack(sseq: number, all: boolean): number[] {
    const done: number[] = [];
    if (all) {
      // `map` is in ascending stream sequence.
      for (const seq of this.map.keys()) {
        if (seq > sseq) break;
        this.map.delete(seq);
        done.push(seq);
      }
    } else if (this.map.delete(sseq)) {
      done.push(sseq);
    }
    if (done.length > 0) this.updateFloor();
    return done;
  }

  /** Removes `sseq` (given up on, or gone from the stream) and its queued redelivery; its entry, if it was pending. */
  drop(sseq: number): Pending | undefined {
    const p = this.map.get(sseq);
    if (p === undefined) return undefined;
    this.map.delete(sseq);
    const i = this.rdq.indexOf(sseq);
    if (i >= 0) this.rdq.splice(i, 1);
    this.updateFloor();
    return p;
  }

  queueRedelivery(sseq: number): void {
    if (!this.rdq.includes(sseq)) this.rdq.push(sseq);
  }

  /** Pending sequences past their deadline and not yet queued, oldest first. */
  due(now: number): number[] {
    const due: number[] = [];
    for (const [seq, p] of this.map) {
      if (p.deadline <= now && !this.rdq.includes(seq)) due.push(seq);
    }
    return due.sort((a, b) => a - b);
  }

  /** Deliveries pending that were delivered more than once. */
  redelivered(): number {
    let n = 0;
    for (const p of this.map.values()) if (p.deliveries > 1) n++;
    return n;
  }

  /** The ack floor: everything at or below it is acknowledged. */
  updateFloor(): void {
    if (this.map.size === 0) {
      this.order.clear();
      this.floor = {
        consumer_seq: this.progress.dseq(),
        stream_seq: Math.max(0, this.progress.cursor() - 1),
      };
      return;
    }
    // The oldest unacknowledged is the first one delivered and still
    // pending: O(1) amortised per ack, not a scan (a scan made 20,000
    // pending acks crawl), and not the Map's iterator either (it steps over
    // deleted slots: see pending-order.ts).
    const min = this.order.first(this.map)!;
    if (min - 1 > this.floor.stream_seq) {
      this.floor = { consumer_seq: this.map.get(min)!.cseq - 1, stream_seq: min - 1 };
    }
  }
}
