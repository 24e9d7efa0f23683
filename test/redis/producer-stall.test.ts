/**
 * The fast-producer stall holds for a Redis publisher too: a pipeline of
 * PUBLISH faster than a NATS subscriber of the channel's subject is paced,
 * and the subscriber gets every message instead of being cut at
 * max_pending (src/connection/producer-stall.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { RawClient } from '../helpers/raw.js';
import { slowSubscriber } from '../helpers/slow-reader.js';
import { startRedisNode } from './helpers.js';

const SIZE = 16 * 1024;
const COUNT = 1536;

test('a Redis publisher faster than a NATS subscriber is slowed; the subscriber gets every message', async (t) => {
  const node = await startRedisNode({ maxPending: 4 * 1024 * 1024 });
  t.after(() => node.close());
  const open = () => RawClient.handshake(node.srv.port);
  const { sub, want, reading } = await slowSubscriber(open, 'flow.x', SIZE, COUNT);
  t.after(() => sub.destroy());

  const pub = new Redis({ port: node.port, host: '127.0.0.1' });
  t.after(() => pub.disconnect());
  const payload = Buffer.alloc(SIZE, 120);
  const p = pub.pipeline();
  for (let i = 0; i < COUNT; i++) p.publish('flow.x', payload);
  await p.exec();
  assert.equal(await reading, want, 'every message reached the slow subscriber');
  assert.equal(sub.isClosed, false);
  assert.ok(node.srv.node.outbound.stall.stalls > 0, 'the Redis publisher was stalled');
});
