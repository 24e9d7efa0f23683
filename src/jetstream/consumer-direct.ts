/**
 * A pull consumer read and acknowledged in process, by stream sequence,
 * without messages: for a reader on this node that keeps its own state
 * (the Redis consumer groups, src/protocols/redis/groups/feed.ts).
 *
 * `takeNow(batch)` is what a no-wait pull of `batch` delivers now — the
 * redelivery queue first, then the messages after the cursor — each
 * registered as pending exactly as the consumer's `send` registers a
 * delivery (delivery count, consumer sequence, ack-wait deadline,
 * max_ack_pending, the state file), without a pull request, a reply
 * subject, a `Message` or the router. It answers only what it can answer
 * at once, in the order the message path would deliver: it stops, and
 * says so (`more`), at a message that needs a read from disk, at the start
 * list (deliver policy last_per_subject), and takes nothing while a pull
 * request waits (it would go first on the message path). The caller then
 * asks the message path (a `CONSUMER.MSG.NEXT`) for the rest.
 *
 * `ackSeqs(seqs, kind)` is the consumer's ack switch for `+ACK` and
 * `-NAK` (no delay) by stream sequence: no `$JS.ACK…` subject built and
 * parsed per entry, one state save for all, and one delivery kick when a
 * pull request waits (what an ack or a NAK frees is for it).
 *
 * Why: the Redis group's read and ack went through the message path — a
 * JSON pull request per XREADGROUP, an ack subject, a message and a router
 * delivery per entry, an ack subject built and parsed per XACKed entry
 * (bench/PROFILE.md, "Issue 16 — rgroup (round 5)" and "rgdirect (round 7)").
 */
import type { StoredMessage, StreamStore } from '../streams/store.js';
import type { AckPending } from './consumer-acks.js';
import type { StreamCursor } from './consumer-next.js';

/**
 * The consumer's parts this needs: the consumer itself (consumer.ts,
 * `Consumer.direct`), its methods shared on its prototype, so every group's
 * calls here have one target (not closures made per consumer, which V8
 * deoptimised this file for at each new group: bench/PROFILE.md, "Issue 16 —
 * deopt (round 9)").
 */
export interface DirectHost {
  /** Closed, or a push consumer: nothing is taken or acked here. */
  directClosed(): boolean;
  /** Pull requests waiting (they are served first, by the message path). */
  waitingPulls(): number;
  readonly pos: StreamCursor;
  readonly acks: AckPending;
  /** The filter subject, '' for none. */
  filterSubject(): string;
  streamStore(): StreamStore;
  /** Registers a delivery as `send` does (pending, counts, deadline). */
  register(m: StoredMessage, now: number): void;
  /** `+ACK` of one stream sequence. */
  acked(sseq: number, now: number): void;
  /** `-NAK` of one stream sequence (here without delay). */
  nak(sseq: number, delayMs: number, now: number): void;
  /** The consumer was used (for inactivity). */
  touched(now: number): void;
  /** State changed: save it; `kick`: let the delivery loop look again. */
  stateChanged(kick: boolean): void;
}

/** What `takeNow` took, and whether the message path may have more now. */
export interface Taken {
  readonly got: StoredMessage[];
  /**
   * True when it stopped before `batch` at something only the message path
   * answers (a read from disk, the start list, a waiting pull request);
   * false when `got` is all a no-wait pull would deliver now.
   */
  readonly more: boolean;
}

const NONE: Taken = { got: [], more: false };

export class DirectConsumer {
  constructor(private readonly host: DirectHost) {}

  /** Up to `batch` messages delivered now, in the message path's order (see the file's comment). */
  takeNow(batch: number): Taken {
    const host = this.host;
    if (host.directClosed()) return NONE;
    if (host.waitingPulls() > 0) return { got: [], more: true };
    const got: StoredMessage[] = [];
    const now = Date.now();
    let more = false;
    const rdq = host.acks.rdq;
    // Redeliveries first (max_ack_pending does not hold them back), as `next` does.
    while (got.length < batch && rdq.length > 0) {
      const seq = rdq[0]!;
      if (!host.acks.has(seq)) {
        // Acked meanwhile: nothing to redeliver.
        rdq.shift();
        host.acks.drop(seq);
        continue;
      }
      const m = host.streamStore().nextNow?.(seq, host.filterSubject());
      if (m === undefined || m === null || m.seq !== seq) {
        // A read, or gone from the stream: the message path's (`next`) to settle.
        more = true;
        break;
      }
      rdq.shift();
      host.register(m, now);
      got.push(m);
    }
    if (!more && got.length < batch && host.pos.startSeqs.length > 0) more = true;
    while (!more && got.length < batch) {
      const m = host.pos.nextNow();
      if (m === null) break;
      if (m === undefined) {
        more = true;
        break;
      }
      if (!host.pos.takeNew(m)) break;
      host.register(m, now);
      got.push(m);
    }
    if (got.length > 0) {
      host.touched(now);
      host.stateChanged(false);
    }
    return { got, more };
  }

  /** `+ACK` or `-NAK` of these stream sequences, in order; one save and one kick. */
  ackSeqs(seqs: readonly number[], kind: 'ack' | 'nak'): void {
    const host = this.host;
    if (seqs.length === 0 || host.directClosed()) return;
    const now = Date.now();
    host.touched(now);
    if (kind === 'ack') for (const seq of seqs) host.acked(seq, now);
    else for (const seq of seqs) host.nak(seq, 0, now);
    // The delivery loop serves pull requests only (never a push consumer
    // here): with none waiting, a kick would be a round with nothing to do.
    host.stateChanged(host.waitingPulls() > 0);
  }
}
