/**
 * MQTT identities are the node's: user name and password (or, with a token
 * alone, the password as the token) through node.security, permissions on
 * the mapped subjects, and max_connections shared with every face.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import type mqttPacket from 'mqtt-packet';
import { connect } from 'nats';
import { parseConfigText } from '../../src/config/config.js';
import { checkFor } from '../helpers/poll.js';
import { collect, end, type MqttNode, mqttConnect, startMqttNode } from './helpers.js';
import { RawMqtt } from './raw.js';

const USERS = `
authorization:
  users:
    - user: dev
      password: s3cret
      permissions:
        publish: { allow: ["tele.>"] }
        subscribe: { allow: ["cmd.>", "tele.>"] }
    - user: ops
      password: ops
`;

function refusal(url: string, opts: mqtt.IClientOptions): Promise<number | undefined> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, ...opts });
  return new Promise((r) => {
    c.once('error', (e) => {
      c.end(true);
      r((e as Error & { code?: number }).code);
    });
    c.once('connect', () => {
      c.end(true);
      r(0);
    });
  });
}

describe('MQTT security', () => {
  let node: MqttNode;
  before(async () => {
    node = await startMqttNode(parseConfigText(USERS));
  });
  after(() => node.close());

  test('a wrong password gets 3.1.1 return code 4, 5.0 0x86; none at all 5 / 0x87', async () => {
    assert.equal(
      await refusal(node.url, { protocolVersion: 4, username: 'dev', password: 'no' }),
      4,
    );
    assert.equal(
      await refusal(node.url, { protocolVersion: 5, username: 'dev', password: 'no' }),
      0x86,
    );
    assert.equal(await refusal(node.url, { protocolVersion: 4 }), 5);
    assert.equal(await refusal(node.url, { protocolVersion: 5 }), 0x87);
    assert.equal(
      await refusal(node.url, { protocolVersion: 4, username: 'dev', password: 's3cret' }),
      0,
    );
  });

  test('5.0: a publish the permissions refuse gets PUBACK 0x87; it reaches no one', async () => {
    const ops = await mqttConnect(node.url, {
      protocolVersion: 5,
      username: 'ops',
      password: 'ops',
    });
    const got = collect(ops);
    await ops.subscribeAsync('#', { qos: 1 });
    const c = await RawMqtt.open(node.mqttPort, 5);
    await c.connect({ clientId: 'dev5', username: 'dev', password: Buffer.from('s3cret') });
    c.send({
      cmd: 'publish',
      topic: 'cmd/x',
      payload: Buffer.from('no'),
      qos: 1,
      messageId: 1,
      dup: false,
      retain: false,
    });
    const ack = (await c.next('puback')) as mqttPacket.IPubackPacket;
    assert.equal(ack.reasonCode, 0x87);
    c.send({
      cmd: 'publish',
      topic: 'tele/x',
      payload: Buffer.from('yes'),
      qos: 1,
      messageId: 2,
      dup: false,
      retain: false,
    });
    assert.equal(((await c.next('puback')) as mqttPacket.IPubackPacket).reasonCode ?? 0, 0);
    await checkFor(() => got.some((m) => m.payload === 'yes'));
    assert.equal(got.filter((m) => m.payload === 'no').length, 0);
    c.end();
    await end(ops);
  });

  test('3.1.1: a refused publish is acknowledged and dropped (as mosquitto does)', async () => {
    const c = await RawMqtt.open(node.mqttPort, 4);
    await c.connect({ clientId: 'dev4', username: 'dev', password: Buffer.from('s3cret') });
    c.send({
      cmd: 'publish',
      topic: 'cmd/x',
      payload: Buffer.from('no'),
      qos: 1,
      messageId: 1,
      dup: false,
      retain: false,
    });
    assert.equal((await c.next('puback')).messageId, 1);
    c.end();
  });

  test('a refused subscription gets SUBACK 0x80 (3.1.1) / 0x87 (5.0); allowed ones are granted', async () => {
    for (const v of [4, 5] as const) {
      const c = await RawMqtt.open(node.mqttPort, v);
      await c.connect({ clientId: `devsub${v}`, username: 'dev', password: Buffer.from('s3cret') });
      c.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: 'secret/#', qos: 1 },
          { topic: 'cmd/+', qos: 1 },
        ],
      });
      const sa = (await c.next('suback')) as mqttPacket.ISubackPacket;
      assert.deepEqual(sa.granted, [v === 4 ? 0x80 : 0x87, 1]);
      c.end();
    }
  });

  test('an MQTT publish reaches a NATS subscriber of the same account only with its permissions', async () => {
    const nc = await connect({ port: node.srv.port, user: 'ops', pass: 'ops' });
    const seen: string[] = [];
    nc.subscribe('tele.>', { callback: (_e, m) => seen.push(m.subject) });
    await nc.flush();
    const c = await mqttConnect(node.url, {
      protocolVersion: 4,
      username: 'dev',
      password: 's3cret',
    });
    await c.publishAsync('tele/room/1', 't', { qos: 1 });
    await checkFor(() => seen.length === 1);
    assert.deepEqual(seen, ['tele.room.1']);
    await end(c);
    await nc.close();
  });
});

describe('MQTT with a token alone', () => {
  let node: MqttNode;
  before(async () => {
    node = await startMqttNode(parseConfigText('authorization:\n  token: t0ken\n'));
  });
  after(() => node.close());

  test('the password is the token', async () => {
    assert.equal(
      await refusal(node.url, { protocolVersion: 4, username: 'any', password: 't0ken' }),
      0,
    );
    assert.equal(
      await refusal(node.url, { protocolVersion: 4, username: 'any', password: 'nope' }),
      4,
    );
  });
});

describe('max_connections over every face', () => {
  let node: MqttNode;
  before(async () => {
    node = await startMqttNode({ maxConnections: 1 });
  });
  after(() => node.close());

  test('refused MQTT connections get CONNACK 3 (3.1.1) / 0x97 Quota exceeded (5.0)', async () => {
    const nc = await connect({ port: node.srv.port });
    assert.equal(await refusal(node.url, { protocolVersion: 4 }), 3);
    assert.equal(await refusal(node.url, { protocolVersion: 5 }), 0x97);
    await nc.close();
    await checkFor(async () => (await refusal(node.url, { protocolVersion: 4 })) === 0);
  });
});
