/**
 * MQTT and NATS on one node see each other: an MQTT publish reaches a NATS
 * subscriber on the mapped subject (with MQTT 5 user properties as
 * headers), a NATS publish reaches MQTT subscribers (headers as user
 * properties), an MQTT 5 requester gets a NATS responder's answer, and a
 * JetStream stream captures an MQTT topic's subject.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AckPolicy, connect, headers, type NatsConnection, StringCodec } from 'nats';
import { checkFor } from '../helpers/poll.js';
import { collect, end, type MqttNode, mqttConnect, startMqttNode } from './helpers.js';

const sc = StringCodec();

describe('MQTT ⇄ NATS on one node', () => {
  let node: MqttNode;
  let nc: NatsConnection;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-mqtt-x-'));
    node = await startMqttNode({ jetstream: true, dataDir: dir });
    nc = await connect({ port: node.srv.port });
  });
  after(async () => {
    await nc.close();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an MQTT publish reaches a NATS subscriber of the mapped subject, user properties as headers', async () => {
    const got: { subject: string; data: string; h: string | undefined }[] = [];
    const sub = nc.subscribe('sensors.*.temp', {
      callback: (_e, m) =>
        got.push({ subject: m.subject, data: sc.decode(m.data), h: m.headers?.get('site') }),
    });
    await nc.flush();
    const c = await mqttConnect(node.url, { protocolVersion: 5 });
    await c.publishAsync('sensors/k1/temp', '21.5', {
      qos: 1,
      properties: { userProperties: { site: 'lab' } },
    });
    await c.publishAsync('sensors/k2/temp', '22', { qos: 0 });
    await checkFor(() => got.length === 2);
    assert.deepEqual(got[0], { subject: 'sensors.k1.temp', data: '21.5', h: 'lab' });
    assert.equal(got[1]!.subject, 'sensors.k2.temp');
    sub.unsubscribe();
    await end(c);
  });

  test('a NATS publish reaches MQTT subscribers of the mapped topic, headers as user properties', async () => {
    const c = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('cmd/#', { qos: 1 });
    const h = headers();
    h.set('origin', 'nats');
    nc.publish('cmd.lamp.on', sc.encode('1'), { headers: h });
    nc.publish('cmd', sc.encode('root'));
    await checkFor(() => got.length === 2);
    assert.equal(got[0]!.topic, 'cmd/lamp/on');
    assert.equal(got[0]!.payload, '1');
    const user = (got[0]!.properties as { userProperties?: object }).userProperties;
    assert.deepEqual({ ...user }, { origin: 'nats' });
    assert.equal(got[1]!.topic, 'cmd');
    await end(c);
  });

  test('3.1.1 subscribers receive NATS messages too', async () => {
    const c = await mqttConnect(node.url, { protocolVersion: 4 });
    const got = collect(c);
    await c.subscribeAsync('v4/+');
    nc.publish('v4.x', sc.encode('hello'));
    await checkFor(() => got.length === 1);
    assert.deepEqual([got[0]!.topic, got[0]!.payload], ['v4/x', 'hello']);
    await end(c);
  });

  test('an MQTT 5 request (response topic + correlation data) is answered by a NATS responder', async () => {
    nc.subscribe('svc.echo', {
      callback: (_e, m) => m.respond(sc.encode(`echo:${sc.decode(m.data)}`)),
    });
    await nc.flush();
    const c = await mqttConnect(node.url, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('replies/me', { qos: 1 });
    await c.publishAsync('svc/echo', 'ping', {
      qos: 1,
      properties: { responseTopic: 'replies/me', correlationData: Buffer.from('id-7') },
    });
    await checkFor(() => got.length === 1);
    assert.equal(got[0]!.topic, 'replies/me');
    assert.equal(got[0]!.payload, 'echo:ping');
    await end(c);
  });

  test('a NATS request is answered by an MQTT 5 responder through its response topic', async () => {
    const responder = await mqttConnect(node.url, { protocolVersion: 5 });
    responder.on('message', (_t, payload, packet) => {
      const rt = packet.properties?.responseTopic;
      if (rt !== undefined) responder.publish(rt, `re:${payload.toString()}`);
    });
    await responder.subscribeAsync('rpc/add');
    const r = await nc.request('rpc.add', sc.encode('1+1'), { timeout: 2000 });
    assert.equal(sc.decode(r.data), 're:1+1');
    await end(responder);
  });

  test('a JetStream stream captures an MQTT topic by its subject', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'METER', subjects: ['meter.>'] });
    const c = await mqttConnect(node.url, { protocolVersion: 4 });
    for (let i = 0; i < 3; i++) await c.publishAsync(`meter/house/${i}`, `kwh${i}`, { qos: 1 });
    await checkFor(async () => (await jsm.streams.info('METER')).state.messages === 3);
    await jsm.consumers.add('METER', { durable_name: 'r', ack_policy: AckPolicy.None });
    const m = await nc
      .jetstream()
      .consumers.get('METER', 'r')
      .then((x) => x.next());
    assert.equal(m?.subject, 'meter.house.0');
    assert.equal(sc.decode(m!.data), 'kwh0');
    await end(c);
  });
});
