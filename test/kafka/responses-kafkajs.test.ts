/**
 * Responses we encode, read by kafkajs's own response decoders, for every
 * version kafkajs and we share: the fields a client acts on arrive intact.
 * A Fetch response carries record batches we encoded (placed by reference),
 * which kafkajs unpacks into messages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ApiKey,
  encodeResponse,
  type Message,
  SUPPORTED,
} from '../../src/protocols/kafka/codec.js';
import { FrameSplitter } from '../../src/protocols/kafka/frames.js';
import { encodeBatch } from '../../src/protocols/kafka/records.js';
import { kafkajsDecodeResponse, kafkajsVersions } from './kafkajs.js';

// biome-ignore lint/suspicious/noExplicitAny: kafkajs's decoded objects.
type Any = any;

interface Case {
  body: Message;
  check: (got: Any, v: number) => void;
}

const BIG_VALUE = Buffer.alloc(5000, 0x61);
const batchA = encodeBatch({
  baseOffset: 10n,
  baseTimestamp: 1000,
  records: [{ key: Buffer.from('k'), value: Buffer.from('v10') }, { value: BIG_VALUE }],
});
const batchB = encodeBatch({
  baseOffset: 12n,
  baseTimestamp: 2000,
  records: [{ value: Buffer.from('v12'), headers: [{ key: 'h', value: Buffer.from('1') }] }],
});

const CASES: Partial<Record<number, Case>> = {
  [ApiKey.ApiVersions]: {
    body: {
      errorCode: 0,
      apiKeys: [...SUPPORTED].map(([apiKey, s]) => ({
        apiKey,
        minVersion: s.min,
        maxVersion: s.max,
      })),
      throttleTimeMs: 0,
    },
    check: (got) => {
      assert.equal(got.errorCode, 0);
      assert.equal(got.apiVersions.length, SUPPORTED.size);
      assert.deepEqual(got.apiVersions[0], { apiKey: 0, minVersion: 3, maxVersion: 9 });
    },
  },
  [ApiKey.Metadata]: {
    body: {
      brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
      clusterId: 'weft',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 0,
              replicaNodes: [1],
              isrNodes: [1],
              offlineReplicas: [],
            },
          ],
        },
      ],
    },
    check: (got, v) => {
      assert.deepEqual(
        got.brokers.map((b: Any) => [b.nodeId, b.host, b.port]),
        [[1, 'localhost', 9092]],
      );
      if (v >= 2) assert.equal(got.clusterId, 'weft');
      assert.equal(got.topicMetadata[0].topic, 'orders');
      assert.equal(got.topicMetadata[0].partitionMetadata[0].leader, 1);
      assert.deepEqual(got.topicMetadata[0].partitionMetadata[0].isr, [1]);
    },
  },
  [ApiKey.Produce]: {
    body: {
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            { index: 2, errorCode: 0, baseOffset: 77n, logAppendTimeMs: -1n, logStartOffset: 0n },
          ],
        },
      ],
      throttleTimeMs: 0,
    },
    check: (got) => {
      assert.equal(got.topics[0].topicName, 'orders');
      assert.equal(got.topics[0].partitions[0].partition, 2);
      assert.equal(got.topics[0].partitions[0].baseOffset, '77');
    },
  },
  [ApiKey.Fetch]: {
    body: {
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 13n,
              lastStableOffset: 13n,
              logStartOffset: 0n,
              abortedTransactions: null,
              records: [batchA, batchB],
            },
            { partitionIndex: 1, errorCode: 1, highWatermark: 0n, records: null },
          ],
        },
      ],
    },
    check: (got) => {
      const [p0, p1] = got.responses[0].partitions;
      assert.equal(got.responses[0].topicName, 'orders');
      assert.equal(p0.highWatermark, '13');
      assert.deepEqual(
        p0.messages.map((m: Any) => [m.offset, m.value.length]),
        [
          ['10', 3],
          ['11', 5000],
          ['12', 3],
        ],
      );
      assert.equal(p0.messages[2].headers.h.toString(), '1');
      assert.equal(p1.errorCode, 1);
      assert.deepEqual(p1.messages, []);
    },
  },
  [ApiKey.ListOffsets]: {
    body: {
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1n, offset: 42n }],
        },
      ],
    },
    check: (got) => {
      assert.equal(got.responses[0].topic, 'orders');
      assert.equal(got.responses[0].partitions[0].offset, '42');
    },
  },
  [ApiKey.FindCoordinator]: {
    body: { errorCode: 0, errorMessage: null, nodeId: 1, host: 'h', port: 9092 },
    check: (got) => assert.deepEqual(got.coordinator, { nodeId: 1, host: 'h', port: 9092 }),
  },
  [ApiKey.JoinGroup]: {
    body: {
      errorCode: 0,
      generationId: 3,
      protocolName: 'RoundRobinAssigner',
      leader: 'm1',
      memberId: 'm1',
      members: [{ memberId: 'm1', groupInstanceId: null, metadata: Buffer.from('md') }],
    },
    check: (got) => {
      assert.equal(got.generationId, 3);
      assert.equal(got.groupProtocol, 'RoundRobinAssigner');
      assert.equal(got.leaderId, 'm1');
      assert.equal(got.members[0].memberMetadata.toString(), 'md');
    },
  },
  [ApiKey.SyncGroup]: {
    body: { errorCode: 0, assignment: Buffer.from('asg') },
    check: (got) => assert.equal(got.memberAssignment.toString(), 'asg'),
  },
  [ApiKey.Heartbeat]: { body: { errorCode: 27 }, check: (got) => assert.equal(got.errorCode, 27) },
  [ApiKey.OffsetCommit]: {
    body: { topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }] }] },
    check: (got) => assert.equal(got.responses[0].partitions[0].partition, 0),
  },
  [ApiKey.OffsetFetch]: {
    body: {
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, committedOffset: 5n, metadata: '', errorCode: 0 }],
        },
      ],
      errorCode: 0,
    },
    check: (got) => assert.equal(got.responses[0].partitions[0].offset, '5'),
  },
  [ApiKey.InitProducerId]: {
    body: { errorCode: 0, producerId: 1000n, producerEpoch: 0 },
    check: (got) => {
      assert.equal(got.producerId, '1000');
      assert.equal(got.producerEpoch, 0);
    },
  },
  [ApiKey.SaslHandshake]: {
    body: { errorCode: 0, mechanisms: ['PLAIN', 'SCRAM-SHA-256'] },
    check: (got) => assert.deepEqual(got.enabledMechanisms, ['PLAIN', 'SCRAM-SHA-256']),
  },
  [ApiKey.SaslAuthenticate]: {
    body: { errorCode: 0, errorMessage: null, authBytes: Buffer.from('ok') },
    check: (got) => assert.equal(got.errorCode, 0),
  },
  [ApiKey.ListGroups]: {
    body: { errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer' }] },
    check: (got) => assert.deepEqual(got.groups, [{ groupId: 'g', protocolType: 'consumer' }]),
  },
  [ApiKey.DescribeGroups]: {
    body: {
      groups: [
        {
          errorCode: 0,
          groupId: 'g',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'range',
          members: [
            {
              memberId: 'm',
              clientId: 'c',
              clientHost: '/1.2.3.4',
              memberMetadata: Buffer.alloc(0),
              memberAssignment: Buffer.from('a'),
            },
          ],
        },
      ],
    },
    check: (got) => {
      assert.equal(got.groups[0].state, 'Stable');
      assert.equal(got.groups[0].members[0].memberAssignment.toString(), 'a');
    },
  },
  [ApiKey.CreateTopics]: {
    body: { topics: [{ name: 't', errorCode: 36, errorMessage: 'exists' }] },
    check: (got) => assert.equal(got.topicErrors[0].errorCode, 36),
  },
  [ApiKey.DeleteTopics]: {
    body: { responses: [{ name: 't', errorCode: 3 }] },
    check: (got) => assert.equal(got.topicErrors[0].errorCode, 3),
  },
  [ApiKey.CreatePartitions]: {
    body: { results: [{ name: 't', errorCode: 0, errorMessage: null }] },
    check: (got) => assert.equal(got.topicErrors[0].topic, 't'),
  },
  [ApiKey.DeleteGroups]: {
    body: { results: [{ groupId: 'g', errorCode: 69 }] },
    check: (got) => assert.equal(got.results[0].errorCode, 69),
  },
  [ApiKey.LeaveGroup]: {
    body: { errorCode: 0, members: [{ memberId: 'm', groupInstanceId: null, errorCode: 0 }] },
    check: (got) => assert.equal(got.errorCode, 0),
  },
  [ApiKey.DescribeConfigs]: {
    body: {
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 't',
          configs: [
            {
              name: 'retention.ms',
              value: '1000',
              readOnly: false,
              isDefault: false,
              configSource: 1,
              isSensitive: false,
              synonyms: [],
            },
          ],
        },
      ],
    },
    check: (got) => {
      assert.equal(got.resources[0].configEntries[0].configName, 'retention.ms');
      assert.equal(got.resources[0].configEntries[0].configValue, '1000');
    },
  },
};

for (const [key, { name, min, max }] of SUPPORTED) {
  const c = CASES[key];
  const versions = kafkajsVersions(key).filter((v) => v >= min && v <= max);
  test(`${name} response, versions ${versions.join(', ')}: kafkajs reads what we write`, async () => {
    assert.ok(c !== undefined, `no case for ${name}`);
    for (const v of versions) {
      const chunks = encodeResponse(key, v, 42, c.body);
      if (key === ApiKey.Fetch)
        assert.ok(chunks.includes(batchA), 'large record batches are placed by reference');
      const splitter = new FrameSplitter();
      for (const ch of chunks) splitter.push(ch);
      const frame = splitter.next();
      assert.ok(frame !== null);
      assert.equal(frame.readInt32BE(0), 42);
      try {
        c.check(await kafkajsDecodeResponse(key, v, frame.subarray(4)), v);
      } catch (err) {
        throw new Error(`${name} v${v}: ${(err as Error).message}`);
      }
    }
  });
}
