/**
 * Cross-check of the request codec against an independent implementation:
 * for every API and every version both kafkajs and we serve, kafkajs encodes
 * a request, our FrameSplitter + decodeRequest read it, the fields come out
 * as kafkajs meant them, and our encodeRequest writes the very same bytes
 * back (so nothing was skipped or misread).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeRequest,
  encodeRequest,
  type Message,
  SUPPORTED,
} from '../../src/protocols/kafka/codec.js';
import {
  decodeConsumerProtocol,
  encodeConsumerProtocol,
} from '../../src/protocols/kafka/consumer-protocol.js';
import { FrameSplitter } from '../../src/protocols/kafka/frames.js';
import { decodeBatch, splitBatches } from '../../src/protocols/kafka/records.js';
import { KafkajsEncoder, kafkajsRequest, kafkajsVersions } from './kafkajs.js';

interface Case {
  args: unknown;
  check: (body: Message, version: number) => void;
}

// biome-ignore lint/suspicious/noExplicitAny: decoded messages are walked freely in checks.
type Any = any;

const TS = 1_700_000_000_000;

const CASES: Record<number, Case> = {
  0: {
    args: {
      acks: -1,
      timeout: 30000,
      topicData: [
        {
          topic: 'orders',
          partitions: [
            {
              partition: 3,
              firstSequence: 0,
              messages: [
                { key: 'k1', value: 'v1', headers: { h: 'x' }, timestamp: TS },
                { key: null, value: 'v2', timestamp: TS + 5 },
              ],
            },
          ],
        },
      ],
    },
    check: (b: Any) => {
      assert.equal(b.acks, -1);
      assert.equal(b.timeoutMs, 30000);
      assert.equal(b.transactionalId, null);
      assert.equal(b.topicData[0].name, 'orders');
      const p = b.topicData[0].partitionData[0];
      assert.equal(p.index, 3);
      const [batch] = splitBatches(p.records);
      const { header, records } = decodeBatch(batch, { maxBytes: 1 << 20 });
      assert.equal(header.baseTimestamp, BigInt(TS));
      assert.equal(header.maxTimestamp, BigInt(TS + 5));
      assert.equal(records.length, 2);
      assert.equal(records[0].key?.toString(), 'k1');
      assert.equal(records[0].value?.toString(), 'v1');
      assert.deepEqual(
        records[0].headers.map((h) => [h.key, h.value?.toString()]),
        [['h', 'x']],
      );
      assert.equal(records[1].key, null);
      assert.equal(records[1].timestampDelta, 5);
      assert.equal(records[1].offsetDelta, 1);
    },
  },
  1: {
    args: {
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 1048576,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      forgottenTopics: [],
      rackId: 'r1',
      topics: [
        { topic: 'orders', partitions: [{ partition: 2, fetchOffset: '42', maxBytes: 65536 }] },
      ],
    },
    check: (b: Any, v) => {
      assert.equal(b.maxWaitMs, 500);
      assert.equal(b.minBytes, 1);
      assert.equal(b.maxBytes, 1048576);
      assert.equal(b.isolationLevel, 1);
      assert.equal(b.topics[0].topic, 'orders');
      assert.equal(b.topics[0].partitions[0].partition, 2);
      assert.equal(b.topics[0].partitions[0].fetchOffset, 42n);
      assert.equal(b.topics[0].partitions[0].partitionMaxBytes, 65536);
      assert.equal(b.rackId, v >= 11 ? 'r1' : '');
    },
  },
  2: {
    args: {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: 'orders', partitions: [{ partition: 1, timestamp: -2 }] }],
    },
    check: (b: Any) => {
      assert.equal(b.replicaId, -1);
      assert.equal(b.topics[0].name, 'orders');
      assert.equal(b.topics[0].partitions[0].partitionIndex, 1);
      assert.equal(b.topics[0].partitions[0].timestamp, -2n);
    },
  },
  3: {
    args: { topics: ['a', 'b'], allowAutoTopicCreation: false },
    check: (b: Any, v) => {
      assert.deepEqual(
        b.topics.map((t: Any) => t.name),
        ['a', 'b'],
      );
      assert.equal(b.allowAutoTopicCreation, v < 4);
    },
  },
  8: {
    args: {
      groupId: 'g',
      groupGenerationId: 4,
      memberId: 'm-1',
      retentionTime: -1,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '99', metadata: 'meta' }] }],
    },
    check: (b: Any, v) => {
      assert.equal(b.groupId, 'g');
      if (v >= 1) {
        assert.equal(b.generationIdOrMemberEpoch, 4);
        assert.equal(b.memberId, 'm-1');
      }
      assert.equal(b.topics[0].partitions[0].committedOffset, 99n);
      assert.equal(b.topics[0].partitions[0].committedMetadata, 'meta');
    },
  },
  9: {
    args: {
      groupId: 'g',
      topics: [{ topic: 'orders', partitions: [{ partition: 0 }, { partition: 1 }] }],
    },
    check: (b: Any) => {
      assert.equal(b.groupId, 'g');
      assert.deepEqual(b.topics[0].partitionIndexes, [0, 1]);
    },
  },
  10: {
    args: { groupId: 'g', coordinatorKey: 'g', coordinatorType: 0 },
    check: (b: Any) => {
      assert.equal(b.key, 'g');
      assert.equal(b.keyType, 0);
    },
  },
  11: {
    args: {
      groupId: 'g',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }],
    },
    check: (b: Any, v) => {
      assert.equal(b.groupId, 'g');
      assert.equal(b.sessionTimeoutMs, 30000);
      assert.equal(b.rebalanceTimeoutMs, v >= 1 ? 60000 : -1);
      assert.equal(b.protocolType, 'consumer');
      assert.equal(b.protocols[0].name, 'RoundRobinAssigner');
      assert.deepEqual([...b.protocols[0].metadata], [0, 1, 2]);
    },
  },
  12: {
    args: { groupId: 'g', groupGenerationId: 3, memberId: 'm-1', groupInstanceId: null },
    check: (b: Any) => {
      assert.equal(b.groupId, 'g');
      assert.equal(b.generationId, 3);
      assert.equal(b.memberId, 'm-1');
    },
  },
  13: {
    args: { groupId: 'g', memberId: 'm-1', members: [{ memberId: 'm-1', groupInstanceId: null }] },
    check: (b: Any, v) => {
      assert.equal(b.groupId, 'g');
      if (v < 3) assert.equal(b.memberId, 'm-1');
      else assert.equal(b.members[0].memberId, 'm-1');
    },
  },
  14: {
    args: {
      groupId: 'g',
      generationId: 2,
      memberId: 'm-1',
      groupInstanceId: null,
      groupAssignment: [{ memberId: 'm-1', memberAssignment: Buffer.from('abc') }],
    },
    check: (b: Any) => {
      assert.equal(b.generationId, 2);
      assert.equal(b.assignments[0].memberId, 'm-1');
      assert.equal(b.assignments[0].assignment.toString(), 'abc');
    },
  },
  15: {
    args: { groupIds: ['g1', 'g2'] },
    check: (b: Any) => assert.deepEqual(b.groups, ['g1', 'g2']),
  },
  16: { args: {}, check: () => {} },
  17: { args: { mechanism: 'PLAIN' }, check: (b: Any) => assert.equal(b.mechanism, 'PLAIN') },
  18: { args: {}, check: () => {} },
  19: {
    args: {
      timeout: 5000,
      validateOnly: false,
      topics: [
        {
          topic: 'new',
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: '1000' }],
        },
      ],
    },
    check: (b: Any) => {
      assert.equal(b.topics[0].name, 'new');
      assert.equal(b.topics[0].numPartitions, 3);
      assert.equal(b.topics[0].configs[0].name, 'retention.ms');
      assert.equal(b.topics[0].configs[0].value, '1000');
      assert.equal(b.timeoutMs, 5000);
    },
  },
  20: {
    args: { topics: ['x', 'y'], timeout: 100 },
    check: (b: Any) => assert.deepEqual(b.topicNames, ['x', 'y']),
  },
  22: {
    args: { transactionalId: null, transactionTimeout: 60000 },
    check: (b: Any) => {
      assert.equal(b.transactionalId, null);
      assert.equal(b.transactionTimeoutMs, 60000);
    },
  },
  32: {
    args: {
      includeSynonyms: false,
      resources: [{ type: 2, name: 'orders', configNames: ['retention.ms'] }],
    },
    check: (b: Any) => {
      assert.equal(b.resources[0].resourceType, 2);
      assert.equal(b.resources[0].resourceName, 'orders');
      assert.deepEqual(b.resources[0].configurationKeys, ['retention.ms']);
    },
  },
  // kafkajs's SASL authenticators hand over the bytes already length-prefixed.
  36: {
    args: { authBytes: new KafkajsEncoder().writeBytes(Buffer.from('\0u\0p')).buffer },
    check: (b: Any) => assert.equal(b.authBytes.toString(), '\0u\0p'),
  },
  37: {
    args: { topicPartitions: [{ topic: 'orders', count: 8 }], timeout: 100, validateOnly: false },
    check: (b: Any) => {
      assert.equal(b.topics[0].name, 'orders');
      assert.equal(b.topics[0].count, 8);
    },
  },
  42: { args: ['g1'], check: (b: Any) => assert.deepEqual(b.groupsNames, ['g1']) },
};

for (const [key, { name, min, max }] of SUPPORTED) {
  const c = CASES[key];
  const versions = kafkajsVersions(key).filter((v) => v >= min && v <= max);
  test(`${name}: every version kafkajs and we share (${versions.join(', ')}) decodes and re-encodes byte for byte`, async () => {
    assert.ok(c !== undefined, `no case for ${name}`);
    assert.ok(versions.length > 0, `kafkajs shares no version of ${name}`);
    for (const v of versions) {
      const wire = await kafkajsRequest(key, v, c.args);
      const splitter = new FrameSplitter();
      // Fed one byte at a time: frames come out whole whatever the reads.
      for (let i = 0; i < wire.length; i++) splitter.push(wire.subarray(i, i + 1));
      const frame = splitter.next();
      assert.ok(frame !== null);
      assert.equal(splitter.pending, 0);
      const { header, body } = decodeRequest(frame);
      assert.deepEqual(header, {
        apiKey: key,
        apiVersion: v,
        correlationId: 7,
        clientId: 'kafkajs-xcheck',
      });
      c.check(body, v);
      assert.deepEqual(
        Buffer.concat(encodeRequest(header, body)),
        wire,
        `${name} v${v} re-encoded`,
      );
    }
  });
}

test("consumer protocol: kafkajs's member metadata and assignment decode, and ours decode with kafkajs", async () => {
  const { AssignerProtocol } = (await import('kafkajs')).default as unknown as {
    AssignerProtocol: {
      MemberMetadata: { encode(o: unknown): Buffer; decode(b: Buffer): Any };
      MemberAssignment: { encode(o: unknown): Buffer; decode(b: Buffer): Any };
    };
  };
  const meta = AssignerProtocol.MemberMetadata.encode({
    version: 1,
    topics: ['a', 'b'],
    userData: Buffer.from('u'),
  });
  const sub = decodeConsumerProtocol('ConsumerProtocolSubscription', meta);
  assert.equal(sub.version, 1);
  assert.deepEqual(sub.value.topics, ['a', 'b']);
  assert.equal((sub.value.userData as Buffer).toString(), 'u');
  const asg = AssignerProtocol.MemberAssignment.encode({
    version: 0,
    assignment: { a: [0, 2] },
    userData: Buffer.alloc(0),
  });
  const a = decodeConsumerProtocol('ConsumerProtocolAssignment', asg).value as Any;
  assert.deepEqual(a.assignedPartitions, [{ topic: 'a', partitions: [0, 2] }]);
  const ours = encodeConsumerProtocol('ConsumerProtocolAssignment', 0, {
    assignedPartitions: [{ topic: 't', partitions: [1, 3] }],
    userData: Buffer.alloc(0),
  });
  assert.deepEqual(AssignerProtocol.MemberAssignment.decode(ours).assignment, { t: [1, 3] });
  const oursSub = encodeConsumerProtocol('ConsumerProtocolSubscription', 0, {
    topics: ['t'],
    userData: null,
  });
  assert.deepEqual(AssignerProtocol.MemberMetadata.decode(oursSub).topics, ['t']);
  // A newer version than we know reads as the newest we know.
  const v9 = Buffer.concat([
    Buffer.from([0, 9]),
    encodeConsumerProtocol('ConsumerProtocolAssignment', 3, { assignedPartitions: [] }).subarray(2),
    Buffer.from('future'),
  ]);
  assert.deepEqual(
    decodeConsumerProtocol('ConsumerProtocolAssignment', v9).value.assignedPartitions,
    [],
  );
});
