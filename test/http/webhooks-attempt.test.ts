/**
 * One webhook attempt and its retry delay: Retry-After in both forms
 * (RFC 9110 §10.2.3), exponential backoff with full jitter within its
 * ceilings, an endless answer body cut at RESPONSE_BODY_MAX, redirects
 * not followed, the request's headers by the documented rule.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  attempt,
  parseRetryAfter,
  RESPONSE_BODY_MAX,
  retryDelay,
} from '../../src/protocols/http/webhooks/attempt.js';
import { requestHeaders } from '../../src/protocols/http/webhooks/request.js';
import { checkFor } from '../helpers/poll.js';

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
      } else res.writeHead(204).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('an endless answer is read up to its cap, then dropped: the attempt ends long before its timeout', async () => {
    const s = Date.now();
    const out = await attempt(
      `${base}/endless`,
      new Headers(),
      Buffer.from('x'),
      10_000,
      new AbortController().signal,
    );
    assert.equal(out.kind, 'ok');
    assert.ok(Date.now() - s < 5000);
    assert.equal(RESPONSE_BODY_MAX, 64 * 1024);
    // The connection was dropped, not read to its end.
    await checkFor(() => endlessClosed);
  });

  test('a redirect is a failure, not followed', async () => {
    const out = await attempt(
      `${base}/moved`,
      new Headers(),
      Buffer.alloc(0),
      2000,
      new AbortController().signal,
    );
    assert.equal(out.kind, 'failed');
    assert.equal(out.kind === 'failed' ? out.status : 0, 301);
  });

  test('a closed webhook aborts its attempt', async () => {
    const ctl = new AbortController();
    ctl.abort();
    const out = await attempt(`${base}/ok`, new Headers(), Buffer.alloc(0), 2000, ctl.signal);
    assert.equal(out.kind, 'failed');
  });

  test('request headers: Nats-*, ce-* and Content-Type as they are, others X-Nats-Header-*, bad ones left out', () => {
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
    assert.equal(h.get('nats-msg-id'), '7');
    assert.equal(h.get('ce-id'), 'e1');
    assert.equal(h.get('content-type'), 'text/plain');
    assert.equal(h.get('x-nats-header-host'), 'evil');
    assert.equal(h.get('host'), null);
    assert.equal(h.get('x-nats-header-weft-signature'), 'forged');
    assert.equal(h.get('x-nats-header-x-two'), 'a, b');
    assert.equal(h.get('weft-subject'), 's.t');
    assert.equal(h.get('weft-attempt'), '2');
    assert.equal(h.get('weft-timestamp'), '1700000000');
    assert.match(h.get('weft-signature') ?? '', /^v1=[0-9a-f]{64}$/);
  });
});
