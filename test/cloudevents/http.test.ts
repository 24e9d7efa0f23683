/**
 * CloudEvents through the HTTP API (docs/cloudevents.md): events sent with
 * the SDK's HTTP emitters — binary mode (`ce-*` headers), structured mode,
 * batch mode — to `POST /v1/publish/{subject}` arrive as valid events on
 * NATS (binary mode, `ce-*` headers), MQTT 5 (user properties) and MQTT
 * 3.1.1 (structured); a batch is published event by event with a result
 * for each (a stream's ack when one captures the subject); invalid events
 * are answered 400 naming what is wrong, with nothing published; a NATS
 * reply that is an event comes back from `/v1/request` in HTTP binary mode
 * (read with the SDK's `HTTP.toEvent`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { connect, type Msg, type NatsConnection } from 'nats';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';
import { end, mqttConnect } from '../mqtt/helpers.js';
import { assertSameEvent, fromMqtt, fromNats, natsBinary } from './sdk.js';

function packets(c: MqttClient): IPublishPacket[] {
  const out: IPublishPacket[] = [];
  c.on('message', (_t, _p, packet) => out.push(packet));
  return out;
}

function event(id: string, extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    id,
    type: 'com.example.order',
    source: '/shop/eu',
    subject: 'order 7',
    time: '2026-12-06T07:00:00.000Z',
    datacontenttype: 'application/json',
    comexampleext: 'x',
    data: { order: 7, items: ['a', 'b'] },
    ...extra,
  });
}

interface ErrorBody {
  error: { code: number; description: string };
}

describe('CloudEvents through the HTTP API', () => {
  let srv: WeftServer;
  let dir = '';
  let api = '';
  let mqttUrl = '';
  let nc: NatsConnection;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-ce-http-'));
    srv = await startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'error',
      httpApiPort: 0,
      mqttPort: 0,
    });
    const http = srv.node.faces.find((f) => f.name === 'http')!;
    const mqtt = srv.node.faces.find((f) => f.name === 'mqtt')!;
    api = `http://127.0.0.1:${http.listeners[0]!.port}`;
    mqttUrl = `mqtt://127.0.0.1:${mqtt.listeners[0]!.port}`;
    nc = await connect({ port: srv.port });
  });
  after(async () => {
    await nc.close();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Subscribers on every face for `topic` (MQTT) / its subject (NATS). */
  async function receivers(topic: string) {
    const nats: Msg[] = [];
    nc.subscribe(topic.replaceAll('/', '.'), { callback: (_e, m) => nats.push(m) });
    await nc.flush();
    const v5 = await mqttConnect(mqttUrl, { protocolVersion: 5 });
    const v4 = await mqttConnect(mqttUrl, { protocolVersion: 4 });
    const got5 = packets(v5);
    const got4 = packets(v4);
    await v5.subscribeAsync(topic, { qos: 1 });
    await v4.subscribeAsync(topic, { qos: 1 });
    return { nats, got5, got4, close: () => end(v5, v4) };
  }

  test('binary mode → NATS, MQTT 5 and MQTT 3.1.1, each in its binding', async () => {
    const r = await receivers('ce/http/binary');
    const sent = event('h1');
    const m = HTTP.binary(sent);
    const res = await fetch(`${api}/v1/publish/ce.http.binary`, {
      method: 'POST',
      headers: m.headers as Record<string, string>,
      body: m.body as string,
    });
    assert.equal(res.status, 202);
    await checkFor(() => r.nats.length === 1 && r.got5.length === 1 && r.got4.length === 1);
    const h = r.nats[0]!.headers!;
    assert.equal(h.get('ce-datacontenttype'), 'application/json');
    assert.equal(h.get('ce-id'), 'h1');
    assertSameEvent(fromNats(r.nats[0]!), sent);
    assertSameEvent(fromMqtt(r.got5[0]!), sent);
    assertSameEvent(fromMqtt(r.got4[0]!, true), sent);
    await r.close();
  });

  test('binary mode: percent-encoded values and binary data (data_base64 on 3.1.1)', async () => {
    const r = await receivers('ce/http/bytes');
    const bytes = Buffer.from([0, 0xff, 0x10, 0x80, 0x7f]);
    const sent = new CloudEvent<unknown>({
      id: 'h2',
      type: 't',
      source: 'urn:x',
      datacontenttype: 'application/octet-stream',
      comexampleext: 'Euro € 😀',
      data: bytes,
    });
    const res = await fetch(`${api}/v1/publish/ce.http.bytes`, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'h2',
        'ce-type': 't',
        'ce-source': 'urn:x',
        'ce-comexampleext': 'Euro%20%E2%82%AC%20%F0%9F%98%80',
        'content-type': 'application/octet-stream',
      },
      body: bytes,
    });
    assert.equal(res.status, 202);
    await checkFor(() => r.nats.length === 1 && r.got5.length === 1 && r.got4.length === 1);
    assert.equal(r.got5[0]!.properties?.userProperties?.comexampleext, 'Euro € 😀');
    const json = JSON.parse(r.got4[0]!.payload.toString());
    assert.equal(json.data_base64, bytes.toString('base64'));
    for (const got of [fromNats(r.nats[0]!), fromMqtt(r.got5[0]!), fromMqtt(r.got4[0]!, true)]) {
      // The SDK gives each CloudEvent a time; only the sender's attributes are compared.
      assert.equal(got.comexampleext, 'Euro € 😀');
      assert.deepEqual(Buffer.from(got.data as Uint8Array), bytes);
      assert.equal(got.id, sent.id);
    }
    await r.close();
  });

  test('structured mode passes as it is, to every face', async () => {
    const r = await receivers('ce/http/structured');
    const sent = event('h3');
    const m = HTTP.structured(sent);
    const res = await fetch(`${api}/v1/publish/ce.http.structured`, {
      method: 'POST',
      headers: m.headers as Record<string, string>,
      body: m.body as string,
    });
    assert.equal(res.status, 202);
    await checkFor(() => r.nats.length === 1 && r.got5.length === 1 && r.got4.length === 1);
    assert.equal(Buffer.from(r.nats[0]!.data).toString(), m.body);
    assert.match(r.nats[0]!.headers!.get('Content-Type'), /^application\/cloudevents\+json/);
    assertSameEvent(new CloudEvent(JSON.parse(m.body as string)), sent);
    assertSameEvent(fromMqtt(r.got5[0]!), sent);
    assertSameEvent(fromMqtt(r.got4[0]!, true), sent);
    await r.close();
  });

  test('batch mode: each event its own structured message, a result for each', async () => {
    const r = await receivers('ce/http/batch');
    const sent = [event('b1'), event('b2', { data: { order: 8 } }), event('b3')];
    const res = await fetch(`${api}/v1/publish/ce.http.batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(sent.map((e) => e.toJSON())),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      results: sent.map((e) => ({ id: e.id, source: e.source, status: 202 })),
    });
    await checkFor(() => r.nats.length === 3 && r.got5.length === 3 && r.got4.length === 3);
    for (let i = 0; i < 3; i++) {
      assert.match(r.nats[i]!.headers!.get('Content-Type'), /^application\/cloudevents\+json/);
      assertSameEvent(
        new CloudEvent(JSON.parse(Buffer.from(r.nats[i]!.data).toString())),
        sent[i]!,
      );
      assertSameEvent(fromMqtt(r.got5[i]!), sent[i]!);
      assertSameEvent(fromMqtt(r.got4[i]!, true), sent[i]!);
    }
    await r.close();
  });

  test("batch mode into a stream: each event's stream ack", async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'CE', subjects: ['ce.stored.>'] });
    const sent = [event('s1'), event('s2')];
    const res = await fetch(`${api}/v1/publish/ce.stored.x`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(sent.map((e) => e.toJSON())),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { results: Record<string, unknown>[] };
    assert.deepEqual(body.results, [
      { id: 's1', source: '/shop/eu', status: 200, stream: 'CE', seq: 1, duplicate: false },
      { id: 's2', source: '/shop/eu', status: 200, stream: 'CE', seq: 2, duplicate: false },
    ]);
  });

  test('invalid events are answered 400 with what is wrong, and nothing is published', async () => {
    const got: Msg[] = [];
    nc.subscribe('ce.http.bad', { callback: (_e, m) => got.push(m) });
    await nc.flush();
    const cases: [Record<string, string>, string, string][] = [
      [
        { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 't', 'content-type': 'text/plain' },
        'x',
        'invalid CloudEvent (binary mode): required attribute "source" is missing',
      ],
      [
        { 'ce-specversion': '0.3', 'ce-id': '1', 'ce-type': 't', 'ce-source': '/s' },
        'x',
        'invalid CloudEvent (binary mode): specversion "0.3" is not supported: only "1.0"',
      ],
      [
        {
          'ce-specversion': '1.0',
          'ce-id': '1',
          'ce-type': 't',
          'ce-source': '/s',
          'ce-Bad_Name': 'v',
        },
        'x',
        'invalid CloudEvent (binary mode): attribute name "bad_name" must be lower-case letters a-z and digits 0-9 only',
      ],
      [
        { 'content-type': 'application/cloudevents+json' },
        JSON.stringify({ specversion: '1.0', id: '1', source: '/s' }),
        'invalid CloudEvent (structured mode): required attribute "type" is missing',
      ],
      [
        { 'content-type': 'application/cloudevents+json' },
        '{"specversion":',
        'invalid CloudEvent (structured mode): a structured event is not JSON: ',
      ],
      [
        { 'content-type': 'application/cloudevents-batch+json' },
        JSON.stringify([event('ok').toJSON(), { ...event('x').toJSON(), id: '' }]),
        'invalid CloudEvents batch: event 1: attribute "id" must not be empty; nothing was published',
      ],
      [
        { 'content-type': 'application/cloudevents-batch+json' },
        JSON.stringify(event('ok').toJSON()),
        'invalid CloudEvents batch: a batch must be a JSON array of events',
      ],
      [
        { 'content-type': 'application/cloudevents-batch+json', 'nats-msg-id': 'm1' },
        '[]',
        'Nats-Msg-Id names one message; a CloudEvents batch publishes several',
      ],
    ];
    for (const [headers, body, want] of cases) {
      const res = await fetch(`${api}/v1/publish/ce.http.bad`, { method: 'POST', headers, body });
      assert.equal(res.status, 400, want);
      const e = (await res.json()) as ErrorBody;
      assert.ok(e.error.description.startsWith(want), `${e.error.description} ≠ ${want}`);
    }
    // A batch to /v1/request is refused too.
    const res = await fetch(`${api}/v1/request/ce.http.bad`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: '[]',
    });
    assert.equal(res.status, 400);
    await res.body?.cancel();
    // Nothing got through: the next valid publish is the first message.
    const m = HTTP.binary(event('after'));
    await fetch(`${api}/v1/publish/ce.http.bad`, {
      method: 'POST',
      headers: m.headers as Record<string, string>,
      body: m.body as string,
    });
    await checkFor(() => got.length === 1);
    assert.equal(got[0]!.headers?.get('ce-id'), 'after');
  });

  test('a reply that is an event comes back from /v1/request in HTTP binary mode', async () => {
    const reply = event('r1', { datacontenttype: 'text/plain', data: 'pong' });
    const sub = nc.subscribe('ce.http.svc', {
      callback: (_e, m) => {
        const b = natsBinary(reply);
        m.respond(b.payload, { headers: b.headers });
      },
    });
    await nc.flush();
    const q = HTTP.binary(event('q1'));
    const res = await fetch(`${api}/v1/request/ce.http.svc`, {
      method: 'POST',
      headers: q.headers as Record<string, string>,
      body: q.body as string,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(res.headers.get('ce-id'), 'r1');
    const got = HTTP.toEvent({
      headers: Object.fromEntries(res.headers),
      body: await res.text(),
    }) as CloudEvent<unknown>;
    got.validate();
    // encodeURIComponent encoded the subject's space; the SDK does not percent-decode (it should,
    // HTTP binding 3.1.3.2): compare decoded.
    assert.equal(decodeURIComponent(String(got.subject)), reply.subject);
    assert.equal(got.data, 'pong');
    assert.equal(got.comexampleext, 'x');
    sub.unsubscribe();
  });

  test('non-events are not touched: a ce-id header without ce-specversion stays on HTTP', async () => {
    const got: Msg[] = [];
    nc.subscribe('ce.http.plain', { callback: (_e, m) => got.push(m) });
    await nc.flush();
    const res = await fetch(`${api}/v1/publish/ce.http.plain`, {
      method: 'POST',
      headers: { 'ce-id': '1', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 202);
    await checkFor(() => got.length === 1);
    assert.equal(got[0]!.headers, undefined);
  });
});
