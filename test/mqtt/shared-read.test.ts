/**
 * Plain-TCP MQTT clients read into the shared read buffer
 * (src/connection/shared-read.ts): a read's bytes are valid only during
 * the call. Reads are poisoned here (each overwritten after its call, as
 * WEFT_POISON_READS=1 does), so what the face keeps past a read without
 * copying it — a PUBLISH waiting behind a CONNECT being handled, a
 * retained message stored once a persistent session's copy is durable —
 * shows as 0xee bytes.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { poisonReads } from '../../src/connection/shared-read.js';
import { checkFor } from '../helpers/poll.js';
import { collect, end, type MqttNode, mqttConnect, startMqttNode } from './helpers.js';

describe('MQTT reads of the shared buffer, poisoned', () => {
  let node: MqttNode;
  before(async () => {
    poisonReads(true);
    node = await startMqttNode();
  });
  after(async () => {
    await node.close();
    poisonReads(false);
  });

  test('a PUBLISH read with its CONNECT waits for it and arrives intact', async () => {
    const sub = await mqttConnect(node.url);
    const got = collect(sub);
    await sub.subscribeAsync('held/t', { qos: 0 });
    const payload = Buffer.from('waited behind the CONNECT');
    const bytes = Buffer.concat([
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: 'held-pub',
        keepalive: 0,
      }),
      mqttPacket.generate({
        cmd: 'publish',
        topic: 'held/t',
        payload,
        qos: 0,
        retain: false,
        dup: false,
      }),
    ]);
    const raw = connect(node.mqttPort, '127.0.0.1');
    raw.on('error', () => {});
    raw.write(bytes); // one write: one read, the PUBLISH waits while the CONNECT is handled
    await checkFor(() => got.length === 1);
    assert.equal(got[0]!.payload, payload.toString());
    raw.destroy();
    await end(sub);
  });

  test('a retained QoS 1 message stored after a persistent session’s copy is intact', async () => {
    const keeper = await mqttConnect(node.url, { clientId: 'keeper', clean: false });
    await keeper.subscribeAsync('kept/t', { qos: 1 });
    const pub = await mqttConnect(node.url);
    const payload = 'retained after the wait';
    await pub.publishAsync('kept/t', payload, { qos: 1, retain: true });
    const late = await mqttConnect(node.url);
    const got = collect(late);
    await late.subscribeAsync('kept/t', { qos: 1 });
    await checkFor(() => got.length === 1);
    assert.equal(got[0]!.payload, payload);
    await end(keeper, pub, late);
  });
});
