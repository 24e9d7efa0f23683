/**
 * Redis pub/sub and the other faces share subjects (docs/redis.md, "The
 * channel mapping"): PUBLISH orders.new reaches a NATS subscriber on
 * `orders.>` and an MQTT one on `orders/#`; NATS and MQTT publishes reach
 * Redis SUBSCRIBE and PSUBSCRIBE; channels with characters a subject
 * cannot hold travel escaped and come back as they were; and across a
 * mesh (chain a - b - c) a Redis subscriber on c gets a Redis PUBLISH on a.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { connect, type NatsConnection, StringCodec } from 'nats';
import type { Face } from '../../src/protocols/face.js';
import { chain, checkFor, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';
import { collect, end, mqttConnect } from '../mqtt/helpers.js';
import { type RedisNode, startRedisNode } from './helpers.js';

const sc = StringCodec();

describe('Redis ⇄ NATS ⇄ MQTT on one node', () => {
  let node: RedisNode;
  let nc: NatsConnection;
  let pub: Redis;
  let sub: Redis;
  let mqttUrl: string;
  before(async () => {
    node = await startRedisNode({ mqttPort: 0 });
    const mqttFace = node.srv.node.faces.find((f) => f.name === 'mqtt');
    mqttUrl = `mqtt://127.0.0.1:${mqttFace!.listeners[0]!.port}`;
    nc = await connect({ port: node.srv.port });
    pub = new Redis({ port: node.port, host: '127.0.0.1' });
    sub = new Redis({ port: node.port, host: '127.0.0.1' });
  });
  after(async () => {
    pub.disconnect();
    sub.disconnect();
    await nc.close();
    await node.close();
  });

  test('PUBLISH orders.new reaches NATS on orders.> and MQTT on orders/#', async () => {
    const nats: string[] = [];
    const s = nc.subscribe('orders.>', {
      callback: (_e, m) => nats.push(`${m.subject}=${sc.decode(m.data)}`),
    });
    await nc.flush();
    const m = await mqttConnect(mqttUrl);
    const mq = collect(m);
    await m.subscribeAsync('orders/#', { qos: 0 });
    assert.equal(await pub.publish('orders.new', 'x'), 2);
    await checkFor(() => nats.length === 1 && mq.length === 1);
    assert.deepEqual(nats, ['orders.new=x']);
    assert.deepEqual([mq[0]!.topic, String(mq[0]!.payload)], ['orders/new', 'x']);
    s.unsubscribe();
    await end(m);
  });

  test('NATS and MQTT publishes reach Redis SUBSCRIBE and PSUBSCRIBE', async () => {
    const got: string[] = [];
    sub.on('message', (c: string, msg: string) => got.push(`message ${c}=${msg}`));
    sub.on('pmessage', (p: string, c: string, msg: string) =>
      got.push(`pmessage ${p} ${c}=${msg}`),
    );
    await sub.subscribe('sensors.k1.temp');
    await sub.psubscribe('sensors.*');
    nc.publish('sensors.k1.temp', sc.encode('21'));
    await nc.flush();
    const m = await mqttConnect(mqttUrl);
    await m.publishAsync('sensors/k2/temp', '22', { qos: 1 });
    await checkFor(() => got.length === 3);
    assert.deepEqual(got, [
      'message sensors.k1.temp=21',
      'pmessage sensors.* sensors.k1.temp=21',
      'pmessage sensors.* sensors.k2.temp=22',
    ]);
    await sub.unsubscribe();
    await sub.punsubscribe();
    sub.removeAllListeners('message');
    sub.removeAllListeners('pmessage');
    await end(m);
  });

  test('a channel a subject cannot hold as is travels escaped, and comes back as it was', async () => {
    const nats: string[] = [];
    const s = nc.subscribe('chat.>', { callback: (_e, m) => nats.push(m.subject) });
    await nc.flush();
    const got: string[] = [];
    sub.on('message', (c: string) => got.push(c));
    await sub.subscribe('chat.room 1', 'chat..x', 'chat.*');
    await pub.publish('chat.room 1', 'a');
    await pub.publish('chat..x', 'b');
    await pub.publish('chat.*', 'c');
    nc.publish('chat.room/201', sc.encode('d'));
    await nc.flush();
    await checkFor(() => nats.length === 4 && got.length === 4);
    assert.deepEqual(nats, ['chat.room/201', 'chat./.x', 'chat./2A', 'chat.room/201']);
    assert.deepEqual(got, ['chat.room 1', 'chat..x', 'chat.*', 'chat.room 1']);
    s.unsubscribe();
    await sub.unsubscribe();
    sub.removeAllListeners('message');
  });
});

describe('Redis pub/sub across the mesh (chain a - b - c)', () => {
  let mesh: Mesh;
  const conns: Redis[] = [];
  const port = (n: MeshNode) => {
    const f = (n as MeshNode & { node: { faces: Face[] } | null }).node?.faces.find(
      (x) => x.name === 'redis',
    );
    assert.ok(f, `node ${n.name} has no Redis face`);
    return f.listeners[0]!.port;
  };
  before(async () => {
    mesh = await startMesh(chain(3), { extra: { redisPort: 0 } });
  });
  after(async () => {
    for (const c of conns) c.disconnect();
    await mesh?.stopAll();
  });

  test('a Redis subscriber on c gets a PUBLISH on a; a pattern subscriber too', async () => {
    const sub = new Redis({ port: port(mesh.node('c')), host: '127.0.0.1' });
    const pub = new Redis({ port: port(mesh.node('a')), host: '127.0.0.1' });
    conns.push(sub, pub);
    const got: string[] = [];
    sub.on('message', (c: string, m: string) => got.push(`${c}=${m}`));
    sub.on('pmessage', (p: string, c: string, m: string) => got.push(`${p} ${c}=${m}`));
    await sub.subscribe('far.one');
    await sub.psubscribe('far.t*');
    await mesh.synced();
    await pub.publish('far.one', '1');
    await pub.publish('far.two', '2');
    await pub.publish('far.xx', 'no');
    await pub.publish('far.one', 'end');
    await checkFor(() => got.length === 3, 5000);
    assert.deepEqual(got, ['far.one=1', 'far.t* far.two=2', 'far.one=end']);
  });
});
