/**
 * Produce (key 0, v3–v9): record batches v2 into partition streams.
 *
 * Per partition, in this order, nothing stored until every check passed:
 * the topic and partition exist (or are auto-created), the client may
 * publish on the partition's subject, every batch splits, has magic 2, a
 * good CRC-32C and decompresses within bounds (else CORRUPT_MESSAGE), no
 * record is larger than the node's max_payload or the topic's
 * max.message.bytes (MESSAGE_TOO_LARGE), the idempotent producer's sequence
 * is next (producers.ts). Then every record is appended in the same turn
 * (numbered consecutively, one group-commit fsync) and published on the
 * partition's subject for live subscribers on every node; the answer waits
 * until the appends are durable under the stream's sync policy, whatever
 * `acks` says (acks=0 gets no answer, as Kafka). A record the stream
 * refuses mid-batch (a discard-new limit of a stream made by another face)
 * fails the partition with the stream's error; the records before it stay
 * stored (docs/kafka.md, "Produce").
 */
import type { Subscriber } from '../../../core/message.js';
import type { MatchResult } from '../../../core/sublist.js';
import type { CapturedStream } from '../../../jetstream/service.js';
import { NO_PUB_HEADERS, readPubHeaders } from '../../../streams/headers.js';
import { StreamApiError } from '../../../streams/stream-errors.js';
import { type ApiHandler, type KafkaContext, Later } from '../api.js';
import { canAdmin, canProduce, canPublishOn } from '../authz.js';
import { KafkaError } from '../errors.js';
import { headersOfRecord, type ProducerMark } from '../message-map.js';
import type { Producers } from '../producers.js';
import { decodeBatch, type RecordBatch, splitBatches } from '../records.js';
import {
  DEFAULT_SETTINGS,
  type KafkaTopics,
  type Partition,
  type RemotePartition,
  type Topic,
} from '../topics.js';
import { KafkaCodecError } from '../wire.js';

interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topicData: { name: string; partitionData: { index: number; records: Buffer | null }[] }[];
}

interface PartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
  errorMessage: string | null;
}

export interface ProduceCounters {
  recordsIn: number;
  batchesCorrupt: number;
  recordsTooLarge: number;
  produceDenied: number;
}

export function produceHandler(
  topics: KafkaTopics,
  producers: Producers,
  counters: ProduceCounters,
): ApiHandler<ProduceRequest> {
  return {
    key: 0,
    name: 'Produce',
    minVersion: 3,
    maxVersion: 9,
    async handle(ctx, req) {
      if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) {
        return answerAll(
          req,
          KafkaError.INVALID_REQUIRED_ACKS,
          `acks ${req.acks} is not 0, 1 or -1`,
        );
      }
      const account = ctx.account!;
      const responses: Promise<{ name: string; partitionResponses: PartitionResponse[] }>[] = [];
      for (const t of req.topicData) {
        let topic = topics.find(account, t.name);
        if (
          topic === null &&
          ctx.shared.host.options.kafkaAutoCreateTopics &&
          canAdmin(ctx, 'CREATE', t.name, 0, 1)
        ) {
          topic = await topics
            .create(account, t.name, 1, DEFAULT_SETTINGS)
            .catch(() => topics.find(account, t.name));
        }
        const partitionResponses: Promise<PartitionResponse>[] = [];
        const remote = topic === null && topics.remoteHas(account, t.name);
        for (const pd of t.partitionData) {
          if (remote) {
            const rp = await topics.remotePartition(account, t.name, pd.index).catch(() => null);
            partitionResponses.push(produceRemote(ctx, topics, counters, req, t.name, rp, pd));
          } else {
            const w = await produceTo(ctx, topics, producers, counters, req, topic, pd);
            partitionResponses.push(w.done);
          }
        }
        responses.push(
          Promise.all(partitionResponses).then((p) => ({ name: t.name, partitionResponses: p })),
        );
      }
      // The records are appended: the next request may start; the answer waits for durability.
      return new Later(
        Promise.all(responses).then((r) =>
          req.acks === 0 ? null : { responses: r, throttleTimeMs: 0 },
        ),
      );
    },
  };
}

function settled(r: PartitionResponse): { done: Promise<PartitionResponse> } {
  return { done: Promise.resolve(r) };
}

function answerAll(req: ProduceRequest, errorCode: number, errorMessage: string) {
  return {
    throttleTimeMs: 0,
    responses: req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => failed(p.index, errorCode, errorMessage)),
    })),
  };
}

function failed(index: number, errorCode: number, errorMessage: string | null): PartitionResponse {
  return {
    index,
    errorCode,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorMessage,
  };
}

async function produceTo(
  ctx: KafkaContext,
  topics: KafkaTopics,
  producers: Producers,
  counters: ProduceCounters,
  req: ProduceRequest,
  topic: Topic | null,
  pd: { index: number; records: Buffer | null },
): Promise<{ done: Promise<PartitionResponse> }> {
  const p: Partition | undefined = topic?.partitions[pd.index];
  if (topic === null || p === undefined) {
    return settled(
      failed(
        pd.index,
        KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
        'This server does not host this topic-partition.',
      ),
    );
  }
  if (p.subject === '') {
    return settled(
      failed(
        pd.index,
        KafkaError.POLICY_VIOLATION,
        'The stream captures no subject (a mirror): it cannot be produced to',
      ),
    );
  }
  if (!canProduce(ctx, p)) {
    counters.produceDenied++;
    return settled(
      failed(pd.index, KafkaError.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'),
    );
  }
  if (req.transactionalId !== null) {
    return settled(
      failed(
        pd.index,
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        'Transactions are not supported',
      ),
    );
  }
  const cs = p.cs;
  const batches = decodeAll(ctx, counters, cs.stream.config.max_msg_size, pd);
  if (!Array.isArray(batches)) return settled(batches);
  // Appended now, in request order; answered once durable.
  const writes: { count: number; durable: Promise<number> | null; first: number }[] = [];
  for (const b of batches) {
    const h = b.header;
    const idempotent = h.producerId >= 0n;
    if (idempotent) {
      const v = await producers.check(
        cs,
        h.producerId,
        h.producerEpoch,
        h.baseSequence,
        b.records.length,
      );
      if (v.kind === 'duplicate') {
        writes.push({ count: 0, durable: null, first: v.baseOffset });
        continue;
      }
      if (v.kind === 'error') return settled(failed(pd.index, v.code, v.message));
    }
    const w = appendBatch(ctx, topics, p, b);
    if (idempotent) {
      // Taken as stored now, so a pipelined next batch checks against it; forgotten if it fails.
      producers.stored(
        cs,
        h.producerId,
        h.producerEpoch,
        h.baseSequence,
        b.records.length,
        w.first,
      );
      w.durable.catch(() => producers.drop(cs, h.producerId));
    }
    writes.push({ count: b.records.length, durable: w.durable, first: w.first });
  }
  const done = (async (): Promise<PartitionResponse> => {
    let baseOffset = -1;
    for (const w of writes) {
      let first = w.first;
      if (w.durable !== null) {
        try {
          first = await w.durable;
        } catch (err) {
          // A limit (4xx) is not worth retrying; a store failure (5xx) may be.
          const e = err instanceof StreamApiError ? err : null;
          const code =
            e !== null && e.code < 500
              ? KafkaError.POLICY_VIOLATION
              : KafkaError.KAFKA_STORAGE_ERROR;
          return failed(pd.index, code, e?.message ?? 'the stream refused the batch');
        }
        counters.recordsIn += w.count;
      }
      if (baseOffset < 0) baseOffset = first;
    }
    return {
      index: pd.index,
      errorCode: 0,
      baseOffset: BigInt(baseOffset),
      logAppendTimeMs: -1n,
      logStartOffset: BigInt(cs.stream.state().firstSeq - 1),
      recordErrors: [],
      errorMessage: null,
    };
  })();
  return { done };
}

/** Every batch of a partition's records, checked (CRC, framing, sizes), or the answer refusing them all. */
function decodeAll(
  ctx: KafkaContext,
  counters: ProduceCounters,
  streamMax: number,
  pd: { index: number; records: Buffer | null },
): RecordBatch[] | PartitionResponse {
  const opts = ctx.shared.host.options;
  const idMax = ctx.who.payloadMax;
  let recordMax = opts.maxPayload;
  if (streamMax > 0) recordMax = Math.min(recordMax, streamMax);
  if (idMax > 0) recordMax = Math.min(recordMax, idMax);
  // Decode everything first: a bad batch stores nothing.
  const batches: RecordBatch[] = [];
  try {
    if (pd.records === null) throw new KafkaCodecError('CORRUPT_RECORDS', 'no records');
    for (const b of splitBatches(pd.records)) {
      batches.push(decodeBatch(b, { maxBytes: Math.max(opts.kafkaMaxRequestBytes, recordMax) }));
    }
  } catch (err) {
    counters.batchesCorrupt++;
    return failed(pd.index, KafkaError.CORRUPT_MESSAGE, (err as Error).message);
  }
  for (const b of batches) {
    if ((b.header.attributes & 0x30) !== 0) {
      return failed(
        pd.index,
        KafkaError.INVALID_RECORD,
        'Transactional and control batches are not supported',
      );
    }
    for (const r of b.records) {
      const size = (r.value?.length ?? 0) + (r.key?.length ?? 0);
      if (size > recordMax) {
        counters.recordsTooLarge++;
        return failed(
          pd.index,
          KafkaError.MESSAGE_TOO_LARGE,
          `A record of ${size} bytes is larger than the ${recordMax} bytes a message may have here (max_payload / max.message.bytes)`,
        );
      }
    }
  }
  return batches;
}

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
function appendBatch(
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
  return {
    first,
    // One settle count per batch, not a Promise.allSettled over a promise per record.
    durable: new Promise<number>((resolve, reject) => {
      let left = n;
      let refused: unknown = null;
      const settle = (): void => {
        if (--left > 0) return;
        for (let i = 0; i < n; i++) {
          if (seqs[i] === undefined) continue;
          cs.consumers.stored(seqs[i]!, p.subject);
          // As router.publish (match, deliver), but the value is copied out of
          // the request's read buffer only when someone other than the stream
          // listens: a view would keep that whole buffer alive.
          const interest = sublist.match(p.subject);
          if (!listened(interest, cs)) continue;
          const v = values[i]!;
          const payload = v.length === 0 ? EMPTY : Buffer.from(v);
          router.deliver(
            interest,
            { subject: p.subject, reply: '', headers: heads[i]!, payload },
            cs,
          );
        }
        topics.appended(cs);
        if (refused !== null) reject(refused);
        else resolve(seqs[0]! - 1);
      };
      const onRefused = (err: unknown): void => {
        refused ??= err;
        settle();
      };
      // An empty batch stores nothing and is refused, as before (KAFKA_STORAGE_ERROR).
      if (n === 0) reject(new Error('an empty record batch'));
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
            plain = headersOfRecord(r, h.baseTimestamp + BigInt(r.timestampDelta), null);
            plainDelta = r.timestampDelta;
          }
          headers = plain;
        } else {
          const ts = h.baseTimestamp + BigInt(r.timestampDelta);
          headers = headersOfRecord(r, ts, i === n - 1 ? mark : null);
        }
        // A view of the request: the store copies what it keeps (both stores),
        // the live publish copies it only for a listener (settle, above).
        const payload = r.value ?? EMPTY;
        // Only a record header named Nats-* (a client's Nats-Msg-Id, say) is
        // one the stream reads; the face's own (Kafka-*) never are.
        const pub = mentionsNats(r.headers) ? readPubHeaders(headers) : NO_PUB_HEADERS;
        heads[i] = headers;
        values[i] = payload;
        // Told in arrival order, never in this turn: no promise per record.
        cs.stream.storeNotify(
          p.subject,
          headers,
          payload,
          (err, seq) => {
            if (err !== null) return onRefused(err);
            // A duplicate (Nats-Msg-Id) is told with the original's sequence, as `store` resolves.
            seqs[i] = seq;
            settle();
          },
          pub,
        );
      }
    }),
  };
}

/**
 * Produce to a partition another node owns: each record published on its
 * subject with a reply inbox, answered once the owner acknowledged them all
 * (durable there under its sync policy). An idempotent producer's records
 * carry Nats-Msg-Id, so the owner drops a retry within its duplicate window.
 */
async function produceRemote(
  ctx: KafkaContext,
  topics: KafkaTopics,
  counters: ProduceCounters,
  req: ProduceRequest,
  name: string,
  rp: RemotePartition | null,
  pd: { index: number; records: Buffer | null },
): Promise<PartitionResponse> {
  if (rp === null) {
    return failed(
      pd.index,
      KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      'This server does not host this topic-partition.',
    );
  }
  if (!canPublishOn(ctx, rp.subject)) {
    counters.produceDenied++;
    return failed(pd.index, KafkaError.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
  }
  if (req.transactionalId !== null) {
    return failed(
      pd.index,
      KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      'Transactions are not supported',
    );
  }
  const batches = decodeAll(ctx, counters, rp.info.maxMsgSize, pd);
  if (!Array.isArray(batches)) return batches;
  const account = ctx.account!;
  const acks: Promise<number>[] = [];
  for (const b of batches) {
    const h = b.header;
    b.records.forEach((r, i) => {
      let headers = headersOfRecord(r, h.baseTimestamp + BigInt(r.timestampDelta), null);
      if (h.producerId >= 0n) {
        const id = `Nats-Msg-Id: kafka:${h.producerId}:${h.producerEpoch}:${name}:${pd.index}:${h.baseSequence + i}\r\n\r\n`;
        headers = Buffer.concat([headers.subarray(0, headers.length - 2), Buffer.from(id)]);
      }
      const value = r.value === null ? Buffer.alloc(0) : Buffer.from(r.value);
      const ack = topics.remote.publish(account, rp.subject, headers, value);
      ack.catch(() => {});
      acks.push(ack);
    });
  }
  let seqs: number[];
  try {
    seqs = await Promise.all(acks);
  } catch (err) {
    return failed(pd.index, KafkaError.REQUEST_TIMED_OUT, (err as Error).message);
  }
  counters.recordsIn += seqs.length;
  return {
    index: pd.index,
    errorCode: 0,
    baseOffset: BigInt(seqs.length === 0 ? -1 : seqs[0]! - 1),
    logAppendTimeMs: -1n,
    logStartOffset: BigInt(rp.info.firstSeq - 1),
    recordErrors: [],
    errorMessage: null,
  };
}
