/**
 * CloudEvents across the mesh (a chain a - b - c): the canonical form is the
 * message's NATS headers, so the mesh carries events as any message. An
 * event published on a — over HTTP in binary mode, and by MQTT 5 — reaches
 * NATS, MQTT 5 and MQTT 3.1.1 subscribers on c, each in its binding,
 * validated with the `cloudevents` SDK.
 */
import { after, before, describe, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Msg } from 'nats';
import type { Face } from '../../src/protocols/face.js';
import { chain, checkFor, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';
import { end, mqttConnect } from '../mqtt/helpers.js';
import { assertSameEvent, fromMqtt, fromNats, mqttPublish } from './sdk.js';

interface Inner {
  node: { faces: Face[] } | null;
}

function port(n: MeshNode, face: string): number {
  const f = (n as MeshNode & Inner).node?.faces.find((x) => x.name === face);
  return f?.listeners[0]?.port ?? -1;
}

function packets(c: MqttClient): IPublishPacket[] {
  const out: IPublishPacket[] = [];
  c.on('message', (_t, _p, packet) => out.push(packet));
  return out;
}

function event(id: string, extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    id,
    type: 'com.example.meter',
    source: '/plant/a',
    time: '2026-12-06T07:00:00.000Z',
    datacontenttype: 'application/json',
    comexampleext: 'far',
    data: { kwh: 3.5 },
    ...extra,
  });
}

describe('CloudEvents across the mesh (chain a - b - c)', () => {
  let mesh: Mesh;
  const clients: MqttClient[] = [];
  before(async () => {
    mesh = await startMesh(chain(3), { extra: { mqttPort: 0, httpApiPort: 0 } });
  });
  after(async () => {
    await end(...clients);
    await mesh?.stopAll();
  });

  test('HTTP binary mode and MQTT 5 on a → NATS, MQTT 5 and MQTT 3.1.1 on c', async () => {
    const c = mesh.node('c');
    const a = mesh.node('a');
    const mqttC = `mqtt://127.0.0.1:${port(c, 'mqtt')}`;
    const v5 = await mqttConnect(mqttC, { protocolVersion: 5 });
    const v4 = await mqttConnect(mqttC, { protocolVersion: 4 });
    clients.push(v5, v4);
    const got5 = packets(v5);
    const got4 = packets(v4);
    await v5.subscribeAsync('meter/#', { qos: 1 });
    await v4.subscribeAsync('meter/#', { qos: 1 });
    const nc = await c.connect();
    const gotNats: Msg[] = [];
    nc.subscribe('meter.>', { callback: (_e, m) => gotNats.push(m) });
    await nc.flush();
    await mesh.synced();

    const sent = [event('m1'), event('m2', { data: { kwh: 4 } })];
    const h = HTTP.binary(sent[0]!);
    const res = await fetch(`http://127.0.0.1:${port(a, 'http')}/v1/publish/meter.a.http`, {
      method: 'POST',
      headers: h.headers as Record<string, string>,
      body: h.body as string,
    });
    await res.body?.cancel();
    const pub = await mqttConnect(`mqtt://127.0.0.1:${port(a, 'mqtt')}`, { protocolVersion: 5 });
    clients.push(pub);
    const m = mqttPublish(sent[1]!, 'binary');
    await pub.publishAsync('meter/a/mqtt', m.payload, { qos: 1, properties: m.properties });

    await checkFor(() => gotNats.length === 2 && got5.length === 2 && got4.length === 2, 5000);
    const byId = <T>(xs: T[], id: (x: T) => string) => new Map(xs.map((x) => [id(x), x] as const));
    const nats = byId(gotNats.map(fromNats), (e) => e.id);
    const v5e = byId(
      got5.map((p) => fromMqtt(p)),
      (e) => e.id,
    );
    const v4e = byId(
      got4.map((p) => fromMqtt(p, true)),
      (e) => e.id,
    );
    for (const e of sent) {
      assertSameEvent(nats.get(e.id)!, e);
      assertSameEvent(v5e.get(e.id)!, e);
      assertSameEvent(v4e.get(e.id)!, e);
    }
    await nc.close();
  });
});
