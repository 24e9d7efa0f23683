/**
 * Consumer groups across a mesh: a group is served by the node that holds
 * its stream. On that node a blocked XREADGROUP is woken by an XADD made
 * on another node; a client on another node is told where the group lives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { chain, checkFor, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';

function redisPort(n: MeshNode): number {
  const node = (
    n as unknown as { node: { faces: { name: string; listeners: { port: number }[] }[] } }
  ).node;
  return node.faces.find((f) => f.name === 'redis')!.listeners[0]!.port;
}

describe('Redis consumer groups across the mesh', () => {
  let mesh: Mesh;
  let a: Redis;
  let b: Redis;
  before(async () => {
    mesh = await startMesh(chain(2), { extra: { jetstream: true, redisPort: 0 } });
    await mesh.converged();
    a = new Redis({ port: redisPort(mesh.node('a')), host: '127.0.0.1', maxRetriesPerRequest: 0 });
    b = new Redis({ port: redisPort(mesh.node('b')), host: '127.0.0.1', maxRetriesPerRequest: 0 });
  });
  after(async () => {
    a?.disconnect();
    b?.disconnect();
    await mesh?.stopAll();
  });

  test('served where the stream lives, woken by an XADD from another node', async () => {
    assert.equal(await b.xgroup('CREATE', 'jobs', 'g', '$', 'MKSTREAM'), 'OK');
    await checkFor(async () => (await a.exists('jobs')) === 1, 5000);
    await assert.rejects(
      a.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'jobs', '>'),
      /ERR stream 'jobs' is on another node of the mesh: consumer groups are served by the node that holds the stream/,
    );
    const waiting = b.xreadgroup('GROUP', 'g', 'c', 'BLOCK', 10_000, 'STREAMS', 'jobs', '>');
    // Once the read waits on b, an XADD made on a wakes it.
    const js = (
      mesh.node('b') as unknown as {
        node: { jetstream: import('../../src/jetstream/service.js').JetStream };
      }
    ).node.jetstream;
    await checkFor(
      () =>
        js.account('$G')!.streams.get('jobs')!.consumers.byName.get('redis_g')!.counts()
          .num_waiting === 1,
      5000,
    );
    const id = await a.xadd('jobs', '*', 'k', 'v');
    assert.deepEqual(await waiting, [['jobs', [[id, ['k', 'v']]]]]);
    assert.equal(await b.xack('jobs', 'g', id!), 1);
  });
});
