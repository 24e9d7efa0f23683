/**
 * A consumer group of N raw-protocol members over Weft's codec, for the
 * benchmark: each member finds the coordinator, joins (JoinGroup v5, with
 * the MEMBER_ID_REQUIRED round trip of v4+), the leader assigns partitions
 * by range (as the Java client's RangeAssignor), all sync (SyncGroup v3),
 * fetch their partitions from the committed offsets (Fetch v11, CRC checked),
 * heartbeat and commit every second (OffsetCommit v5), and leave at the end.
 * The rate counts records from the moment every member has its assignment.
 */
import { ApiKey } from '../protocols/kafka/codec.js';
import {
  decodeConsumerProtocol,
  encodeConsumerProtocol,
} from '../protocols/kafka/consumer-protocol.js';
import { decodeBatch, splitBatches } from '../protocols/kafka/records.js';
import { RawKafkaClient } from './kafka-conn.js';
import type { KafkaAddress, KafkaResult } from './kafka-runner.js';

export interface KafkaGroupOptions {
  server: KafkaAddress;
  topic: string;
  partitions: number;
  members: number;
  group: string;
  /** Records to consume in all (the topic must hold them). */
  msgs: number;
  size: number;
  stallMs?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface KafkaGroupResult extends KafkaResult {
  /** From the first JoinGroup to the last member holding its assignment, ms. */
  joinMs: number;
}

const MEMBER_ID_REQUIRED = 79;
// biome-ignore lint/suspicious/noExplicitAny: decoded messages are walked freely.
type Any = any;

class Member {
  memberId = '';
  generationId = -1;
  partitions: number[] = [];
  readonly next = new Map<number, bigint>();
  private lastBeat = 0;

  constructor(
    readonly c: RawKafkaClient,
    readonly o: KafkaGroupOptions,
  ) {}

  async join(): Promise<Any> {
    const body = {
      groupId: this.o.group,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 60_000,
      protocolType: 'consumer',
      protocols: [
        {
          name: 'range',
          metadata: encodeConsumerProtocol('ConsumerProtocolSubscription', 0, {
            topics: [this.o.topic],
          }),
        },
      ],
    };
    for (;;) {
      const r: Any = await this.c.send(ApiKey.JoinGroup, 5, { ...body, memberId: this.memberId });
      if (r.errorCode === MEMBER_ID_REQUIRED) {
        this.memberId = r.memberId;
        continue;
      }
      if (r.errorCode !== 0) throw new Error(`JoinGroup: error ${r.errorCode}`);
      this.memberId = r.memberId;
      this.generationId = r.generationId;
      return r;
    }
  }

  async sync(join: Any): Promise<void> {
    const assignments: { memberId: string; assignment: Buffer }[] = [];
    if (join.leader === this.memberId) {
      // RangeAssignor: members sorted by id, partitions in contiguous ranges.
      const ids = (join.members as { memberId: string }[]).map((m) => m.memberId).sort();
      const per = Math.floor(this.o.partitions / ids.length);
      const extra = this.o.partitions % ids.length;
      let at = 0;
      for (const [i, memberId] of ids.entries()) {
        const n = per + (i < extra ? 1 : 0);
        const partitions = Array.from({ length: n }, (_, k) => at + k);
        at += n;
        assignments.push({
          memberId,
          assignment: encodeConsumerProtocol('ConsumerProtocolAssignment', 0, {
            assignedPartitions: [{ topic: this.o.topic, partitions }],
          }),
        });
      }
    }
    const r: Any = await this.c.send(ApiKey.SyncGroup, 3, {
      groupId: this.o.group,
      generationId: this.generationId,
      memberId: this.memberId,
      assignments,
    });
    if (r.errorCode !== 0) throw new Error(`SyncGroup: error ${r.errorCode}`);
    const a: Any = decodeConsumerProtocol('ConsumerProtocolAssignment', r.assignment).value;
    this.partitions = a.assignedPartitions.flatMap((t: Any) => t.partitions);
    const committed: Any = await this.c.send(ApiKey.OffsetFetch, 4, {
      groupId: this.o.group,
      topics: [{ name: this.o.topic, partitionIndexes: this.partitions }],
    });
    for (const p of committed.topics[0]?.partitions ?? [])
      this.next.set(p.partitionIndex, p.committedOffset < 0n ? 0n : p.committedOffset);
    for (const p of this.partitions) if (!this.next.has(p)) this.next.set(p, 0n);
    this.lastBeat = Date.now();
  }

  /** One fetch of every assigned partition; returns the records read. */
  async fetch(): Promise<number> {
    if (this.partitions.length === 0) return 0;
    const r: Any = await this.c.send(ApiKey.Fetch, 11, {
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 50 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: this.o.topic,
          partitions: this.partitions.map((partition) => ({
            partition,
            fetchOffset: this.next.get(partition),
            partitionMaxBytes: 1024 * 1024,
          })),
        },
      ],
    });
    let got = 0;
    for (const p of r.responses[0]?.partitions ?? []) {
      if (p.errorCode !== 0)
        throw new Error(`Fetch partition ${p.partitionIndex}: error ${p.errorCode}`);
      for (const b of splitBatches(p.records ?? Buffer.alloc(0), true)) {
        const { header, records } = decodeBatch(b, { maxBytes: 64 * 1024 * 1024 });
        got += records.length;
        this.next.set(p.partitionIndex, header.baseOffset + BigInt(header.lastOffsetDelta) + 1n);
      }
    }
    if (Date.now() - this.lastBeat >= 1000) await this.beatAndCommit();
    return got;
  }

  async beatAndCommit(): Promise<void> {
    this.lastBeat = Date.now();
    const hb: Any = await this.c.send(ApiKey.Heartbeat, 3, {
      groupId: this.o.group,
      generationId: this.generationId,
      memberId: this.memberId,
    });
    if (hb.errorCode !== 0) throw new Error(`Heartbeat: error ${hb.errorCode}`);
    const partitions = [...this.next].map(([partitionIndex, committedOffset]) => ({
      partitionIndex,
      committedOffset,
      committedMetadata: '',
    }));
    const oc: Any = await this.c.send(ApiKey.OffsetCommit, 5, {
      groupId: this.o.group,
      generationIdOrMemberEpoch: this.generationId,
      memberId: this.memberId,
      topics: [{ name: this.o.topic, partitions }],
    });
    for (const p of oc.topics[0]?.partitions ?? [])
      if (p.errorCode !== 0) throw new Error(`OffsetCommit: error ${p.errorCode}`);
  }

  async leave(): Promise<void> {
    await this.c
      .send(ApiKey.LeaveGroup, 3, { groupId: this.o.group, members: [{ memberId: this.memberId }] })
      .catch(() => {});
  }
}

export async function runKafkaGroupConsume(o: KafkaGroupOptions): Promise<KafkaGroupResult> {
  const stallMs = o.stallMs ?? 10_000;
  const result: KafkaGroupResult = {
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
    joinMs: 0,
  };
  const clients = await Promise.all(
    Array.from({ length: o.members }, (_, i) =>
      RawKafkaClient.open(o.server.host, o.server.port, `weft-bench-group-${i}`),
    ),
  );
  const members = clients.map((c) => new Member(c, o));
  try {
    const joinStart = performance.now();
    const fc: Any = await clients[0].send(ApiKey.FindCoordinator, 2, { key: o.group, keyType: 0 });
    if (fc.errorCode !== 0) throw new Error(`FindCoordinator: error ${fc.errorCode}`);
    const joins = await Promise.all(members.map((m) => m.join()));
    await Promise.all(members.map((m, i) => m.sync(joins[i])));
    result.joinMs = performance.now() - joinStart;
    const t0 = performance.now();
    let lastProgress = Date.now();
    await Promise.all(
      members.map(async (m) => {
        while (result.done < o.msgs && result.errors.length === 0) {
          const got = await m.fetch();
          result.requests++;
          result.done += got;
          if (got > 0) {
            lastProgress = Date.now();
            o.onProgress?.(result.done, o.msgs);
          } else if (Date.now() - lastProgress > stallMs) {
            result.ended = 'stalled';
            return;
          }
        }
      }),
    );
    result.elapsedMs = performance.now() - t0;
    await Promise.all(members.map((m) => m.beatAndCommit().then(() => m.leave())));
  } catch (err) {
    result.errors.push((err as Error).message);
    result.ended = 'error';
  } finally {
    for (const c of clients) c.close();
  }
  if (result.elapsedMs === 0) result.elapsedMs = 1;
  result.complete = result.done >= o.msgs && result.errors.length === 0;
  if (!result.complete && result.ended === 'done') result.ended = 'error';
  result.msgsPerSec = result.done / (result.elapsedMs / 1000);
  result.mbPerSec = (result.done * o.size) / 1e6 / (result.elapsedMs / 1000);
  return result;
}
