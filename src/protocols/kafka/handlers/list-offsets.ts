/**
 * ListOffsets (key 2, v1–v7): a partition's earliest offset (-2: its first
 * message's sequence − 1), latest (-1: the log end, its last sequence) and
 * the first offset at or after a timestamp. The timestamp is looked up by
 * the messages' stored (log-append) time, which the stream indexes; a
 * producer's create time is not indexed (docs/kafka.md). -3 (max timestamp,
 * v7) answers the last message. No message at or after the time: offset
 * and timestamp -1, as Kafka.
 */
import type { ApiHandler } from '../api.js';
import { canFetch } from '../authz.js';
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
