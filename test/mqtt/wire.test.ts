/**
 * Wire-level tests of the normative statements the MQTT face implements:
 * raw packets in, raw packets (or a close) out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type mqttPacket from 'mqtt-packet';
import { checkFor } from '../helpers/poll.js';
import { type MqttNode, startMqttNode } from './helpers.js';
import { RawMqtt } from './raw.js';

describe('MQTT wire', () => {
  let node: MqttNode;
  before(async () => {
    node = await startMqttNode({ mqttMaxPacketSize: 4096, authTimeoutMs: 500 });
  });
  let slowNode: MqttNode;
  before(async () => {
    slowNode = await startMqttNode({ writeDeadlineMs: 500 });
  });
  after(() => node.close());
  after(() => slowNode.close());

  test('a packet before CONNECT closes the connection [MQTT-3.1.0-1]', async () => {
    const c = await RawMqtt.open(node.mqttPort);
    c.send({ cmd: 'pingreq' });
    await c.closedWithin();
    assert.equal(c.pending.length, 0);
  });

  test('no CONNECT within auth_timeout closes the connection', async () => {
    const c = await RawMqtt.open(node.mqttPort);
    await c.closedWithin(2000);
  });

  test('3.1.1: a second CONNECT closes the connection [MQTT-3.1.0-2]', async () => {
    const c = await RawMqtt.open(node.mqttPort);
    assert.equal((await c.connect()).returnCode, 0);
    c.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: 'x',
      keepalive: 0,
    });
    await c.closedWithin();
  });

  test('5.0: a second CONNECT gets DISCONNECT 0x82 Protocol Error, then the close [MQTT-3.1.0-2]', async () => {
    const c = await RawMqtt.open(node.mqttPort, 5);
    assert.equal((await c.connect()).reasonCode, 0);
    c.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'x',
      keepalive: 0,
    });
    const d = (await c.next('disconnect')) as mqttPacket.IDisconnectPacket;
    assert.equal(d.reasonCode, 0x82);
    await c.closedWithin();
  });

  test('3.1.1: an empty client id with clean session 0 gets return code 2 [MQTT-3.1.3-8]', async () => {
    const c = await RawMqtt.open(node.mqttPort);
    // CONNECT, MQTT level 4, flags 0 (clean session 0), keep alive 0, client id "".
    c.bytes([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]);
    const ack = (await c.next('connack')) as mqttPacket.IConnackPacket;
    assert.equal(ack.returnCode, 2);
    await c.closedWithin();
  });

  test('an unsupported protocol level gets return code 1 [MQTT-3.1.2-2]', async () => {
    const c = await RawMqtt.open(node.mqttPort);
    // CONNECT with protocol name MQIsdp, level 3 (MQTT 3.1).
    c.send({
      cmd: 'connect',
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      clean: true,
      clientId: 'old',
      keepalive: 0,
    });
    const ack = (await c.next('connack')) as mqttPacket.IConnackPacket;
    assert.equal(ack.returnCode, 1);
    await c.closedWithin();
  });

  test('5.0: an authentication method (enhanced authentication) gets 0x8C, then the close [MQTT-4.12.0-1]', async () => {
    const c = await RawMqtt.open(node.mqttPort, 5);
    c.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'scram',
      keepalive: 0,
      properties: { authenticationMethod: 'SCRAM-SHA-1' },
    });
    const ack = (await c.next('connack')) as mqttPacket.IConnackPacket;
    assert.equal(ack.reasonCode, 0x8c);
    await c.closedWithin();
  });

  test('keep alive: silence for 1.5 × keep alive closes the connection [MQTT-3.1.2-24]', async () => {
    const c = await RawMqtt.open(node.mqttPort);
    await c.connect({ keepalive: 1 });
    const began = Date.now();
    await c.closedWithin(4000);
    const took = Date.now() - began;
    assert.ok(took >= 1400, `closed after ${took} ms`);
  });

  test('PINGREQ gets PINGRESP [MQTT-3.12.4-1]', async () => {
    const c = await RawMqtt.open(node.mqttPort);
    await c.connect();
    c.send({ cmd: 'pingreq' });
    await c.next('pingresp');
    c.end();
  });

  test('5.0: a wildcard in a PUBLISH topic gets DISCONNECT 0x90 [MQTT-3.3.2-2]', async () => {
    const c = await RawMqtt.open(node.mqttPort, 5);
    await c.connect();
    c.send({
      cmd: 'publish',
      topic: 'a/+',
      payload: Buffer.from('x'),
      qos: 0,
      dup: false,
      retain: false,
    });
    const d = (await c.next('disconnect')) as mqttPacket.IDisconnectPacket;
    assert.equal(d.reasonCode, 0x90);
    await c.closedWithin();
  });

  test('reserved flag bits set close the connection [MQTT-2.2.2-2]', async () => {
    const c = await RawMqtt.open(node.mqttPort);
    await c.connect();
    // SUBSCRIBE must have flags 0010; 0x80 has 0000.
    c.bytes([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]);
    await c.closedWithin();
  });

  test('5.0: a packet over the maximum packet size gets DISCONNECT 0x95', async () => {
    const c = await RawMqtt.open(node.mqttPort, 5);
    const ack = await c.connect();
    assert.equal(ack.properties?.maximumPacketSize, 4096);
    c.send({
      cmd: 'publish',
      topic: 'big',
      payload: Buffer.alloc(5000),
      qos: 0,
      dup: false,
      retain: false,
    });
    const d = (await c.next('disconnect')) as mqttPacket.IDisconnectPacket;
    assert.equal(d.reasonCode, 0x95);
    await c.closedWithin();
  });

  test('one bad client does not disturb another', async () => {
    const good = await RawMqtt.open(node.mqttPort);
    await good.connect({ clientId: 'good' });
    good.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'calm', qos: 0 }] });
    await good.next('suback');
    const bad = await RawMqtt.open(node.mqttPort);
    await bad.connect();
    bad.bytes([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    await bad.closedWithin();
    good.send({
      cmd: 'publish',
      topic: 'calm',
      payload: Buffer.from('ok'),
      qos: 0,
      dup: false,
      retain: false,
    });
    const p = (await good.next('publish')) as mqttPacket.IPublishPacket;
    assert.equal(p.payload.toString(), 'ok');
    good.end();
  });

  test('QoS 2 exactly once: a resent PUBLISH before PUBREL is not delivered twice [MQTT-4.3.3-2]', async () => {
    const sub = await RawMqtt.open(node.mqttPort);
    await sub.connect({ clientId: 'q2sub' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'eo', qos: 0 }] });
    await sub.next('suback');
    const pub = await RawMqtt.open(node.mqttPort);
    await pub.connect({ clientId: 'q2pub' });
    const publish = {
      cmd: 'publish',
      topic: 'eo',
      payload: Buffer.from('1'),
      qos: 2,
      messageId: 9,
      dup: false,
      retain: false,
    } as const;
    pub.send(publish);
    assert.equal((await pub.next('pubrec')).messageId, 9);
    pub.send({ ...publish, dup: true });
    assert.equal((await pub.next('pubrec')).messageId, 9);
    pub.send({ cmd: 'pubrel', messageId: 9 });
    assert.equal((await pub.next('pubcomp')).messageId, 9);
    pub.send({ cmd: 'pingreq' });
    await pub.next('pingresp');
    sub.send({ cmd: 'pingreq' });
    await sub.next('pingresp');
    assert.equal(sub.pending.filter((p) => p.cmd === 'publish').length, 1);
    pub.end();
    sub.end();
  });

  test('QoS 1 to a client: unacknowledged messages are resent with DUP on resume [MQTT-4.4.0-1]', async () => {
    const a = await RawMqtt.open(node.mqttPort);
    await a.connect({ clientId: 'dup', clean: false });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd', qos: 1 }] });
    await a.next('suback');
    a.send({
      cmd: 'publish',
      topic: 'd',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 3,
      dup: false,
      retain: false,
    });
    await a.next('puback');
    const first = (await a.next('publish')) as mqttPacket.IPublishPacket;
    assert.equal(first.dup, false);
    a.end(); // no PUBACK
    const b = await RawMqtt.open(node.mqttPort);
    const ack = await b.connect({ clientId: 'dup', clean: false });
    assert.equal(ack.sessionPresent, true);
    const again = (await b.next('publish')) as mqttPacket.IPublishPacket;
    assert.equal(again.dup, true);
    assert.equal(again.messageId, first.messageId);
    b.send({ cmd: 'puback', messageId: again.messageId! });
    b.send({ cmd: 'disconnect' });
    await b.closedWithin();
  });

  test('5.0: the in-flight window is the client’s Receive Maximum', async () => {
    const sub = await RawMqtt.open(node.mqttPort, 5);
    await sub.connect({ clientId: 'rm', properties: { receiveMaximum: 2 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm/#', qos: 1 }] });
    await sub.next('suback');
    for (let i = 0; i < 5; i++) {
      sub.send({
        cmd: 'publish',
        topic: `rm/${i}`,
        payload: Buffer.from(String(i)),
        qos: 0,
        dup: false,
        retain: false,
      });
    }
    const pub = await RawMqtt.open(node.mqttPort, 5);
    await pub.connect({ clientId: 'rmpub' });
    for (let i = 0; i < 4; i++) {
      pub.send({
        cmd: 'publish',
        topic: `rm/q${i}`,
        payload: Buffer.from(String(i)),
        qos: 1,
        messageId: i + 1,
        dup: false,
        retain: false,
      });
      await pub.next('puback');
    }
    const got: mqttPacket.IPublishPacket[] = [];
    while (got.filter((p) => p.qos === 1).length < 2)
      got.push((await sub.next('publish')) as mqttPacket.IPublishPacket);
    sub.send({ cmd: 'pingreq' });
    await sub.next('pingresp');
    assert.equal(
      sub.pending.filter((p) => p.cmd === 'publish' && p.qos === 1).length,
      0,
      'a third QoS 1 before an ack',
    );
    const q1 = got.filter((p) => p.qos === 1);
    sub.send({ cmd: 'puback', messageId: q1[0]!.messageId! });
    const third = (await sub.next('publish')) as mqttPacket.IPublishPacket;
    assert.equal(third.payload.toString(), '2');
    pub.end();
    sub.end();
  });

  test('5.0: acks out of order and a message too large for the client keep the window in order', async () => {
    // The pump starts at the first entry not known to be sent (state.ts sentLead).
    const sub = await RawMqtt.open(node.mqttPort, 5);
    await sub.connect({
      clientId: 'win',
      properties: { receiveMaximum: 2, maximumPacketSize: 64 },
    });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'win', qos: 1 }] });
    await sub.next('suback');
    const pub = await RawMqtt.open(node.mqttPort, 5);
    await pub.connect({ clientId: 'winpub' });
    const bodies = ['0', '1', 'x'.repeat(100), '3', '4', '5'];
    for (let i = 0; i < bodies.length; i++) {
      pub.send({
        cmd: 'publish',
        topic: 'win',
        payload: Buffer.from(bodies[i]!),
        qos: 1,
        messageId: i + 1,
        dup: false,
        retain: false,
      });
      await pub.next('puback');
    }
    const next = async () => (await sub.next('publish')) as mqttPacket.IPublishPacket;
    const m0 = await next();
    const m1 = await next();
    assert.deepEqual([m0.payload.toString(), m1.payload.toString()], ['0', '1']);
    sub.send({ cmd: 'puback', messageId: m1.messageId! }); // the second first
    const m3 = await next(); // the large one is skipped [MQTT-3.1.2-25]
    assert.equal(m3.payload.toString(), '3');
    sub.send({ cmd: 'puback', messageId: m0.messageId! });
    const m4 = await next();
    assert.equal(m4.payload.toString(), '4');
    sub.send({ cmd: 'puback', messageId: m3.messageId! });
    sub.send({ cmd: 'puback', messageId: m4.messageId! });
    const m5 = await next();
    assert.equal(m5.payload.toString(), '5');
    sub.send({ cmd: 'puback', messageId: m5.messageId! });
    sub.send({ cmd: 'pingreq' });
    await sub.next('pingresp');
    assert.equal(sub.pending.filter((p) => p.cmd === 'publish').length, 0);
    pub.end();
    sub.end();
  });

  test('a long QoS 1 queue makes publishers wait instead of losing messages (QUEUE_STALL_AT)', async () => {
    const sub = await RawMqtt.open(node.mqttPort, 5);
    await sub.connect({ clientId: 'slowsub', properties: { receiveMaximum: 10 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 1 }] });
    await sub.next('suback');
    const pub = await RawMqtt.open(node.mqttPort, 5);
    await pub.connect({ clientId: 'flooder' });
    const N = 800;
    for (let i = 0; i < N; i++) {
      pub.send({
        cmd: 'publish',
        topic: 'flood',
        payload: Buffer.from(String(i)),
        qos: 1,
        messageId: (i % 60000) + 1,
        dup: false,
        retain: false,
      });
    }
    const congestion = node.srv.node.congestion;
    await checkFor(() => congestion.stalls > 0 && congestion.active);
    // The subscriber now takes everything, acknowledging as it goes: nothing was lost, in order.
    const got: string[] = [];
    while (got.length < N) {
      const p = (await sub.next('publish', 5000)) as mqttPacket.IPublishPacket;
      got.push(p.payload.toString());
      sub.send({ cmd: 'puback', messageId: p.messageId! });
    }
    assert.deepEqual(
      got,
      Array.from({ length: N }, (_, i) => String(i)),
    );
    await checkFor(() => !congestion.active);
    pub.end();
    sub.end();
  });

  test('a subscriber that never acknowledges is closed as a slow consumer after write_deadline; publishers go on', async () => {
    const sub = await RawMqtt.open(slowNode.mqttPort, 5);
    await sub.connect({ clientId: 'stuck', properties: { receiveMaximum: 5 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'stuck', qos: 1 }] });
    await sub.next('suback');
    const pub = await RawMqtt.open(slowNode.mqttPort, 5);
    await pub.connect({ clientId: 'pusher' });
    for (let i = 0; i < 600; i++) {
      pub.send({
        cmd: 'publish',
        topic: 'stuck',
        payload: Buffer.from('x'),
        qos: 1,
        messageId: i + 1,
        dup: false,
        retain: false,
      });
    }
    const d = (await sub.next('disconnect', 5000)) as mqttPacket.IDisconnectPacket;
    assert.equal(d.reasonCode, 0x97);
    await sub.closedWithin();
    await checkFor(() => !slowNode.srv.node.congestion.active);
    pub.send({ cmd: 'pingreq' });
    await pub.next('pingresp');
    pub.end();
  });

  test('5.0: Server Keep Alive replaces a keep alive of none or past mqtt.max_keep_alive [MQTT-3.2.2-21]', async () => {
    const kaNode = await startMqttNode({ mqttMaxKeepAlive: 1 });
    try {
      const c = await RawMqtt.open(kaNode.mqttPort, 5);
      const ack = await c.connect({ keepalive: 0 });
      assert.equal(ack.properties?.serverKeepAlive, 1);
      // And it is enforced: silence past 1.5 s closes the connection.
      await c.closedWithin(4000);
      const ok = await RawMqtt.open(kaNode.mqttPort, 5);
      const ack2 = await ok.connect({ keepalive: 1 });
      assert.equal(ack2.properties?.serverKeepAlive, undefined);
      ok.end();
    } finally {
      await kaNode.close();
    }
  });

  test('5.0: a refused CONNECT carries a reason string', async () => {
    const c = await RawMqtt.open(node.mqttPort, 5);
    c.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'x'.repeat(300),
      keepalive: 0,
    });
    const ack = (await c.next('connack')) as mqttPacket.IConnackPacket;
    assert.equal(ack.reasonCode, 0x85);
    assert.match(String(ack.properties?.reasonString), /client identifier longer than/);
    await c.closedWithin();
  });
});
