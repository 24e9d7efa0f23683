/**
 * Stream webhooks: at least once from a durable consumer on the stream.
 * A receiver that goes down and comes back loses nothing and gets the
 * messages in order (concurrency 1); max_deliver ends in the dead letter
 * (with the stream sequence) and the ack; a webhook created through the
 * API survives a restart of the node, with what was published while its
 * receiver was away.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection, StringCodec } from 'nats';
import { parseWebhookList } from '../../src/protocols/http/webhooks/spec.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';
import { Receiver } from './webhook-receiver.js';

const sc = StringCodec();
const FAST = { retry_base: '20ms', retry_max: '100ms', timeout: '500ms' };

describe('stream webhooks', () => {
  let srv: WeftServer;
  let nc: NatsConnection;
  let dir = '';
  const down = new Receiver();
  const dead = new Receiver(() => ({ status: 500 }));

  async function start(): Promise<void> {
    srv = await startServer({
      port: 0,
      httpPort: -1,
      httpApiPort: 0,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      webhooks: parseWebhookList('webhooks', [
        {
          name: 'orders',
          url: down.url,
          subject: 'orders.>',
          stream: 'ORDERS',
          max_deliver: -1,
          ...FAST,
        },
        {
          name: 'doomed',
          url: dead.url,
          subject: 'doomed',
          stream: 'DOOMED',
          max_deliver: 2,
          ...FAST,
        },
      ]),
    });
    nc = await connect({ port: srv.port });
  }
  const api = (p: string, init?: RequestInit) =>
    fetch(
      `http://127.0.0.1:${srv.node.faces.find((f) => f.name === 'http')!.listeners[0]!.port}${p}`,
      init,
    );

  async function status(name: string): Promise<Record<string, unknown>> {
    const res = await api(`/v1/webhooks/${name}`);
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { status: Record<string, unknown> }).status;
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-stream-'));
    await down.start();
    await dead.start();
    await start();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    await jsm.streams.add({ name: 'DOOMED', subjects: ['doomed'] });
  });
  after(async () => {
    await nc?.close();
    await srv?.close();
    await down.stop();
    await dead.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a config webhook whose stream comes later waits, then runs', async () => {
    await checkFor(async () => (await status('orders')).state === 'running', 5000);
  });

  test('the receiver goes down and comes back: nothing lost, in order', async () => {
    const js = nc.jetstream();
    for (let i = 1; i <= 5; i++) await js.publish(`orders.${i}`, sc.encode(String(i)));
    await checkFor(() => down.received.length === 5, 5000);
    const port = down.port;
    await down.stop();
    for (let i = 6; i <= 15; i++) await js.publish(`orders.${i}`, sc.encode(String(i)));
    await checkFor(async () => ((await status('orders')).failed as number) >= 2, 5000);
    const s = await status('orders');
    assert.match(String(s.last_error), /ECONNREFUSED|fetch failed|other side closed/);
    assert.ok((s.lag as number) >= 10, `lag ${s.lag}`);
    await down.start(port);
    await checkFor(() => down.received.length >= 15, 10_000);
    const bodies = down.bodies();
    assert.deepEqual(
      bodies,
      Array.from({ length: 15 }, (_, i) => String(i + 1)),
    );
    // The subject and the stream's delivery id come with each.
    assert.equal(down.received[14]!.headers['weft-subject'], 'orders.15');
    assert.equal(down.received[14]!.headers['weft-delivery-id'], 'ORDERS.15');
    await checkFor(async () => (await status('orders')).lag === 0, 5000);
  });

  test('max_deliver exhausted: dead letter with the stream sequence, then acked', async () => {
    const sub = nc.subscribe('$WEFT.WEBHOOK.doomed.DEAD', { max: 1 });
    await nc.flush();
    await checkFor(async () => (await status('doomed')).state === 'running', 5000);
    await nc.jetstream().publish('doomed', sc.encode('bad'));
    let letter: import('nats').Msg | null = null;
    for await (const m of sub) letter = m;
    assert.ok(letter !== null);
    assert.equal(sc.decode(letter.data), 'bad');
    assert.equal(letter.headers?.get('Weft-Dead-Letter-Stream'), 'DOOMED');
    assert.equal(letter.headers?.get('Weft-Dead-Letter-Sequence'), '1');
    assert.equal(letter.headers?.get('Weft-Dead-Letter-Attempts'), '2');
    assert.equal(dead.received.length, 2);
    await checkFor(async () => (await status('doomed')).lag === 0, 5000);
  });

  test('an API-created webhook survives a restart, with what came while its receiver was away', async () => {
    const late = await new Receiver().start();
    try {
      const res = await api('/v1/webhooks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'kept',
          url: late.url,
          subject: 'orders.kept',
          stream: 'ORDERS',
          ...FAST,
        }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      const created = (await res.json()) as { secret: string };
      assert.match(created.secret, /^whsec_/);
      await checkFor(async () => (await status('kept')).state === 'running', 5000);
      await nc.jetstream().publish('orders.kept', sc.encode('before'));
      await checkFor(() => late.received.length === 1, 5000);
      const port = late.port;
      await late.stop();
      await nc.jetstream().publish('orders.kept', sc.encode('while away'));
      await nc.close();
      await srv.close();
      await start();
      await late.start(port);
      const res2 = await api('/v1/webhooks/kept');
      assert.equal(res2.status, 200);
      const body = (await res2.json()) as Record<string, unknown>;
      assert.equal(body.origin, 'api');
      assert.equal(body.secret, undefined);
      await checkFor(() => late.received.length === 2, 10_000);
      assert.equal(late.received[1]!.body.toString(), 'while away');
      await nc.jetstream().publish('orders.kept', sc.encode('after'));
      await checkFor(() => late.received.length === 3, 5000);
      assert.deepEqual(late.bodies(), ['before', 'while away', 'after']);
    } finally {
      await late.stop();
    }
  });
});
