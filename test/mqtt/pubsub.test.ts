/**
 * MQTT.js against the MQTT face, 3.1.1 (protocol version 4) and 5.0:
 * publish and subscribe at each QoS, wildcards, retained messages, wills.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkFor } from '../helpers/poll.js';
import { collect, end, type MqttNode, mqttConnect, startMqttNode } from './helpers.js';

for (const protocolVersion of [4, 5] as const) {
  describe(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'} publish and subscribe`, () => {
    let node: MqttNode;
    before(async () => {
      node = await startMqttNode();
    });
    after(() => node.close());

    test('QoS 0, 1 and 2 reach a subscriber; granted QoS is the requested one', async () => {
      const sub = await mqttConnect(node.url, { protocolVersion, clientId: `s${protocolVersion}` });
      const pub = await mqttConnect(node.url, { protocolVersion });
      const got = collect(sub);
      const granted = await sub.subscribeAsync('q/+', { qos: 2 });
      assert.equal(granted[0]!.qos, 2);
      for (const qos of [0, 1, 2] as const) await pub.publishAsync(`q/${qos}`, `m${qos}`, { qos });
      await checkFor(() => got.length === 3);
      assert.deepEqual(
        got.map((m) => [m.topic, m.payload, m.qos]),
        [
          ['q/0', 'm0', 0],
          ['q/1', 'm1', 1],
          ['q/2', 'm2', 2],
        ],
      );
      await end(sub, pub);
    });

    test('delivered QoS is the lower of published and granted [MQTT-3.8.4-8]', async () => {
      const sub = await mqttConnect(node.url, { protocolVersion });
      const pub = await mqttConnect(node.url, { protocolVersion });
      const got = collect(sub);
      await sub.subscribeAsync('low/#', { qos: 1 });
      await pub.publishAsync('low/x', 'two', { qos: 2 });
      await checkFor(() => got.length === 1);
      assert.equal(got[0]!.qos, 1);
      await end(sub, pub);
    });

    test('a/# also matches a; + matches one level [MQTT-4.7.1-2]', async () => {
      const sub = await mqttConnect(node.url, { protocolVersion });
      const got = collect(sub);
      await sub.subscribeAsync(['w/#', 'p/+/z']);
      for (const t of ['w', 'w/1', 'w/1/2', 'p/y/z', 'p/y/y', 'p/z'])
        await sub.publishAsync(t, t, { qos: 1 });
      await checkFor(() => got.length === 4);
      assert.deepEqual(got.map((m) => m.topic).sort(), ['p/y/z', 'w', 'w/1', 'w/1/2']);
      await end(sub);
    });

    test('overlapping subscriptions deliver once, at the highest QoS [MQTT-3.3.5-1]', async () => {
      const sub = await mqttConnect(node.url, { protocolVersion });
      const got = collect(sub);
      await sub.subscribeAsync({ 'ov/#': { qos: 0 }, 'ov/+': { qos: 1 }, 'ov/a': { qos: 0 } });
      await sub.publishAsync('ov/a', 'once', { qos: 1 });
      await sub.publishAsync('ov/b/c', 'marker', { qos: 0 });
      await checkFor(() => got.some((m) => m.payload === 'marker'));
      const once = got.filter((m) => m.payload === 'once');
      assert.equal(once.length, 1);
      assert.equal(once[0]!.qos, 1);
      await end(sub);
    });

    test('$ topics are not matched by a leading wildcard [MQTT-4.7.2-1]', async () => {
      const sub = await mqttConnect(node.url, { protocolVersion });
      const got = collect(sub);
      await sub.subscribeAsync(['#', '$app/+']);
      await sub.publishAsync('$app/x', 'dollar', { qos: 1 });
      await sub.publishAsync('plain', 'plain', { qos: 1 });
      await checkFor(() => got.length >= 2);
      assert.deepEqual(got.map((m) => m.payload).sort(), ['dollar', 'plain']);
      assert.equal(got.filter((m) => m.payload === 'dollar').length, 1);
      await end(sub);
    });

    test('retained: sent on subscribe with RETAIN, cleared by an empty payload [MQTT-3.3.1-10]', async () => {
      const pub = await mqttConnect(node.url, { protocolVersion });
      await pub.publishAsync('ret/a', 'kept', { qos: 1, retain: true });
      await pub.publishAsync('ret/b', 'gone', { qos: 1, retain: true });
      await pub.publishAsync('ret/b', '', { qos: 1, retain: true });
      const sub = await mqttConnect(node.url, { protocolVersion });
      const got = collect(sub);
      await sub.subscribeAsync('ret/#', { qos: 1 });
      await checkFor(() => got.length === 1);
      assert.equal(got[0]!.payload, 'kept');
      assert.equal(got[0]!.retain, true);
      // A live message on the retained topic is not flagged RETAIN to an existing subscriber [MQTT-3.3.1-9].
      await pub.publishAsync('ret/a', 'live', { qos: 1, retain: true });
      await checkFor(() => got.length === 2);
      assert.equal(got[1]!.retain, false);
      await pub.publishAsync('ret/a', '', { qos: 1, retain: true });
      await end(sub, pub);
    });

    test('the will is sent on an abnormal close, not after DISCONNECT [MQTT-3.1.2-10]', async () => {
      const watcher = await mqttConnect(node.url, { protocolVersion });
      const got = collect(watcher);
      await watcher.subscribeAsync('will/#', { qos: 1 });
      const polite = await mqttConnect(node.url, {
        protocolVersion,
        will: { topic: 'will/polite', payload: Buffer.from('x'), qos: 1, retain: false },
      });
      await end(polite);
      const rude = await mqttConnect(node.url, {
        protocolVersion,
        will: { topic: 'will/rude', payload: Buffer.from('bye'), qos: 1, retain: false },
      });
      rude.stream.destroy();
      await checkFor(() => got.length === 1);
      assert.equal(got[0]!.topic, 'will/rude');
      assert.equal(got[0]!.payload, 'bye');
      rude.end(true);
      await end(watcher);
    });
  });
}
