/**
 * ListOffsets (key 2, v1–v7): a partition's earliest offset (-2: its first
 * message's sequence − 1), latest (-1: the log end, its last sequence) and
 * the first offset at or after a timestamp. The timestamp is looked up by
 * the messages' stored (log-append) time, which the stream indexes; a
 * producer's create time is not indexed (docs/kafka.md). -3 (max timestamp,
 * v7) answers the last message. No message at or after the time: offset
 * and timestamp -1, as Kafka.
 */
import type { ApiHandler, KafkaContext } from '../api.js';
import { canFetch, canRead } from '../authz.js';
import { KafkaError } from '../errors.js';
import { type KafkaTopics, logEnd, logStart } from '../topics.js';

interface ListOffsetsRequest {
  topics: { name: string; partitions: { partitionIndex: number; timestamp: bigint }[] }[];
}

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;

export function listOffsetsHandler(topics: KafkaTopics): ApiHandler<ListOffsetsRequest> {
  return {
    key: 2,
    name: 'ListOffsets',
    minVersion: 1,
    maxVersion: 7,
    async handle(ctx, req) {
      const account = ctx.account!;
      const out = [];
      for (const t of req.topics) {
        const topic = topics.find(account, t.name);
        const partitions = [];
        for (const q of t.partitions) {
          const answer = (errorCode: number, offset: number, timestamp: number) => ({
            partitionIndex: q.partitionIndex,
            errorCode,
            timestamp: BigInt(timestamp),
            offset: BigInt(offset),
            leaderEpoch: 0,
          });
          const p = topic?.partitions[q.partitionIndex];
          if (p === undefined && topic === null && topics.remoteHas(account, t.name)) {
            partitions.push(await remoteOffset(ctx, topics, t.name, q, answer));
            continue;
          }
          if (p === undefined) {
            partitions.push(answer(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, -1, -1));
            continue;
          }
          if (!canFetch(ctx, p)) {
            partitions.push(answer(KafkaError.TOPIC_AUTHORIZATION_FAILED, -1, -1));
            continue;
          }
          const cs = p.cs;
          if (q.timestamp === LATEST) partitions.push(answer(0, logEnd(cs), -1));
          else if (q.timestamp === EARLIEST) partitions.push(answer(0, logStart(cs), -1));
          else {
            const st = cs.stream.state();
            const seq =
              q.timestamp === MAX_TIMESTAMP
                ? st.lastSeq
                : cs.stream.messages.seqForTime(Number(q.timestamp));
            const m =
              seq >= st.firstSeq && seq <= st.lastSeq ? await cs.stream.messages.next(seq) : null;
            partitions.push(m === null ? answer(0, -1, -1) : answer(0, m.seq - 1, m.time));
          }
        }
        out.push({ name: t.name, partitions });
      }
      return { throttleTimeMs: 0, topics: out };
    },
  };
}

/**
 * A partition another node owns: earliest and latest from its state; a
 * timestamp by a binary search of direct gets over its sequences (times
 * grow with sequences in a stream).
 */
async function remoteOffset<T>(
  ctx: KafkaContext,
  topics: KafkaTopics,
  name: string,
  q: { partitionIndex: number; timestamp: bigint },
  answer: (errorCode: number, offset: number, timestamp: number) => T,
): Promise<T> {
  const account = ctx.account!;
  try {
    const rp = await topics.remotePartition(account, name, q.partitionIndex);
    if (rp === null) return answer(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, -1, -1);
    if (!canRead(ctx, rp.info.subjects))
      return answer(KafkaError.TOPIC_AUTHORIZATION_FAILED, -1, -1);
    const { firstSeq, lastSeq } = rp.info;
    if (q.timestamp === LATEST) return answer(0, lastSeq, -1);
    if (q.timestamp === EARLIEST) return answer(0, firstSeq - 1, -1);
    if (lastSeq < firstSeq) return answer(0, -1, -1);
    if (q.timestamp === MAX_TIMESTAMP) {
      const m = await topics.remote.get(account, rp.stream, lastSeq);
      return m === null ? answer(0, -1, -1) : answer(0, m.seq - 1, m.time);
    }
    const want = Number(q.timestamp);
    let lo = firstSeq;
    let hi = lastSeq + 1;
    let found: { seq: number; time: number } | null = null;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await topics.remote.get(account, rp.stream, mid);
      if (m === null) {
        hi = mid;
        continue;
      }
      if (m.time >= want) {
        found = { seq: m.seq, time: m.time };
        hi = mid;
      } else lo = m.seq + 1;
    }
    return found === null ? answer(0, -1, -1) : answer(0, found.seq - 1, found.time);
  } catch {
    return answer(KafkaError.REQUEST_TIMED_OUT, -1, -1);
  }
}
