/**
 * CloudEvents to webhooks and Server-Sent Events (docs/cloudevents.md): a
 * binary-mode event published on NATS, MQTT 5 or the HTTP API is POSTed to
 * a webhook in HTTP binary mode (`ce-*` headers, `datacontenttype` as the
 * Content-Type) and a structured one (or each event of a batch) in
 * structured mode — both read back with the SDK's `HTTP.toEvent` and
 * validated; SSE's text format, which carries no headers, gives a
 * binary-mode event as its JSON event format, and its json format carries
 * the `ce-*` headers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import { connect, type NatsConnection } from 'nats';
import { parseWebhookList } from '../../src/protocols/http/webhooks/spec.js';
import { checkFor } from '../helpers/poll.js';
import { SseClient, type SseNode, startSseNode } from '../helpers/sse.js';
import { type Received, Receiver } from '../http/webhook-receiver.js';
import { end, mqttConnect } from '../mqtt/helpers.js';
import { assertSameEvent, mqttPublish, natsBinary } from './sdk.js';

function event(id: string, extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    id,
    type: 'com.example.order',
    source: '/shop/eu',
    subject: 'order 7 €',
    time: '2026-12-06T07:00:00.000Z',
    datacontenttype: 'application/json',
    comexampleext: 'x',
    data: { order: 7 },
    ...extra,
  });
}

/**
 * A webhook delivery read as the HTTP binding says a receiver must: `ce-*`
 * values percent-decoded (binding 3.1.3.2; the SDK's HTTP.toEvent does not
 * decode), then the SDK's HTTP.toEvent, validated.
 */
function fromWebhook(r: Received): CloudEvent<unknown> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) {
    if (typeof v !== 'string') continue;
    headers[k] = k.startsWith('ce-') ? decodeURIComponent(v) : v;
  }
  const structured = headers['content-type']?.startsWith('application/cloudevents') === true;
  const ct = headers['content-type'] ?? '';
  const body = structured || /json|text/.test(ct) ? r.body.toString('utf8') : r.body;
  const e = HTTP.toEvent({ headers, body }) as CloudEvent<unknown>;
  e.validate();
  return e;
}

describe('CloudEvents to webhooks and SSE', () => {
  let node: SseNode;
  let nc: NatsConnection;
  let mqttUrl = '';
  const hook = new Receiver();
  before(async () => {
    await hook.start();
    node = await startSseNode({
      mqttPort: 0,
      jetstream: false,
      webhooks: parseWebhookList('webhooks', [{ name: 'ce', url: hook.url, subject: 'ce.hook.>' }]),
    });
    const mqtt = node.srv.node.faces.find((f) => f.name === 'mqtt')!;
    mqttUrl = `mqtt://127.0.0.1:${mqtt.listeners[0]!.port}`;
    nc = await connect({ servers: node.natsUrl });
  });
  after(async () => {
    await nc.close();
    await node.close();
    await hook.stop();
  });

  test('binary mode from NATS, MQTT 5 and HTTP → a webhook in HTTP binary mode', async () => {
    const from = hook.received.length;
    const sent = [
      event('w1'),
      event('w2', { datacontenttype: 'application/octet-stream', data: Buffer.from([0, 255, 7]) }),
      event('w3', { datacontenttype: 'text/plain', data: 'hello' }),
    ];
    const n = natsBinary(sent[0]!);
    nc.publish('ce.hook.nats', n.payload, { headers: n.headers });
    const c = await mqttConnect(mqttUrl, { protocolVersion: 5 });
    const m = mqttPublish(sent[1]!, 'binary');
    await c.publishAsync('ce/hook/mqtt', m.payload, { qos: 1, properties: m.properties });
    await end(c);
    const h = HTTP.binary(sent[2]!);
    const headers = { ...(h.headers as Record<string, string>) };
    headers['ce-subject'] = encodeURIComponent(String(sent[2]!.subject));
    const res = await fetch(`${node.base}/v1/publish/ce.hook.http`, {
      method: 'POST',
      headers,
      body: h.body as string,
    });
    assert.equal(res.status, 202);
    await checkFor(() => hook.received.length === from + 3, 5000);
    const got = hook.received
      .slice(from)
      .sort((a, b) => String(a.headers['ce-id']).localeCompare(String(b.headers['ce-id'])));
    assert.equal(got[0]!.headers['content-type'], 'application/json');
    assert.equal(
      got[0]!.headers['ce-datacontenttype'],
      undefined,
      'datacontenttype is the Content-Type',
    );
    assert.equal(got[1]!.headers['content-type'], 'application/octet-stream');
    for (let i = 0; i < 3; i++) assertSameEvent(fromWebhook(got[i]!), sent[i]!);
  });

  test('structured mode and batch mode → a webhook in structured mode', async () => {
    const from = hook.received.length;
    const one = event('s1');
    const s = HTTP.structured(one);
    const res = await fetch(`${node.base}/v1/publish/ce.hook.structured`, {
      method: 'POST',
      headers: s.headers as Record<string, string>,
      body: s.body as string,
    });
    assert.equal(res.status, 202);
    const batch = [event('s2'), event('s3')];
    const b = await fetch(`${node.base}/v1/publish/ce.hook.batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(batch.map((e) => e.toJSON())),
    });
    assert.equal(b.status, 200);
    await b.body?.cancel();
    await checkFor(() => hook.received.length === from + 3, 5000);
    const got = hook.received.slice(from);
    for (const r of got)
      assert.match(String(r.headers['content-type']), /^application\/cloudevents\+json/);
    const byId = new Map(got.map((r) => [fromWebhook(r).id, fromWebhook(r)]));
    for (const e of [one, ...batch]) assertSameEvent(byId.get(e.id)!, e);
  });

  test('SSE: binary mode as the JSON event format in the text format, ce-* headers in the json format', async () => {
    const text = await SseClient.open(`${node.base}/v1/subscribe/ce.sse.>`);
    const json = await SseClient.open(`${node.base}/v1/subscribe/ce.sse.>?format=json`);
    assert.equal(text.status, 200);
    // Both are subscribed once a message published now reaches them.
    await checkFor(async () => {
      nc.publish('ce.sse.ping', Buffer.from('ping'));
      await nc.flush();
      return text.events.length > 0 && json.events.length > 0;
    });
    const sent = [
      event('e1'),
      event('e2', { datacontenttype: 'image/png', data: Buffer.from([137, 80, 78, 71]) }),
    ];
    for (const e of sent) {
      const n = natsBinary(e);
      nc.publish('ce.sse.x', n.payload, { headers: n.headers });
    }
    nc.publish('ce.sse.plain', Buffer.from('not an event'));
    // Pings may still be arriving: only the test's events count.
    const mine = (c: SseClient) => c.events.filter((e) => e.event !== 'ce.sse.ping');
    await checkFor(() => mine(text).length === 3 && mine(json).length === 3, 5000);
    const te = mine(text);
    const je = mine(json);
    for (let i = 0; i < 2; i++) {
      const got = new CloudEvent<unknown>(JSON.parse(te[i]!.data), false);
      got.validate();
      assertSameEvent(got, sent[i]!);
      const env = JSON.parse(je[i]!.data) as { headers: Record<string, string[]> };
      assert.equal(env.headers['ce-id']?.[0], sent[i]!.id);
    }
    assert.equal(te[2]!.data, 'not an event', 'a non-event is not touched');
    text.close();
    json.close();
  });
});
