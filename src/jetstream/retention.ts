/**
 * Retention by interest and as a work queue, as nats-server 2.9 applies
 * them (`limits` retention, the default, leaves everything to the stream's
 * limits and this module does nothing).
 *
 * - **workqueue**: a message is removed once a consumer acknowledges it.
 *   Consumers must ack explicitly and deliver all, and at most one consumer
 *   may match a subject, so each message has one owner.
 * - **interest**: a message is removed once every consumer whose filter
 *   matches it has acknowledged it (ack policy `none` acknowledges on
 *   delivery). A message that no consumer matches when it is stored is not
 *   kept: its sequence is used and the publisher gets its ack, as from
 *   nats-server's "skip". Deleting a consumer releases what only it held.
 *
 * A `+TERM` counts as an ack; a message that reaches `max_deliver` does not
 * (nats-server keeps it in the stream, and so do we).
 *
 * Consumers report what they no longer need through `acked`; whether a
 * consumer still needs a sequence is its own `needsAck`, so the rules above
 * read off each consumer's ack floor, cursor and pending set.
 */
import { subjectMatches } from '../core/subject.js';
import { type StoredMessage, StoreError } from '../streams/store.js';
import type { Stream } from '../streams/stream.js';
import { subjectsOverlap } from '../streams/stream-config.js';
import { StreamApiError } from '../streams/stream-errors.js';
import type { Consumer } from './consumer.js';
import type { ConsumerConfig } from './consumer-config.js';

/** The errors nats-server 2.9 returns when a consumer does not fit a work queue. */
export const RetentionErr = {
  WQRequiresExplicitAck: () =>
    new StreamApiError(400, 10098, 'workqueue stream requires explicit ack'),
  WQMultipleUnfiltered: () =>
    new StreamApiError(
      400,
      10099,
      'multiple non-filtered consumers not allowed on workqueue stream',
    ),
  WQConsumerNotUnique: () =>
    new StreamApiError(400, 10100, 'filtered consumer not unique on workqueue stream'),
  WQConsumerNotDeliverAll: () =>
    new StreamApiError(400, 10101, 'consumer must be deliver all on workqueue stream'),
} as const;

export interface RetentionHost {
  readonly stream: Stream;
  /** The stream's live consumers (a deleted one is no longer among them). */
  consumers(): Iterable<Consumer>;
  readonly log: { warn(msg: string): void; error(msg: string): void };
}

/** Removals in flight at once while a stream is re-examined (a consumer deleted, a restart). */
const REMOVE_BATCH = 1024;
/**
 * Messages examined per consumer after a restart, between its ack floor and
 * its cursor (where acks out of order leave acknowledged messages that a
 * crash may have kept). Beyond this the rest stays until acked again.
 */
const RESTORE_SCAN_LIMIT = 100_000;

function filterOf(c: Consumer | ConsumerConfig): string {
  const cfg = 'config' in c ? c.config : c;
  return cfg.filter_subject ?? '';
}

function matches(c: Consumer, subject: string): boolean {
  const f = filterOf(c);
  return f === '' || subjectMatches(f, subject);
}

export class Retention {
  constructor(private readonly host: RetentionHost) {}

  private get policy(): 'limits' | 'interest' | 'workqueue' {
    return this.host.stream.config.retention;
  }

  /**
   * Why a new consumer with `config` may not be added, or null. For a work
   * queue, in nats-server's order: explicit ack, one unfiltered consumer at
   * most, no two filters that a subject could match both, deliver all.
   * (nats-server 2.9 compares filters as subsets, so `a.*.c` and `a.b.*`
   * slip through there; here any overlap is refused, since both consumers
   * would then be given the same message.)
   */
  admit(config: ConsumerConfig): StreamApiError | null {
    if (this.policy !== 'workqueue') return null;
    if (config.ack_policy !== 'explicit') return RetentionErr.WQRequiresExplicitAck();
    const others = [...this.host.consumers()];
    if (others.length > 0) {
      const f = filterOf(config);
      if (f === '') return RetentionErr.WQMultipleUnfiltered();
      for (const o of others) {
        const of = filterOf(o);
        if (of === '' || subjectsOverlap(f, of)) return RetentionErr.WQConsumerNotUnique();
      }
    }
    if (config.deliver_policy !== 'all') return RetentionErr.WQConsumerNotDeliverAll();
    return null;
  }

  /**
   * Whether a message on `subject` would be kept: always, except under
   * interest retention with no consumer whose filter matches it.
   */
  wants(subject: string): boolean {
    if (this.policy !== 'interest') return true;
    for (const c of this.host.consumers()) if (matches(c, subject)) return true;
    return false;
  }

  /**
   * A message was stored. Returns false when retention removed it at once
   * (interest, and nobody to deliver it to).
   */
  stored(seq: number, subject: string): boolean {
    if (this.wants(subject)) return true;
    this.remove(seq);
    return false;
  }

  /** Whether `acked` does anything: not under limits retention. */
  get wantsAcked(): boolean {
    return this.policy !== 'limits';
  }

  /** Consumer `by` no longer needs these sequences (acked, terminated, or delivered with ack none). */
  acked(by: Consumer, seqs: readonly number[]): void {
    const policy = this.policy;
    if (policy === 'limits' || seqs.length === 0) return;
    if (policy === 'workqueue') {
      for (const seq of seqs) this.remove(seq);
      return;
    }
    const others = [...this.host.consumers()].filter((c) => c !== by);
    for (const seq of seqs) {
      // Kept if an unfiltered consumer needs it; gone if no consumer does; else
      // it depends on whether a filter that needs it matches: that takes the subject.
      let kept = false;
      let maybe = false;
      for (const c of others) {
        if (!c.needsAck(seq)) continue;
        if (filterOf(c) === '') {
          kept = true;
          break;
        }
        maybe = true;
      }
      if (kept) continue;
      if (!maybe) {
        this.remove(seq);
        continue;
      }
      this.host.stream.messages.get(seq).then(
        (m) => {
          if (m !== null && !this.neededBy(others, m)) this.remove(seq);
        },
        (err: unknown) => this.failed(`retention of ${seq}`, err),
      );
    }
  }

  /** Whether any of `cs` matches `m` and has yet to acknowledge it. */
  private neededBy(cs: Iterable<Consumer>, m: StoredMessage): boolean {
    for (const c of cs) if (matches(c, m.subject) && c.needsAck(m.seq)) return true;
    return false;
  }

  /**
   * Consumer `gone` was deleted. Under interest retention, whatever it
   * still held back and no other consumer needs goes now (as nats-server,
   * from its ack floor up).
   */
  async deleted(gone: Consumer): Promise<void> {
    if (this.policy !== 'interest') return;
    const store = this.host.stream.messages;
    const st = store.state();
    if (st.messages === 0) return;
    const rest = [...this.host.consumers()];
    if (rest.length === 0) {
      // Nobody left: nothing in an interest stream is wanted.
      await store.purge({});
      return;
    }
    // Unfiltered consumers need everything from their cursor on, so with only
    // those the scan can stop at the lowest cursor.
    const end = rest.every((c) => filterOf(c) === '')
      ? Math.min(...rest.map((c) => c.progress().cursor))
      : st.lastSeq + 1;
    const from = Math.max(gone.progress().ackFloor + 1, st.firstSeq);
    await this.sweep(from, end, '', Infinity, (m) => !this.neededBy(rest, m));
  }

  /**
   * After a restart: removes what a crash kept although it was settled (the
   * removal was not yet durable). Like nats-server, everything below the
   * lowest ack floor goes under interest retention; a work queue drops what
   * each consumer acknowledged below its own floor; then each consumer's
   * span between floor and cursor is examined for acks out of order. With no
   * consumers at all, nothing is removed (as nats-server).
   */
  async restored(): Promise<void> {
    const policy = this.policy;
    if (policy === 'limits') return;
    const store = this.host.stream.messages;
    const all = [...this.host.consumers()];
    if (all.length === 0 || store.state().messages === 0) return;
    if (policy === 'interest') {
      const floor = Math.min(...all.map((c) => c.progress().ackFloor));
      if (floor >= store.state().firstSeq) await store.purge({ upToSeq: floor + 1 });
    } else {
      for (const c of all) {
        const floor = c.progress().ackFloor;
        const f = filterOf(c);
        if (floor >= store.state().firstSeq) {
          await store.purge({ subject: f === '' ? undefined : f, upToSeq: floor + 1 });
        }
      }
    }
    for (const c of all) {
      const { ackFloor, cursor } = c.progress();
      const from = Math.max(ackFloor + 1, store.state().firstSeq);
      const settled =
        policy === 'workqueue'
          ? (m: StoredMessage) => !c.needsAck(m.seq)
          : (m: StoredMessage) => !this.neededBy(all, m);
      const seen = await this.sweep(from, cursor, filterOf(c), RESTORE_SCAN_LIMIT, settled);
      if (seen >= RESTORE_SCAN_LIMIT) {
        this.host.log.warn(
          `stream ${this.host.stream.name}: retention check of consumer ${c.name} after restart ` +
            `stopped after ${RESTORE_SCAN_LIMIT} messages`,
        );
      }
    }
  }

  /**
   * Walks the messages matching `filter` in [from, end), at most `limit` of
   * them, removing those `settled` says go. Returns how many it looked at.
   */
  private async sweep(
    from: number,
    end: number,
    filter: string,
    limit: number,
    settled: (m: StoredMessage) => boolean,
  ): Promise<number> {
    const store = this.host.stream.messages;
    let inFlight: Promise<boolean>[] = [];
    let seen = 0;
    for (let seq = from; seq < end && seen < limit; ) {
      if (this.host.stream.closed) break;
      const m = await store.next(seq, filter);
      if (m === null || m.seq >= end) break;
      seen++;
      seq = m.seq + 1;
      if (!settled(m)) continue;
      inFlight.push(store.remove(m.seq));
      if (inFlight.length >= REMOVE_BATCH) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
    return seen;
  }

  private remove(seq: number): void {
    if (this.host.stream.closed) return;
    this.host.stream.messages.remove(seq).catch((err: unknown) => {
      this.failed(`removing ${seq}`, err);
    });
  }

  private failed(what: string, err: unknown): void {
    // A stream closed meanwhile refuses removals; that is not worth a log
    // line. Nor is one whose disk refuses writes: the store said so once
    // (log and /healthz), and a line per ack would flood the log.
    if (this.host.stream.closed) return;
    if (err instanceof StoreError && err.code === 'unwritable') return;
    this.host.log.error(`stream ${this.host.stream.name}: ${what}: ${String(err)}`);
  }
}
