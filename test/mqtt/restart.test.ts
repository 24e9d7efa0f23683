/**
 * MQTT state across restarts, SIGTERM and SIGKILL: a `weft server` child
 * process with the MQTT face and JetStream (the durable store), stopped and
 * started again on the same data directory. Persistent sessions (3.1.1
 * clean session 0, 5.0 session expiry > 0) come back with their
 * subscriptions and their queues (messages queued before the stop, and
 * messages published after the start before the client is back); retained
 * messages come back; QoS 2 is exactly once across the restart both ways —
 * a PUBLISH received and PUBREC'd before the kill is not delivered again
 * when the client resends it, and its PUBREL is answered [MQTT-4.3.3-2];
 * a message the client PUBREC'd is resumed with PUBREL, not sent again
 * [MQTT-4.4.0-1].
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type mqttPacket from 'mqtt-packet';
import { connect as natsConnect } from 'nats';
import { checkFor } from '../helpers/poll.js';
import {
  killWeftProcess,
  type RunningNode,
  startNode,
  stopWeftProcess,
  tempDir,
} from '../helpers/weft-process.js';
import { collect, end, mqttConnect, type Received } from './helpers.js';
import { RawMqtt } from './raw.js';

interface MqttProcess extends RunningNode {
  mqttPort: number;
  url: string;
}

async function startMqttProcess(dataDir: string, extra: string[] = []): Promise<MqttProcess> {
  const n = await startNode(['--mqtt-port', '0', ...extra], { dataDir });
  const m = /Listening for MQTT clients on [^\s]+:(\d+)/.exec(n.stderr());
  assert.ok(m, `no MQTT listener in the log: ${n.stderr()}`);
  const mqttPort = Number(m[1]);
  return { ...n, mqttPort, url: `mqtt://127.0.0.1:${mqttPort}` };
}

async function restart(n: MqttProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<MqttProcess> {
  if (signal === 'SIGKILL') await killWeftProcess(n, 'restart');
  else await stopWeftProcess(n, 'restart');
  return startMqttProcess(n.dataDir);
}

/** Waits until the node's stream `name` holds `count` records (written before a kill). */
async function streamHolds(n: MqttProcess, name: string, count: number): Promise<void> {
  const nc = await natsConnect({ port: n.port, reconnect: false });
  try {
    const jsm = await nc.jetstreamManager();
    await checkFor(async () => {
      const info = await jsm.streams.info(name);
      assert.equal(info.state.messages, count, `${name} records`);
    }, 5000);
  } finally {
    await nc.close();
  }
}

/** Connects, collecting from the CONNACK on; resolves with the CONNACK's session present flag. */
async function resume(
  url: string,
  opts: IClientOptions,
): Promise<{ c: MqttClient; got: Received[]; present: boolean }> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, ...opts });
  const got = collect(c);
  const present = await new Promise<boolean>((resolve, reject) => {
    c.once('connect', (ack) => resolve(ack.sessionPresent));
    c.once('error', reject);
  });
  return { c, got, present };
}

const seen = (got: Received[]) => got.map((m) => `${m.topic}=${m.payload}`);

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  describe(`MQTT state across a restart (${signal})`, () => {
    test('persistent sessions: subscriptions, queued QoS 1/2 messages, retained messages', async () => {
      let n = await startMqttProcess(tempDir('weft-mqtt-restart-'));
      try {
        const s4 = await mqttConnect(n.url, { clientId: 'keep4', clean: false });
        await s4.subscribeAsync('keep/#', { qos: 1 });
        await s4.subscribeAsync('two/#', { qos: 2 });
        await end(s4);
        const s5 = await mqttConnect(n.url, {
          clientId: 'keep5',
          clean: false,
          protocolVersion: 5,
          properties: { sessionExpiryInterval: 3600 },
        });
        await s5.subscribeAsync('keep5/#', { qos: 1 });
        await end(s5);
        const p = await mqttConnect(n.url);
        await p.publishAsync('keep/1', 'm1', { qos: 1 });
        await p.publishAsync('two/1', 'm2', { qos: 2 });
        await p.publishAsync('keep5/1', 'm3', { qos: 1 });
        await p.publishAsync('ret/a', 'r1', { qos: 1, retain: true });
        await end(p);
        await streamHolds(n, '$MQTT_msgs', 3);

        n = await restart(n, signal);

        // Published after the restart, before its client is back: queued too [MQTT-3.1.2-5].
        const p2 = await mqttConnect(n.url);
        await p2.publishAsync('keep/2', 'm4', { qos: 1 });
        await end(p2);

        const r4 = await resume(n.url, { clientId: 'keep4', clean: false });
        assert.equal(r4.present, true, 'session present [MQTT-3.2.2-2]');
        await checkFor(() => r4.got.length === 3, 5000);
        // MQTT.js hands a QoS 2 message over at PUBREL, after the QoS 1 ones: compare as sets.
        assert.deepEqual(seen(r4.got).sort(), ['keep/1=m1', 'keep/2=m4', 'two/1=m2']);
        assert.equal(r4.got.find((m) => m.topic === 'two/1')?.qos, 2);
        const r5 = await resume(n.url, {
          clientId: 'keep5',
          clean: false,
          protocolVersion: 5,
          properties: { sessionExpiryInterval: 3600 },
        });
        assert.equal(r5.present, true);
        await checkFor(() => r5.got.length === 1, 5000);
        assert.deepEqual(seen(r5.got), ['keep5/1=m3']);

        const fresh = await mqttConnect(n.url);
        const got = collect(fresh);
        await fresh.subscribeAsync('ret/#', { qos: 1 });
        await checkFor(() => got.length === 1, 5000);
        assert.deepEqual(seen(got), ['ret/a=r1']);
        assert.equal(got[0]!.retain, true);
        // Nothing more came to the resumed sessions (each message once).
        await end(r4.c, r5.c, fresh);
        assert.equal(r4.got.length, 3);
        assert.equal(r5.got.length, 1);
      } finally {
        await stopWeftProcess(n, 'end').catch(() => n.child.kill('SIGKILL'));
      }
    });

    test('QoS 2 received and PUBREC’d before the restart: delivered once, PUBREL answered after', async () => {
      let n = await startMqttProcess(tempDir('weft-mqtt-restart-'));
      try {
        const sub = await mqttConnect(n.url, { clientId: 'once-sub', clean: false });
        await sub.subscribeAsync('once/#', { qos: 2 });
        await end(sub);
        let raw = await RawMqtt.open(n.mqttPort);
        await raw.connect({ clientId: 'once-pub', clean: false });
        raw.send({
          cmd: 'publish',
          topic: 'once/x',
          payload: Buffer.from('exactly'),
          qos: 2,
          messageId: 7,
          dup: false,
          retain: false,
        });
        const rec = (await raw.next('pubrec')) as mqttPacket.IPubrecPacket;
        assert.equal(rec.messageId, 7);
        // The message is queued for the offline subscriber; the QoS 2 id is kept.
        await streamHolds(n, '$MQTT_msgs', 1);
        raw.end();

        n = await restart(n, signal);

        raw = await RawMqtt.open(n.mqttPort);
        const ack = await raw.connect({ clientId: 'once-pub', clean: false });
        assert.equal(ack.sessionPresent, true);
        // The PUBREC was lost, say: the client sends the PUBLISH again, DUP set.
        raw.send({
          cmd: 'publish',
          topic: 'once/x',
          payload: Buffer.from('exactly'),
          qos: 2,
          messageId: 7,
          dup: true,
          retain: false,
        });
        assert.equal(((await raw.next('pubrec')) as mqttPacket.IPubrecPacket).messageId, 7);
        raw.send({ cmd: 'pubrel', messageId: 7 });
        assert.equal(((await raw.next('pubcomp')) as mqttPacket.IPubcompPacket).messageId, 7);
        raw.send({
          cmd: 'publish',
          topic: 'once/end',
          payload: Buffer.from('marker'),
          qos: 1,
          messageId: 8,
          dup: false,
          retain: false,
        });
        await raw.next('puback');
        raw.end();

        const r = await resume(n.url, { clientId: 'once-sub', clean: false });
        await checkFor(() => r.got.length >= 2, 5000);
        // A QoS 2 marker after them: a second copy of once/x would come before it.
        const p = await mqttConnect(n.url);
        await p.publishAsync('once/last', 'marker2', { qos: 2 });
        await end(p);
        await checkFor(() => r.got.some((m) => m.topic === 'once/last'), 5000);
        await end(r.c);
        assert.deepEqual(
          seen(r.got).sort(),
          ['once/end=marker', 'once/last=marker2', 'once/x=exactly'],
          'once each',
        );
      } finally {
        await stopWeftProcess(n, 'end').catch(() => n.child.kill('SIGKILL'));
      }
    });

    test('QoS 2 sent and PUBREC’d by the client before the restart: resumed with PUBREL', async () => {
      let n = await startMqttProcess(tempDir('weft-mqtt-restart-'));
      try {
        let raw = await RawMqtt.open(n.mqttPort);
        await raw.connect({ clientId: 'out-sub', clean: false });
        raw.send({
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: [{ topic: 'out/#', qos: 2 }],
        } as mqttPacket.ISubscribePacket);
        await raw.next('suback');
        const p = await mqttConnect(n.url);
        await p.publishAsync('out/1', 'first', { qos: 2 });
        await end(p);
        const pub = (await raw.next('publish')) as mqttPacket.IPublishPacket;
        assert.equal(pub.qos, 2);
        raw.send({ cmd: 'pubrec', messageId: pub.messageId! });
        assert.equal(
          ((await raw.next('pubrel')) as mqttPacket.IPubrelPacket).messageId,
          pub.messageId,
        );
        // No PUBCOMP: the node dies with the message released and not completed.
        await streamHolds(n, '$MQTT_msgs', 2);
        raw.end();

        n = await restart(n, signal);

        raw = await RawMqtt.open(n.mqttPort);
        const ack = await raw.connect({ clientId: 'out-sub', clean: false });
        assert.equal(ack.sessionPresent, true);
        const rel = (await raw.next()) as mqttPacket.IPubrelPacket;
        assert.equal(rel.cmd, 'pubrel', 'PUBREL again, not the PUBLISH [MQTT-4.4.0-1]');
        assert.equal(rel.messageId, pub.messageId);
        raw.send({ cmd: 'pubcomp', messageId: pub.messageId! });
        const p2 = await mqttConnect(n.url);
        await p2.publishAsync('out/2', 'second', { qos: 1 });
        await end(p2);
        const next = (await raw.next('publish')) as mqttPacket.IPublishPacket;
        assert.equal(next.topic, 'out/2', 'out/1 is not sent again');
        raw.end();
      } finally {
        await stopWeftProcess(n, 'end').catch(() => n.child.kill('SIGKILL'));
      }
    });
  });
}

test('a PUBACK means the copies for offline persistent sessions are durable (SIGKILL right after the last PUBACK)', async () => {
  let n = await startMqttProcess(tempDir('weft-mqtt-puback-'));
  try {
    const sub = await mqttConnect(n.url, { clientId: 'durable-sub', clean: false });
    await sub.subscribeAsync('acked/#', { qos: 1 });
    await end(sub);
    const p = await mqttConnect(n.url);
    const count = 200;
    // All in flight at once, so the last PUBACKs come while earlier writes are being synced.
    await Promise.all(
      Array.from({ length: count }, (_, i) => p.publishAsync(`acked/${i}`, `m${i}`, { qos: 1 })),
    );
    // No wait for the store: killed the moment the publisher holds every PUBACK.
    await killWeftProcess(n, 'after the last PUBACK');
    p.end(true);
    n = await startMqttProcess(n.dataDir);
    const r = await resume(n.url, { clientId: 'durable-sub', clean: false });
    assert.equal(r.present, true);
    await checkFor(() => r.got.length >= count, 10_000);
    const topics = new Set(r.got.map((m) => m.topic));
    assert.equal(topics.size, count, 'every acknowledged message was delivered after the crash');
    await end(r.c);
  } finally {
    await stopWeftProcess(n, 'end').catch(() => n.child.kill('SIGKILL'));
  }
});

test('a session restored after a restart gets what its permissions allow now: deny rules added meanwhile withhold queued messages', async () => {
  const dataDir = tempDir('weft-mqtt-restored-perms-');
  const file = path.join(dataDir, '..', `${path.basename(dataDir)}.yaml`);
  const users = (deny: string) => `authorization:
  users:
    - { user: alice, password: a, permissions: { subscribe: { allow: [">"]${deny} } } }
    - { user: bob, password: b }
`;
  writeFileSync(file, users(''));
  let n = await startMqttProcess(dataDir, ['--config', file]);
  try {
    const alice = { clientId: 'alice-1', clean: false, username: 'alice', password: 'a' };
    const s = await mqttConnect(n.url, alice);
    await s.subscribeAsync('data/#', { qos: 1 });
    await end(s);
    await stopWeftProcess(n, 'restart');
    // Restarted with a deny rule inside alice's wildcard.
    writeFileSync(file, users(', deny: ["data.secret"]'));
    n = await startMqttProcess(dataDir, ['--config', file]);
    // Queued while the restored session waits for alice (no permissions known yet).
    const p = await mqttConnect(n.url, { username: 'bob', password: 'b' });
    await p.publishAsync('data/secret', 'no', { qos: 1 });
    await p.publishAsync('data/open', 'yes', { qos: 1 });
    await end(p);
    const r = await resume(n.url, alice);
    assert.equal(r.present, true);
    await checkFor(() => r.got.length >= 1, 5000);
    // A live publish after the resume: the deny rule holds for it too.
    const p2 = await mqttConnect(n.url, { username: 'bob', password: 'b' });
    await p2.publishAsync('data/secret', 'no2', { qos: 1 });
    await p2.publishAsync('data/open', 'yes2', { qos: 1 });
    await end(p2);
    await checkFor(() => r.got.length >= 2, 5000);
    assert.deepEqual(seen(r.got), ['data/open=yes', 'data/open=yes2']);
    await end(r.c);
  } finally {
    await stopWeftProcess(n, 'end').catch(() => n.child.kill('SIGKILL'));
  }
});
