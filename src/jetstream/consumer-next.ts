/**
 * Where a consumer is in its stream and what it delivers next: the cursor
 * (the next stream sequence not yet delivered; new messages come from
 * `store.next(cursor, filter)`), the start list (deliver policy
 * last_per_subject), the count of matching messages left (`num_pending`),
 * and the choice of the next message — a redelivery first, then the start
 * list, then the next new one — bounded by max_ack_pending. The consumer
 * (consumer.ts) owns it; its delivery loop (consumer-pump.ts) asks.
 */
import { subjectMatches } from '../core/subject.js';
import type { StoredMessage, StreamStore } from '../streams/store.js';
import type { AckPending } from './consumer-acks.js';
import { countFrom } from './consumer-position.js';
import type { NextMessage } from './consumer-pump.js';

export interface NextHost {
  /** The stream's store (read each time: the stream may be replaced). */
  streamStore(): StreamStore;
  /** The filter subject, '' for none. */
  filterSubject(): string;
  /** max_ack_pending; 0 or less: no bound. */
  maxAckPending(): number;
}

export class StreamCursor {
  /** The next stream sequence not yet delivered. */
  cursor = 1;
  /** Sequences to deliver before the cursor's, in order. */
  startSeqs: number[] = [];
  /** Matching messages at or after the cursor, as counted (see `next`). */
  pendingCount = 0;
  /** Messages stored since the consumer started (see `next`). */
  private storedCount = 0;

  constructor(
    private readonly host: NextHost,
    private readonly acks: AckPending,
  ) {}

  /** Messages left to deliver (consumer info's `num_pending`, the ack subject's last number). */
  get left(): number {
    return this.pendingCount + this.startSeqs.length;
  }

  /** A message was stored in the stream. */
  stored(seq: number, subject: string): void {
    this.storedCount++;
    const filter = this.host.filterSubject();
    if (seq >= this.cursor && (filter === '' || subjectMatches(filter, subject))) {
      this.pendingCount++;
    }
  }

  /** Counts the matching messages at or after the cursor. */
  async recount(): Promise<void> {
    const n = countFrom(this.host.streamStore(), this.host.filterSubject(), this.cursor);
    this.pendingCount = typeof n === 'number' ? n : await n;
  }

  /** Takes `n` if it is still next: state may have moved during a read. */
  take(n: NextMessage): boolean {
    const m = n.m;
    if (n.kind === 'redeliver') {
      const rdq = this.acks.rdq;
      if (rdq[0] !== m.seq || !this.acks.has(m.seq)) return false;
      rdq.shift();
      return true;
    }
    if (n.kind === 'start') {
      if (this.startSeqs[0] !== m.seq) return false;
      this.startSeqs.shift();
      return true;
    }
    return this.takeNew(m);
  }

  takeNew(m: StoredMessage): boolean {
    if (m.seq < this.cursor) return false;
    this.cursor = m.seq + 1;
    this.pendingCount = Math.max(0, this.pendingCount - 1);
    return true;
  }

  /** Whether max_ack_pending deliveries await their acks. */
  private full(): boolean {
    const max = this.host.maxAckPending();
    return max > 0 && this.acks.size >= max;
  }

  /**
   * The next new message when it can be had at once (nothing to redeliver
   * or to start from, the store answers synchronously), null when there is
   * none to deliver now, undefined when `next` must be asked.
   */
  nextNow(): StoredMessage | null | undefined {
    if (this.acks.rdq.length > 0 || this.startSeqs.length > 0) return undefined;
    if (this.full()) return null;
    const store = this.host.streamStore();
    if (store.nextNow === undefined) return undefined;
    const m = store.nextNow(this.cursor, this.host.filterSubject());
    if (m !== null) return m; // a message, or undefined: ask next
    // As in next: nothing left, so nothing is pending (read in this turn).
    this.pendingCount = 0;
    return null;
  }

  /** The next message to deliver, read asynchronously; null when none. */
  async next(): Promise<NextMessage | null> {
    const store = this.host.streamStore();
    const acks = this.acks;
    const rdq = acks.rdq;
    while (rdq.length > 0) {
      const seq = rdq[0]!;
      const m = acks.has(seq) ? await store.get(seq) : null;
      if (m !== null) return { m, kind: 'redeliver' };
      // Acked meanwhile, or removed from the stream: nothing to redeliver.
      if (rdq[0] === seq) rdq.shift();
      acks.drop(seq);
    }
    if (this.full()) return null;
    while (this.startSeqs.length > 0) {
      const seq = this.startSeqs[0]!;
      const m = await store.get(seq);
      if (m !== null) return { m, kind: 'start' };
      if (this.startSeqs[0] === seq) this.startSeqs.shift();
    }
    const seen = this.storedCount;
    const m = await store.next(this.cursor, this.host.filterSubject());
    if (m !== null) return { m, kind: 'new' };
    // Nothing left to deliver, so nothing is pending, whatever the count says:
    // messages counted when stored may have been removed since (limits,
    // rollups, purges). Unless one was stored during the read.
    if (this.storedCount === seen) this.pendingCount = 0;
    return null;
  }
}
