/**
 * CloudEvents across the NATS and MQTT faces (docs/cloudevents.md): an
 * event published in one binding arrives as a valid event in the
 * receiver's — NATS binary mode (`ce-*` headers), MQTT 5 binary mode (user
 * properties, Content Type), MQTT 3.1.1 structured mode — with extension
 * attributes, non-ASCII values and binary data intact; structured mode and
 * non-events pass untouched. Both ends are the `cloudevents` SDK (./sdk.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloudEvent } from 'cloudevents';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { connect, headers, type Msg, type NatsConnection } from 'nats';
import { checkFor } from '../helpers/poll.js';
import { end, type MqttNode, mqttConnect, startMqttNode } from '../mqtt/helpers.js';
import { assertSameEvent, fromMqtt, fromNats, mqttPublish, natsBinary } from './sdk.js';

/** Every PUBLISH a client receives. */
function packets(c: MqttClient): IPublishPacket[] {
  const out: IPublishPacket[] = [];
  c.on('message', (_t, _p, packet) => out.push(packet));
  return out;
}

function natsMessages(nc: NatsConnection, subject: string): Msg[] {
  const out: Msg[] = [];
  nc.subscribe(subject, { callback: (_e, m) => out.push(m) });
  return out;
}

/** An event with an extension, a subject that needs percent-encoding, and JSON data. */
function jsonEvent(id: string): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    id,
    type: 'com.example.reading',
    source: '/sensors/kitchen',
    subject: 'Euro € 😀 "quoted" 100%',
    time: '2026-12-06T07:00:00.000Z',
    datacontenttype: 'application/json',
    comexampleext: 'value 1',
    data: { temp: 21.5, unit: 'C' },
  });
}

/** An event whose data is bytes (data_base64 in JSON). */
function bytesEvent(id: string): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    id,
    type: 'com.example.blob',
    source: 'urn:example:camera',
    time: '2026-12-06T07:00:01.000Z',
    datacontenttype: 'application/octet-stream',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    data: Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x0d, 0x0a]),
  });
}

describe('CloudEvents: NATS ⇄ MQTT', () => {
  let node: MqttNode;
  let nc: NatsConnection;
  before(async () => {
    node = await startMqttNode();
    nc = await connect({ port: node.srv.port });
  });
  after(async () => {
    await nc.close();
    await node.close();
  });

  test('NATS binary mode → NATS: the canonical form, delivered as published', async () => {
    const got = natsMessages(nc, 'ce.nats');
    await nc.flush();
    for (const e of [jsonEvent('n1'), bytesEvent('n2')]) {
      const m = natsBinary(e);
      nc.publish('ce.nats', m.payload, { headers: m.headers });
    }
    await checkFor(() => got.length === 2);
    assertSameEvent(fromNats(got[0]!), jsonEvent('n1'));
    assertSameEvent(fromNats(got[1]!), bytesEvent('n2'));
  });

  test('NATS binary mode → MQTT 5 binary mode (user properties, Content Type)', async () => {
    const c = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = packets(c);
    await c.subscribeAsync('ce/n2m', { qos: 1 });
    const sent = [jsonEvent('a1'), bytesEvent('a2')];
    for (const e of sent) {
      const m = natsBinary(e);
      nc.publish('ce.n2m', m.payload, { headers: m.headers });
    }
    await checkFor(() => got.length === 2);
    const props = got[0]!.properties!;
    assert.equal(props.contentType, 'application/json');
    assert.equal(props.userProperties?.subject, 'Euro € 😀 "quoted" 100%', 'decoded, not prefixed');
    assert.equal(props.userProperties?.['ce-subject'], undefined);
    assertSameEvent(fromMqtt(got[0]!), sent[0]!);
    assertSameEvent(fromMqtt(got[1]!), sent[1]!);
    await end(c);
  });

  test('MQTT 5 binary mode → NATS binary mode (ce-* headers, percent-encoded)', async () => {
    const got = natsMessages(nc, 'ce.m2n');
    await nc.flush();
    const c = await mqttConnect(node.url, { protocolVersion: 5 });
    const sent = [jsonEvent('b1'), bytesEvent('b2')];
    for (const e of sent) {
      const { payload, properties } = mqttPublish(e, 'binary');
      await c.publishAsync('ce/m2n', payload, { qos: 1, properties });
    }
    await checkFor(() => got.length === 2);
    const h = got[0]!.headers!;
    assert.equal(h.get('ce-specversion'), '1.0');
    assert.equal(h.get('ce-datacontenttype'), 'application/json');
    assert.equal(h.get('ce-subject'), 'Euro%20%E2%82%AC%20%F0%9F%98%80%20%22quoted%22%20100%25');
    assert.equal(h.get('subject'), '', 'no unprefixed copy');
    assertSameEvent(fromNats(got[0]!), sent[0]!);
    assertSameEvent(fromNats(got[1]!), sent[1]!);
    await end(c);
  });

  test('MQTT 5 → MQTT 5: attributes round trip through the canonical form', async () => {
    const sub = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = packets(sub);
    await sub.subscribeAsync('ce/m2m', { qos: 1 });
    const pub = await mqttConnect(node.url, { protocolVersion: 5 });
    const sent = [jsonEvent('c1'), bytesEvent('c2')];
    for (const e of sent) {
      const { payload, properties } = mqttPublish(e, 'binary');
      await pub.publishAsync('ce/m2m', payload, { qos: 1, properties });
    }
    await checkFor(() => got.length === 2);
    assertSameEvent(fromMqtt(got[0]!), sent[0]!);
    assertSameEvent(fromMqtt(got[1]!), sent[1]!);
    await end(sub, pub);
  });

  test('MQTT 5 and NATS binary mode → MQTT 3.1.1: structured mode (JSON format, data_base64 for bytes)', async () => {
    const sub = await mqttConnect(node.url, { protocolVersion: 4 });
    const got = packets(sub);
    await sub.subscribeAsync('ce/v4', { qos: 1 });
    const pub = await mqttConnect(node.url, { protocolVersion: 5 });
    const sent = [jsonEvent('d1'), bytesEvent('d2'), jsonEvent('d3')];
    for (const e of sent.slice(0, 2)) {
      const { payload, properties } = mqttPublish(e, 'binary');
      await pub.publishAsync('ce/v4', payload, { qos: 1, properties });
    }
    const m = natsBinary(sent[2]!);
    nc.publish('ce.v4', m.payload, { headers: m.headers });
    await checkFor(() => got.length === 3);
    const json = JSON.parse(got[0]!.payload.toString());
    assert.deepEqual(json.data, { temp: 21.5, unit: 'C' }, 'JSON data as a JSON value');
    const bytes = JSON.parse(got[1]!.payload.toString());
    assert.equal(
      bytes.data_base64,
      Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x0d, 0x0a]).toString('base64'),
    );
    for (let i = 0; i < 3; i++) assertSameEvent(fromMqtt(got[i]!, true), sent[i]!);
    await end(sub, pub);
  });

  test('a retained binary-mode event reaches a later 3.1.1 subscriber in structured mode', async () => {
    const pub = await mqttConnect(node.url, { protocolVersion: 5 });
    const sent = jsonEvent('r1');
    const { payload, properties } = mqttPublish(sent, 'binary');
    await pub.publishAsync('ce/retained', payload, { qos: 1, retain: true, properties });
    const sub = await mqttConnect(node.url, { protocolVersion: 4 });
    const got = packets(sub);
    await sub.subscribeAsync('ce/retained', { qos: 1 });
    await checkFor(() => got.length === 1);
    assert.equal(got[0]!.retain, true);
    assertSameEvent(fromMqtt(got[0]!, true), sent);
    await pub.publishAsync('ce/retained', Buffer.alloc(0), { qos: 1, retain: true });
    await end(sub, pub);
  });

  test('structured mode passes every face untouched', async () => {
    const e = jsonEvent('s1');
    const body = Buffer.from(JSON.stringify(e.toJSON()));
    const v5 = await mqttConnect(node.url, { protocolVersion: 5 });
    const v4 = await mqttConnect(node.url, { protocolVersion: 4 });
    const got5 = packets(v5);
    const got4 = packets(v4);
    await v5.subscribeAsync('ce/structured', { qos: 1 });
    await v4.subscribeAsync('ce/structured', { qos: 1 });
    const gotNats = natsMessages(nc, 'ce.structured');
    await nc.flush();
    const h = headers();
    h.set('Content-Type', 'application/cloudevents+json; charset=utf-8');
    nc.publish('ce.structured', body, { headers: h });
    // MQTT 5 structured mode, with the optional user properties [MQTT binding 3.2.3].
    const { payload, properties } = mqttPublish(e, 'structured');
    await v5.publishAsync('ce/structured', payload, {
      qos: 1,
      properties: { ...properties, userProperties: { specversion: '1.0', id: 's1' } },
    });
    await checkFor(() => got5.length === 2 && got4.length === 2 && gotNats.length === 2);
    assert.deepEqual(Buffer.from(got5[0]!.payload), body);
    assert.equal(got5[0]!.properties?.contentType, 'application/cloudevents+json; charset=utf-8');
    assert.deepEqual(Buffer.from(got4[0]!.payload), body);
    assert.equal(
      gotNats[1]!.headers?.get('Content-Type'),
      'application/cloudevents+json; charset=utf-8',
    );
    assert.equal(gotNats[1]!.headers?.get('specversion'), '1.0', 'not turned into ce-*');
    assert.equal(gotNats[1]!.headers?.get('ce-specversion'), '');
    assert.deepEqual({ ...got5[1]!.properties?.userProperties }, { specversion: '1.0', id: 's1' });
    for (const p of [got5[0]!, got5[1]!]) assertSameEvent(fromMqtt(p), e);
    for (const p of [got4[0]!, got4[1]!]) assertSameEvent(fromMqtt(p, true), e);
    await end(v5, v4);
  });

  test('MQTT 3.1.1 structured mode (content type implied) → NATS and MQTT 5 with the content type', async () => {
    const v5 = await mqttConnect(node.url, { protocolVersion: 5 });
    const got5 = packets(v5);
    await v5.subscribeAsync('ce/from311/+', { qos: 1 });
    const gotNats = natsMessages(nc, 'ce.from311.*');
    await nc.flush();
    const v4 = await mqttConnect(node.url, { protocolVersion: 4 });
    const e = jsonEvent('v1');
    const body = JSON.stringify(e.toJSON());
    await v4.publishAsync('ce/from311/event', body, { qos: 1 });
    // JSON that mentions specversion but is not a valid event: left alone.
    await v4.publishAsync('ce/from311/other', '{"specversion":"1.0","note":"no id"}', { qos: 1 });
    await checkFor(() => got5.length === 2 && gotNats.length === 2);
    assert.equal(gotNats[0]!.headers?.get('Content-Type'), 'application/cloudevents+json');
    assert.equal(got5[0]!.properties?.contentType, 'application/cloudevents+json');
    assert.equal(Buffer.from(got5[0]!.payload).toString(), body);
    assertSameEvent(fromMqtt(got5[0]!), e);
    assert.equal(gotNats[1]!.headers?.get('Content-Type'), '');
    assert.equal(got5[1]!.properties?.contentType, undefined);
    await end(v5, v4);
  });

  test('non-events (no specversion) are never touched', async () => {
    const v5 = await mqttConnect(node.url, { protocolVersion: 5 });
    const v4 = await mqttConnect(node.url, { protocolVersion: 4 });
    const got5 = packets(v5);
    const got4 = packets(v4);
    await v5.subscribeAsync('plain/+', { qos: 1 });
    await v4.subscribeAsync('plain/+', { qos: 1 });
    const gotNats = natsMessages(nc, 'plain.*');
    await nc.flush();
    // MQTT user properties that look like attributes, without specversion.
    await v5.publishAsync('plain/m', 'raw', {
      qos: 1,
      properties: { contentType: 'text/plain', userProperties: { id: '1', source: '/x' } },
    });
    // NATS ce-* headers without ce-specversion.
    const h = headers();
    h.set('ce-id', '2');
    h.set('ce-type', 't');
    nc.publish('plain.n', Buffer.from('raw2'), { headers: h });
    await checkFor(() => got5.length === 2 && got4.length === 2 && gotNats.length === 2);
    assert.equal(gotNats[0]!.headers?.get('id'), '1');
    assert.equal(gotNats[0]!.headers?.get('Content-Type'), 'text/plain');
    assert.equal(gotNats[0]!.headers?.get('ce-id'), '');
    assert.deepEqual({ ...got5[0]!.properties?.userProperties }, { id: '1', source: '/x' });
    assert.deepEqual({ ...got5[1]!.properties?.userProperties }, { 'ce-id': '2', 'ce-type': 't' });
    assert.deepEqual(
      got4.map((p) => p.payload.toString()),
      ['raw', 'raw2'],
    );
    await end(v5, v4);
  });
});

describe('CloudEvents: mqtt.cloudevents_structured off', () => {
  test('a 3.1.1 subscriber gets the binary-mode data as it is', async () => {
    const node = await startMqttNode({ mqttCloudEventsStructured: false });
    try {
      const sub = await mqttConnect(node.url, { protocolVersion: 4 });
      const got = packets(sub);
      await sub.subscribeAsync('ce/off', { qos: 1 });
      const pub = await mqttConnect(node.url, { protocolVersion: 5 });
      const { payload, properties } = mqttPublish(jsonEvent('o1'), 'binary');
      await pub.publishAsync('ce/off', payload, { qos: 1, properties });
      await checkFor(() => got.length === 1);
      assert.deepEqual(JSON.parse(got[0]!.payload.toString()), { temp: 21.5, unit: 'C' });
      await end(sub, pub);
    } finally {
      await node.close();
    }
  });
});
