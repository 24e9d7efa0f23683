/**
 * A raw-protocol Kafka load generator over Weft's own codec (kafkajs is too
 * slow to be the yardstick): a producer that batches like the Java client
 * (per-partition batches of `batch.size` bytes, sent when full or after
 * `linger.ms`, a sticky partitioner, at most `max.in.flight` requests) and a
 * consumer that fetches like it (one Fetch in flight, fetch.max.bytes 50 MiB,
 * max.partition.fetch.bytes 1 MiB, CRC checked on every batch).
 */
import { ApiKey } from '../protocols/kafka/codec.js';
import { decodeBatch, splitBatches } from '../protocols/kafka/records.js';
import { RawKafkaClient } from './kafka-conn.js';
import { ProduceWire, produceAnswerErrors, type WireBatch } from './kafka-produce-wire.js';

export interface KafkaAddress {
  host: string;
  port: number;
}

export interface KafkaProduceOptions {
  server: KafkaAddress;
  topic: string;
  partitions: number;
  msgs: number;
  /** Value bytes per record. */
  size: number;
  acks: 1 | -1;
  /** linger.ms (default 5). */
  lingerMs?: number;
  /** batch.size, bytes per partition batch (default 16384, the Java client's). */
  batchBytes?: number;
  /** max.in.flight.requests.per.connection (default 5). */
  maxInFlight?: number;
  /** Give up after this long without an ack, ms (default 10 s). */
  stallMs?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface KafkaResult {
  msgs: number;
  done: number;
  elapsedMs: number;
  msgsPerSec: number;
  mbPerSec: number;
  complete: boolean;
  ended: 'done' | 'stalled' | 'error';
  /** Partition answers with an error code, by code. */
  errorCodes: Record<string, number>;
  errors: string[];
  requests: number;
}

const PRODUCE_VERSION = 7;
const FETCH_VERSION = 11;
/** The record's own bytes beyond its value in a batch (length, attributes, deltas, key, headers), about. */
const RECORD_OVERHEAD = 8;

/**
 * Records the producer holds in flight at most, with the defaults
 * (batch.size 16 KiB, 5 requests, one batch per partition in each): the
 * JetStream reference publishes with the same window, so both faces are
 * compared with as much in flight (1 KiB on 1 partition: 80; 100 B: 760).
 */
export function producerWindow(size: number, partitions: number): number {
  return 5 * Math.max(1, partitions) * Math.ceil(16_384 / (size + RECORD_OVERHEAD));
}

/** Creates the topic (TOPIC_ALREADY_EXISTS is fine). */
export async function createTopic(
  server: KafkaAddress,
  topic: string,
  partitions: number,
): Promise<void> {
  const c = await RawKafkaClient.open(server.host, server.port, 'weft-bench-admin');
  try {
    const r = (await c.send(ApiKey.CreateTopics, 4, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1 }],
      timeoutMs: 10_000,
    })) as { topics: { errorCode: number; errorMessage: string | null }[] };
    const code = r.topics[0]?.errorCode ?? -1;
    if (code !== 0 && code !== 36)
      throw new Error(`CreateTopics ${topic}: error ${code} ${r.topics[0]?.errorMessage ?? ''}`);
  } finally {
    c.close();
  }
}

export async function runKafkaProduce(o: KafkaProduceOptions): Promise<KafkaResult> {
  const linger = o.lingerMs ?? 5;
  const batchBytes = o.batchBytes ?? 16_384;
  const maxInFlight = o.maxInFlight ?? 5;
  const stallMs = o.stallMs ?? 10_000;
  const partitions = Math.max(1, o.partitions);
  const client = await RawKafkaClient.open(
    o.server.host,
    o.server.port,
    'weft-bench-producer',
    true,
  );
  // Batches are encoded as records are appended, into reused buffers (src/bench/kafka-produce-wire.ts).
  const wire = new ProduceWire({
    topic: o.topic,
    clientId: client.clientId,
    acks: o.acks,
    timeoutMs: 30_000,
    value: Buffer.alloc(o.size, 0x61),
    maxRecords: Math.ceil(batchBytes / (o.size + RECORD_OVERHEAD)),
    // Open (one per partition), ready (readyMax) and in flight (maxInFlight per partition).
    poolMax: partitions * (1 + 3 * maxInFlight),
  });
  const readyMax = maxInFlight * partitions * 2;
  const result: KafkaResult = {
    msgs: o.msgs,
    done: 0,
    elapsedMs: 0,
    msgsPerSec: 0,
    mbPerSec: 0,
    complete: false,
    ended: 'done',
    errorCodes: {},
    errors: [],
    requests: 0,
  };
  const open = new Map<number, WireBatch>();
  const ready: WireBatch[] = [];
  let appended = 0;
  let sticky = 0;
  let inFlight = 0;
  let lastAck = Date.now();

  const append = () => {
    // The application produces as fast as it can, up to what max.in.flight batches can hold.
    while (appended < o.msgs && ready.length < readyMax) {
      let b = open.get(sticky);
      if (b === undefined) {
        b = wire.open(sticky, Date.now());
        open.set(sticky, b);
      }
      wire.append(b);
      appended++;
      // Full at batch.size, counting each record as its value and RECORD_OVERHEAD bytes.
      if (b.count * (o.size + RECORD_OVERHEAD) >= batchBytes) {
        wire.close(b);
        ready.push(b);
        open.delete(sticky);
        sticky = (sticky + 1) % o.partitions;
      }
    }
  };

  const lingered = (now: number, flush: boolean) => {
    for (const [p, b] of open) {
      if (flush || now - b.firstAt >= linger) {
        wire.close(b);
        ready.push(b);
        open.delete(p);
      }
    }
  };

  const send = (batches: WireBatch[]) => {
    let count = 0;
    for (const b of batches) count += b.count;
    inFlight++;
    result.requests++;
    client.sendFramed(
      ApiKey.Produce,
      PRODUCE_VERSION,
      (id) => wire.request(id, batches),
      (err, frame) => {
        for (const b of batches) wire.release(b);
        inFlight--;
        if (err !== null) result.errors.push(err.message);
        else {
          try {
            if (produceAnswerErrors(frame!, result.errorCodes) === 0) result.done += count;
          } catch (e) {
            result.errors.push(`Produce answer: ${(e as Error).message}`);
          }
          lastAck = Date.now();
          o.onProgress?.(result.done, o.msgs);
        }
        pump();
      },
    );
  };

  // Callbacks, not a loop of awaits: an answer, the linger timer and the
  // stall ticker each call pump, which sends what it can and returns.
  let lingerTimer: NodeJS.Timeout | null = null;
  let ended: (r: KafkaResult) => void = () => {};
  const t0 = performance.now();
  const end = () => {
    result.elapsedMs = performance.now() - t0;
    clearInterval(ticker);
    if (lingerTimer !== null) clearTimeout(lingerTimer);
    client.close();
    if (result.errors.length > 0 || Object.keys(result.errorCodes).length > 0)
      result.ended = 'error';
    finish(result, o.size);
    ended(result);
  };
  let over = false;
  const pump = () => {
    while (!over) {
      if (
        result.done >= o.msgs ||
        result.errors.length > 0 ||
        Object.keys(result.errorCodes).length > 0
      ) {
        over = true;
        end();
        return;
      }
      append();
      lingered(Date.now(), appended >= o.msgs);
      if (inFlight < maxInFlight && ready.length > 0) {
        // One request carries every ready batch (as the Java client groups them per broker), at most one per partition.
        const take: WireBatch[] = [];
        const seen = new Set<number>();
        for (let i = 0; i < ready.length && take.length < o.partitions; ) {
          if (seen.has(ready[i]!.partition)) {
            i++;
            continue;
          }
          seen.add(ready[i]!.partition);
          take.push(...ready.splice(i, 1));
        }
        send(take);
        continue;
      }
      if (Date.now() - lastAck > stallMs) {
        result.ended = 'stalled';
        over = true;
        end();
        return;
      }
      // Wait for an answer, or (room in flight and a batch open) linger.ms.
      if (inFlight < maxInFlight && open.size > 0 && lingerTimer === null) {
        lingerTimer = setTimeout(() => {
          lingerTimer = null;
          pump();
        }, linger);
      }
      return;
    }
  };
  // One timer for the whole run (not one per wait): it wakes the loop to look for a stall.
  const ticker = setInterval(pump, Math.min(stallMs, 1000));
  return new Promise<KafkaResult>((resolve) => {
    ended = resolve;
    pump();
  });
}

function finish(r: KafkaResult, size: number): void {
  r.complete = r.done >= r.msgs && r.errors.length === 0;
  if (!r.complete && r.ended === 'done') r.ended = 'error';
  r.msgsPerSec = r.done / (r.elapsedMs / 1000);
  r.mbPerSec = (r.done * size) / 1e6 / (r.elapsedMs / 1000);
}

export interface KafkaConsumeOptions {
  server: KafkaAddress;
  topic: string;
  partitions: number;
  msgs: number;
  size: number;
  stallMs?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Fetches `msgs` records from offset 0 of every partition (the topic must hold them). */
export async function runKafkaConsume(o: KafkaConsumeOptions): Promise<KafkaResult> {
  const stallMs = o.stallMs ?? 10_000;
  const client = await RawKafkaClient.open(o.server.host, o.server.port, 'weft-bench-consumer');
  const result: KafkaResult = {
    msgs: o.msgs,
    done: 0,
    elapsedMs: 0,
    msgsPerSec: 0,
    mbPerSec: 0,
    complete: false,
    ended: 'done',
    errorCodes: {},
    errors: [],
    requests: 0,
  };
  const next = Array.from({ length: o.partitions }, () => 0n);
  let lastProgress = Date.now();
  const t0 = performance.now();
  try {
    while (result.done < o.msgs) {
      result.requests++;
      const r = (await client.send(ApiKey.Fetch, FETCH_VERSION, {
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 50 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: o.topic,
            partitions: next.map((fetchOffset, partition) => ({
              partition,
              fetchOffset,
              partitionMaxBytes: 1024 * 1024,
            })),
          },
        ],
      })) as {
        responses: {
          partitions: { partitionIndex: number; errorCode: number; records: Buffer | null }[];
        }[];
      };
      let got = 0;
      for (const p of r.responses[0]?.partitions ?? []) {
        if (p.errorCode !== 0) {
          result.errorCodes[p.errorCode] = (result.errorCodes[p.errorCode] ?? 0) + 1;
          continue;
        }
        for (const b of splitBatches(p.records ?? Buffer.alloc(0), true)) {
          const { header, records } = decodeBatch(b, { maxBytes: 64 * 1024 * 1024 });
          got += records.length;
          next[p.partitionIndex] = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
        }
      }
      if (Object.keys(result.errorCodes).length > 0) {
        result.ended = 'error';
        break;
      }
      result.done += got;
      if (got > 0) {
        lastProgress = Date.now();
        o.onProgress?.(result.done, o.msgs);
      } else if (Date.now() - lastProgress > stallMs) {
        result.ended = 'stalled';
        break;
      }
    }
  } catch (err) {
    result.errors.push((err as Error).message);
    result.ended = 'error';
  } finally {
    result.elapsedMs = performance.now() - t0;
    client.close();
  }
  finish(result, o.size);
  return result;
}
