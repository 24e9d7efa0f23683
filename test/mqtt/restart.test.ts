/**
 * MQTT state survives a restart (JetStream on, the durable store): a
 * persistent session's subscriptions catch QoS 1 messages published after
 * the restart and before its client is back, messages queued before the
 * restart are delivered, and retained messages are kept.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { checkFor } from '../helpers/poll.js';
import { collect, end, mqttConnect, startMqttNode } from './helpers.js';

test('sessions, queued messages and retained messages survive a restart', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-mqtt-restart-'));
  try {
    let node = await startMqttNode({ jetstream: true, dataDir: dir });
    const opts = { protocolVersion: 4 as const, clientId: 'keeper', clean: false };
    const a = await mqttConnect(node.url, opts);
    await a.subscribeAsync('plant/#', { qos: 1 });
    await end(a);
    const pub = await mqttConnect(node.url, { protocolVersion: 4 });
    await pub.publishAsync('plant/before', 'queued before', { qos: 1 });
    await pub.publishAsync('plant/state', 'on', { qos: 1, retain: true });
    await end(pub);
    await node.close();

    node = await startMqttNode({ jetstream: true, dataDir: dir });
    const pub2 = await mqttConnect(node.url, { protocolVersion: 4 });
    await pub2.publishAsync('plant/after', 'queued after', { qos: 1 });
    await end(pub2);
    const b = mqtt.connect(node.url, { ...opts, reconnectPeriod: 0 });
    const got = collect(b);
    const ack = await new Promise<mqtt.IConnackPacket>((r) => b.once('connect', r));
    assert.equal(ack.sessionPresent, true);
    await checkFor(() => got.length >= 3, 4000);
    assert.deepEqual(
      got.map((m) => m.payload),
      ['queued before', 'on', 'queued after'],
    );
    const fresh = await mqttConnect(node.url, { protocolVersion: 4 });
    const seen = collect(fresh);
    await fresh.subscribeAsync('plant/state');
    await checkFor(() => seen.length === 1);
    assert.equal(seen[0]!.payload, 'on');
    assert.equal(seen[0]!.retain, true);
    await end(b, fresh);
    await node.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
