/**
 * MQTT 5 features: topic aliases both ways, subscription identifiers,
 * No Local, retain handling and retain as published, message expiry,
 * content type and payload format, user properties, shared subscriptions,
 * reason codes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import type mqttPacket from 'mqtt-packet';
import { checkFor } from '../helpers/poll.js';
import { collect, end, type MqttNode, mqttConnect, startMqttNode } from './helpers.js';
import { RawMqtt } from './raw.js';

describe('MQTT 5', () => {
  let node: MqttNode;
  before(async () => {
    node = await startMqttNode();
  });
  after(() => node.close());

  test('topic aliases: the client’s are resolved [MQTT-3.3.2-12], the node sends its own up to the client’s maximum', async () => {
    const sub = await RawMqtt.open(node.mqttPort, 5);
    await sub.connect({ clientId: 'alias-sub', properties: { topicAliasMaximum: 4 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'al/#', qos: 0 }] });
    await sub.next('suback');
    const pub = await RawMqtt.open(node.mqttPort, 5);
    const ack = await pub.connect({ clientId: 'alias-pub' });
    assert.ok((ack.properties?.topicAliasMaximum ?? 0) > 0);
    const base = { cmd: 'publish', qos: 0, dup: false, retain: false } as const;
    pub.send({
      ...base,
      topic: 'al/long/topic',
      payload: Buffer.from('1'),
      properties: { topicAlias: 3 },
    });
    pub.send({ ...base, topic: '', payload: Buffer.from('2'), properties: { topicAlias: 3 } });
    const first = (await sub.next('publish')) as mqttPacket.IPublishPacket;
    const second = (await sub.next('publish')) as mqttPacket.IPublishPacket;
    assert.equal(first.topic, 'al/long/topic');
    assert.equal(first.properties?.topicAlias, 1);
    assert.equal(second.topic, '');
    assert.equal(second.properties?.topicAlias, 1);
    assert.equal(second.payload.toString(), '2');
    // An alias never set is a protocol error.
    pub.send({ ...base, topic: '', payload: Buffer.from('3'), properties: { topicAlias: 9 } });
    const d = (await pub.next('disconnect')) as mqttPacket.IDisconnectPacket;
    assert.ok(d.reasonCode === 0x82 || d.reasonCode === 0x94);
    sub.end();
  });

  test('subscription identifiers come with each matching delivery [MQTT-3.3.4-3]', async () => {
    const c = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('sid/+', { qos: 0, properties: { subscriptionIdentifier: 7 } });
    await c.subscribeAsync('sid/#', { qos: 0, properties: { subscriptionIdentifier: 8 } });
    await c.publishAsync('sid/a', 'x');
    await checkFor(() => got.length === 1);
    const ids = got[0]!.properties?.subscriptionIdentifier;
    assert.deepEqual([ids].flat().sort(), [7, 8]);
    await end(c);
  });

  test('No Local: a client does not receive its own publishes on such a subscription [MQTT-3.8.3-3]', async () => {
    const c = await mqttConnect(node.url, { protocolVersion: 5 });
    const other = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('nl/t', { qos: 1, nl: true });
    await c.publishAsync('nl/t', 'mine', { qos: 1 });
    await other.publishAsync('nl/t', 'theirs', { qos: 1 });
    await checkFor(() => got.length === 1);
    await c.publishAsync('nl/t', 'mine again', { qos: 1 });
    await other.publishAsync('nl/t', 'theirs again', { qos: 1 });
    await checkFor(() => got.length === 2);
    assert.deepEqual(
      got.map((m) => m.payload),
      ['theirs', 'theirs again'],
    );
    await end(c, other);
  });

  test('retain as published keeps RETAIN on live messages; retain handling 2 sends no retained message', async () => {
    const pub = await mqttConnect(node.url, { protocolVersion: 5 });
    await pub.publishAsync('rap/x', 'old', { qos: 1, retain: true });
    const c = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('rap/#', { qos: 1, rap: true, rh: 2 });
    await pub.publishAsync('rap/x', 'new', { qos: 1, retain: true });
    await checkFor(() => got.length === 1);
    assert.equal(got[0]!.payload, 'new');
    assert.equal(got[0]!.retain, true);
    await pub.publishAsync('rap/x', '', { qos: 1, retain: true });
    await end(c, pub);
  });

  test('content type, payload format, correlation data and user properties reach an MQTT subscriber', async () => {
    const c = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('props/t', { qos: 1 });
    await c.publishAsync('props/t', '{"a":1}', {
      qos: 1,
      properties: {
        contentType: 'application/json',
        payloadFormatIndicator: true,
        correlationData: Buffer.from('c-1'),
        userProperties: { k: 'v', multi: ['1', '2'] },
      },
    });
    await checkFor(() => got.length === 1);
    const p = got[0]!.properties as Record<string, unknown>;
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.payloadFormatIndicator, true);
    assert.equal(Buffer.from(p.correlationData as Buffer).toString(), 'c-1');
    assert.deepEqual({ ...(p.userProperties as object) }, { k: 'v', multi: ['1', '2'] });
    await end(c);
  });

  test('message expiry: a queued message past its interval is not delivered; the rest is sent with what is left [MQTT-3.3.2-6]', async () => {
    const opts = {
      protocolVersion: 5 as const,
      clientId: 'expiring',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    };
    const a = await mqttConnect(node.url, opts);
    await a.subscribeAsync('exp/#', { qos: 1 });
    await end(a);
    const pub = await mqttConnect(node.url, { protocolVersion: 5 });
    await pub.publishAsync('exp/short', 'short', {
      qos: 1,
      properties: { messageExpiryInterval: 1 },
    });
    await pub.publishAsync('exp/long', 'long', {
      qos: 1,
      properties: { messageExpiryInterval: 100 },
    });
    const began = Date.now();
    await checkFor(() => Date.now() - began > 1100, 3000);
    // Collect from the start: the queue comes right after CONNACK.
    const b = mqtt.connect(node.url, { ...opts, reconnectPeriod: 0 });
    const got = collect(b);
    await checkFor(() => got.length === 1);
    await b.publishAsync('exp/marker', 'm', { qos: 1 });
    await checkFor(() => got.length === 2);
    assert.deepEqual(
      got.map((m) => m.payload),
      ['long', 'm'],
    );
    const left = got[0]!.properties?.messageExpiryInterval as number;
    assert.ok(left > 90 && left <= 100, `expiry left ${left}`);
    await end(b, pub);
  });

  test('shared subscriptions: each message goes to one member of the group', async () => {
    const m1 = await mqttConnect(node.url, { protocolVersion: 5 });
    const m2 = await mqttConnect(node.url, { protocolVersion: 4 });
    const g1 = collect(m1);
    const g2 = collect(m2);
    await m1.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
    await m2.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
    const pub = await mqttConnect(node.url, { protocolVersion: 5 });
    // The group's cursor is per subject (as in nats-server): one topic, ten messages.
    for (let i = 0; i < 10; i++) await pub.publishAsync('jobs/x', String(i), { qos: 1 });
    await checkFor(() => g1.length + g2.length === 10);
    assert.ok(g1.length > 0 && g2.length > 0, `spread ${g1.length}/${g2.length}`);
    const all = [...g1, ...g2].map((m) => Number(m.payload)).sort((x, y) => x - y);
    assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await end(m1, m2, pub);
  });

  test('reason codes: PUBACK 0x10 No matching subscribers; UNSUBACK 0x11 No subscription existed; SUBACK 0x8F for a bad filter', async () => {
    const c = await RawMqtt.open(node.mqttPort, 5);
    await c.connect({ clientId: 'rc' });
    c.send({
      cmd: 'publish',
      topic: 'nobody/here',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 5,
      dup: false,
      retain: false,
    });
    const pa = (await c.next('puback')) as mqttPacket.IPubackPacket;
    assert.equal(pa.reasonCode, 0x10);
    c.send({ cmd: 'unsubscribe', messageId: 6, unsubscriptions: ['never'] });
    const ua = (await c.next('unsuback')) as mqttPacket.IUnsubackPacket;
    assert.deepEqual(ua.granted, [0x11]);
    c.send({
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: [
        { topic: 'a/#/b', qos: 0 },
        { topic: 'ok', qos: 1 },
      ],
    });
    const sa = (await c.next('suback')) as mqttPacket.ISubackPacket;
    assert.deepEqual(sa.granted, [0x8f, 1]);
    c.end();
  });

  test('DISCONNECT with reason 0x04 sends the will', async () => {
    const watcher = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = collect(watcher);
    await watcher.subscribeAsync('w4/#');
    const c = await RawMqtt.open(node.mqttPort, 5);
    await c.connect({
      clientId: 'w4',
      will: { topic: 'w4/gone', payload: Buffer.from('asked'), qos: 0, retain: false },
    });
    c.send({ cmd: 'disconnect', reasonCode: 0x04 });
    await c.closedWithin();
    await checkFor(() => got.length === 1);
    assert.equal(got[0]!.payload, 'asked');
    await end(watcher);
  });
});
