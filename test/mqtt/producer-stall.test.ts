/**
 * The fast-producer stall holds for an MQTT publisher too: one that outruns
 * a NATS subscriber of its topic is paced, and the subscriber gets every
 * message instead of being cut at max_pending (src/connection/producer-stall.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawClient } from '../helpers/raw.js';
import { slowSubscriber } from '../helpers/slow-reader.js';
import { end, mqttConnect, startMqttNode } from './helpers.js';

const SIZE = 16 * 1024;
const COUNT = 1536;

test('an MQTT publisher faster than a NATS subscriber is slowed; the subscriber gets every message', async (t) => {
  const node = await startMqttNode({ maxPending: 4 * 1024 * 1024 });
  t.after(() => node.close());
  const open = () => RawClient.handshake(node.srv.port);
  const { sub, want, reading } = await slowSubscriber(open, 'flow.x', SIZE, COUNT);
  t.after(() => sub.destroy());

  const c = await mqttConnect(node.url);
  const payload = Buffer.alloc(SIZE, 120);
  for (let i = 0; i < COUNT; i++) c.publish('flow/x', payload, { qos: 0 });
  assert.equal(await reading, want, 'every message reached the slow subscriber');
  assert.equal(sub.isClosed, false);
  assert.ok(node.srv.node.outbound.stall.stalls > 0, 'the MQTT publisher was stalled');
  await end(c);
});
