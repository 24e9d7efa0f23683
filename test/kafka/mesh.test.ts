/**
 * Kafka across the mesh (chain a - b - c): a topic made and produced to on
 * node a is listed, consumed and produced to on node c, whose Metadata
 * names c as the leader of every partition (the mesh reaches the owner, a);
 * a NATS subscriber on c sees a's Kafka records live.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StringCodec } from 'nats';
import type { Face } from '../../src/protocols/face.js';
import { chain, checkFor, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';
import { kafkajs } from './helpers.js';
import { consumeAll, kcat } from './kcat.js';

const sc = StringCodec();

function broker(n: MeshNode): string {
  const faces = (n as MeshNode & { node?: { faces: Face[] } }).node?.faces ?? [];
  const f = faces.find((x) => x.name === 'kafka');
  assert.ok(f, `node ${n.name} has no Kafka face`);
  return `127.0.0.1:${f.listeners[0]!.port}`;
}

describe('Kafka across the mesh (chain a - b - c)', () => {
  let mesh: Mesh;

  before(async () => {
    mesh = await startMesh(chain(3), { extra: { jetstream: true, kafkaPort: 0 } });
  });
  after(async () => {
    await mesh?.stopAll();
  });

  test('a producer on a, a Kafka consumer and a NATS subscriber on c', async () => {
    const a = mesh.node('a');
    const c = mesh.node('c');
    const admin = kafkajs(broker(a)).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'mesh-orders', numPartitions: 2 }] });
    await admin.disconnect();

    // c learns of a's streams and lists the topic, itself as the leader.
    await checkFor(
      async () => {
        const r = await kcat(broker(c), ['-L', '-t', 'mesh-orders']);
        assert.match(r.stdout, /topic "mesh-orders" with 2 partitions/);
        return true;
      },
      15_000,
      200,
    );

    const nc = await c.connect();
    const live: string[] = [];
    nc.subscribe('mesh-orders.*', {
      callback: (_e, m) => live.push(`${m.subject}|${sc.decode(m.data)}`),
    });
    await nc.flush();

    const producer = kafkajs(broker(a)).producer();
    await producer.connect();
    // Interest from c crosses b before a's records are published: retry the first until seen.
    await checkFor(
      async () => {
        await producer.send({
          topic: 'mesh-orders',
          messages: [{ key: 'probe', value: 'probe', partition: 0 }],
        });
        return live.length > 0;
      },
      10_000,
      200,
    );
    const sent = Array.from({ length: 20 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      partition: i % 2,
    }));
    await producer.send({ topic: 'mesh-orders', messages: sent });
    await producer.disconnect();
    const records = () => live.filter((l) => !l.endsWith('|probe'));
    await checkFor(() => records().length === 20, 10_000);
    assert.deepEqual(
      records().filter((l) => l.startsWith('mesh-orders.1|')),
      sent.filter((m) => m.partition === 1).map((m) => `mesh-orders.1|${m.value}`),
    );

    // A Kafka consumer on c reads a's partitions, in order, with keys.
    const p1 = await consumeAll(broker(c), 'mesh-orders', 1, '%o|%k|%s');
    assert.deepEqual(
      p1,
      sent.filter((m) => m.partition === 1).map((m, i) => `${i}|${m.key}|${m.value}`),
    );
    const p0 = await consumeAll(broker(c), 'mesh-orders', 0, '%k|%s');
    assert.deepEqual(
      p0.slice(-10),
      sent.filter((m) => m.partition === 0).map((m) => `${m.key}|${m.value}`),
    );

    // A producer on c writes into a's partition.
    const pc = kafkajs(broker(c)).producer();
    await pc.connect();
    const r = await pc.send({
      topic: 'mesh-orders',
      messages: [{ key: 'from-c', value: 'hello', partition: 1 }],
    });
    await pc.disconnect();
    assert.equal(r[0]!.errorCode, 0);
    assert.equal(r[0]!.baseOffset, '10');
    const onA = await consumeAll(broker(a), 'mesh-orders', 1, '%o|%k|%s');
    assert.equal(onA.at(-1), '10|from-c|hello');
  });
});
