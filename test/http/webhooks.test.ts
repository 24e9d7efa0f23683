/**
 * Webhooks without a stream (a core subscription, at most once, retried
 * in memory), defined in the config, against local `node:http` receivers
 * that fail, answer slowly, hang, answer 410 or 429 with Retry-After, or
 * never succeed (dead letter). Backoff is read from the receivers' arrival
 * times, never slept for. The signature is checked with WebCrypto, not
 * with the node's code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection, headers as natsHeaders, StringCodec } from 'nats';
import { parseWebhookList } from '../../src/protocols/http/webhooks/spec.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';
import { Receiver } from './webhook-receiver.js';

const sc = StringCodec();

/** Verifies a `Weft-Signature` as a receiver would, with WebCrypto (not node:crypto's createHmac). */
async function verify(
  secret: string,
  h: Record<string, string | string[] | undefined>,
  body: Buffer,
): Promise<boolean> {
  const ts = String(h['weft-timestamp']);
  const sig = String(h['weft-signature']);
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await crypto.subtle.sign('HMAC', key, Buffer.concat([Buffer.from(`${ts}.`), body]));
  const hex = Buffer.from(mac).toString('hex');
  return sig.split(' ').some((part) => part === `v1=${hex}`);
}

describe('webhooks without a stream (config-defined, http.port off)', () => {
  let srv: WeftServer;
  let api: WeftServer;
  let nc: NatsConnection;
  let dir = '';
  const r = {
    flaky: new Receiver((n) => ({ status: n < 3 ? 500 : 200 })),
    signed: new Receiver(),
    gone: new Receiver((n) => ({ status: n === 0 ? 200 : 410 })),
    busy: new Receiver((n) =>
      n === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 200 },
    ),
    dead: new Receiver(() => ({ status: 503 })),
    hang: new Receiver((n) => (n === 0 ? { hang: true } : { status: 200 })),
    slow: new Receiver(() => ({ status: 200, delayMs: 150 })),
  };
  const SECRET = 'whsec_test-secret';
  let slowInFlight = 0;
  let slowMaxInFlight = 0;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-'));
    for (const rc of Object.values(r)) await rc.start();
    // The slow receiver counts the POSTs it holds at once.
    const slowAnswer = r.slow.answer;
    r.slow.answer = (n, rec) => {
      slowInFlight++;
      slowMaxInFlight = Math.max(slowMaxInFlight, slowInFlight);
      setTimeout(() => slowInFlight--, 150);
      return slowAnswer(n, rec);
    };
    const fast = { retry_base: '50ms', retry_max: '200ms' };
    const webhooks = parseWebhookList('webhooks', [
      { name: 'flaky', url: r.flaky.url, subject: 'flaky.>', ...fast },
      { name: 'signed', url: r.signed.url, subject: 'signed', secret: SECRET },
      { name: 'gone', url: r.gone.url, subject: 'gone', ...fast },
      { name: 'busy', url: r.busy.url, subject: 'busy', ...fast },
      { name: 'dead', url: r.dead.url, subject: 'dead', max_deliver: 3, ...fast },
      { name: 'hang', url: r.hang.url, subject: 'hang', timeout: '200ms', ...fast },
      { name: 'slow', url: r.slow.url, subject: 'slow', timeout: '2s' },
    ]);
    srv = await startServer({
      port: 0,
      httpPort: 0,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      jetstream: false,
      webhooks,
    });
    api = srv;
    nc = await connect({ port: srv.port });
  });

  after(async () => {
    await nc?.close();
    await srv?.close();
    for (const rc of Object.values(r)) await rc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The webhook's status from /varz (the HTTP face's section), as the API would show it. */
  async function status(name: string): Promise<Record<string, unknown>> {
    const v = (await (await fetch(`http://127.0.0.1:${api.httpPort}/varz`)).json()) as {
      weft: {
        faces: { http?: { webhooks?: { webhooks?: Record<string, Record<string, unknown>> } } };
      };
    };
    const http = v.weft.faces.http;
    const s = http?.webhooks?.webhooks?.[name];
    assert.ok(
      s !== undefined,
      `no ${name} in /varz weft.faces.http.webhooks: ${JSON.stringify(http)}`,
    );
    return s;
  }

  test('fails 3 times, then is delivered once: same delivery id, attempts 1..4, backoff within its ceilings', async () => {
    nc.publish('flaky.a', sc.encode('hello'));
    await checkFor(() => r.flaky.received.length === 4, 5000);
    const got = r.flaky.received;
    assert.deepEqual(
      got.map((g) => g.headers['weft-attempt']),
      ['1', '2', '3', '4'],
    );
    assert.equal(new Set(got.map((g) => g.headers['weft-delivery-id'])).size, 1);
    assert.ok(got.every((g) => g.body.toString() === 'hello'));
    assert.ok(got.every((g) => g.headers['weft-subject'] === 'flaky.a'));
    // Full jitter: the k-th retry waits a uniform pick in [0, min(200, 50·2^(k-1))] ms.
    const ceilings = [50, 100, 200];
    for (let k = 1; k < got.length; k++) {
      const gap = got[k]!.at - got[k - 1]!.at;
      assert.ok(
        gap <= ceilings[k - 1]! + 300,
        `retry ${k} came ${gap}ms later, over ${ceilings[k - 1]}ms`,
      );
    }
    const s = await checkFor(async () => {
      const st = await status('flaky');
      return st.delivered === 1 ? st : false;
    });
    assert.equal(s.failed, 3);
    assert.equal(s.state, 'running');
    assert.match(String(s.last_error), /HTTP 500/);
    // Nothing more comes: delivered once.
    nc.publish('flaky.b', sc.encode('second'));
    await checkFor(() => r.flaky.received.length === 5);
    assert.equal(r.flaky.received[4]!.body.toString(), 'second');
  });

  test('the signature verifies (WebCrypto), headers and subject come as HTTP headers', async () => {
    const h = natsHeaders();
    h.set('X-Trace', 'abc-123');
    h.set('ce-type', 'com.example.ping');
    h.set('Content-Type', 'application/json');
    h.set('Weft-Signature', 'forged');
    nc.publish('signed', sc.encode('{"n":1}'), { headers: h });
    await checkFor(() => r.signed.received.length === 1);
    const g = r.signed.received[0]!;
    assert.equal(g.headers['x-nats-header-x-trace'], 'abc-123');
    assert.equal(g.headers['x-nats-header-weft-signature'], 'forged');
    assert.equal(g.headers['ce-type'], 'com.example.ping');
    assert.equal(g.headers['content-type'], 'application/json');
    assert.equal(g.headers['weft-subject'], 'signed');
    assert.equal(g.headers['weft-webhook'], 'signed');
    assert.ok(Math.abs(Number(g.headers['weft-timestamp']) - Date.now() / 1000) < 60);
    assert.ok(await verify(SECRET, g.headers, g.body), `signature ${g.headers['weft-signature']}`);
    // A changed body or another secret does not verify.
    assert.equal(await verify(SECRET, g.headers, Buffer.from('{"n":2}')), false);
    assert.equal(await verify('other', g.headers, g.body), false);
  });

  test('410 Gone stops the webhook: state stopped, nothing more is POSTed, /healthz degraded', async () => {
    nc.publish('gone', sc.encode('1'));
    await checkFor(() => r.gone.received.length === 1);
    nc.publish('gone', sc.encode('2'));
    await checkFor(async () => (await status('gone')).state === 'stopped');
    nc.publish('gone', sc.encode('3'));
    await nc.flush();
    const s = await status('gone');
    assert.match(String(s.last_error), /410/);
    assert.equal(r.gone.received.length, 2);
    const health = (await (
      await fetch(`http://127.0.0.1:${api.httpPort}/healthz`)
    ).json()) as Record<string, unknown>;
    assert.match(JSON.stringify(health), /webhook gone/);
  });

  test('429 with Retry-After: 1 is retried after a second, not by the backoff', async () => {
    nc.publish('busy', sc.encode('x'));
    await checkFor(() => r.busy.received.length === 2, 5000);
    const gap = r.busy.received[1]!.at - r.busy.received[0]!.at;
    assert.ok(gap >= 990, `retried ${gap}ms after the 429`);
    assert.ok(gap < 2500, `retried ${gap}ms after the 429`);
  });

  test('max_deliver exhausted: the message goes to the dead-letter subject with what was tried', async () => {
    const sub = nc.subscribe('$WEFT.WEBHOOK.dead.DEAD', { max: 1 });
    await nc.flush();
    const h = natsHeaders();
    h.set('X-Order', '42');
    nc.publish('dead', sc.encode('lost'), { headers: h });
    const letter = await (async () => {
      for await (const m of sub) return m;
      return null;
    })();
    assert.ok(letter !== null);
    assert.equal(sc.decode(letter.data), 'lost');
    assert.equal(letter.headers?.get('Weft-Dead-Letter-Webhook'), 'dead');
    assert.equal(letter.headers?.get('Weft-Dead-Letter-Subject'), 'dead');
    assert.equal(letter.headers?.get('Weft-Dead-Letter-Attempts'), '3');
    assert.match(letter.headers?.get('Weft-Dead-Letter-Error') ?? '', /HTTP 503/);
    assert.equal(letter.headers?.get('X-Order'), '42');
    assert.equal(r.dead.received.length, 3);
    const s = await status('dead');
    assert.equal(s.dead_lettered, 1);
    assert.equal(s.failed, 3);
  });

  test('a receiver that hangs is timed out and retried', async () => {
    nc.publish('hang', sc.encode('h'));
    await checkFor(() => r.hang.received.length === 2, 5000);
    const gap = r.hang.received[1]!.at - r.hang.received[0]!.at;
    assert.ok(gap >= 190, `second attempt ${gap}ms after the first: before the 200ms timeout`);
    const s = await checkFor(async () => {
      const st = await status('hang');
      return st.delivered === 1 ? st : false;
    });
    assert.match(String(s.last_error), /timed out after 200ms/);
  });

  test('a slow receiver: concurrency 1 keeps the order, one POST at a time', async () => {
    for (let i = 0; i < 5; i++) nc.publish('slow', sc.encode(String(i)));
    await checkFor(() => r.slow.received.length === 5, 5000);
    assert.deepEqual(r.slow.bodies(), ['0', '1', '2', '3', '4']);
    assert.equal(slowMaxInFlight, 1);
  });
});
