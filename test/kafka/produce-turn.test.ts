/**
 * Produce to a local partition is handled in the request's turn: the
 * handler appends the records and returns its Later at once (no promise
 * before the answer's), so the session goes on to the next pipelined
 * request with no microtask hop in between. Only an idempotent producer's
 * state read back from the partition (a producer id from before the node
 * started) makes it wait; requests pipelined around such a one still store
 * and answer in request order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Later } from '../../src/protocols/kafka/api.js';
import type { KafkaFace } from '../../src/protocols/kafka/face.js';
import { encodeBatch } from '../../src/protocols/kafka/records.js';
import type { KafkaSession } from '../../src/protocols/kafka/session.js';
import { checkFor } from '../helpers/poll.js';
import { type KafkaNode, startKafkaNode } from './helpers.js';
import { WireClient } from './wire-client.js';

const PRODUCE = 0;
const CREATE_TOPICS = 19;

function batch(values: string[], pid = -1n, seq = -1): Buffer {
  return encodeBatch({
    baseTimestamp: Date.now(),
    producerId: pid,
    producerEpoch: pid < 0n ? -1 : 0,
    baseSequence: seq,
    records: values.map((v) => ({ value: Buffer.from(v) })),
  });
}

function body(topic: string, records: Buffer) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  };
}

type P = { errorCode: number; baseOffset: bigint };
const partOf = (r: unknown): P =>
  (r as { responses: { partitionResponses: P[] }[] }).responses[0]!.partitionResponses[0]!;

/** The node's one Kafka session (the test's WireClient) and the stream of `turn`'s partition 0. */
async function sessionAndStream(n: KafkaNode) {
  const face = n.srv.node.faces.find((f) => f.name === 'kafka') as unknown as KafkaFace;
  const live = (face as unknown as { live: Set<KafkaSession> }).live;
  await checkFor(() => live.size > 0, 5000);
  const session = [...live][0]!;
  const stream = face.topics.find(session.account!, 'turn')!.partitions[0]!.cs.stream;
  return { session, stream };
}

describe('Kafka produce: appended in the request turn', () => {
  let n: KafkaNode;
  let c: WireClient;

  before(async () => {
    n = await startKafkaNode();
    c = await WireClient.open(n.kafkaPort);
    const r = await c.send(CREATE_TOPICS, 7, {
      topics: [
        { name: 'turn', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'turn2', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    for (const t of r.topics as { errorCode: number }[]) assert.equal(t.errorCode, 0);
  });
  after(async () => {
    c.close();
    await n.close();
  });

  it('returns its Later synchronously for a local topic, records already appended', async () => {
    const { session, stream } = await sessionAndStream(n);
    const handler = session.host.table.get(PRODUCE)!;
    const before = stream.state().lastSeq;
    const res = handler.handle(session, body('turn', batch(['a', 'b', 'c'])), 9);
    assert.ok(res instanceof Later, 'a Later, not a Promise of one');
    assert.equal(stream.state().lastSeq, before + 3, 'appended in this turn');
    const p = partOf(await (res as Later<unknown>).answer);
    assert.deepEqual([p.errorCode, p.baseOffset], [0, BigInt(before)]);
  });

  it('keeps request order around an idempotent producer whose state is read back', async () => {
    const end = partOf(await c.send(PRODUCE, 9, body('turn', batch(['x'])))).baseOffset + 1n;
    // A producer id minted "before the node started" (ms 1 since 2024): its
    // state is looked for in the partition (a promise) before it appends.
    const oldPid = 1n << 22n;
    const sent = [
      c.send(PRODUCE, 9, body('turn', batch(['p0', 'p1', 'p2']))),
      c.send(PRODUCE, 9, body('turn', batch(['i0', 'i1'], oldPid, 0))),
      c.send(PRODUCE, 9, body('turn', batch(['q0', 'q1', 'q2']))),
      c.send(PRODUCE, 9, body('turn', batch(['i2'], oldPid, 2))),
    ];
    const got = (await Promise.all(sent)).map(partOf);
    assert.deepEqual(
      got.map((p) => [p.errorCode, p.baseOffset]),
      [
        [0, end],
        [0, end + 3n],
        [0, end + 5n],
        [0, end + 8n],
      ],
    );
    const st = (await sessionAndStream(n)).stream;
    const stored: string[] = [];
    for (let seq = Number(end) + 1; seq <= st.state().lastSeq; seq++) {
      const m = await st.messages.get(seq);
      stored.push(Buffer.from(m!.payload).toString());
    }
    assert.deepEqual(stored, ['p0', 'p1', 'p2', 'i0', 'i1', 'q0', 'q1', 'q2', 'i2']);
  });

  it('copies the later partitions of a request that waits for a producer state (views of a read)', async () => {
    const { session } = await sessionAndStream(n);
    const face = n.srv.node.faces.find((f) => f.name === 'kafka') as unknown as KafkaFace;
    const parts = face.topics.find(session.account!, 'turn2')!.partitions;
    const oldPid = 2n << 22n;
    // Both partitions' records are views of one "read", overwritten once the
    // handler returns, as the shared read buffer or a lent frame is.
    const a = batch(['a0', 'a1'], oldPid, 0);
    const b = batch(['b0', 'b1', 'b2']);
    const read = Buffer.concat([a, b]);
    const req = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'turn2',
          partitionData: [
            { index: 0, records: read.subarray(0, a.length) },
            { index: 1, records: read.subarray(a.length) },
          ],
        },
      ],
    };
    const res = session.host.table.get(PRODUCE)!.handle(session, req, 9);
    assert.ok(res instanceof Promise, 'waits for the producer state');
    read.fill(0xee);
    const later = (await res) as Later<unknown>;
    const got = (await later.answer) as { responses: { partitionResponses: P[] }[] };
    assert.deepEqual(
      got.responses[0]!.partitionResponses.map((p) => p.errorCode),
      [0, 0],
    );
    const stored: string[] = [];
    for (const p of parts) {
      const st = p.cs.stream;
      for (let seq = st.state().firstSeq; seq <= st.state().lastSeq; seq++) {
        stored.push(Buffer.from((await st.messages.get(seq))!.payload).toString());
      }
    }
    assert.deepEqual(stored, ['a0', 'a1', 'b0', 'b1', 'b2']);
  });
});
