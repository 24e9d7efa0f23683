/**
 * A record batch produced to a local partition reaches its stream as one
 * run (`Stream.storeNotifyRun`: one notice and one commit for the batch,
 * not one `storeNotify` per record), idempotent or not; a batch with a
 * record header named Nats-* (which the stream reads: Nats-Msg-Id) goes
 * record by record, as before. Both are stored and answered alike.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KafkaFace } from '../../src/protocols/kafka/face.js';
import { encodeBatch } from '../../src/protocols/kafka/records.js';
import type { KafkaSession } from '../../src/protocols/kafka/session.js';
import type { Stream } from '../../src/streams/stream.js';
import { checkFor } from '../helpers/poll.js';
import { type KafkaNode, startKafkaNode } from './helpers.js';
import { WireClient } from './wire-client.js';

const PRODUCE = 0;
const CREATE_TOPICS = 19;

type P = { errorCode: number; baseOffset: bigint };
const partOf = (r: unknown): P =>
  (r as { responses: { partitionResponses: P[] }[] }).responses[0]!.partitionResponses[0]!;

function body(records: Buffer) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 'runs', partitionData: [{ index: 0, records }] }],
  };
}

describe('Kafka produce: a batch is one run in the stream', () => {
  let n: KafkaNode;
  let c: WireClient;
  let stream: Stream;
  const calls = { runs: 0, each: 0 };

  before(async () => {
    n = await startKafkaNode();
    c = await WireClient.open(n.kafkaPort);
    const r = await c.send(CREATE_TOPICS, 7, {
      topics: [
        { name: 'runs', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal((r.topics as { errorCode: number }[])[0]!.errorCode, 0);
    const face = n.srv.node.faces.find((f) => f.name === 'kafka') as unknown as KafkaFace;
    const live = (face as unknown as { live: Set<KafkaSession> }).live;
    await checkFor(() => live.size > 0, 5000);
    const session = [...live][0]!;
    stream = face.topics.find(session.account!, 'runs')!.partitions[0]!.cs.stream;
    const run = stream.storeNotifyRun.bind(stream);
    const each = stream.storeNotify.bind(stream);
    stream.storeNotifyRun = (...a) => {
      calls.runs++;
      return run(...a);
    };
    stream.storeNotify = (...a) => {
      calls.each++;
      each(...a);
    };
  });
  after(async () => {
    c.close();
    await n.close();
  });

  async function stored(from: number): Promise<string[]> {
    const out: string[] = [];
    for (let seq = from; seq <= stream.state().lastSeq; seq++) {
      out.push(Buffer.from((await stream.messages.get(seq))!.payload).toString());
    }
    return out;
  }

  it('16 records, plain and idempotent: one run each, none record by record', async () => {
    const values = Array.from({ length: 16 }, (_, i) => `v${i}`);
    const start = stream.state().lastSeq;
    const plain = encodeBatch({
      baseTimestamp: Date.now(),
      records: values.map((v) => ({ value: Buffer.from(v) })),
    });
    const idem = encodeBatch({
      baseTimestamp: Date.now(),
      producerId: BigInt(Date.now() - Date.UTC(2024, 0, 1)) << 22n,
      producerEpoch: 0,
      baseSequence: 0,
      records: values.map((v, i) => ({
        key: i === 3 ? Buffer.from('k') : null,
        value: Buffer.from(v),
        headers: i === 5 ? [{ key: 'X-A', value: Buffer.from('1') }] : [],
      })),
    });
    const got = [
      partOf(await c.send(PRODUCE, 9, body(plain))),
      partOf(await c.send(PRODUCE, 9, body(idem))),
    ];
    assert.deepEqual(
      got.map((p) => [p.errorCode, p.baseOffset]),
      [
        [0, BigInt(start)],
        [0, BigInt(start + 16)],
      ],
    );
    assert.deepEqual(calls, { runs: 2, each: 0 });
    assert.deepEqual(await stored(start + 1), [...values, ...values]);
  });

  it('a record with a Nats-* header: record by record, stored alike', async () => {
    const start = stream.state().lastSeq;
    calls.runs = 0;
    calls.each = 0;
    const batch = encodeBatch({
      baseTimestamp: Date.now(),
      records: [
        { value: Buffer.from('a') },
        { value: Buffer.from('b'), headers: [{ key: 'Nats-Msg-Id', value: Buffer.from('m1') }] },
        { value: Buffer.from('c') },
      ],
    });
    const p = partOf(await c.send(PRODUCE, 9, body(batch)));
    assert.deepEqual([p.errorCode, p.baseOffset], [0, BigInt(start)]);
    assert.deepEqual(calls, { runs: 0, each: 3 });
    assert.deepEqual(await stored(start + 1), ['a', 'b', 'c']);
  });
});
