/**
 * The MQTT parser wrapper (src/protocols/mqtt/codec.ts) and encoders
 * (encoder.ts): split feeds give the same packets as whole ones; malformed
 * input gives an MqttWireError with the MQTT 5 reason code, before the body
 * of an oversized packet is buffered; every server packet encodes for 3.1.1
 * and 5.0 and decodes back (with mqtt-packet as the client's parser).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';
import {
  MqttParser,
  type MqttParserOptions,
  MqttReason,
  MqttWireError,
  type ProtocolVersion,
} from '../../src/protocols/mqtt/codec.js';
import * as enc from '../../src/protocols/mqtt/encoder.js';
import { makeRng } from '../fuzz/nats-frames.js';

const gen = (p: Packet, v: ProtocolVersion = 4): Buffer =>
  mqttPacket.generate(p, { protocolVersion: v });

function connect(v: ProtocolVersion, extra: object = {}): Buffer {
  return gen(
    {
      cmd: 'connect',
      protocolId: v === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: v,
      clean: true,
      clientId: 'c1',
      keepalive: 30,
      ...extra,
    } as Packet,
    v,
  );
}

/** A stream of every packet a client sends, after CONNECT. */
export function clientStream(v: ProtocolVersion): Buffer {
  const props5 = v === 5;
  const packets: Packet[] = [
    {
      cmd: 'publish',
      topic: 'a/b',
      payload: Buffer.from('hello'),
      qos: 0,
      dup: false,
      retain: false,
    },
    {
      cmd: 'publish',
      topic: 'größe/😀',
      payload: Buffer.alloc(300, 7),
      qos: 1,
      messageId: 1,
      dup: true,
      retain: true,
      ...(props5
        ? { properties: { contentType: 'text/plain', userProperties: { k: ['a', 'b'] } } }
        : {}),
    },
    {
      cmd: 'publish',
      topic: 't',
      payload: Buffer.alloc(0),
      qos: 2,
      messageId: 65535,
      dup: false,
      retain: false,
    },
    { cmd: 'puback', messageId: 2 },
    { cmd: 'pubrec', messageId: 3 },
    { cmd: 'pubrel', messageId: 4 },
    { cmd: 'pubcomp', messageId: 5 },
    {
      cmd: 'subscribe',
      messageId: 6,
      subscriptions: [
        { topic: 'a/+/c', qos: 1, ...(props5 ? { nl: true, rap: true, rh: 1 } : {}) },
        { topic: '$share/g/x/#', qos: 2 },
      ],
      ...(props5 ? { properties: { subscriptionIdentifier: 9 } } : {}),
    } as Packet,
    { cmd: 'unsubscribe', messageId: 7, unsubscriptions: ['a/+/c', 'x'] },
    { cmd: 'pingreq' },
    { cmd: 'disconnect', ...(props5 ? { reasonCode: 0x04 } : {}) } as Packet,
  ];
  return Buffer.concat(packets.map((p) => gen(p, v)));
}

function parseAll(
  chunks: Buffer[],
  options?: MqttParserOptions,
): { packets: Packet[]; error: MqttWireError | null } {
  const packets: Packet[] = [];
  const parser = new MqttParser((p) => packets.push(p), options);
  let error: MqttWireError | null = null;
  for (const c of chunks) {
    error = parser.feed(c);
    if (error !== null) break;
  }
  return { packets, error };
}

function split(buf: Buffer, sizes: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = Math.max(1, sizes());
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('splits', () => {
  for (const v of [3, 4, 5] as ProtocolVersion[]) {
    test(`v${v}: whole, byte by byte and random splits give the same packets`, () => {
      const stream = Buffer.concat([connect(v), clientStream(v)]);
      const whole = parseAll([stream]);
      assert.equal(whole.error, null);
      assert.equal(whole.packets.length, 12);
      assert.deepEqual(
        whole.packets.map((p) => p.cmd),
        [
          'connect',
          'publish',
          'publish',
          'publish',
          'puback',
          'pubrec',
          'pubrel',
          'pubcomp',
          'subscribe',
          'unsubscribe',
          'pingreq',
          'disconnect',
        ],
      );
      assert.deepEqual(parseAll(split(stream, () => 1)), whole);
      const rng = makeRng(v * 7919);
      for (let i = 0; i < 50; i++)
        assert.deepEqual(parseAll(split(stream, () => rng.range(1, 400))), whole);
    });
  }

  test('CONNECT sets the version: v5 properties in the next packets are read', () => {
    const { packets, error } = parseAll([Buffer.concat([connect(5), clientStream(5)])]);
    assert.equal(error, null);
    const pub = packets[2] as { properties?: { contentType?: string } };
    assert.equal(pub.properties?.contentType, 'text/plain');
  });
});

function expectError(
  bytes: Buffer,
  reason: number,
  pattern: RegExp,
  options?: MqttParserOptions,
): void {
  const { error } = parseAll([bytes], options);
  assert.ok(error instanceof MqttWireError, `expected an error for ${bytes.toString('hex')}`);
  assert.equal(error.reasonCode, reason, error.message);
  assert.match(error.message, pattern);
}

describe('malformed input', () => {
  const c4 = connect(4);
  const c5 = connect(5);

  test('Remaining Length longer than 4 bytes is malformed [MQTT-1.5.5]', () => {
    expectError(
      Buffer.concat([c4, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])]),
      MqttReason.MalformedPacket,
      /longer than 4 bytes/,
    );
  });

  test('reserved flag bits are malformed [MQTT-2.2.2-2]', () => {
    for (const first of [
      0x80 /* SUBSCRIBE */,
      0x62 + 1 /* PUBREL 0x3 */,
      0xc1 /* PINGREQ */,
      0xa0 /* UNSUBSCRIBE */,
      0xe8,
    ]) {
      expectError(
        Buffer.concat([c4, Buffer.from([first, 0x00])]),
        MqttReason.MalformedPacket,
        /MQTT-2\.2\.2-2/,
      );
    }
    expectError(Buffer.from([0x11, 0x00]), MqttReason.MalformedPacket, /MQTT-2\.2\.2-2/);
  });

  test('QoS 3 is malformed [MQTT-3.3.1-4]', () => {
    expectError(
      Buffer.concat([c4, Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61])]),
      MqttReason.MalformedPacket,
      /MQTT-3\.3\.1-4/,
    );
  });

  test('bad UTF-8 and U+0000 in a string are malformed [MQTT-1.5.4-1] [MQTT-1.5.4-2]', () => {
    const badTopic = Buffer.from([0x30, 0x05, 0x00, 0x02, 0x61, 0xff, 0x78]);
    expectError(Buffer.concat([c4, badTopic]), MqttReason.MalformedPacket, /MQTT-1\.5\.4-1/);
    // A truncated 4-byte sequence, which a lenient decoder would turn into one U+FFFD of the same length.
    const truncated = Buffer.from([0x30, 0x06, 0x00, 0x03, 0xf0, 0x9f, 0x98, 0x78]);
    expectError(Buffer.concat([c4, truncated]), MqttReason.MalformedPacket, /MQTT-1\.5\.4-1/);
    // An encoded surrogate (U+D800).
    const surrogate = Buffer.from([0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80]);
    expectError(Buffer.concat([c4, surrogate]), MqttReason.MalformedPacket, /MQTT-1\.5\.4-1/);
    const nul = Buffer.from([0x30, 0x04, 0x00, 0x02, 0x61, 0x00]);
    expectError(Buffer.concat([c4, nul]), MqttReason.MalformedPacket, /MQTT-1\.5\.4-2/);
    const badClientId = Buffer.from(connect(4, { clientId: 'ab' }));
    badClientId[badClientId.length - 1] = 0xc0;
    expectError(badClientId, MqttReason.MalformedPacket, /MQTT-1\.5\.4-1/);
    const badUserProperty = gen(
      {
        cmd: 'publish',
        topic: 't',
        payload: Buffer.alloc(0),
        qos: 0,
        dup: false,
        retain: false,
        properties: { userProperties: { kk: 'v' } },
      },
      5,
    );
    badUserProperty[badUserProperty.indexOf('kk')] = 0xfe;
    expectError(Buffer.concat([c5, badUserProperty]), MqttReason.MalformedPacket, /MQTT-1\.5\.4-1/);
  });

  test('an oversized packet is refused from its fixed header, before its body is buffered', () => {
    const packets: Packet[] = [];
    const parser = new MqttParser((p) => packets.push(p), { maxPacketSize: 1000 });
    assert.equal(parser.feed(c4), null);
    // PUBLISH announcing 2 MiB; only the header arrives.
    const err = parser.feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x01]));
    assert.ok(err instanceof MqttWireError);
    assert.equal(err.reasonCode, MqttReason.PacketTooLarge);
    assert.match(err.message, /2097157 bytes is larger than the maximum packet size 1000/);
    assert.equal(parser.bufferedBytes, 0);
    assert.equal(parser.feed(Buffer.alloc(10)), err, 'dead after an error');
    // At the limit exactly: accepted (the size counts the fixed header).
    const atLimit = gen({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.alloc(1000 - 2 - 3 - 1),
      qos: 0,
      dup: false,
      retain: false,
    });
    assert.equal(atLimit.length, 1000);
    assert.equal(parseAll([c4, atLimit], { maxPacketSize: 1000 }).error, null);
    expectError(Buffer.concat([c4, atLimit]), MqttReason.PacketTooLarge, /1000 bytes/, {
      maxPacketSize: 999,
    });
  });

  test('a split packet holds at most its own size', () => {
    const parser = new MqttParser(() => {}, { maxPacketSize: 5000 });
    parser.feed(c4);
    const pub = gen({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.alloc(4000),
      qos: 0,
      dup: false,
      retain: false,
    });
    for (const piece of split(pub, () => 97)) {
      assert.equal(parser.feed(piece), null);
      assert.ok(parser.bufferedBytes <= pub.length);
    }
    assert.equal(parser.bufferedBytes, 0);
  });

  test('CONNECT first [MQTT-3.1.0-1], and only once [MQTT-3.1.0-2]', () => {
    expectError(gen({ cmd: 'pingreq' }), MqttReason.ProtocolError, /MQTT-3\.1\.0-1/);
    expectError(Buffer.concat([c4, c4]), MqttReason.ProtocolError, /MQTT-3\.1\.0-2/);
  });

  test('packets only a server sends are a protocol error', () => {
    expectError(
      Buffer.concat([c4, Buffer.from([0x20, 0x02, 0x00, 0x00])]),
      MqttReason.ProtocolError,
      /CONNACK/,
    );
    expectError(
      Buffer.concat([c4, Buffer.from([0xd0, 0x00])]),
      MqttReason.ProtocolError,
      /PINGRESP/,
    );
  });

  test('reserved packet types are malformed (0; 15 before 5.0)', () => {
    expectError(
      Buffer.concat([c4, Buffer.from([0x00, 0x00])]),
      MqttReason.MalformedPacket,
      /type 0/,
    );
    expectError(
      Buffer.concat([c4, Buffer.from([0xf0, 0x00])]),
      MqttReason.MalformedPacket,
      /type 15/,
    );
  });

  test('an unknown protocol version asks for CONNACK 0x84 [MQTT-3.1.2-2]', () => {
    const bad = connect(4);
    bad[8] = 6; // the protocol level byte after 00 04 'MQTT'
    expectError(bad, MqttReason.UnsupportedProtocolVersion, /protocol version/);
  });

  test('a repeated property is a protocol error, a truncated one malformed (5.0 §2.2.2.2)', () => {
    // PUBLISH 't' with properties: content type 'a' twice.
    const body = Buffer.from([
      0x00, 0x01, 0x74, 0x08, 0x03, 0x00, 0x01, 0x61, 0x03, 0x00, 0x01, 0x61,
    ]);
    expectError(
      Buffer.concat([c5, Buffer.from([0x30, body.length]), body]),
      MqttReason.ProtocolError,
      /contentType appears more than once/,
    );
    // Properties length 4 but the property inside needs 5.
    const over = Buffer.from([0x00, 0x01, 0x74, 0x04, 0x03, 0x00, 0x02, 0x61, 0x62]);
    expectError(
      Buffer.concat([c5, Buffer.from([0x30, over.length]), over]),
      MqttReason.MalformedPacket,
      /property/,
    );
  });

  test('a Subscription Identifier in a client PUBLISH is a protocol error [MQTT-3.3.4-6]', () => {
    const pub = gen(
      {
        cmd: 'publish',
        topic: 't',
        payload: Buffer.alloc(0),
        qos: 0,
        dup: false,
        retain: false,
        properties: { subscriptionIdentifier: 3 },
      },
      5,
    );
    expectError(Buffer.concat([c5, pub]), MqttReason.ProtocolError, /MQTT-3\.3\.4-6/);
  });

  test('bytes after the end of a packet content are malformed', () => {
    expectError(
      Buffer.concat([c4, Buffer.from([0x40, 0x03, 0x00, 0x01, 0x00])]),
      MqttReason.MalformedPacket,
      /after the end/,
    );
  });
});

describe('encoders', () => {
  function decode(buf: Buffer, v: ProtocolVersion): Packet {
    const parser = mqttPacket.parser({ protocolVersion: v });
    const out: Packet[] = [];
    parser.on('packet', (p) => out.push(p));
    parser.on('error', (e) => assert.fail(e));
    parser.parse(buf);
    assert.equal(out.length, 1);
    return out[0];
  }

  for (const v of [4, 5] as ProtocolVersion[]) {
    test(`v${v}: every server packet decodes back`, () => {
      const ca = decode(
        enc.encodeConnack(v, true, 0, v === 5 ? { maximumPacketSize: 1000 } : undefined),
        v,
      ) as { sessionPresent: boolean };
      assert.equal(ca.sessionPresent, true);
      const pub = decode(
        enc.encodePublish(v, {
          topic: 'a/b',
          payload: Buffer.from('x'),
          qos: 1,
          messageId: 9,
          properties: { contentType: 'c' },
        }),
        v,
      ) as { topic: string; messageId: number; properties?: object };
      assert.equal(pub.topic, 'a/b');
      assert.equal(pub.messageId, 9);
      assert.deepEqual(pub.properties, v === 5 ? { contentType: 'c' } : undefined);
      for (const [f, cmd, code] of [
        [enc.encodePuback, 'puback', 0x10],
        [enc.encodePubrec, 'pubrec', 0x10],
        [enc.encodePubrel, 'pubrel', 0x92],
        [enc.encodePubcomp, 'pubcomp', 0x92],
      ] as const) {
        const p = decode(f(v, 77, code), v) as {
          cmd: string;
          messageId: number;
          reasonCode?: number;
        };
        assert.equal(p.cmd, cmd);
        assert.equal(p.messageId, 77);
        if (v === 5) assert.equal(p.reasonCode, code);
      }
      const sa = decode(enc.encodeSuback(v, 3, [0, 1, 2, 0x87]), v) as { granted: number[] };
      assert.deepEqual(sa.granted, v === 5 ? [0, 1, 2, 0x87] : [0, 1, 2, 0x80]);
      const ua = decode(enc.encodeUnsuback(v, 4, [0, 0x11]), v) as { messageId: number };
      assert.equal(ua.messageId, 4);
      assert.equal(decode(enc.encodePingresp(), v).cmd, 'pingresp');
      const d = enc.encodeDisconnect(v, 0x8e, { reasonString: 'taken over' });
      const a = enc.encodeAuth(v, 0x18, { authenticationMethod: 'x' });
      if (v === 5) {
        assert.equal((decode(d!, v) as { reasonCode: number }).reasonCode, 0x8e);
        assert.equal((decode(a!, v) as { reasonCode: number }).reasonCode, 0x18);
      } else {
        assert.equal(d, null);
        assert.equal(a, null);
      }
    });
  }

  test('an impossible value is an MqttEncodeError, not a crash', () => {
    assert.throws(
      () => enc.encodePublish(4, { topic: 't', payload: Buffer.alloc(0), qos: 1 }),
      enc.MqttEncodeError,
    );
  });

  test('3.1.1 CONNACK return codes from 5.0 reason codes', () => {
    assert.deepEqual(
      [0, 0x84, 0x85, 0x86, 0x87, 0x88].map(enc.connackReturnCodeV4),
      [0, 1, 2, 4, 5, 3],
    );
  });
});
