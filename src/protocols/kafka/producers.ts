/**
 * Idempotent producers (KIP-98): producer ids from InitProducerId, and the
 * sequence check of each batch per partition, as Kafka 3.x's
 * ProducerAppendInfo.checkSequence does it:
 *
 * - a batch already stored (one of the last PRODUCER_BATCHES_KEPT of that
 *   producer on that partition): answered with success and the offset it got
 *   the first time, nothing stored again (Kafka's duplicate batch);
 * - an older one, below what is kept: DUPLICATE_SEQUENCE_NUMBER (the client
 *   counts it a success, Sender.java);
 * - a gap, or a new epoch not starting at 0: OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - an epoch below the producer's: INVALID_PRODUCER_EPOCH;
 * - a producer this partition knows nothing of (new, or its records are
 *   gone): any sequence is taken, as Kafka does.
 *
 * Durable: the last record of each idempotent batch carries a
 * Kafka-Producer header (message-map.ts); after a restart the state of a
 * producer is found again by reading back at most PRODUCER_SCAN_MAX
 * messages of the partition, the first time that producer writes to it.
 *
 * Producer ids are unique without a stored counter: 41 bits of ms since
 * 2024, 10 bits of the node id, 12 bits of a counter within the ms.
 */
import type { CapturedStream } from '../../jetstream/service.js';
import { producerMarkOf } from './message-map.js';

/** Batches remembered per producer and partition (Kafka's NUM_BATCHES_TO_RETAIN). */
export const PRODUCER_BATCHES_KEPT = 5;
/** Producer states held (producer × partition); past it the least recently used goes. */
export const PRODUCER_STATES_MAX = 100_000;
/** Messages read back from a partition's end to find a producer's state after a restart. */
export const PRODUCER_SCAN_MAX = 10_000;
const EPOCH_2024 = 1_704_067_200_000;

export const SeqErr = {
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
} as const;

interface KeptBatch {
  firstSeq: number;
  lastSeq: number;
  /** Offset of its first record. */
  baseOffset: number;
}

interface ProducerState {
  epoch: number;
  lastSeq: number;
  batches: KeptBatch[];
}

/** What to do with a batch. */
export type SeqVerdict =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number }
  | { kind: 'error'; code: number; message: string };

const APPEND: SeqVerdict = { kind: 'append' };

export interface ProducerCounters {
  producerIds: number;
  duplicates: number;
  outOfOrder: number;
  statesEvicted: number;
  statesRecovered: number;
}

export class Producers {
  private readonly states = new Map<string, ProducerState>();
  private lastMs = 0;
  private counter = 0;
  readonly counters: ProducerCounters = {
    producerIds: 0,
    duplicates: 0,
    outOfOrder: 0,
    statesEvicted: 0,
    statesRecovered: 0,
  };

  /** ms since 2024 when this process started: ids minted later have no marks from before. */
  private readonly startedMs = Date.now() - EPOCH_2024;
  private readonly startedMsBig = BigInt(this.startedMs);

  constructor(private readonly nodeId: () => number) {}

  /** A new producer id, unique on this node and across nodes with other ids. */
  newProducerId(): bigint {
    let ms = Math.max(Date.now() - EPOCH_2024, this.lastMs);
    if (ms === this.lastMs) {
      if (++this.counter >= 4096) {
        ms++;
        this.counter = 0;
      }
    } else this.counter = 0;
    this.lastMs = ms;
    this.counters.producerIds++;
    return (BigInt(ms) << 22n) | (BigInt(this.nodeId() & 0x3ff) << 12n) | BigInt(this.counter);
  }

  private key(cs: CapturedStream, pid: bigint): string {
    return `${cs.id}/${pid}`;
  }

  /**
   * Checks a batch of `count` records from `pid`/`epoch` starting at
   * `firstSeq`: in this turn when the producer's state is here or cannot be
   * in the partition (the produce path then appends with no await), else
   * after reading the partition back once (a producer from before a restart).
   */
  check(
    cs: CapturedStream,
    pid: bigint,
    epoch: number,
    firstSeq: number,
    count: number,
  ): SeqVerdict | Promise<SeqVerdict> {
    const k = this.key(cs, pid);
    const s = this.states.get(k);
    if (s === undefined && pid >> 22n <= this.startedMsBig) {
      return this.recover(cs, pid).then((r) => {
        if (r !== null) this.remember(k, r);
        return this.verdict(r ?? undefined, pid, epoch, firstSeq, count);
      });
    }
    return this.verdict(s, pid, epoch, firstSeq, count);
  }

  private verdict(
    s: ProducerState | undefined,
    pid: bigint,
    epoch: number,
    firstSeq: number,
    count: number,
  ): SeqVerdict {
    if (s === undefined) return APPEND;
    if (epoch < s.epoch) {
      return {
        kind: 'error',
        code: SeqErr.INVALID_PRODUCER_EPOCH,
        message: `Producer's epoch ${epoch} is older than the current ${s.epoch}`,
      };
    }
    const lastSeq = firstSeq + count - 1;
    if (epoch > s.epoch) {
      if (firstSeq === 0) return APPEND;
      this.counters.outOfOrder++;
      return {
        kind: 'error',
        code: SeqErr.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `Invalid sequence number for new epoch of producer ${pid}: ${epoch} (request epoch), ${firstSeq} (seq. number), ${s.epoch} (current producer epoch)`,
      };
    }
    const dup = s.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
    if (dup !== undefined) {
      this.counters.duplicates++;
      return { kind: 'duplicate', baseOffset: dup.baseOffset };
    }
    if (firstSeq === s.lastSeq + 1 || (firstSeq === 0 && s.lastSeq === 0x7fffffff)) {
      return APPEND;
    }
    if (lastSeq <= s.lastSeq && firstSeq >= 0) {
      this.counters.duplicates++;
      return {
        kind: 'error',
        code: SeqErr.DUPLICATE_SEQUENCE_NUMBER,
        message: `Duplicate sequence ${firstSeq}..${lastSeq} of producer ${pid}: already stored (last ${s.lastSeq})`,
      };
    }
    this.counters.outOfOrder++;
    return {
      kind: 'error',
      code: SeqErr.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `Out of order sequence number for producer ${pid}: ${firstSeq} (incoming seq. number), ${s.lastSeq} (current end sequence number)`,
    };
  }

  /** A batch was stored at `baseOffset`. */
  stored(
    cs: CapturedStream,
    pid: bigint,
    epoch: number,
    firstSeq: number,
    count: number,
    baseOffset: number,
  ): void {
    const k = this.key(cs, pid);
    let s = this.states.get(k);
    if (s === undefined || epoch > s.epoch) s = { epoch, lastSeq: -1, batches: [] };
    s.lastSeq = firstSeq + count - 1;
    s.batches.push({ firstSeq, lastSeq: s.lastSeq, baseOffset });
    if (s.batches.length > PRODUCER_BATCHES_KEPT) s.batches.shift();
    this.remember(k, s);
  }

  private remember(k: string, s: ProducerState): void {
    this.states.delete(k);
    this.states.set(k, s);
    if (this.states.size > PRODUCER_STATES_MAX) {
      const oldest = this.states.keys().next().value as string;
      this.states.delete(oldest);
      this.counters.statesEvicted++;
    }
  }

  /** The producer's latest mark in the partition's last PRODUCER_SCAN_MAX messages. */
  private async recover(cs: CapturedStream, pid: bigint): Promise<ProducerState | null> {
    const st = cs.stream.state();
    const stop = Math.max(st.firstSeq, st.lastSeq - PRODUCER_SCAN_MAX + 1);
    for (let seq = st.lastSeq; seq >= stop; seq--) {
      const m = await cs.stream.messages.get(seq);
      if (m === null) continue;
      const mark = producerMarkOf(m.headers);
      if (mark === null || mark.producerId !== pid) continue;
      this.counters.statesRecovered++;
      const baseOffset = seq - 1 - (mark.lastSeq - mark.firstSeq);
      return {
        epoch: mark.epoch,
        lastSeq: mark.lastSeq,
        batches: [{ firstSeq: mark.firstSeq, lastSeq: mark.lastSeq, baseOffset }],
      };
    }
    return null;
  }

  /** A batch taken as stored failed: forget what this partition knows of the producer (it re-learns). */
  drop(cs: CapturedStream, pid: bigint): void {
    this.states.delete(this.key(cs, pid));
  }

  /** A partition's stream is gone: forget its producers. */
  forget(cs: CapturedStream): void {
    const prefix = `${cs.id}/`;
    for (const k of this.states.keys()) if (k.startsWith(prefix)) this.states.delete(k);
  }
}
