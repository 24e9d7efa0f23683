/**
 * Offsets a named node committed before groups were shared by the mesh
 * (its own stream `$WEFT_kafka_offsets_<name>`) are moved once into the
 * mesh-wide `$WEFT_kafka_offsets` when the node opens the account's groups
 * (migrate.ts): OffsetFetch answers them, and the old stream is gone.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  OffsetStore,
  offsetsStreamNames,
  StreamOffsetBackend,
} from '../../src/protocols/kafka/groups/offsets.js';
import { createTopic, type KafkaNode, kafka, startKafkaNode } from './group-helpers.js';

describe('kafka offsets of a named node move to the mesh-wide stream', () => {
  let node: KafkaNode | undefined;
  after(async () => {
    await node?.stop();
    await node?.remove();
  });

  test('an old commit is fetched after the move; the old stream is deleted', async () => {
    node = await startKafkaNode({ name: 'n-old' });
    const k = kafka(node.brokers);
    await createTopic(k, 'migrated', 2);
    // What the node kept before: its own stream, subjects under its name.
    const js = node.srv.node.jetstream!.account('$G')!;
    const old = offsetsStreamNames('n-old');
    assert.equal(old.stream, '$WEFT_kafka_offsets_n-old');
    const backend = new StreamOffsetBackend(js, old);
    await backend.open();
    const store = new OffsetStore(backend, old.token);
    const failed = await store.commit('g-old', [
      {
        topic: 'migrated',
        partition: 1,
        offset: 7,
        leaderEpoch: -1,
        metadata: 'kept',
        timestamp: Date.now(),
      },
    ]);
    assert.equal(failed.size, 0);

    const admin = k.admin();
    await admin.connect();
    try {
      const offs = await admin.fetchOffsets({ groupId: 'g-old', topics: ['migrated'] });
      const p1 = offs[0]!.partitions.find((p) => p.partition === 1);
      assert.equal(p1?.offset, '7');
      assert.equal(p1?.metadata, 'kept');
      assert.equal(js.streams.has(old.stream), false, 'the old stream is deleted');
      assert.equal(js.streams.has(offsetsStreamNames().stream), true);
    } finally {
      await admin.disconnect();
    }
  });
});
