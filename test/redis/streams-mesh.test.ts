/**
 * Redis Streams across a mesh: a stream made by a Redis client on node b
 * is read and written by a Redis client on node a (through the JetStream
 * API and the stream's subject over the link), XADDs from both nodes get
 * increasing IDs in one order, and an XREAD BLOCK on node a is woken by
 * an XADD on node b and by a NATS publish on node b.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { StringCodec } from 'nats';
import { BlockedReads } from '../../src/protocols/redis/stream-wait.js';
import { chain, checkFor, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';

const sc = StringCodec();

function redisPort(n: MeshNode): number {
  const node = (
    n as unknown as { node: { faces: { name: string; listeners: { port: number }[] }[] } }
  ).node;
  return node.faces.find((f) => f.name === 'redis')!.listeners[0]!.port;
}

function client(n: MeshNode): Redis {
  return new Redis({ port: redisPort(n), host: '127.0.0.1', maxRetriesPerRequest: 0 });
}

describe('Redis Streams across the mesh', () => {
  let mesh: Mesh;
  let a: Redis;
  let b: Redis;

  before(async () => {
    mesh = await startMesh(chain(2), { extra: { jetstream: true, redisPort: 0 } });
    await mesh.converged();
    a = client(mesh.node('a'));
    b = client(mesh.node('b'));
  });
  after(async () => {
    a?.disconnect();
    b?.disconnect();
    await mesh?.stopAll();
  });

  test('a stream on node b is written and read from node a', async () => {
    const first = await b.xadd('orders', '*', 'n', '1');
    await checkFor(async () => (await a.exists('orders')) === 1, 5000);
    const fromA = await a.xadd('orders', '*', 'n', '2');
    const fromB = await b.xadd('orders', '*', 'n', '3');
    const p = a.pipeline();
    for (let i = 4; i < 10; i++) p.xadd('orders', '*', 'n', String(i));
    const ids = (await p.exec())!.map(([err, id]) => {
      assert.equal(err, null);
      return id as string;
    });
    const seen = await a.xrange('orders', '-', '+');
    assert.deepEqual(
      seen.map((e) => e[1][1]),
      ['1', '2', '3', '4', '5', '6', '7', '8', '9'],
    );
    assert.deepEqual(
      seen.map((e) => e[0]),
      [first, fromA, fromB, ...ids],
    );
    assert.deepEqual(await b.xrange('orders', '-', '+'), seen);
    assert.equal(await a.xlen('orders'), 9);
    assert.deepEqual(
      (await a.xrevrange('orders', '+', '-', 'COUNT', 2)).map((e) => e[1][1]),
      ['9', '8'],
    );
    // An explicit ID at or below the top is refused from either node.
    await assert.rejects(a.xadd('orders', fromB!, 'n', 'x'), /equal or smaller/);
    assert.equal(await a.xdel('orders', first!), 1);
    assert.equal(await a.xtrim('orders', 'MAXLEN', 5), 3);
    assert.equal(await b.xlen('orders'), 5);
  });

  test('XREAD BLOCK on node a is woken by an XADD and a NATS publish on node b', async () => {
    await b.xadd('events', '*', 'k', 'v0');
    await checkFor(async () => (await a.exists('events')) === 1, 5000);
    const blocker = a.duplicate();
    try {
      const waiting = blocker.xread('BLOCK', 5000, 'STREAMS', 'events', '$');
      await checkFor(() => BlockedReads.live === 1, 3000);
      const id = await b.xadd('events', '*', 'k', 'v1');
      assert.deepEqual(await waiting, [['events', [[id, ['k', 'v1']]]]]);

      const again = blocker.xread('BLOCK', 5000, 'STREAMS', 'events', id!);
      await checkFor(() => BlockedReads.live === 1, 3000);
      const nc = await mesh.node('b').connect();
      await nc.jetstream().publish('redis.stream.events', sc.encode('from nats on b'));
      const got = (await again) as [string, [string, string[]][]][];
      assert.deepEqual(got[0]![1][0]![1], ['payload', 'from nats on b']);
    } finally {
      blocker.disconnect();
    }
  });

  test('DEL from node a deletes the stream on node b', async () => {
    await b.xadd('gone', '*', 'k', 'v');
    await checkFor(async () => (await a.exists('gone')) === 1, 5000);
    assert.equal(await a.del('gone'), 1);
    await checkFor(async () => (await b.exists('gone')) === 0, 5000);
  });

  test('an XADD from node a after the stream on node b was deleted and made again', async () => {
    await b.xadd('again', '*', 'k', '1');
    await checkFor(async () => (await a.exists('again')) === 1, 5000);
    await a.xadd('again', '*', 'k', '2');
    // Node a keeps its view of the stream for the next XADD; node b replaces the stream.
    assert.equal(await b.del('again'), 1);
    await b.xadd('again', '5-1', 'k', '3');
    await b.xadd('again', '6-1', 'k', '4');
    await checkFor(async () => (await a.exists('again')) === 1, 5000);
    const id = await a.xadd('again', '*', 'k', '5');
    const all = await b.xrange('again', '-', '+');
    assert.deepEqual(
      all.map((e) => e[1][1]),
      ['3', '4', '5'],
    );
    assert.equal(all[2]![0], id);
  });
});
