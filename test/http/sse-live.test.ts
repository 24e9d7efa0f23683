/**
 * `GET /v1/subscribe/{subject}` with live messages: NATS clients publish,
 * SSE clients (fetch, parsed per the spec) receive — wildcards, queue
 * groups, headers in the JSON format, binary payloads in the text format;
 * a denied subscription answers 403 with nats-server's violation text; a
 * client that goes away takes its interest with it; the node's bound on
 * SSE responses answers 503 and is counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection, headers as natsHeaders } from 'nats';
import { parseSecurity } from '../../src/auth/config.js';
import { checkFor } from '../helpers/poll.js';
import { eventsOf, payloadOf, SseClient, type SseNode, startSseNode } from '../helpers/sse.js';

async function subsz(node: SseNode): Promise<number> {
  const r = await fetch(`${node.monitor}/subsz`);
  return ((await r.json()) as { num_subscriptions: number }).num_subscriptions;
}

describe('SSE: live messages', () => {
  let node: SseNode;
  let nc: NatsConnection;
  const open: SseClient[] = [];
  const sse = async (path: string, headers: Record<string, string> = {}) => {
    const c = await SseClient.open(`${node.base}${path}`, headers);
    open.push(c);
    return c;
  };
  before(async () => {
    node = await startSseNode({
      maxConnections: 1000,
      websocketPort: 0,
      websocketHandshakeTimeoutMs: 200,
    });
    nc = await connect({ servers: node.natsUrl, reconnect: false });
  });
  after(async () => {
    for (const c of open) c.close();
    await nc.close();
    await node.close();
  });

  test('wildcards: each message is an event named by its subject, lines and text as sent', async () => {
    const star = await sse('/v1/subscribe/orders.*.created');
    const tail = await sse(`/v1/subscribe/${encodeURIComponent('orders.>')}`);
    assert.equal(star.status, 200);
    assert.match(star.headers?.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(star.headers?.get('cache-control'), 'no-cache');
    await checkFor(() => star.retry > 0 && tail.retry > 0);
    nc.publish('orders.eu.created', Buffer.from('one'));
    nc.publish('orders.us.shipped', Buffer.from('two\nlines'));
    nc.publish('orders.us.created', Buffer.from(''));
    nc.publish('other.subject', Buffer.from('not for them'));
    const a = await eventsOf(star, 2);
    assert.deepEqual(
      a.map((e) => [e.event, e.data, e.id]),
      [
        ['orders.eu.created', 'one', ''],
        ['orders.us.created', '', ''],
      ],
    );
    const b = await eventsOf(tail, 3);
    assert.deepEqual(
      b.map((e) => [e.event, e.data]),
      [
        ['orders.eu.created', 'one'],
        ['orders.us.shipped', 'two\nlines'],
        ['orders.us.created', ''],
      ],
    );
  });

  test('headers round trip in the JSON format; binary payloads as base64', async () => {
    const json = await sse('/v1/subscribe/h.>?format=json');
    const text = await sse('/v1/subscribe/h.>');
    await checkFor(() => json.retry > 0 && text.retry > 0);
    const h = natsHeaders();
    h.append('X-Trace', 'abc');
    h.append('X-Multi', '1');
    h.append('X-Multi', '2');
    nc.publish('h.one', Buffer.from('{"ok":true}'), { headers: h });
    const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]);
    nc.publish('h.bin', binary);
    const [e1, e2] = await eventsOf(json, 2);
    assert.deepEqual(JSON.parse(e1!.data), {
      subject: 'h.one',
      headers: { 'X-Trace': ['abc'], 'X-Multi': ['1', '2'] },
      data: '{"ok":true}',
    });
    assert.deepEqual(JSON.parse(e2!.data), {
      subject: 'h.bin',
      data_base64: binary.toString('base64'),
    });
    const [t1, t2] = await eventsOf(text, 2);
    assert.equal(t1!.data, '{"ok":true}');
    assert.match(t2!.data, /^base64:/);
    assert.deepEqual(payloadOf(t2!), binary);
  });

  test('a queue group shares the messages between its SSE members', async () => {
    const a = await sse('/v1/subscribe/work.q?queue=g');
    const b = await sse('/v1/subscribe/work.q?queue=g');
    await checkFor(() => a.retry > 0 && b.retry > 0);
    for (let i = 0; i < 50; i++) nc.publish('work.q', Buffer.from(String(i)));
    await checkFor(() => a.events.length + b.events.length === 50);
    const got = [...a.events, ...b.events].map((e) => Number(e.data)).sort((x, y) => x - y);
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test('also on the WebSocket port (one port for a browser app), past its handshake timeout', async () => {
    const faces = node.srv.node.faces;
    const ws = faces.find((f) => f.name === 'websocket')?.listeners[0]?.port;
    const c = await SseClient.open(`http://127.0.0.1:${ws}/v1/subscribe/ws.x`);
    open.push(c);
    assert.equal(c.status, 200);
    await checkFor(() => c.retry > 0);
    const started = Date.now();
    // Past websocket.handshake_timeout (200 ms): an SSE response is not an upgrade waiting.
    await checkFor(() => Date.now() - started > 600, 2000, 50);
    nc.publish('ws.x', Buffer.from('still here'));
    assert.equal((await eventsOf(c, 1))[0]!.data, 'still here');
    assert.equal(c.ended, false);
  });

  test('bad requests answer 400 with a JSON error', async () => {
    for (const path of [
      '/v1/subscribe/a..b',
      '/v1/subscribe/a?format=xml',
      '/v1/subscribe/a?start=1',
    ]) {
      const r = await fetch(`${node.base}${path}`);
      assert.equal(r.status, 400, path);
      const body = (await r.json()) as { error: { code: unknown; description: string } };
      assert.equal(typeof body.error.description, 'string');
    }
  });

  test('a client that goes away unsubscribes', async () => {
    const before = await subsz(node);
    const c = await sse('/v1/subscribe/gone.soon');
    await checkFor(async () => (await subsz(node)) === before + 1);
    c.close();
    await checkFor(async () => (await subsz(node)) === before);
  });
});

describe('SSE: permissions and bounds', () => {
  let node: SseNode;
  before(async () => {
    node = await startSseNode({
      ...parseSecurity({
        authorization: {
          users: [
            {
              user: 'reader',
              password: 'r',
              permissions: { subscribe: { allow: ['public.>'], deny: ['public.secret'] } },
            },
            { user: 'admin', password: 'a' },
          ],
        },
      }),
      httpSseMaxStreams: 3,
      httpSseMaxPerIdentity: 2,
    });
  });
  after(() => node.close());
  const basic = (user: string, pass: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
  });

  test('a subscription the permissions refuse answers 403 with the violation', async () => {
    const r = await fetch(`${node.base}/v1/subscribe/private.x`, { headers: basic('reader', 'r') });
    assert.equal(r.status, 403);
    const body = (await r.json()) as { error: { description: string } };
    assert.equal(body.error.description, 'Permissions Violation for Subscription to "private.x"');
  });

  test('a deny under an allowed wildcard is applied per message', async () => {
    const c = await SseClient.open(`${node.base}/v1/subscribe/public.>`, basic('reader', 'r'));
    try {
      assert.equal(c.status, 200);
      await checkFor(() => c.retry > 0);
      const nc = await connect({ servers: node.natsUrl, user: 'admin', pass: 'a' });
      nc.publish('public.secret', Buffer.from('hidden'));
      nc.publish('public.news', Buffer.from('shown'));
      const [e] = await eventsOf(c, 1);
      assert.equal(e!.event, 'public.news');
      await nc.flush();
      await nc.close();
      assert.equal(c.events.length, 1);
    } finally {
      c.close();
    }
  });

  test('past http.sse_max_per_identity: 429; past http.sse_max_streams: 503; both counted', async () => {
    const admin = basic('admin', 'a');
    const open: SseClient[] = [];
    try {
      for (const subject of ['x', 'y']) {
        open.push(await SseClient.open(`${node.base}/v1/subscribe/${subject}`, admin));
      }
      const third = await fetch(`${node.base}/v1/subscribe/z`, { headers: admin });
      assert.equal(third.status, 429);
      const body = (await third.json()) as { error: { description: string } };
      assert.match(body.error.description, /per user \(2\)/);
      open.push(await SseClient.open(`${node.base}/v1/subscribe/public.x`, basic('reader', 'r')));
      assert.deepEqual(
        open.map((c) => c.status),
        [200, 200, 200],
      );
      const r = await fetch(`${node.base}/v1/subscribe/public.y`, {
        headers: basic('reader', 'r'),
      });
      assert.equal(r.status, 503);
      await r.body?.cancel();
      const metrics = await (await fetch(`${node.monitor}/metrics`)).text();
      assert.match(metrics, /weft_http_sse_refused_total\{reason="max_streams"[^}]*\} 1\n/);
      assert.match(metrics, /weft_http_sse_refused_total\{reason="max_per_identity"[^}]*\} 1\n/);
    } finally {
      for (const c of open) c.close();
    }
    // Their places are free once the node saw them go.
    await checkFor(async () => {
      const m = await (await fetch(`${node.monitor}/metrics`)).text();
      return /weft_http_sse_streams\{[^}]*\} 0\n/.test(m);
    });
  });

  test('a reload that withdraws the permission ends the response', async () => {
    const c = await SseClient.open(`${node.base}/v1/subscribe/public.feed`, basic('reader', 'r'));
    assert.equal(c.status, 200);
    await checkFor(() => c.retry > 0);
    const narrower = parseSecurity({
      authorization: {
        users: [
          { user: 'reader', password: 'r', permissions: { subscribe: ['other.>'] } },
          { user: 'admin', password: 'a' },
        ],
      },
    });
    await node.srv.node.reload({ ...node.srv.node.options, ...narrower });
    await checkFor(() => c.ended, 5000);
    const metrics = await (await fetch(`${node.monitor}/metrics`)).text();
    assert.match(metrics, /weft_http_sse_closed_total\{reason="permissions_changed"[^}]*\} 1\n/);
  });
});
