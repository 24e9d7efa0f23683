/**
 * Who may touch a Redis stream (docs/redis.md, "Streams", "Permissions"):
 * writes need publish permission on the stream's subjects, reads need
 * subscribe permission on them, refusals are Redis's NOPERM; the node's
 * own streams are neither listed nor readable; a stream of another face
 * with only wildcard subjects refuses XADD with a reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import { parseConfigText } from '../../src/config/config.js';
import { type RedisNode, startRedisNode } from './helpers.js';

const YAML = `
authorization:
  users:
    - user: writer
      password: w
      permissions:
        publish: { allow: ["redis.stream.orders", "$JS.API.>"] }
        subscribe: { allow: ["redis.stream.orders", "_INBOX.>"] }
    - user: reader
      password: r
      permissions:
        publish: { allow: ["_INBOX.>"] }
        subscribe: { allow: ["redis.stream.>"] }
    - user: admin
      password: a
`;

const NOPERM = /NOPERM this user has no permissions to access one of the keys used as arguments/;

describe('Redis stream permissions', () => {
  let node: RedisNode;
  const conns: Redis[] = [];
  const as = async (username: string, password: string): Promise<Redis> => {
    const c = new Redis({
      port: node.port,
      host: '127.0.0.1',
      username,
      password,
      maxRetriesPerRequest: 0,
    });
    conns.push(c);
    await c.ping();
    return c;
  };

  before(async () => {
    node = await startRedisNode({ ...parseConfigText(YAML), jetstream: true });
  });
  after(async () => {
    for (const c of conns) c.disconnect();
    await node?.close();
  });

  test('writes need publish permission, reads subscribe permission', async () => {
    const writer = await as('writer', 'w');
    const reader = await as('reader', 'r');
    const id = await writer.xadd('orders', '*', 'n', '1');
    await assert.rejects(writer.xadd('secret', '*', 'n', '1'), NOPERM);
    assert.equal(await reader.exists('secret'), 0);
    assert.deepEqual(await reader.xrange('orders', '-', '+'), [[id, ['n', '1']]]);
    await assert.rejects(reader.xadd('orders', '*', 'n', '2'), NOPERM);
    await assert.rejects(reader.del('orders'), NOPERM);
    await assert.rejects(reader.xtrim('orders', 'MAXLEN', 0), NOPERM);
    assert.equal(await reader.xlen('orders'), 1);
  });

  test("streams of the node's own state are hidden; wildcard-only streams refuse XADD", async () => {
    const admin = await as('admin', 'a');
    const nc = await connect({ port: node.srv.port, user: 'admin', pass: 'a', reconnect: false });
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'wild', subjects: ['wild.>'] });
      await jsm.streams.add({ name: '$MQTT_x', subjects: ['$MQTT.x.>'] });
      await assert.rejects(
        admin.xadd('wild', '*', 'f', 'v'),
        /captures only wildcard subjects \(wild\.>\).*redis\.stream\.wild/,
      );
      await nc.publish('wild.a', new TextEncoder().encode('hi'));
      await nc.flush();
      const keys = await admin.keys('*');
      assert.ok(keys.includes('wild'));
      assert.ok(!keys.includes('$MQTT_x'));
      await assert.rejects(admin.xrange('$MQTT_x', '-', '+'), NOPERM);
    } finally {
      await nc.close();
    }
  });
});

describe('Redis streams on a node without JetStream', () => {
  test('stream commands say JetStream is off; the keyspace too', async () => {
    const node = await startRedisNode();
    const c = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    try {
      await assert.rejects(c.xadd('s', '*', 'f', 'v'), /JetStream is not enabled/);
      await assert.rejects(c.xrange('s', '-', '+'), /JetStream is not enabled/);
      await assert.rejects(c.keys('*'), /JetStream is not enabled/);
    } finally {
      c.disconnect();
      await node.close();
    }
  });
});
