/**
 * MQTT across a chain of three nodes a - b - c: an MQTT publish on a reaches
 * an MQTT subscriber on c (and a NATS subscriber on c), a NATS publish on c
 * reaches an MQTT subscriber on a, and a shared subscription spreads over
 * members on different nodes, local ones first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StringCodec } from 'nats';
import { chain, checkFor, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';
import { collect, end, mqttConnect } from './helpers.js';

const sc = StringCodec();

function mqttUrl(n: MeshNode): string {
  const w = (
    n as MeshNode & { node: { faces: { name: string; listeners: { port: number }[] }[] } | null }
  ).node;
  const port = w?.faces.find((f) => f.name === 'mqtt')?.listeners[0]?.port;
  assert.ok(port !== undefined, `node ${n.name} has no MQTT port`);
  return `mqtt://127.0.0.1:${port}`;
}

describe('MQTT across the mesh', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh(chain(3), { extra: { mqttPort: 0 } });
  });
  after(() => mesh.stopAll());

  test('MQTT on a → MQTT and NATS subscribers on c; NATS on c → MQTT on a', async () => {
    const subC = await mqttConnect(mqttUrl(mesh.node('c')), { protocolVersion: 5 });
    const gotC = collect(subC);
    await subC.subscribeAsync('far/#', { qos: 1 });
    const ncC = await mesh.node('c').connect();
    const natsC: string[] = [];
    ncC.subscribe('far.>', {
      callback: (_e, m) => natsC.push(`${m.subject}=${sc.decode(m.data)}`),
    });
    await ncC.flush();
    const subA = await mqttConnect(mqttUrl(mesh.node('a')), { protocolVersion: 4 });
    const gotA = collect(subA);
    await subA.subscribeAsync('back/+', { qos: 1 });
    await mesh.synced();

    const pubA = await mqttConnect(mqttUrl(mesh.node('a')), { protocolVersion: 4 });
    await pubA.publishAsync('far/x/y', 'over two hops', { qos: 1 });
    await checkFor(() => gotC.length === 1 && natsC.length === 1, 5000);
    assert.equal(gotC[0]!.topic, 'far/x/y');
    assert.equal(gotC[0]!.qos, 1);
    assert.deepEqual(natsC, ['far.x.y=over two hops']);

    ncC.publish('back.home', sc.encode('from nats on c'));
    await checkFor(() => gotA.length === 1, 5000);
    assert.deepEqual([gotA[0]!.topic, gotA[0]!.payload], ['back/home', 'from nats on c']);
    await ncC.close();
    await end(subC, subA, pubA);
  });

  test('a shared subscription is a queue group across nodes: each message once, local members first', async () => {
    const onA = await mqttConnect(mqttUrl(mesh.node('a')), { protocolVersion: 5 });
    const onC = await mqttConnect(mqttUrl(mesh.node('c')), { protocolVersion: 5 });
    const gA = collect(onA);
    const gC = collect(onC);
    await onA.subscribeAsync('$share/g/work', { qos: 1 });
    await onC.subscribeAsync('$share/g/work', { qos: 1 });
    await mesh.synced();
    const pubC = await mqttConnect(mqttUrl(mesh.node('c')), { protocolVersion: 5 });
    for (let i = 0; i < 6; i++) await pubC.publishAsync('work', String(i), { qos: 1 });
    await checkFor(() => gA.length + gC.length === 6, 5000);
    // Published on c: c's member takes them all (local first).
    assert.equal(gC.length, 6);
    await end(onA, onC, pubC);
  });
});
