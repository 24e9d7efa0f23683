/**
 * Topic administration and permissions through the Kafka face:
 * CreateTopics (partitions, retention.ms, retention.bytes,
 * max.message.bytes; compact refused; replication over 1 refused, as a
 * one-broker Kafka), DescribeConfigs reading them back, CreatePartitions,
 * DeleteTopics; the user's subject permissions deciding produce, fetch,
 * create, delete and what Metadata shows (TOPIC_AUTHORIZATION_FAILED); and
 * Fetch's bounds: max_bytes per partition (the first record always whole),
 * OFFSET_OUT_OF_RANGE below the first offset after retention removed
 * records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/config.js';
import { clientPool } from '../helpers/clients.js';
import { type KafkaNode, produceRequest, startKafkaNode } from './helpers.js';
import { WireClient } from './wire-client.js';

type Rec = Record<string, unknown>;

const create = (topics: Rec[]) => ({ topics, timeoutMs: 5000, validateOnly: false });
const topic = (
  name: string,
  numPartitions = 1,
  configs: { name: string; value: string }[] = [],
  replicationFactor = -1,
) => ({
  name,
  numPartitions,
  replicationFactor,
  assignments: [],
  configs,
});

function fetchReq(name: string, offset: bigint, partitionMaxBytes = 1 << 20) {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: name,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: offset,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

const produced = (r: Rec) =>
  (r.responses as { partitionResponses: { errorCode: number }[] }[])[0]!.partitionResponses[0]!
    .errorCode;
const fetched = (r: Rec) =>
  (
    r.responses as {
      partitions: { errorCode: number; records: Buffer; logStartOffset: bigint }[];
    }[]
  )[0]!.partitions[0]!;
const created = (r: Rec) =>
  (r.topics as { name: string; errorCode: number; errorMessage: string | null }[]).map((t) => [
    t.name,
    t.errorCode,
  ]);

describe('Kafka topic administration', () => {
  let n: KafkaNode;
  let c: WireClient;

  before(async () => {
    n = await startKafkaNode();
    c = await WireClient.open(n.kafkaPort);
  });
  after(async () => {
    c.close();
    await n.close();
  });

  it('creates topics with configs, refuses what Kafka (or this broker) refuses', async () => {
    const r = await c.send(
      19,
      7,
      create([
        topic('t.one', 3, [
          { name: 'retention.ms', value: '3600000' },
          { name: 'retention.bytes', value: '1048576' },
          { name: 'max.message.bytes', value: '2048' },
          { name: 'cleanup.policy', value: 'delete' },
        ]),
        topic('t_compact', 1, [{ name: 'cleanup.policy', value: 'compact' }]),
        topic('t_rf', 1, [], 3),
        topic('bad/name'),
        topic('t_unknown', 1, [{ name: 'no.such.config', value: '1' }]),
      ]),
    );
    assert.deepEqual(created(r), [
      ['t.one', 0],
      ['t_compact', 40],
      ['t_rf', 38],
      ['bad/name', 17],
      ['t_unknown', 40],
    ]);
    const again = await c.send(19, 7, create([topic('t.one')]));
    assert.deepEqual(created(again), [['t.one', 36]]);
    // The streams behind it: one per partition.
    const js = n.srv.node.jetstream!.account('$G')!;
    assert.deepEqual([...js.streams.keys()].filter((s) => s.startsWith('t_one')).sort(), [
      't_one',
      't_one~1',
      't_one~2',
    ]);
  });

  it('describes the configs it was given', async () => {
    const r = await c.send(32, 4, {
      resources: [{ resourceType: 2, resourceName: 't.one', configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const res = (
      r.results as { errorCode: number; configs: { name: string; value: string }[] }[]
    )[0]!;
    assert.equal(res.errorCode, 0);
    const v = Object.fromEntries(res.configs.map((x) => [x.name, x.value]));
    assert.equal(v['retention.ms'], '3600000');
    assert.equal(v['retention.bytes'], '1048576');
    assert.equal(v['max.message.bytes'], '2048');
    assert.equal(v['cleanup.policy'], 'delete');
  });

  it('refuses a record over the topic max.message.bytes', async () => {
    const r = await c.send(0, 9, produceRequest('t.one', ['x'.repeat(4000)]));
    assert.equal(produced(r), 10);
  });

  it('grows a topic (CreatePartitions) and deletes it (DeleteTopics)', async () => {
    const grow = await c.send(37, 3, {
      topics: [{ name: 't.one', count: 5, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal((grow.results as { errorCode: number }[])[0]!.errorCode, 0);
    const shrink = await c.send(37, 3, {
      topics: [{ name: 't.one', count: 2, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal((shrink.results as { errorCode: number }[])[0]!.errorCode, 37);
    const meta = await c.send(3, 12, {
      topics: [{ topicId: '00000000000000000000000000000000', name: 't.one' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal((meta.topics as { partitions: unknown[] }[])[0]!.partitions.length, 5);
    const del = await c.send(20, 5, { topicNames: ['t.one', 'nope'], timeoutMs: 5000 });
    assert.deepEqual(
      (del.responses as { errorCode: number }[]).map((x) => x.errorCode),
      [0, 3],
    );
    const js = n.srv.node.jetstream!.account('$G')!;
    assert.equal([...js.streams.keys()].filter((s) => s.startsWith('t_one')).length, 0);
  });

  it('Fetch: max_bytes per partition, the first record always whole; OFFSET_OUT_OF_RANGE after retention', async () => {
    await c.send(19, 7, create([topic('bounds')]));
    const values = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(1000, '.'));
    assert.equal(produced(await c.send(0, 9, produceRequest('bounds', values))), 0);
    const small = fetched(await c.send(1, 12, fetchReq('bounds', 0n, 10)));
    assert.equal(small.errorCode, 0);
    assert.ok(small.records.includes(Buffer.from(values[0]!)), 'the first record, over max_bytes');
    assert.ok(!small.records.includes(Buffer.from(values[1]!)), 'and only it');
    const some = fetched(await c.send(1, 12, fetchReq('bounds', 2n, 3500)));
    const count = values.filter((v) => some.records.includes(Buffer.from(v))).length;
    assert.ok(count >= 2 && count <= 4, `${count} records in 3500 bytes`);
    // Retention removes the oldest: below the first offset is out of range.
    const cs = n.srv.node.jetstream!.account('$G')!.streams.get('bounds')!;
    await cs.stream.purge({ seq: 6 });
    const gone = fetched(await c.send(1, 12, fetchReq('bounds', 2n)));
    assert.equal(gone.errorCode, 1);
    assert.equal(gone.logStartOffset, 5n);
    const kept = fetched(await c.send(1, 12, fetchReq('bounds', 5n)));
    assert.equal(kept.errorCode, 0);
  });
});

describe('Kafka permissions', () => {
  let n: KafkaNode;
  let c: WireClient;

  before(async () => {
    n = await startKafkaNode(
      parseConfigText(`
authorization:
  users:
    - user: admin
      password: admin
    - user: limited
      password: limited
      permissions:
        publish: { allow: ["mine", "mine.>", "$JS.API.STREAM.CREATE.made"] }
        subscribe: { allow: ["mine", "mine.>"] }
no_auth_user: limited
`),
    );
    const pool = clientPool(`nats://127.0.0.1:${n.srv.port}`);
    const nc = await pool.connect({ user: 'admin', pass: 'admin' });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({
      name: 'mine',
      subjects: ['mine', 'mine.0'],
      description: 'Kafka topic "mine" partition 0',
    });
    await jsm.streams.add({
      name: 'secret',
      subjects: ['secret', 'secret.0'],
      description: 'Kafka topic "secret" partition 0',
    });
    await pool.closeAll();
    c = await WireClient.open(n.kafkaPort);
  });
  after(async () => {
    c.close();
    await n.close();
  });

  it('produce and fetch follow the subject permissions', async () => {
    assert.equal(produced(await c.send(0, 9, produceRequest('mine', ['ok']))), 0);
    assert.equal(produced(await c.send(0, 9, produceRequest('secret', ['no']))), 29);
    assert.equal(fetched(await c.send(1, 12, fetchReq('mine', 0n))).errorCode, 0);
    assert.equal(fetched(await c.send(1, 12, fetchReq('secret', 0n))).errorCode, 29);
  });

  it('Metadata shows only what the user may see', async () => {
    const all = await c.send(3, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.deepEqual(
      (all.topics as { name: string }[]).map((t) => t.name),
      ['mine'],
    );
    const named = await c.send(3, 12, {
      topics: [{ topicId: '00000000000000000000000000000000', name: 'secret' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal((named.topics as { errorCode: number }[])[0]!.errorCode, 29);
  });

  it('create and delete need the JetStream API permissions of the streams', async () => {
    const r = await c.send(19, 7, create([topic('made'), topic('other')]));
    assert.deepEqual(created(r), [
      ['made', 0],
      ['other', 29],
    ]);
    const del = await c.send(20, 5, { topicNames: ['made'], timeoutMs: 5000 });
    assert.equal((del.responses as { errorCode: number }[])[0]!.errorCode, 29);
  });
});
