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
import type { CapturedStream } from '../../../jetstream/service.js';
import { StreamApiError } from '../../../streams/stream-errors.js';
import { type ApiHandler, type KafkaContext, Later } from '../api.js';
import { canAdmin, canProduce, canPublishOn } from '../authz.js';
import { KafkaError } from '../errors.js';
import { headersOfRecord } from '../message-map.js';
import type { Producers, SeqVerdict } from '../producers.js';
import { decodeBatch, type RecordBatch, splitBatches } from '../records.js';
import {
  DEFAULT_SETTINGS,
  type KafkaTopics,
  type Partition,
  type RemotePartition,
  type Topic,
} from '../topics.js';
import { KafkaCodecError } from '../wire.js';
import { appendBatch } from './produce-append.js';

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
    handle(ctx, req) {
      if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) {
        return answerAll(
          req,
          KafkaError.INVALID_REQUIRED_ACKS,
          `acks ${req.acks} is not 0, 1 or -1`,
        );
      }
      const account = ctx.account!;
      const found: (Topic | null)[] = [];
      let missing = false;
      for (const t of req.topicData) {
        const topic = topics.find(account, t.name);
        if (topic === null) missing = true;
        found.push(topic);
      }
      const run = new ProduceRun(ctx, topics, producers, counters, req, found);
      // Every topic here (the usual case): appended in this turn, no promise
      // before the answer's (bench/PROFILE.md, "Issue 16 — kafka3 (round 9)").
      if (!missing) return run.from();
      // The records are views of the request's read, valid only in this
      // turn (shared-read.ts): kept as copies while the topic is looked up.
      keepRecords(req);
      return run.lookUp().then(() => run.from());
    },
  };
}

/**
 * One Produce request's partitions, appended in request order; the answer
 * (a Later) once each partition's records are durable. Only an auto-created
 * topic, a topic another node owns, or an idempotent producer's state read
 * back after a restart makes it wait (a promise) before appending.
 */
class ProduceRun {
  /** Each partition's answer, in request order (topic by topic). */
  private readonly dones: Promise<PartitionResponse>[] = [];
  /** Per topic: the partitions another node owns (null: a local or unknown topic). */
  private remotes: ((RemotePartition | null)[] | null)[] = [];
  private t = 0;
  private p = 0;

  constructor(
    private readonly ctx: KafkaContext,
    private readonly topics: KafkaTopics,
    private readonly producers: Producers,
    private readonly counters: ProduceCounters,
    private readonly req: ProduceRequest,
    private readonly found: (Topic | null)[],
  ) {}

  /** A topic not here: auto-created (if allowed), else looked up on the other nodes. */
  async lookUp(): Promise<void> {
    const { ctx, topics, req } = this;
    const account = ctx.account!;
    const remotes: ((RemotePartition | null)[] | null)[] = [];
    for (let i = 0; i < req.topicData.length; i++) {
      const t = req.topicData[i]!;
      remotes.push(null);
      if (this.found[i] !== null) continue;
      if (ctx.shared.host.options.kafkaAutoCreateTopics && canAdmin(ctx, 'CREATE', t.name, 0, 1)) {
        this.found[i] = await topics
          .create(account, t.name, 1, DEFAULT_SETTINGS)
          .catch(() => topics.find(account, t.name));
      }
      if (this.found[i] === null && topics.remoteHas(account, t.name)) {
        const rps: (RemotePartition | null)[] = [];
        for (const pd of t.partitionData) {
          rps.push(await topics.remotePartition(account, t.name, pd.index).catch(() => null));
        }
        remotes[i] = rps;
      }
    }
    this.remotes = remotes;
  }

  /** Appends from the current partition on; a Later, or a promise of it if one must wait. */
  from(): Later<unknown> | Promise<Later<unknown>> {
    const { req } = this;
    for (; this.t < req.topicData.length; this.t++, this.p = 0) {
      const t = req.topicData[this.t]!;
      const rps = this.remotes[this.t] ?? null;
      for (; this.p < t.partitionData.length; this.p++) {
        const pd = t.partitionData[this.p]!;
        if (rps !== null) {
          const rp = rps[this.p] ?? null;
          this.dones.push(produceRemote(this.ctx, this.topics, this.counters, req, t.name, rp, pd));
          continue;
        }
        const s = produceTo(
          this.ctx,
          this.topics,
          this.producers,
          this.counters,
          req,
          this.found[this.t]!,
          pd,
        );
        if (s instanceof Promise) {
          // The partitions after it wait too: copies of their records (views of the request's read).
          keepRecords(req);
          return s.then((w) => {
            this.dones.push(w.done);
            this.p++;
            return this.from();
          });
        }
        this.dones.push(s.done);
      }
    }
    // The records are appended: the next request may start; the answer waits for durability.
    return new Later(this.answer());
  }

  private answer(): Promise<unknown> {
    const req = this.req;
    if (req.acks === 0) return Promise.all(this.dones).then(() => null);
    if (this.dones.length === 1 && req.topicData.length === 1) {
      const name = req.topicData[0]!.name;
      return this.dones[0]!.then((p) => ({
        responses: [{ name, partitionResponses: [p] }],
        throttleTimeMs: 0,
      }));
    }
    return Promise.all(this.dones).then((all) => {
      let k = 0;
      return {
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map(() => all[k++]!),
        })),
        throttleTimeMs: 0,
      };
    });
  }
}

/** Copies of a request's records (views of its read) for a request that must wait. */
function keepRecords(req: ProduceRequest): void {
  for (const t of req.topicData) {
    for (let i = 0; i < t.partitionData.length; i++) {
      t.partitionData[i] = keptPart(t.partitionData[i]!);
    }
  }
}

function keptPart(pd: { index: number; records: Buffer | null }) {
  return { index: pd.index, records: pd.records === null ? null : Buffer.from(pd.records) };
}

/** A partition's part started: `done` answers it once its records are durable. */
interface Started {
  done: Promise<PartitionResponse>;
}

function settled(r: PartitionResponse): Started {
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

function produceTo(
  ctx: KafkaContext,
  topics: KafkaTopics,
  producers: Producers,
  counters: ProduceCounters,
  req: ProduceRequest,
  topic: Topic | null,
  pd: { index: number; records: Buffer | null },
): Started | Promise<Started> {
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
  const decoded = decodeAll(ctx, counters, cs.stream.config.max_msg_size, pd);
  if (!Array.isArray(decoded)) return settled(decoded);
  let batches = decoded;
  // Appended now, in request order; answered once durable.
  const writes: Write[] = [];
  const from = (k: number): Started | Promise<Started> => {
    for (let i = k; i < batches.length; i++) {
      const b = batches[i]!;
      const h = b.header;
      if (h.producerId < 0n) {
        const w = appendBatch(ctx, topics, p, b);
        writes.push({ count: b.records.length, durable: w.durable, first: w.first });
        continue;
      }
      const v = producers.check(
        cs,
        h.producerId,
        h.producerEpoch,
        h.baseSequence,
        b.records.length,
      );
      if (v instanceof Promise) {
        // The producer's state is read back (after a restart): this batch and
        // the rest wait, as copies (the records are views of the request's read).
        const kept = decodeAll(ctx, counters, cs.stream.config.max_msg_size, keptPart(pd));
        if (Array.isArray(kept)) batches = kept;
        return v.then((ready) => idempotent(batches[i]!, ready) ?? from(i + 1));
      }
      const refused = idempotent(b, v);
      if (refused !== null) return refused;
    }
    return { done: whenDurable(counters, cs, pd.index, writes) };
  };
  /** An idempotent batch appended, or found a duplicate; a refusal answers the partition. */
  const idempotent = (b: RecordBatch, v: SeqVerdict): Started | null => {
    const h = b.header;
    if (v.kind === 'duplicate') {
      writes.push({ count: 0, durable: null, first: v.baseOffset });
      return null;
    }
    if (v.kind === 'error') return settled(failed(pd.index, v.code, v.message));
    const w = appendBatch(ctx, topics, p, b);
    // Taken as stored now, so a pipelined next batch checks against it; forgotten if it fails.
    producers.stored(cs, h.producerId, h.producerEpoch, h.baseSequence, b.records.length, w.first);
    w.durable.catch(() => producers.drop(cs, h.producerId));
    writes.push({ count: b.records.length, durable: w.durable, first: w.first });
    return null;
  };
  return from(0);
}

/** A batch appended (`durable` resolves to its first offset), or a duplicate's (`durable` null). */
interface Write {
  count: number;
  durable: Promise<number> | null;
  first: number;
}

/** The partition's answer once all its batches are durable: the first batch's offset, or the first refusal. */
function whenDurable(
  counters: ProduceCounters,
  cs: CapturedStream,
  index: number,
  writes: Write[],
): Promise<PartitionResponse> {
  const ok = (baseOffset: number): PartitionResponse => ({
    index,
    errorCode: 0,
    baseOffset: BigInt(baseOffset),
    logAppendTimeMs: -1n,
    logStartOffset: BigInt(cs.stream.state().firstSeq - 1),
    recordErrors: [],
    errorMessage: null,
  });
  const refused = (err: unknown): PartitionResponse => {
    // A limit (4xx) is not worth retrying; a store failure (5xx) may be.
    const e = err instanceof StreamApiError ? err : null;
    const code =
      e !== null && e.code < 500 ? KafkaError.POLICY_VIOLATION : KafkaError.KAFKA_STORAGE_ERROR;
    return failed(index, code, e?.message ?? 'the stream refused the batch');
  };
  const w0 = writes[0];
  // One batch (what clients send per partition): one reaction, no async frame.
  if (writes.length === 1 && w0!.durable !== null) {
    return w0!.durable.then((first) => {
      counters.recordsIn += w0!.count;
      return ok(first);
    }, refused);
  }
  return (async (): Promise<PartitionResponse> => {
    let baseOffset = -1;
    for (const w of writes) {
      let first = w.first;
      if (w.durable !== null) {
        try {
          first = await w.durable;
        } catch (err) {
          return refused(err);
        }
        counters.recordsIn += w.count;
      }
      if (baseOffset < 0) baseOffset = first;
    }
    return ok(baseOffset);
  })();
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
