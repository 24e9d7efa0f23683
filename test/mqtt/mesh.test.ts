/**
 * MQTT across faces and across the mesh: a chain a - b - c of named nodes,
 * each with the MQTT face and JetStream. MQTT ⇄ MQTT and NATS ⇄ MQTT from
 * one end of the chain to the other; a retained message set through a is
 * sent by c's face to a new subscriber; shared subscriptions `$share/g/…`
 * give each message to one member, the publisher's node's members first; a
 * stream on c captures what MQTT clients publish on a; and a client id
 * connecting on c takes its session over from a [MQTT-3.1.4-3]: the
 * connection on a is closed (5.0: DISCONNECT 0x8E), and what was queued for
 * it on a is delivered on c.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { headers, type NatsConnection, StringCodec } from 'nats';
import type { JetStream } from '../../src/jetstream/service.js';
import type { Face } from '../../src/protocols/face.js';
import type { MqttFace } from '../../src/protocols/mqtt/face.js';
import { RawClient } from '../helpers/raw.js';
import { chain, checkFor, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';
import { collect, end, mqttConnect } from './helpers.js';
import { RawMqtt } from './raw.js';

const sc = StringCodec();
/** Retained copies travel by stream sources (peer poll 1 s, then the feed). */
const SPREAD_MS = 15_000;

interface Inner {
  node: { faces: Face[]; jetstream: JetStream | null } | null;
}

function faceOf(n: MeshNode): MqttFace {
  const f = (n as MeshNode & Inner).node?.faces.find((x) => x.name === 'mqtt');
  assert.ok(f, `node ${n.name} has no MQTT face`);
  return f as MqttFace;
}

function url(n: MeshNode): string {
  return `mqtt://127.0.0.1:${faceOf(n).listeners[0]!.port}`;
}

async function subscribe(c: MqttClient, filter: string, qos: 0 | 1 | 2 = 1): Promise<void> {
  const granted = await c.subscribeAsync(filter, { qos });
  assert.ok(granted[0]!.qos < 0x80, `SUBACK for ${filter}: ${granted[0]!.qos}`);
}

describe('MQTT across the mesh (chain a - b - c)', () => {
  let mesh: Mesh;
  const clients: MqttClient[] = [];
  const nats: NatsConnection[] = [];

  async function client(n: string, opts: Parameters<typeof mqttConnect>[1] = {}) {
    const c = await mqttConnect(url(mesh.node(n)), opts);
    clients.push(c);
    return c;
  }

  /** A client whose messages are collected from its CONNACK on (a resumed session's queue comes at once). */
  async function collecting(n: string, opts: Parameters<typeof mqttConnect>[1] = {}) {
    const c = mqtt.connect(url(mesh.node(n)), { reconnectPeriod: 0, ...opts });
    clients.push(c);
    const got = collect(c);
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    return { c, got };
  }

  before(async () => {
    mesh = await startMesh(chain(3), { extra: { jetstream: true, mqttPort: 0 } });
  });
  after(async () => {
    await end(...clients);
    for (const nc of nats) await nc.close().catch(() => {});
    await mesh?.stopAll();
  });

  test('an MQTT subscriber on c gets what MQTT and NATS publishers on a send', async () => {
    const sub = await client('c', { clientId: 'far-sub' });
    const got = collect(sub);
    await subscribe(sub, 'plant/+/temp');
    await mesh.synced();
    const pub = await client('a', { clientId: 'near-pub' });
    await pub.publishAsync('plant/p1/temp', '21', { qos: 1 });
    const nc = await mesh.node('a').connect();
    nats.push(nc);
    nc.publish('plant.p2.temp', sc.encode('22'));
    await nc.flush();
    await checkFor(() => got.length === 2, 3000);
    const seen = got.map((m) => `${m.topic}=${m.payload}`).sort();
    assert.deepEqual(seen, ['plant/p1/temp=21', 'plant/p2/temp=22']);
  });

  test('an MQTT 5.0 subscriber on a gets what a NATS publisher on c sends', async () => {
    const sub = await client('a', { protocolVersion: 5 });
    const got = collect(sub);
    await subscribe(sub, 'back/+');
    await mesh.synced();
    const nc = await mesh.node('c').connect();
    nats.push(nc);
    nc.publish('back.home', sc.encode('from nats on c'));
    await checkFor(() => got.length === 1, 3000);
    assert.deepEqual([got[0]!.topic, got[0]!.payload], ['back/home', 'from nats on c']);
  });

  test('a NATS subscriber on c gets an MQTT publish from a', async () => {
    const nc = await mesh.node('c').connect();
    nats.push(nc);
    const got: string[] = [];
    const s = nc.subscribe('meter.>', {
      callback: (_e, m) => got.push(`${m.subject}=${sc.decode(m.data)}`),
    });
    await nc.flush();
    await mesh.synced();
    const pub = await client('a');
    await pub.publishAsync('meter/m7/kwh', '3.5', { qos: 1 });
    await checkFor(() => got.length === 1, 3000);
    assert.deepEqual(got, ['meter.m7.kwh=3.5']);
    s.unsubscribe();
  });

  test('a retained message published on a is sent to a new subscriber on c', async () => {
    const pub = await client('a');
    await pub.publishAsync('status/door', 'open', { qos: 1, retain: true });
    // c holds a copy once its source of a's retained stream has pulled it.
    const js = (mesh.node('c') as MeshNode & Inner).node!.jetstream!;
    await checkFor(() => {
      const cs = js.account('$G')?.streams.get('$MQTT_rmsgs_c');
      assert.ok(cs, 'c has its retained stream');
      assert.ok(cs.stream.state().messages >= 1, 'the copy from a is there');
    }, SPREAD_MS);
    const sub = await client('c');
    const got = collect(sub);
    await subscribe(sub, 'status/#');
    await checkFor(() => got.length === 1, 3000);
    assert.equal(got[0]!.topic, 'status/door');
    assert.equal(got[0]!.payload, 'open');
    assert.equal(got[0]!.retain, true, 'sent with RETAIN set [MQTT-3.3.1-8]');
  });

  test('$share/g/…: each message to one member, the local ones first, mesh-wide', async () => {
    const onA = await client('a', { clientId: 'share-a' });
    const onC = await client('c', { clientId: 'share-c' });
    const gotA = collect(onA);
    const gotC = collect(onC);
    await subscribe(onA, '$share/g/work/+');
    await subscribe(onC, '$share/g/work/+');
    await mesh.synced();
    const N = 20;
    const pubA = await client('a');
    const pubC = await client('c');
    for (let i = 0; i < N; i++) await pubA.publishAsync('work/a', `a${i}`, { qos: 1 });
    for (let i = 0; i < N; i++) await pubC.publishAsync('work/c', `c${i}`, { qos: 1 });
    await checkFor(() => gotA.length + gotC.length === 2 * N, 3000);
    // Local members first: a's publishes to a's member, c's to c's.
    assert.deepEqual(
      gotA.map((m) => m.payload),
      Array.from({ length: N }, (_, i) => `a${i}`),
    );
    assert.deepEqual(
      gotC.map((m) => m.payload),
      Array.from({ length: N }, (_, i) => `c${i}`),
    );
    // With no member left on a, a's publishes cross to c's member, once each.
    await end(onA);
    await mesh.synced();
    for (let i = 0; i < N; i++) await pubA.publishAsync('work/a', `x${i}`, { qos: 1 });
    await checkFor(() => gotC.length === 2 * N, 3000);
    assert.deepEqual(
      gotC.slice(N).map((m) => m.payload),
      Array.from({ length: N }, (_, i) => `x${i}`),
    );
    assert.equal(gotA.length, N, 'the member gone from a got nothing more');
  });

  test('a stream on c captures what MQTT clients publish on a', async () => {
    const nc = await mesh.node('c').connect();
    nats.push(nc);
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'TELEMETRY', subjects: ['tele.>'] });
    await mesh.synced();
    const pub = await client('a');
    for (let i = 0; i < 5; i++) await pubA(pub, i);
    await checkFor(async () => {
      const info = await jsm.streams.info('TELEMETRY');
      assert.equal(info.state.messages, 5);
    }, 3000);
    const m = await jsm.streams.getMessage('TELEMETRY', { seq: 1 });
    assert.equal(m.subject, 'tele.dev1.v');
    assert.equal(sc.decode(m.data), 'v0');
  });

  async function pubA(pub: MqttClient, i: number): Promise<void> {
    await pub.publishAsync('tele/dev1/v', `v${i}`, { qos: 1 });
  }

  test('takeover across nodes (3.1.1): the queue and subscriptions move; the old connection closes', async () => {
    const held = (n: string) => faceOf(mesh.node(n)).heldSession('$G', 'walker');
    const x1 = await client('a', { clientId: 'walker', clean: false });
    await subscribe(x1, 'walk/#');
    await mesh.synced();
    // Offline on a: a QoS 1 message is queued there for the session.
    await end(x1);
    const pub = await client('b');
    await pub.publishAsync('walk/1', 'queued-on-a', { qos: 1 });
    await checkFor(() => assert.equal(held('a')?.queuedCount, 1, 'queued on a'), 3000);

    // The same client id on c: the session, with its queue, comes to c.
    const { c: x2, got } = await collecting('c', { clientId: 'walker', clean: false });
    await checkFor(() => got.length === 1, 3000);
    assert.equal(got[0]!.payload, 'queued-on-a');
    assert.equal(held('a'), undefined, 'gone from a');
    assert.equal(faceOf(mesh.node('c')).mesh!.counters.sessionsMovedIn, 1);
    await checkFor(() => faceOf(mesh.node('a')).mesh!.counters.sessionsMovedOut === 1);
    // Its subscription came too: a new publish reaches c.
    await mesh.synced();
    await pub.publishAsync('walk/2', 'to-c', { qos: 1 });
    await checkFor(() => got.length === 2, 3000);
    assert.equal(got[1]!.payload, 'to-c');

    // While connected on c, the same id on a closes the one on c [MQTT-3.1.4-3].
    const closedOnC = new Promise<void>((r) => x2.once('close', () => r()));
    const { got: back } = await collecting('a', { clientId: 'walker', clean: false });
    await closedOnC;
    await mesh.synced();
    await pub.publishAsync('walk/3', 'to-a', { qos: 1 });
    await checkFor(() => back.length === 1, 3000);
    assert.equal(back[0]!.payload, 'to-a');
    assert.equal(got.length, 2, 'nothing more on the closed connection');
    assert.equal(held('c'), undefined, 'gone from c');
  });

  test('takeover across nodes carries in-flight QoS 1 (resent with DUP) and unreleased QoS 2 ids', async () => {
    const watch = await mesh.node('c').connect();
    nats.push(watch);
    const inbound: string[] = [];
    watch.subscribe('carry-in.>', { callback: (_e, m) => inbound.push(sc.decode(m.data)) });
    await watch.flush();
    const a = await RawMqtt.open(faceOf(mesh.node('a')).listeners[0]!.port);
    await a.connect({ clientId: 'carrier', clean: false });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'carry/#', qos: 1 }] });
    await a.next('suback');
    await mesh.synced();
    const pub = await client('b');
    await pub.publishAsync('carry/1', 'inflight', { qos: 1 });
    const sent = (await a.next('publish')) as { messageId: number; payload: Buffer };
    // Not acknowledged: in flight on a. And a QoS 2 message received, not released.
    a.send({
      cmd: 'publish',
      topic: 'carry-in/x',
      payload: Buffer.from('q2'),
      qos: 2,
      messageId: 21,
      dup: false,
      retain: false,
    });
    await a.next('pubrec');
    await checkFor(() => inbound.length === 1, 3000);

    const c = await RawMqtt.open(faceOf(mesh.node('c')).listeners[0]!.port);
    const ack = await c.connect({ clientId: 'carrier', clean: false });
    assert.equal(ack.sessionPresent, true, 'the session came from a');
    await a.closedWithin(3000);
    const again = (await c.next('publish')) as { messageId: number; payload: Buffer; dup: boolean };
    assert.equal(again.messageId, sent.messageId, 'the same packet id [MQTT-4.4.0-1]');
    assert.equal(again.dup, true, 'DUP set');
    assert.equal(again.payload.toString(), 'inflight');
    c.send({ cmd: 'puback', messageId: again.messageId });
    // The QoS 2 PUBLISH again (its PUBREC lost, say): acknowledged, not delivered again.
    c.send({
      cmd: 'publish',
      topic: 'carry-in/x',
      payload: Buffer.from('q2'),
      qos: 2,
      messageId: 21,
      dup: true,
      retain: false,
    });
    await c.next('pubrec');
    c.send({ cmd: 'pubrel', messageId: 21 });
    assert.equal(((await c.next('pubcomp')) as { messageId: number }).messageId, 21);
    c.send({
      cmd: 'publish',
      topic: 'carry-in/end',
      payload: Buffer.from('end'),
      qos: 1,
      messageId: 22,
      dup: false,
      retain: false,
    });
    await c.next('puback');
    await checkFor(() => inbound.includes('end'), 3000);
    assert.deepEqual(inbound, ['q2', 'end'], 'the QoS 2 message once');
    c.end();
  });

  test('takeover across nodes (5.0): the connection on a gets DISCONNECT 0x8E', async () => {
    const x1 = await client('a', {
      clientId: 'walker5',
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 300 },
    });
    await subscribe(x1, 'walk5/#');
    const reason = new Promise<number | undefined>((r) =>
      x1.once('disconnect', (p) => r(p.reasonCode)),
    );
    await mesh.synced();
    const x2 = await client('c', {
      clientId: 'walker5',
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 300 },
    });
    assert.equal(await reason, 0x8e, 'Session taken over');
    const got = collect(x2);
    await mesh.synced();
    const pub = await client('b');
    await pub.publishAsync('walk5/x', 'to-c', { qos: 1 });
    await checkFor(() => got.length === 1, 3000);
    assert.equal(got[0]!.payload, 'to-c');
  });

  test('no client may publish or subscribe on $MQTT. subjects', async () => {
    const raw = await RawClient.handshake(mesh.node('b').port);
    try {
      raw.send('PUB $MQTT.takeover.x 2\r\n{}\r\n');
      await raw.expectLine(`-ERR 'Permissions Violation for Publish to "$MQTT.takeover.x"'`);
      raw.send('SUB $MQTT.> 1\r\n');
      await raw.expectLine(`-ERR 'Permissions Violation for Subscription to "$MQTT.>"'`);
    } finally {
      raw.destroy();
    }
    const m = await client('b');
    // MQTT.js rejects a SUBACK with the failure code 0x80.
    await assert.rejects(m.subscribeAsync('$MQTT/#', { qos: 1 }), /Subscribe error/);
    const pub = await client('b');
    const mine = await client('b');
    const got = collect(mine);
    await subscribe(mine, 'check/#');
    // A publish to a $MQTT/ topic is acknowledged and dropped (3.1.1 has no refusal), and counted.
    const denied = faceOf(mesh.node('b')).counters.publishDenied;
    await pub.publishAsync('$MQTT/takeover/x', '{}', { qos: 1 });
    await pub.publishAsync('check/after', 'x', { qos: 1 });
    await checkFor(() => got.length === 1);
    assert.equal(faceOf(mesh.node('b')).counters.publishDenied, denied + 1);
  });
});

describe('MQTT takeover across nodes with memory stores (JetStream off, chain a - b)', () => {
  let mesh: Mesh;
  const clients: MqttClient[] = [];
  let watch: NatsConnection;

  before(async () => {
    mesh = await startMesh(chain(2), { extra: { jetstream: false, mqttPort: 0 } });
    watch = await mesh.node('b').connect();
  });
  after(async () => {
    await end(...clients);
    await mesh?.stopAll();
  });

  async function client(n: string, opts: Parameters<typeof mqttConnect>[1] = {}) {
    const c = await mqttConnect(url(mesh.node(n)), { reconnectPeriod: 0, ...opts });
    clients.push(c);
    return c;
  }

  test('the queue moves from a to b', async () => {
    const x = await client('a', { clientId: 'mem-walker', clean: false });
    await subscribe(x, 'mem/#');
    await mesh.synced();
    await end(x);
    // From NATS on b (as QoS 1): the takeover below is b's first MQTT CONNECT,
    // so its reply subject is brand new when a answers.
    const h = headers();
    h.set('Mqtt-Qos', '1');
    watch.publish('mem.1', sc.encode('held-in-memory'), { headers: h });
    await watch.flush();
    await checkFor(
      () => faceOf(mesh.node('a')).heldSession('$G', 'mem-walker')?.queuedCount === 1,
      3000,
    );
    const c = mqtt.connect(url(mesh.node('b')), {
      clientId: 'mem-walker',
      clean: false,
      reconnectPeriod: 0,
    });
    clients.push(c);
    const got = collect(c);
    await checkFor(() => got.length === 1, 3000);
    assert.equal(got[0]!.payload, 'held-in-memory');
  });

  test('5.0 will with a delay: cancelled when the session resumes on b, sent when b starts clean', async () => {
    const wills: string[] = [];
    watch.subscribe('last.>', {
      callback: (_e, m) => wills.push(`${m.subject}=${sc.decode(m.data)}`),
    });
    await watch.flush();
    const will = (topic: string) => ({
      topic,
      payload: Buffer.from('gone'),
      qos: 1 as const,
      retain: false,
      properties: { willDelayInterval: 60 },
    });
    const v5 = { protocolVersion: 5 as const, properties: { sessionExpiryInterval: 300 } };
    await client('a', { clientId: 'w-resume', clean: false, will: will('last/resume'), ...v5 });
    await client('a', { clientId: 'w-clean', clean: false, will: will('last/clean'), ...v5 });
    await mesh.synced();
    await client('b', { clientId: 'w-resume', clean: false, ...v5 });
    await client('b', { clientId: 'w-clean', clean: true, ...v5 });
    // The clean start ended the session on a: its will goes at once [MQTT-3.1.3-9].
    await checkFor(() => wills.length === 1, 3000);
    assert.deepEqual(wills, ['last.clean=gone']);
    assert.equal(faceOf(mesh.node('a')).counters.willsPublished, 1, 'the resumed one is not sent');
  });
});

describe('MQTT takeover from a node that restarted (chain a - b, JetStream)', () => {
  let mesh: Mesh;
  const clients: MqttClient[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'weft-mqtt-mesh-restart-'));

  before(async () => {
    mesh = await startMesh(chain(2), { extra: { jetstream: true, mqttPort: 0 } });
  });
  after(async () => {
    await end(...clients);
    await mesh?.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a session restored from b’s store at its start is taken over on a, with its queue', async () => {
    // b again, on a data directory of the test's (the helper's own is removed with the node).
    await mesh.node('b').close();
    await mesh.add(chain(2)[1]!, { extra: { dataDir } });
    await mesh.converged();
    const x = await mqttConnect(url(mesh.node('b')), { clientId: 'phoenix', clean: false });
    clients.push(x);
    await subscribe(x, 'rise/#');
    await end(x);
    const pub = await mqttConnect(url(mesh.node('b')));
    clients.push(pub);
    await pub.publishAsync('rise/1', 'kept-through-restart', { qos: 1 });
    await checkFor(
      () => faceOf(mesh.node('b')).heldSession('$G', 'phoenix')?.queuedCount === 1,
      3000,
    );
    await end(pub);
    await mesh.node('b').close();
    await mesh.add(chain(2)[1]!, { extra: { dataDir } });
    await mesh.synced();
    assert.equal(faceOf(mesh.node('b')).heldSession('$G', 'phoenix')?.queuedCount, 1, 'restored');

    const c = mqtt.connect(url(mesh.node('a')), {
      clientId: 'phoenix',
      clean: false,
      reconnectPeriod: 0,
    });
    clients.push(c);
    const got = collect(c);
    await checkFor(() => got.length === 1, 3000);
    assert.equal(got[0]!.payload, 'kept-through-restart');
    assert.equal(faceOf(mesh.node('b')).heldSession('$G', 'phoenix'), undefined, 'gone from b');
  });
});
