/**
 * MQTT sessions: client identifiers, clean and persistent sessions with
 * their queue of QoS 1/2 messages kept while offline, takeover by a second
 * connection with the same client id, keep alive, session expiry (5.0).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { checkFor } from '../helpers/poll.js';
import { collect, end, type MqttNode, mqttConnect, startMqttNode } from './helpers.js';

describe('MQTT sessions', () => {
  let node: MqttNode;
  before(async () => {
    node = await startMqttNode();
  });
  after(() => node.close());

  test('5.0: an empty client id gets an Assigned Client Identifier [MQTT-3.2.2-16]', async () => {
    const c = mqtt.connect(node.url, { protocolVersion: 5, clientId: '', reconnectPeriod: 0 });
    const connack = await new Promise<mqtt.IConnackPacket>((r) => c.once('connect', r));
    const assigned = connack.properties?.assignedClientIdentifier;
    assert.match(String(assigned), /^weft-[0-9a-f]{24}$/);
    await end(c);
  });

  test('3.1.1: an empty client id is accepted with clean session 1 [MQTT-3.1.3-7]', async () => {
    const c = await mqttConnect(node.url, { protocolVersion: 4, clientId: '', clean: true });
    await end(c);
  });

  for (const protocolVersion of [4, 5] as const) {
    test(`v${protocolVersion}: a persistent session keeps subscriptions and queues QoS 1/2 while offline; session present [MQTT-3.2.2-2]`, async () => {
      const clientId = `persist-${protocolVersion}`;
      const persistent =
        protocolVersion === 5
          ? { clean: false, properties: { sessionExpiryInterval: 300 } }
          : { clean: false };
      const first = await mqttConnect(node.url, { protocolVersion, clientId, ...persistent });
      assert.equal((first as unknown as { _resubscribeTopics?: unknown }) !== null, true);
      await first.subscribeAsync('off/#', { qos: 2 });
      await end(first);
      const pub = await mqttConnect(node.url, { protocolVersion });
      await pub.publishAsync('off/0', 'zero', { qos: 0 });
      await pub.publishAsync('off/1', 'one', { qos: 1 });
      await pub.publishAsync('off/2', 'two', { qos: 2 });
      const again = mqtt.connect(node.url, {
        protocolVersion,
        clientId,
        reconnectPeriod: 0,
        ...persistent,
      });
      const got = collect(again);
      const connack = await new Promise<mqtt.IConnackPacket>((r) => again.once('connect', r));
      assert.equal(connack.sessionPresent, true);
      await checkFor(() => got.length === 2);
      // QoS 0 is not kept for an offline client; QoS 1 and 2 are, in order.
      assert.deepEqual(
        got.map((m) => [m.payload, m.qos]),
        [
          ['one', 1],
          ['two', 2],
        ],
      );
      // Clean start drops it: no session present after.
      await end(again);
      const clean = mqtt.connect(node.url, {
        protocolVersion,
        clientId,
        clean: true,
        reconnectPeriod: 0,
      });
      const c2 = await new Promise<mqtt.IConnackPacket>((r) => clean.once('connect', r));
      assert.equal(c2.sessionPresent, false);
      await end(clean, pub);
    });

    test(`v${protocolVersion}: a second connection with the same client id closes the first [MQTT-3.1.4-3]`, async () => {
      const clientId = `take-${protocolVersion}`;
      const first = await mqttConnect(node.url, { protocolVersion, clientId });
      const closed = new Promise<void>((r) => first.stream.once('close', () => r()));
      let reason: number | undefined;
      first.on('disconnect', (p) => {
        reason = p.reasonCode;
      });
      const second = await mqttConnect(node.url, { protocolVersion, clientId });
      await closed;
      if (protocolVersion === 5) assert.equal(reason, 0x8e); // Session taken over
      first.end(true);
      assert.equal(second.connected, true);
      await end(second);
    });
  }

  test('5.0: session expiry 0 ends the session with the connection', async () => {
    const a = await mqttConnect(node.url, { protocolVersion: 5, clientId: 'exp0', clean: false });
    await a.subscribeAsync('exp/#', { qos: 1 });
    await end(a);
    const b = mqtt.connect(node.url, {
      protocolVersion: 5,
      clientId: 'exp0',
      clean: false,
      reconnectPeriod: 0,
    });
    const ack = await new Promise<mqtt.IConnackPacket>((r) => b.once('connect', r));
    assert.equal(ack.sessionPresent, false);
    await end(b);
  });

  test('5.0: the will waits for its delay and is cancelled by a reconnect [MQTT-3.1.3-9]', async () => {
    const watcher = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = collect(watcher);
    await watcher.subscribeAsync('delayed/#', { qos: 1 });
    const opts = {
      protocolVersion: 5 as const,
      clientId: 'delayed-will',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: {
        topic: 'delayed/w',
        payload: Buffer.from('late'),
        qos: 1 as const,
        retain: false,
        properties: { willDelayInterval: 1 },
      },
    };
    const a = await mqttConnect(node.url, opts);
    a.stream.destroy();
    a.end(true);
    const b = await mqttConnect(node.url, opts);
    // Past the delay: nothing came, the reconnect cancelled it.
    await watcher.publishAsync('delayed/marker', 'm', { qos: 1 });
    await checkFor(() => got.length === 1);
    b.stream.destroy();
    b.end(true);
    await checkFor(() => got.length === 2, 4000);
    assert.deepEqual(
      got.map((m) => m.payload),
      ['m', 'late'],
    );
    await end(watcher);
  });
});
