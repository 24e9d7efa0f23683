/**
 * Produce's append of one record batch to a local partition's stream, in
 * the request's turn (produce.ts), and the live publish of its records once
 * they are durable.
 */
import type { Subscriber } from '../../../core/message.js';
import type { MatchResult } from '../../../core/sublist.js';
import type { CapturedStream } from '../../../jetstream/service.js';
import { NO_PUB_HEADERS, type PubHeaders, readPubHeaders } from '../../../streams/headers.js';
import type { KafkaContext } from '../api.js';
import { headersOfRecord, type ProducerMark } from '../message-map.js';
import type { KafkaRecord, RecordBatch } from '../records.js';
import type { KafkaTopics, Partition } from '../topics.js';

const EMPTY = Buffer.alloc(0);

/**
 * Whether `router.deliver(interest, msg, origin)` may deliver to anyone:
 * a queue group, or a plain subscription not of `origin` (unless it echoes).
 */
function listened(interest: MatchResult, origin: Subscriber): boolean {
  if (interest.queues.length > 0) return true;
  const plain = interest.plain;
  for (let i = 0; i < plain.length; i++) {
    if (plain[i]!.owner !== origin || origin.echo) return true;
  }
  return false;
}

/**
 * The last plain header block built and its timestamp: a producer's
 * batches opened in the same millisecond share it (each was ~1 µs to
 * build, bench/PROFILE.md, "Issue 16 — kafka6 (round 12)"). The store
 * copies what it keeps, as it does the block a batch's records share.
 */
let lastPlainTs = -1n;
let lastPlain: Buffer = EMPTY;

/** The header block of a record with a value and no key or headers, at `ts`. */
export function plainHeaders(r: KafkaRecord, ts: bigint): Buffer {
  if (ts !== lastPlainTs) {
    lastPlain = headersOfRecord(r, ts, null);
    lastPlainTs = ts;
  }
  return lastPlain;
}

const copyValue = (v: Buffer): Buffer => (v.length === 0 ? EMPTY : Buffer.from(v));

/** Whether any record header's name starts with `Nats-` (any case). */
function mentionsNats(headers: readonly { key: string }[]): boolean {
  for (const x of headers) {
    if (x.key.length >= 5 && x.key.slice(0, 5).toLowerCase() === 'nats-') return true;
  }
  return false;
}

/**
 * Appends a batch's records in this turn (consecutive sequences, one
 * group-commit fsync) and, once they are durable, publishes each on the
 * partition's subject for live subscribers (the stream itself is the
 * origin, so it does not capture them twice). `first` is the offset the
 * first record takes; `durable` resolves to it once all are durable.
 */
export function appendBatch(
  ctx: KafkaContext,
  topics: KafkaTopics,
  p: Partition,
  b: RecordBatch,
): { first: number; durable: Promise<number> } {
  const cs: CapturedStream = p.cs;
  const h = b.header;
  const n = b.records.length;
  const mark: ProducerMark | null =
    h.producerId >= 0n
      ? {
          producerId: h.producerId,
          epoch: h.producerEpoch,
          firstSeq: h.baseSequence,
          lastSeq: h.baseSequence + n - 1,
        }
      : null;
  const first = cs.stream.state().lastSeq;
  // One clock read for the batch's records (the stream reads it per message otherwise).
  const now = Date.now();
  const heads = new Array<Buffer>(n);
  const values = new Array<Buffer>(n);
  const seqs = new Array<number>(n);
  const router = ctx.shared.host.router;
  const sublist = ctx.account!.sublist;
  // The records of a batch mostly share one timestamp and carry no key or
  // headers: their header block is the same bytes, built once (the store
  // copies what it keeps).
  let plainDelta = -1;
  let plain: Buffer | null = null;
  /** The values' copies for the listeners at append time (null: none). */
  let live: Buffer[] | null = null;
  return {
    first,
    // One settle count per batch, not a Promise.allSettled over a promise per record.
    durable: new Promise<number>((resolve, reject) => {
      let left = n;
      let refused: unknown = null;
      const finish = (stored: boolean): void => {
        for (let i = 0; stored && i < n; i++) {
          if (seqs[i] === undefined) continue;
          cs.consumers.stored(seqs[i]!, p.subject);
          // As router.publish (match, deliver), to the listeners there were
          // when the batch was appended (`live`, their copies of the values).
          if (live === null) continue;
          const interest = sublist.match(p.subject);
          if (!listened(interest, cs)) continue;
          router.deliver(
            interest,
            { subject: p.subject, reply: '', headers: heads[i]!, payload: live[i]! },
            cs,
          );
        }
        topics.appended(cs);
        if (refused !== null) reject(refused);
        else resolve(seqs[0]! - 1);
      };
      // An empty batch stores nothing and is refused, as before (KAFKA_STORAGE_ERROR).
      if (n === 0) return reject(new Error('an empty record batch'));
      let pubs: PubHeaders[] | null = null;
      for (let i = 0; i < n; i++) {
        const r = b.records[i]!;
        let headers: Buffer;
        if (
          r.key === null &&
          r.value !== null &&
          r.headers.length === 0 &&
          (mark === null || i !== n - 1)
        ) {
          // Same delta, same timestamp: no BigInt per record.
          if (plain === null || r.timestampDelta !== plainDelta) {
            plain = plainHeaders(r, h.baseTimestamp + BigInt(r.timestampDelta));
            plainDelta = r.timestampDelta;
          }
          headers = plain;
        } else {
          const ts = h.baseTimestamp + BigInt(r.timestampDelta);
          headers = headersOfRecord(r, ts, i === n - 1 ? mark : null);
          // Only a record header named Nats-* (a client's Nats-Msg-Id, say) is
          // one the stream reads; the face's own (Kafka-*) never are.
          if (mentionsNats(r.headers)) {
            pubs ??= new Array<PubHeaders>(n).fill(NO_PUB_HEADERS);
            pubs[i] = readPubHeaders(headers);
          }
        }
        heads[i] = headers;
        // A view of the request: the store copies what it keeps (both stores),
        // the live publish copies it only for a listener (`live`, below).
        values[i] = r.value ?? EMPTY;
      }
      // The values are views of the request's read, valid only in this turn
      // (a read of the shared read buffer, shared-read.ts): copied now for
      // the live publish once durable, only when someone other than the
      // stream listens (a copy, not a view: that would keep the whole read).
      live = listened(sublist.match(p.subject), cs) ? values.map(copyValue) : null;
      // The batch as one run (one notice, one commit: stream-run.ts) unless a
      // record carries publish headers or the stream cannot take a run.
      if (
        pubs === null &&
        cs.stream.storeNotifyRun(p.subject, heads, values, now, seqs, (failed, why) => {
          refused = failed ?? why;
          // A failed write stores none of them: no sequence to tell of.
          finish(failed === null);
        })
      ) {
        return;
      }
      const settle = (): void => {
        if (--left === 0) finish(true);
      };
      for (let i = 0; i < n; i++) {
        // Told in arrival order, never in this turn: no promise per record.
        cs.stream.storeNotify(
          p.subject,
          heads[i]!,
          values[i]!,
          (err, seq) => {
            if (err !== null) refused ??= err;
            // A duplicate (Nats-Msg-Id) is told with the original's sequence, as `store` resolves.
            else seqs[i] = seq;
            settle();
          },
          pubs === null ? NO_PUB_HEADERS : pubs[i]!,
          now,
        );
      }
    }),
  };
}
