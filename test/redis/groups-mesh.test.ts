/**
 * Consumer groups across a mesh: a group is served by the node that holds
 * its stream; a client on another node uses it the same (its commands are
 * forwarded), a blocked XREADGROUP from there is woken by an XADD made
 * anywhere, and both nodes see one group.
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

  test('a group on node b used from node a: commands forwarded, BLOCK woken by an XADD on a', async () => {
    assert.equal(await b.xgroup('CREATE', 'jobs', 'g', '$', 'MKSTREAM'), 'OK');
    await checkFor(async () => (await a.exists('jobs')) === 1, 5000);
    await assert.rejects(
      a.xgroup('CREATE', 'jobs', 'g', '$'),
      /BUSYGROUP Consumer Group name already exists/,
    );
    const js = (
      mesh.node('b') as unknown as {
        node: { jetstream: import('../../src/jetstream/service.js').JetStream };
      }
    ).node.jetstream;
    const blocked = a.duplicate();
    const waiting = blocked.xreadgroup('GROUP', 'g', 'c', 'BLOCK', 10_000, 'STREAMS', 'jobs', '>');
    // Once the read waits on b (where the group lives), an XADD made on a wakes it.
    await checkFor(
      () =>
        js.account('$G')!.streams.get('jobs')!.consumers.byName.get('redis_g')!.counts()
          .num_waiting === 1,
      5000,
    );
    const id = await a.xadd('jobs', '*', 'k', 'v');
    assert.deepEqual(await waiting, [['jobs', [[id, ['k', 'v']]]]]);
    blocked.disconnect();
    // One group, whichever node a client uses.
    assert.deepEqual(await a.xpending('jobs', 'g'), [1, id, id, [['c', '1']]]);
    assert.deepEqual(await b.xpending('jobs', 'g'), await a.xpending('jobs', 'g'));
    const claimed = (await b.xclaim('jobs', 'g', 'd', 0, id!, 'JUSTID')) as string[];
    assert.deepEqual(claimed, [id]);
    assert.equal(await a.xack('jobs', 'g', id!), 1);
    assert.deepEqual(await b.xpending('jobs', 'g'), [0, null, null, null]);
    assert.deepEqual(await a.xinfo('GROUPS', 'jobs'), await b.xinfo('GROUPS', 'jobs'));
    await assert.rejects(
      a.xreadgroup('GROUP', 'nope', 'c', 'STREAMS', 'jobs', '>'),
      /NOGROUP No such key 'jobs' or consumer group 'nope' in XREADGROUP with GROUP option/,
    );
  });
});
