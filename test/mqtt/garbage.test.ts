/**
 * Sessions under random input: after a valid CONNECT, clients send random
 * bytes and random mutations of valid packets; each such connection is
 * closed or carries on, the node never throws, and a well-behaved client
 * on the side sees nothing of it (its messages still flow).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { checkFor } from '../helpers/poll.js';
import { type MqttNode, startMqttNode } from './helpers.js';
import { RawMqtt } from './raw.js';

/** A small seeded PRNG (mulberry32): the same run every time. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SAMPLES: Packet[] = [
  {
    cmd: 'publish',
    topic: 'g/a',
    payload: Buffer.from('x'),
    qos: 1,
    messageId: 1,
    dup: false,
    retain: true,
  },
  { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'g/#', qos: 2 }] },
  { cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['g/#'] },
  { cmd: 'pubrel', messageId: 1 },
  { cmd: 'pingreq' },
];

describe('MQTT sessions under random input', () => {
  let node: MqttNode;
  before(async () => {
    node = await startMqttNode({ mqttMaxPacketSize: 8192 });
  });
  after(() => node.close());

  for (const version of [4, 5] as const) {
    test(`v${version}: 150 connections of mutated packets; a bystander is unaffected`, async () => {
      const rnd = prng(version * 7919);
      const bystander = await RawMqtt.open(node.mqttPort, version);
      await bystander.connect({ clientId: `bystander${version}` });
      bystander.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: 'calm', qos: 1 }],
      });
      await bystander.next('suback');
      for (let i = 0; i < 150; i++) {
        const c = await RawMqtt.open(node.mqttPort, version);
        await c.connect({ clientId: `garbage${version}-${i}` });
        for (let k = 0; k < 5; k++) {
          const sample = SAMPLES[Math.floor(rnd() * SAMPLES.length)]!;
          const bytes = Buffer.from(mqttPacket.generate(sample, { protocolVersion: version }));
          const flips = 1 + Math.floor(rnd() * 3);
          for (let f = 0; f < flips; f++)
            bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
          c.bytes(
            rnd() < 0.2
              ? Buffer.from(
                  Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)),
                )
              : bytes,
          );
        }
        c.end();
      }
      bystander.send({
        cmd: 'publish',
        topic: 'calm',
        payload: Buffer.from('still here'),
        qos: 1,
        messageId: 9,
        dup: false,
        retain: false,
      });
      await bystander.next('puback');
      const p = (await bystander.next('publish')) as mqttPacket.IPublishPacket;
      assert.equal(p.payload.toString(), 'still here');
      bystander.end();
      // Every garbage connection is gone; the node still serves.
      await checkFor(
        () => [...node.srv.node.connections.values()].filter((x) => x.face === 'mqtt').length === 0,
        5000,
      );
    });
  }
});
