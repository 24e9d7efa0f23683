/**
 * Fetch (key 1, v4–v12): records of partition streams, re-encoded as one
 * RecordBatch v2 per partition (offset = sequence − 1; removed messages are
 * gaps in offsetDelta, as a compacted Kafka log has). Uncompressed: the
 * producer's batches are not kept, its records are.
 *
 * - `max_bytes` per partition and per response bound what is read, but the
 *   first message of the response is sent whole even when larger, so a
 *   consumer always progresses (KIP-74); the response is also bounded by
 *   FETCH_RESPONSE_SHARE of `max_pending` (the connection's queue).
 * - Long poll: while fewer than `min_bytes` are ready the request waits up
 *   to `max_wait_ms`, woken by an append to any partition it asked for.
 * - `isolation_level` 1 (read committed) is served as read uncommitted:
 *   there are no transactions, so every record is committed; the last
 *   stable offset is the high watermark.
 * - Fetch sessions (v7+, KIP-227) are not kept: the answer's session id is
 *   0, which tells the client to send full requests.
 * - An offset below the partition's first or above its end:
 *   OFFSET_OUT_OF_RANGE (the consumer resets by its auto.offset.reset).
 */

import type { Account } from '../../../core/account.js';
import type { StoredMessage } from '../../../streams/store.js';
import type { ApiHandler, KafkaContext } from '../api.js';
import { canRead } from '../authz.js';
import { KafkaError } from '../errors.js';
import { recordOfMessage } from '../message-map.js';
import { type EncodeRecord, encodeBatch } from '../records.js';
import {
  type KafkaTopics,
  logEnd,
  logStart,
  type Partition,
  type RemotePartition,
} from '../topics.js';

/** The share of max_pending one Fetch response may take. */
export const FETCH_RESPONSE_SHARE = 0.5;
/** Bytes a record adds to its key, value and headers in a batch (lengths, deltas), for the budget. */
const RECORD_OVERHEAD = 24;
const BATCH_OVERHEAD = 61;
const EMPTY = Buffer.alloc(0);

interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  topics: {
    topic: string;
    partitions: { partition: number; fetchOffset: bigint; partitionMaxBytes: number }[];
  }[];
}

/** Where a partition's records are read: its stream here, or on the node that owns it. */
interface Source {
  readonly subject: string;
  readonly subjects: readonly string[];
  /** Log start and end offsets now. */
  bounds(): Promise<{ start: number; end: number }>;
  /** The first message at or after `seq`. */
  next(seq: number): Promise<StoredMessage | null>;
  /** Resolves when something may have been appended after `offset`, or after `ms`. */
  wait(offset: number, ms: number): Promise<void>;
}

function localSource(topics: KafkaTopics, account: Account, p: Partition): Source {
  const cs = p.cs;
  return {
    subject: p.subject,
    subjects: cs.stream.config.subjects,
    bounds: async () => ({ start: logStart(cs), end: logEnd(cs) }),
    next: (seq) => cs.stream.messages.next(seq),
    wait: (offset, ms) => topics.waitAppend(account, cs, offset, ms),
  };
}

/** A partition another node owns: its bounds by STREAM.INFO, its records by direct get (remote.ts). */
function remoteSource(topics: KafkaTopics, account: Account, rp: RemotePartition): Source {
  let info = rp.info;
  let fresh = true;
  return {
    subject: rp.subject,
    subjects: info.subjects,
    async bounds() {
      if (!fresh) info = (await topics.remoteRefresh(account, rp)).info;
      fresh = false;
      return { start: info.firstSeq - 1, end: info.lastSeq };
    },
    next: (seq) => topics.remote.get(account, rp.stream, seq),
    wait: (_offset, ms) => topics.waitSubjects(account, info.subjects, ms),
  };
}

interface Want {
  topic: string;
  index: number;
  src: Source | null;
  error: number;
  offset: number;
  maxBytes: number;
}

export interface FetchCounters {
  recordsOut: number;
  fetchDenied: number;
  offsetOutOfRange: number;
}

export function fetchHandler(
  topics: KafkaTopics,
  counters: FetchCounters,
): ApiHandler<FetchRequest> {
  return {
    key: 1,
    name: 'Fetch',
    minVersion: 4,
    maxVersion: 12,
    async handle(ctx, req) {
      const account = ctx.account!;
      const wants: Want[] = [];
      for (const t of req.topics) {
        const topic = topics.find(account, t.topic);
        const remote = topic === null && topics.remoteHas(account, t.topic);
        for (const q of t.partitions) {
          let src: Source | null = null;
          const p = topic?.partitions[q.partition];
          if (p !== undefined) src = localSource(topics, account, p);
          else if (remote) {
            const rp = await topics
              .remotePartition(account, t.topic, q.partition)
              .catch(() => null);
            if (rp !== null) src = remoteSource(topics, account, rp);
          }
          let error = 0;
          if (src === null) error = KafkaError.UNKNOWN_TOPIC_OR_PARTITION;
          else if (!canRead(ctx, src.subjects)) {
            error = KafkaError.TOPIC_AUTHORIZATION_FAILED;
            counters.fetchDenied++;
          }
          wants.push({
            topic: t.topic,
            index: q.partition,
            src,
            error,
            offset: Number(q.fetchOffset),
            maxBytes: q.partitionMaxBytes,
          });
        }
      }
      const responseMax = Math.max(
        1,
        Math.min(
          req.maxBytes,
          Math.floor(ctx.shared.host.options.maxPending * FETCH_RESPONSE_SHARE),
        ),
      );
      const deadline = Date.now() + Math.max(0, req.maxWaitMs);
      let read = await readAll(wants, responseMax, counters);
      while (read.bytes < Math.max(1, req.minBytes) && !ctx.closed) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const live = wants.filter((w) => w.src !== null && w.error === 0);
        if (live.length === 0) break;
        await Promise.race(live.map((w) => w.src!.wait(w.offset, left)));
        read = await readAll(wants, responseMax, counters);
      }
      counters.recordsOut += read.records;
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((q) => read.byKey.get(`${t.topic}\n${q.partition}`)!),
        })),
      };
    },
  };
}

interface Read {
  bytes: number;
  records: number;
  byKey: Map<string, Record<string, unknown>>;
}

async function readAll(wants: Want[], responseMax: number, counters: FetchCounters): Promise<Read> {
  const out: Read = { bytes: 0, records: 0, byKey: new Map() };
  for (const w of wants) {
    const key = `${w.topic}\n${w.index}`;
    const src = w.src;
    if (src === null || w.error !== 0) {
      out.byKey.set(key, partitionAnswer(w.index, w.error, -1, -1, null));
      continue;
    }
    let bounds: { start: number; end: number };
    try {
      bounds = await src.bounds();
    } catch {
      out.byKey.set(key, partitionAnswer(w.index, KafkaError.REQUEST_TIMED_OUT, -1, -1, null));
      continue;
    }
    const { start, end } = bounds;
    if (w.offset < start || w.offset > end) {
      counters.offsetOutOfRange++;
      out.byKey.set(
        key,
        partitionAnswer(w.index, KafkaError.OFFSET_OUT_OF_RANGE, end, start, null),
      );
      continue;
    }
    const budget = Math.min(w.maxBytes, responseMax - out.bytes);
    const records: EncodeRecord[] = [];
    let base = -1;
    let bytes = BATCH_OVERHEAD;
    let seq = w.offset + 1;
    while (seq <= end) {
      const m: StoredMessage | null = await src.next(seq).catch(() => null);
      if (m === null || m.seq > end) break;
      const r = recordOfMessage(m, src.subject);
      const size = sizeOf(r);
      // Always the first record of the response, so a consumer progresses (KIP-74).
      if (bytes + size > budget && !(out.bytes === 0 && records.length === 0)) break;
      if (base < 0) base = m.seq - 1;
      r.offsetDelta = m.seq - 1 - base;
      records.push(r);
      bytes += size;
      seq = m.seq + 1;
    }
    let batch: Buffer | null = null;
    if (records.length > 0) {
      batch = encodeBatch({ baseOffset: BigInt(base), partitionLeaderEpoch: 0, records });
      out.bytes += batch.length;
      out.records += records.length;
    }
    out.byKey.set(key, partitionAnswer(w.index, 0, end, start, batch));
  }
  return out;
}

function sizeOf(r: EncodeRecord): number {
  let n = RECORD_OVERHEAD + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers ?? []) n += h.key.length + (h.value?.length ?? 0) + 4;
  return n;
}

function partitionAnswer(
  index: number,
  errorCode: number,
  highWatermark: number,
  logStartOffset: number,
  records: Buffer | null,
): Record<string, unknown> {
  return {
    partitionIndex: index,
    errorCode,
    highWatermark: BigInt(highWatermark),
    lastStableOffset: BigInt(highWatermark),
    logStartOffset: BigInt(logStartOffset),
    abortedTransactions: null,
    preferredReadReplica: -1,
    // Empty, not null: Kafka sends an empty record set, and librdkafka 2.0 cannot read a null one.
    records: records ?? EMPTY,
  };
}

export type { KafkaContext };
