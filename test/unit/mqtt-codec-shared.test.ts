/**
 * The MQTT parsers of all connections share one mqtt-packet parser
 * (codec.ts, "the shared inner parser"): that must not show. Many parsers
 * fed in an interleaved order (packets split across reads, versions 3.1,
 * 3.1.1 and 5.0 and bridge mode at once, parsers failing in between, in
 * this wrapper's checks and inside mqtt-packet)
 * give each the packets it gives alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { MqttParser, type ProtocolVersion } from '../../src/protocols/mqtt/codec.js';
import { makeRng } from '../fuzz/nats-frames.js';

function connect(v: ProtocolVersion, bridge = false): Buffer {
  const b = mqttPacket.generate(
    {
      cmd: 'connect',
      protocolId: v === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: v,
      clean: true,
      clientId: `c${v}`,
      keepalive: 30,
    } as Packet,
    { protocolVersion: v },
  );
  if (bridge) {
    // The protocol level byte follows the protocol name: 128 added is a bridge.
    const at = 2 + 2 + (v === 3 ? 6 : 4);
    b[at] |= 0x80;
  }
  return b;
}

/** PUBLISH (topic at byte 4), SUBSCRIBE, PINGREQ, PUBACK, after CONNECT. */
function clientStream(v: ProtocolVersion): Buffer {
  const packets = [
    { cmd: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 0, dup: false, retain: false },
    {
      cmd: 'subscribe',
      messageId: 6,
      subscriptions: [{ topic: 'a/+/c', qos: 1 }],
      ...(v === 5 ? { properties: { subscriptionIdentifier: 9 } } : {}),
    },
    { cmd: 'pingreq' },
    {
      cmd: 'publish',
      topic: 'größe/😀',
      payload: Buffer.alloc(300, 7),
      qos: 1,
      messageId: 1,
      dup: false,
      retain: false,
    },
    { cmd: 'puback', messageId: 2 },
  ] as Packet[];
  return Buffer.concat(packets.map((p) => mqttPacket.generate(p, { protocolVersion: v })));
}

interface Stream {
  bytes: Buffer;
  packets: Packet[];
  error: string | null;
}

function alone(bytes: Buffer): Stream {
  const packets: Packet[] = [];
  const err = new MqttParser((p) => packets.push(p)).feed(bytes);
  return { bytes, packets, error: err?.message ?? null };
}

describe('one mqtt-packet parser shared by every connection', () => {
  test('interleaved feeds give each parser the packets it gives alone', () => {
    const rng = makeRng(12);
    const inputs: Buffer[] = [];
    for (const v of [3, 4, 5] as ProtocolVersion[]) {
      inputs.push(Buffer.concat([connect(v), clientStream(v)]));
      inputs.push(Buffer.concat([connect(v, true), clientStream(v)]));
    }
    // One that fails half way: a string that is not UTF-8 in a PUBLISH topic.
    const bad = Buffer.from(clientStream(4));
    bad[4] = 0xff;
    inputs.push(Buffer.concat([connect(4), bad, clientStream(4)]));
    // Ones mqtt-packet itself refuses, leaving its state mid-packet: a CONNECT
    // of protocol level 6, and a SUBSCRIBE asking for QoS 3 after a good CONNECT.
    const level6 = connect(4);
    level6[8] = 6;
    inputs.push(Buffer.concat([level6, clientStream(4)]));
    const qos3 = Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x74, 0x03]);
    inputs.push(Buffer.concat([connect(4), qos3, clientStream(4)]));
    const expected = inputs.map(alone);
    assert.match(expected[6]!.error!, /UTF-8/);
    assert.match(expected[7]!.error!, /protocol version/);
    assert.match(expected[8]!.error!, /QoS/);
    // Bridge mode reads 3.1.1 subscriptions as a bridge's: it shows, per parser.
    const sub = (s: Stream) =>
      s.packets.find((p) => p.cmd === 'subscribe') as {
        subscriptions: { nl?: boolean }[];
      };
    assert.equal(sub(expected[2]!).subscriptions[0]!.nl, undefined);
    assert.equal(sub(expected[3]!).subscriptions[0]!.nl, true);

    for (let round = 0; round < 20; round++) {
      const got = inputs.map(() => ({ packets: [] as Packet[], error: null as string | null }));
      const parsers = got.map((g) => new MqttParser((p) => g.packets.push(p)));
      const offsets = inputs.map(() => 0);
      for (;;) {
        const open = inputs.map((_, i) => i).filter((i) => offsets[i]! < inputs[i]!.length);
        if (open.length === 0) break;
        const i = open[rng.int(open.length)]!;
        const n = 1 + rng.int(40);
        const chunk = inputs[i]!.subarray(offsets[i], offsets[i]! + n);
        offsets[i] += chunk.length;
        const err = parsers[i]!.feed(chunk);
        if (err !== null) got[i]!.error ??= err.message;
      }
      for (let i = 0; i < inputs.length; i++) {
        assert.deepEqual(got[i]!.packets, expected[i]!.packets, `round ${round}, input ${i}`);
        assert.equal(got[i]!.error, expected[i]!.error, `round ${round}, input ${i}`);
      }
    }
  });
});
