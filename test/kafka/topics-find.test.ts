/**
 * `KafkaTopics.find` keeps the topics it built (TOPICS_CACHED) and answers
 * from them while their streams are the same: a topic grown by
 * CreatePartitions, deleted and made again, or whose stream config changed
 * is built anew, so Produce never writes to a stream that is gone or misses
 * a new partition.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KafkaFace } from '../../src/protocols/kafka/face.js';
import type { KafkaSession } from '../../src/protocols/kafka/session.js';
import { TOPICS_CACHED } from '../../src/protocols/kafka/topics.js';
import { checkFor } from '../helpers/poll.js';
import { type KafkaNode, produceRequest, startKafkaNode } from './helpers.js';
import { WireClient } from './wire-client.js';

type P = { errorCode: number; baseOffset: bigint };
const partOf = (r: unknown): P =>
  (r as { responses: { partitionResponses: P[] }[] }).responses[0]!.partitionResponses[0]!;

describe('Kafka topics: find keeps what it built while the streams are the same', () => {
  let n: KafkaNode;
  let c: WireClient;
  let face: KafkaFace;
  let session: KafkaSession;

  const create = async (name: string, numPartitions: number) => {
    const r = await c.send(19, 7, {
      topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal((r.topics as { errorCode: number }[])[0]!.errorCode, 0);
  };

  before(async () => {
    n = await startKafkaNode();
    c = await WireClient.open(n.kafkaPort);
    face = n.srv.node.faces.find((f) => f.name === 'kafka') as unknown as KafkaFace;
    const live = (face as unknown as { live: Set<KafkaSession> }).live;
    await checkFor(() => live.size > 0, 5000);
    session = [...live][0]!;
  });
  after(async () => {
    c.close();
    await n.close();
  });

  it('answers a second find from what it built', async () => {
    await create('kept', 1);
    assert.equal(partOf(await c.send(0, 9, produceRequest('kept', ['a']))).errorCode, 0);
    const t = face.topics;
    const a = t.find(session.account!, 'kept');
    const hits = t.findHits;
    const b = t.find(session.account!, 'kept');
    assert.ok(a !== null && a === b, 'the same topic object');
    assert.equal(t.findHits, hits + 1);
    assert.equal(t.find(session.account!, 'no.such'), null);
    assert.ok(TOPICS_CACHED > 0);
    assert.equal(face.varz().topic_cache_clears, 0);
  });

  it('sees partitions CreatePartitions added', async () => {
    await create('grows', 1);
    assert.equal(partOf(await c.send(0, 9, produceRequest('grows', ['a']))).errorCode, 0);
    const grow = await c.send(37, 3, {
      topics: [{ name: 'grows', count: 3, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal((grow.results as { errorCode: number }[])[0]!.errorCode, 0);
    const p2 = partOf(await c.send(0, 9, produceRequest('grows', ['b'], 2)));
    assert.deepEqual([p2.errorCode, p2.baseOffset], [0, 0n]);
    assert.equal(face.topics.find(session.account!, 'grows')!.partitions.length, 3);
  });

  it('writes to the new stream of a topic deleted and made again', async () => {
    await create('again', 1);
    for (const v of ['a', 'b', 'c']) {
      assert.equal(partOf(await c.send(0, 9, produceRequest('again', [v]))).errorCode, 0);
    }
    const old = face.topics.find(session.account!, 'again')!.partitions[0]!.cs;
    const del = await c.send(20, 5, { topicNames: ['again'], timeoutMs: 5000 });
    assert.equal((del.responses as { errorCode: number }[])[0]!.errorCode, 0);
    await create('again', 1);
    const p = partOf(await c.send(0, 9, produceRequest('again', ['d'])));
    assert.deepEqual([p.errorCode, p.baseOffset], [0, 0n], 'offset 0 of the new topic');
    const now = face.topics.find(session.account!, 'again')!.partitions[0]!.cs;
    assert.notEqual(now, old);
    assert.equal(now.stream.state().lastSeq, 1);
  });

  it('builds anew when the first stream config changed', async () => {
    await create('conf', 1);
    const t = face.topics;
    const a = t.find(session.account!, 'conf')!;
    const s = a.partitions[0]!.cs.stream;
    await s.update({ ...s.config, max_msgs: 1000 });
    const b = t.find(session.account!, 'conf')!;
    assert.notEqual(a, b, 'rebuilt');
    assert.equal(b.partitions[0]!.cs, a.partitions[0]!.cs);
  });
});
