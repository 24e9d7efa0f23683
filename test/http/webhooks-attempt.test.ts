/**
 * One webhook attempt and its retry delay: Retry-After in both forms
 * (RFC 9110 §10.2.3), exponential backoff with full jitter within its
 * ceilings, an endless answer body cut at RESPONSE_BODY_MAX, redirects
 * not followed, one deadline, close ending a POST in flight, keep-alive
 * connections bounded by the concurrency and closed when idle, https verifying the receiver's
 * certificate, the request's headers by the documented rule.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  attempt,
  parseRetryAfter,
  RESPONSE_BODY_MAX,
  retryDelay,
} from '../../src/protocols/http/webhooks/attempt.js';
import { IDLE_SOCKET_TIMEOUT_MS, WebhookClient } from '../../src/protocols/http/webhooks/client.js';
import { requestHeaders } from '../../src/protocols/http/webhooks/request.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { checkFor } from '../helpers/poll.js';

const run = promisify(execFile);

describe('retry delays', () => {
  test('Retry-After: seconds, an HTTP date, a past date, garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter('-5', now), null);
    assert.equal(parseRetryAfter(null, now), null);
  });

  test('full jitter within min(max, base·2^(n-2)); Retry-After capped at retry_after_max', () => {
    const o = { retryBaseMs: 100, retryMaxMs: 1000, retryAfterMaxMs: 5000 };
    assert.deepEqual(
      [2, 3, 4, 5, 6, 50].map((n) => retryDelay(n, o, null, () => 1)),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.equal(
      retryDelay(4, o, null, () => 0),
      0,
    );
    assert.equal(
      retryDelay(4, o, null, () => 0.5),
      200,
    );
    assert.equal(
      retryDelay(2, o, 3000, () => 1),
      3000,
    );
    assert.equal(
      retryDelay(2, o, 60_000, () => 1),
      5000,
    );
  });
});

describe('one attempt', () => {
  let server: Server;
  let base = '';
  let endlessClosed = false;
  /** Connections the server accepted. */
  let accepted = 0;
  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      if (req.url === '/endless') {
        res.writeHead(200);
        res.on('close', () => {
          endlessClosed = true;
        });
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const more = (): void => {
          while (!res.destroyed && res.write(chunk)) {}
          if (!res.destroyed) res.once('drain', more);
        };
        more();
      } else if (req.url === '/moved') {
        res.writeHead(301, { location: '/elsewhere' }).end();
      } else if (req.url === '/hang') {
        // never answers
      } else if (req.url === '/busy') {
        res.writeHead(429, 'Slow Down', { 'retry-after': '7' }).end('later');
      } else res.writeHead(204).end();
    });
    server.on('connection', () => accepted++);
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('an endless answer is read up to its cap, then dropped: the attempt ends long before its timeout', async () => {
    const client = new WebhookClient(`${base}/endless`, 1);
    const s = Date.now();
    const out = await attempt(client, {}, Buffer.from('x'), 10_000);
    assert.equal(out.kind, 'ok');
    assert.ok(Date.now() - s < 5000);
    assert.equal(RESPONSE_BODY_MAX, 64 * 1024);
    // The connection was dropped, not read to its end.
    await checkFor(() => endlessClosed);
    client.close();
  });

  test('a redirect is a failure, not followed', async () => {
    const client = new WebhookClient(`${base}/moved`, 1);
    const out = await attempt(client, {}, Buffer.alloc(0), 2000);
    assert.equal(out.kind, 'failed');
    assert.equal(out.kind === 'failed' ? out.status : 0, 301);
    assert.equal(out.kind === 'failed' ? out.error : '', 'HTTP 301 Moved Permanently');
    client.close();
  });

  test('an answer with Retry-After: its status text and the delay', async () => {
    const client = new WebhookClient(`${base}/busy`, 1);
    const out = await attempt(client, {}, Buffer.alloc(0), 2000);
    assert.deepEqual(out, {
      kind: 'failed',
      status: 429,
      error: 'HTTP 429 Slow Down',
      retryAfterMs: 7000,
    });
    client.close();
  });

  test('a closed webhook aborts its attempt, before it starts or while it waits', async () => {
    const client = new WebhookClient(`${base}/hang`, 1);
    const pending = attempt(client, {}, Buffer.alloc(0), 60_000);
    await checkFor(() => client.connections === 1);
    client.close();
    assert.deepEqual(await pending, {
      kind: 'failed',
      status: 0,
      error: 'webhook closed',
      retryAfterMs: null,
    });
    const out = await attempt(client, {}, Buffer.alloc(0), 2000);
    assert.equal(out.kind === 'failed' ? out.error : '', 'webhook closed');
  });

  test('never throws: a URL with credentials, a header value Node refuses', async () => {
    const withCredentials = new WebhookClient(`http://u:p@127.0.0.1:1/`, 1);
    const out = await attempt(withCredentials, {}, Buffer.alloc(0), 2000);
    assert.equal(
      out.kind === 'failed' ? out.error : '',
      'a URL with credentials (user:password@) is refused: nothing is sent',
    );
    const client = new WebhookClient(`${base}/ok`, 1);
    const bad = await attempt(client, { 'weft-subject': 'a\u0001b' }, Buffer.alloc(0), 2000);
    assert.match(bad.kind === 'failed' ? bad.error : '', /Invalid character in header content/);
    // The client goes on.
    assert.equal((await attempt(client, {}, Buffer.alloc(0), 2000)).kind, 'ok');
    client.close();
  });

  test('one deadline: a receiver that never answers times out', async () => {
    const client = new WebhookClient(`${base}/hang`, 1);
    const out = await attempt(client, {}, Buffer.alloc(0), 200);
    assert.equal(out.kind === 'failed' ? out.error : '', 'timed out after 200ms');
    client.close();
  });

  test('a refused connection: the socket error as it is', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const client = new WebhookClient(`http://127.0.0.1:${port}/`, 1);
    const out = await attempt(client, {}, Buffer.alloc(0), 2000);
    assert.equal(out.kind === 'failed' ? out.error : '', `connect ECONNREFUSED 127.0.0.1:${port}`);
    client.close();
  });

  test('keep-alive: consecutive POSTs share one connection, at most `concurrency` at once', async () => {
    const before = accepted;
    const one = new WebhookClient(`${base}/ok`, 1);
    for (let i = 0; i < 20; i++) {
      assert.equal((await attempt(one, {}, Buffer.from(`m${i}`), 2000)).kind, 'ok');
    }
    assert.equal(one.connections, 1);
    assert.equal(accepted - before, 1);
    one.close();
    const four = new WebhookClient(`${base}/ok`, 4);
    const outs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => attempt(four, {}, Buffer.from(`m${i}`), 2000)),
    );
    assert.ok(outs.every((o) => o.kind === 'ok'));
    assert.ok(four.connections <= 4, `${four.connections} connections`);
    four.close();
  });

  test('an idle connection is closed after IDLE_SOCKET_TIMEOUT_MS', async () => {
    // A receiver of its own, that would keep a connection 60 s.
    const closedAt: number[] = [];
    const own = createServer((req, res) => {
      req.resume();
      res.writeHead(204).end();
    });
    own.keepAliveTimeout = 60_000;
    own.on('connection', (c: Socket) => c.on('close', () => closedAt.push(Date.now())));
    await new Promise<void>((r) => own.listen(0, '127.0.0.1', () => r()));
    const client = new WebhookClient(`http://127.0.0.1:${(own.address() as AddressInfo).port}/`, 1);
    try {
      assert.equal((await attempt(client, {}, Buffer.from('x'), 2000)).kind, 'ok');
      const idleFrom = Date.now();
      await checkFor(() => closedAt.length === 1, IDLE_SOCKET_TIMEOUT_MS + 5000, 50);
      // Not before (timers may fire a little early).
      assert.ok(closedAt[0]! - idleFrom >= IDLE_SOCKET_TIMEOUT_MS - 100);
      // The next POST opens a new connection.
      assert.equal((await attempt(client, {}, Buffer.from('y'), 2000)).kind, 'ok');
      assert.equal(client.connections, 2);
    } finally {
      client.close();
      own.closeAllConnections();
      await new Promise<void>((r) => own.close(() => r()));
    }
  });
});

describe('https', () => {
  let dir = '';
  let certs: TestCerts;
  let server: HttpsServer;
  let url = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'weft-hook-tls-'));
    certs = await makeCerts(dir);
    server = createHttpsServer(
      { cert: readFileSync(certs.server.cert), key: readFileSync(certs.server.key) },
      (req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200).end());
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `https://localhost:${(server.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  test("the receiver's certificate is verified: refused unless its CA is trusted", async () => {
    const untrusting = new WebhookClient(url, 1);
    const out = await attempt(untrusting, {}, Buffer.from('x'), 5000);
    assert.equal(out.kind, 'failed');
    assert.match(out.kind === 'failed' ? out.error : '', /certificate/);
    untrusting.close();
    const trusting = new WebhookClient(url, 1, { ca: readFileSync(certs.ca) });
    assert.equal((await attempt(trusting, {}, Buffer.from('x'), 5000)).kind, 'ok');
    assert.equal((await attempt(trusting, {}, Buffer.from('y'), 5000)).kind, 'ok');
    assert.equal(trusting.connections, 1);
    trusting.close();
  });

  test('NODE_EXTRA_CA_CERTS at start (as docs/webhooks.md says) makes a private CA trusted', async () => {
    const client = new URL('../../src/protocols/http/webhooks/client.js', import.meta.url).href;
    const attemptJs = new URL('../../src/protocols/http/webhooks/attempt.js', import.meta.url).href;
    const script = [
      `const { WebhookClient } = await import(${JSON.stringify(client)});`,
      `const { attempt } = await import(${JSON.stringify(attemptJs)});`,
      `const c = new WebhookClient(${JSON.stringify(url)}, 1);`,
      `const out = await attempt(c, {}, Buffer.from('x'), 5000);`,
      'c.close();',
      'process.stdout.write(JSON.stringify(out));',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.ca },
    });
    assert.deepEqual(JSON.parse(stdout), { kind: 'ok', status: 200 });
  });
});

describe('request headers', () => {
  test('Nats-*, ce-* and Content-Type as they are, others X-Nats-Header-*, bad ones left out', () => {
    const block = Buffer.from(
      'NATS/1.0\r\nNats-Msg-Id: 7\r\nce-id: e1\r\nContent-Type: text/plain\r\nHost: evil\r\nWeft-Signature: forged\r\nBad Name: x\r\nX-Two: a\r\nX-Two: b\r\n\r\n',
      'latin1',
    );
    const h = requestHeaders(
      {
        id: 'd1',
        webhook: 'w',
        subject: 's.t',
        headers: block,
        payload: Buffer.from('p'),
        attempt: 2,
      },
      'k',
      1_700_000_000_000,
    );
    assert.equal(h['nats-msg-id'], '7');
    assert.equal(h['ce-id'], 'e1');
    assert.equal(h['content-type'], 'text/plain');
    assert.equal(h['x-nats-header-host'], 'evil');
    assert.equal(h['host'], undefined);
    assert.equal(h['x-nats-header-weft-signature'], 'forged');
    assert.equal(h['x-nats-header-x-two'], 'a, b');
    assert.equal(h['weft-subject'], 's.t');
    assert.equal(h['weft-attempt'], '2');
    assert.equal(h['weft-timestamp'], '1700000000');
    assert.match(h['weft-signature'] ?? '', /^v1=[0-9a-f]{64}$/);
    assert.equal(Object.keys(h).filter((k) => k.startsWith('bad')).length, 0);
  });
});
