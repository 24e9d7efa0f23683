/**
 * The PUBLISH paths that bypass mqtt-packet (encoder.ts: a PUBLISH with no
 * properties; codec.ts: a 3.1.1 PUBLISH with an ASCII topic, a 3.1.1 PUBACK) give exactly
 * what mqtt-packet gives: the same bytes out, the same packet objects in
 * (fields, their order, payload bytes), for every QoS, flag, size and topic;
 * and publish.ts's JSON-object pre-check never hides a structured CloudEvent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { impliedStructured } from '../../src/protocols/cloudevents.js';
import { MqttParser, type ProtocolVersion } from '../../src/protocols/mqtt/codec.js';
import { encodePublish } from '../../src/protocols/mqtt/encoder.js';
import { fromHeaders, toHeaders } from '../../src/protocols/mqtt/properties.js';
import { mayBeJsonObject } from '../../src/protocols/mqtt/publish.js';

const TOPICS = ['a', 'weft/bench/x', 'ü/€/𝄞', '', 'x'.repeat(300)];
const SIZES = [0, 1, 16, 100, 125, 128, 16_383, 16_384, 70_000];

function* publishes(): Generator<IPublishPacket> {
  let n = 0;
  for (const topic of TOPICS)
    for (const size of SIZES)
      for (const qos of [0, 1, 2] as const)
        for (const dup of [false, true])
          for (const retain of [false, true]) {
            const p: IPublishPacket = {
              cmd: 'publish',
              topic,
              payload: Buffer.alloc(size, n & 0xff),
              qos,
              dup,
              retain,
            };
            if (qos > 0) p.messageId = (n++ * 7919) % 65_536;
            yield p;
          }
}

test('encodePublish writes the bytes mqtt-packet writes (3.1, 3.1.1, 5.0 without properties)', () => {
  for (const v of [3, 4, 5] as ProtocolVersion[])
    for (const p of publishes()) {
      const ours = encodePublish(v, { ...p, payload: p.payload as Buffer });
      assert.deepEqual(ours, mqttPacket.generate(p, { protocolVersion: v }), `v${v} ${p.topic}`);
    }
});

/** A 3.1.1 CONNECT: what a parser reads before it knows the protocol version. */
const connect = mqttPacket.generate({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: 'c1',
  keepalive: 30,
} as Packet);

test('a 3.1.1 PUBLISH parses to the packet mqtt-packet parses, whole and split', () => {
  for (const p of publishes()) {
    const frame = mqttPacket.generate(p);
    let theirs: Packet | null = null;
    const ref = mqttPacket.parser({ protocolVersion: 4 });
    ref.on('packet', (x) => {
      theirs = x;
    });
    ref.parse(frame);
    for (const cut of [frame.length, 3]) {
      const got: Packet[] = [];
      const parser = new MqttParser((x) => got.push(x));
      assert.equal(parser.feed(connect), null);
      assert.equal(parser.feed(frame.subarray(0, cut)), null);
      assert.equal(parser.feed(frame.subarray(cut)), null);
      const ours = got[1] as IPublishPacket;
      assert.deepEqual(Object.keys(ours), Object.keys(theirs!), p.topic);
      // The same fields; its object is a mqtt-packet Packet, ours a plain one.
      assert.deepEqual({ ...ours }, { ...theirs! }, p.topic);
    }
  }
});

test('a 3.1.1 PUBACK parses to the packet mqtt-packet parses', () => {
  for (const messageId of [0, 1, 255, 256, 4660, 65_535]) {
    const frame = mqttPacket.generate({ cmd: 'puback', messageId });
    let theirs: Packet | null = null;
    const ref = mqttPacket.parser({ protocolVersion: 4 });
    ref.on('packet', (x) => {
      theirs = x;
    });
    ref.parse(frame);
    const got: Packet[] = [];
    const parser = new MqttParser((x) => got.push(x));
    assert.equal(parser.feed(Buffer.concat([connect, frame])), null);
    assert.deepEqual(Object.keys(got[1]!), Object.keys(theirs!));
    assert.deepEqual({ ...got[1]! }, { ...theirs! });
  }
});

test('the JSON-object pre-check of a 3.1.1 payload never hides a structured CloudEvent', () => {
  const event = '{"specversion":"1.0","id":"1","source":"/s","type":"t"}';
  const payloads = [
    event,
    `\ufeff${event}`,
    ` \t\r\n${event}`,
    `\ufeff \n${event}`,
    `[${event}]`,
    ` "specversion"`,
    `x${event}`,
    '',
    ' ',
    '\ufeff',
    '{',
  ].map((s) => Buffer.from(s));
  payloads.push(Buffer.from([0xef, 0xbb]), Buffer.alloc(16, 0x78));
  let structured = 0;
  for (const p of payloads) {
    if (impliedStructured(p)) {
      structured++;
      assert.equal(mayBeJsonObject(p), true, p.toString());
    }
  }
  assert.equal(structured, 4);
  assert.equal(mayBeJsonObject(Buffer.alloc(16, 0x78)), false);
});

test('the last-topic memos of the parser and the encoder answer what a first call answers', () => {
  // Same length, same prefix, one byte apart, a prefix of the last, back again.
  const topics = ['a/b', 'a/c', 'a/b', 'a/b', 'a/', 'b/b', 'a/b/c', 'a/b', 'ü/b', 'a/b', ''];
  const got: Packet[] = [];
  const parser = new MqttParser((x) => got.push(x));
  assert.equal(parser.feed(connect), null);
  for (const topic of topics) {
    const payload = Buffer.from('x');
    const p: IPublishPacket = {
      cmd: 'publish',
      topic,
      payload,
      qos: 0,
      dup: false,
      retain: false,
    };
    const frame = mqttPacket.generate(p);
    assert.deepEqual(encodePublish(4, { topic, payload, qos: 0 }), frame, topic);
    assert.equal(parser.feed(frame), null);
    assert.equal((got.at(-1) as IPublishPacket).topic, topic);
  }
  assert.equal(got.length, topics.length + 1);
});

test('the fixed header blocks (QoS and retain only) are the bytes and views the general path makes', () => {
  const dropped = { count: 0 };
  for (const qos of [0, 1, 2])
    for (const retain of [false, true]) {
      const fixed = toHeaders(qos, retain, undefined, undefined, dropped);
      // Properties with nothing to carry take the general path.
      const general = toHeaders(qos, retain, {}, undefined, dropped);
      assert.deepEqual(fixed, general, `${qos} ${retain}`);
      if (general === null) continue;
      assert.deepEqual(
        { ...fromHeaders(fixed) },
        { qos, retain, expiresAt: undefined, properties: undefined },
      );
      // A block that differs in any byte is read by the general path.
      const lowered = Buffer.from(general.toString().toLowerCase().replace('nats/1.0', 'NATS/1.0'));
      assert.deepEqual({ ...fromHeaders(lowered) }, { ...fromHeaders(general) });
    }
  assert.equal(dropped.count, 0);
});
