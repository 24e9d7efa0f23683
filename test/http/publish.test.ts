/**
 * POST /v1/publish and /v1/request with `fetch`, a NATS client of the
 * `nats` package on the other side: payloads and the header mapping both
 * ways, the stream's publish ack (stored, duplicate, a failed expectation
 * 409), no responders 503, a timeout 504, and bad input (subjects, sizes,
 * timeouts) refused with nothing published.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, headers, type NatsConnection, StringCodec } from 'nats';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';
import { apiUrl } from './helpers.js';

const sc = StringCodec();

type ErrorBody = { error: { code: number; description: string; err_code?: number } };

describe('HTTP publish and request', () => {
  let srv: WeftServer;
  let dir = '';
  let base = '';
  let nc: NatsConnection;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-http-pub-'));
    srv = await startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'error',
      httpApiPort: 0,
      maxPayload: 4096,
    });
    base = apiUrl(srv);
    nc = await connect({ port: srv.port });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
  });
  after(async () => {
    await nc.close();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a publish reaches a NATS subscriber with its mapped headers; 202', async () => {
    const sub = nc.subscribe('plain.one', { max: 1 });
    await nc.flush();
    const r = await fetch(`${base}/v1/publish/plain.one`, {
      method: 'POST',
      body: 'hello',
      headers: { 'nats-msg-id': 'm1', 'X-Nats-Header-Trace': 't-9', 'Content-Type': 'text/plain' },
    });
    assert.equal(r.status, 202);
    for await (const m of sub) {
      assert.equal(sc.decode(m.data), 'hello');
      assert.equal(m.headers?.get('Nats-Msg-Id'), 'm1');
      // The name after the prefix is kept as sent.
      assert.equal(m.headers?.get('Trace'), 't-9');
      assert.equal(m.headers?.get('Content-Type'), '');
    }
  });

  test('a publish to a stream answers its ack once stored: seq, duplicate, a failed expectation 409', async () => {
    const post = (subject: string, h: Record<string, string>, body = 'x') =>
      fetch(`${base}/v1/publish/${subject}`, { method: 'POST', body, headers: h });
    const a = await post('orders.new', { 'Nats-Msg-Id': 'o-1' });
    assert.equal(a.status, 200);
    assert.deepEqual(await a.json(), { stream: 'ORDERS', seq: 1, duplicate: false });
    const dup = await post('orders.new', { 'Nats-Msg-Id': 'o-1' });
    assert.equal(dup.status, 200);
    assert.deepEqual(await dup.json(), { stream: 'ORDERS', seq: 1, duplicate: true });
    const wrong = await post('orders.new', { 'Nats-Expected-Last-Sequence': '7' });
    assert.equal(wrong.status, 409);
    const body = (await wrong.json()) as ErrorBody;
    assert.equal(body.error.code, 409);
    assert.equal(body.error.err_code, 10071);
    assert.match(body.error.description, /wrong last sequence: 1/);
    const right = await post('orders.new', { 'Nats-Expected-Last-Sequence': '1' });
    assert.equal(right.status, 200);
    assert.equal(((await right.json()) as { seq: number }).seq, 2);
    const js = nc.jetstream();
    const m = await (await nc.jetstreamManager()).streams.getMessage('ORDERS', { seq: 1 });
    assert.equal(m.header.get('Nats-Msg-Id'), 'o-1');
    void js;
  });

  test('Nats-Expected-Stream with no stream capturing the subject is 503', async () => {
    const r = await fetch(`${base}/v1/publish/nowhere.x`, {
      method: 'POST',
      body: 'x',
      headers: { 'Nats-Expected-Stream': 'ORDERS' },
    });
    assert.equal(r.status, 503);
    await r.body?.cancel();
  });

  test('a request gets the reply payload and headers; no responders 503; timeout 504', async () => {
    nc.subscribe('svc.echo', {
      callback: (_e, m) => {
        const h = headers();
        h.set('Nats-Answered-By', 'echo');
        h.set('Colour', 'blue');
        m.respond(sc.encode(`echo ${sc.decode(m.data)} ${m.headers?.get('Q') ?? ''}`), {
          headers: h,
        });
      },
    });
    nc.subscribe('svc.silent', { callback: () => {} });
    await nc.flush();
    const r = await fetch(`${base}/v1/request/svc.echo?timeout=2s`, {
      method: 'POST',
      body: 'ping',
      headers: { 'X-Nats-Header-Q': 'q1' },
    });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'echo ping q1');
    assert.equal(r.headers.get('nats-answered-by'), 'echo');
    assert.equal(r.headers.get('x-nats-header-colour'), 'blue');

    const none = await fetch(`${base}/v1/request/svc.nobody`, { method: 'POST', body: 'x' });
    assert.equal(none.status, 503);
    assert.match(((await none.json()) as ErrorBody).error.description, /no responders/);

    const t0 = Date.now();
    const slow = await fetch(`${base}/v1/request/svc.silent?timeout=150ms`, {
      method: 'POST',
      body: 'x',
    });
    assert.equal(slow.status, 504);
    assert.ok(Date.now() - t0 >= 140);
    await slow.body?.cancel();
  });

  test('bad timeouts are 400: no unit, zero, over the maximum', async () => {
    for (const t of ['2', '0ms', '61s', 'abc', '-1s']) {
      const r = await fetch(`${base}/v1/request/svc.echo?timeout=${t}`, {
        method: 'POST',
        body: 'x',
      });
      assert.equal(r.status, 400, `timeout=${t}`);
      await r.body?.cancel();
    }
  });

  test('bad subjects are 400 and nothing is published', async () => {
    let seen = 0;
    const sub = nc.subscribe('>', { callback: () => seen++ });
    await nc.flush();
    for (const s of ['a.*', 'a.>', 'a..b', '.a', 'a.', 'a%20b', 'a%09b', '%2A']) {
      const r = await fetch(`${base}/v1/publish/${s}`, { method: 'POST', body: 'x' });
      assert.equal(r.status, 400, s);
      assert.equal(((await r.json()) as ErrorBody).error.code, 400);
    }
    const bad = await fetch(`${base}/v1/publish/a`, {
      method: 'POST',
      body: 'x',
      headers: { 'X-Nats-Header-': 'v' },
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    // A publish after them is the first thing the subscriber sees.
    const last = await fetch(`${base}/v1/publish/after.bad`, { method: 'POST', body: 'x' });
    assert.equal(last.status, 202);
    await checkFor(() => seen >= 1);
    assert.equal(seen, 1);
    sub.unsubscribe();
  });

  test('a body over max_payload is 413, by Content-Length or cut off while chunked; nothing published', async () => {
    const got: string[] = [];
    const sub = nc.subscribe('big.>', { callback: (_e, m) => got.push(m.subject) });
    await nc.flush();
    const r = await fetch(`${base}/v1/publish/big.one`, { method: 'POST', body: 'x'.repeat(5000) });
    assert.equal(r.status, 413);
    assert.equal(r.headers.get('connection'), 'close');
    await r.body?.cancel();
    // Headers count toward max_payload.
    const h = await fetch(`${base}/v1/publish/big.two`, {
      method: 'POST',
      body: 'x'.repeat(4000),
      headers: { 'X-Nats-Header-Pad': 'p'.repeat(200) },
    });
    assert.equal(h.status, 413);
    await h.body?.cancel();
    // Chunked, no Content-Length: cut off at the bound; the answer comes before the body ends.
    const answer = await new Promise<string>((resolve, reject) => {
      const port = Number(new URL(base).port);
      const s = netConnect(port, '127.0.0.1', () => {
        s.write(
          'POST /v1/publish/big.three HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
        );
        const chunk = 'y'.repeat(1000);
        for (let i = 0; i < 5; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      });
      let got = '';
      s.on('data', (d) => {
        got += d.toString();
        if (got.includes('\r\n\r\n')) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 413 /);
    const ok = await fetch(`${base}/v1/publish/big.small`, { method: 'POST', body: 'fine' });
    assert.equal(ok.status, 202);
    await checkFor(() => got.length === 1);
    assert.deepEqual(got, ['big.small']);
    sub.unsubscribe();
  });
});
