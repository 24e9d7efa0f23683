/**
 * CORS on the HTTP API, on the wire (node:http, so every header is seen as
 * sent): `http.allowed_origins` parsed and checked; a preflight from a
 * listed origin (204: the path's methods, the requested headers the API
 * reads, Max-Age, credentials) with no login, from another origin (403,
 * counted), on an unknown path (404); the CORS headers on answers and on
 * errors (401, 403, 404, 405, 413) with the headers a script must read
 * exposed; an unlisted origin answered without them; `*`; the default
 * sending none; the same on the WebSocket port. The browser's side is
 * test/http/cors-browser.test.ts.
 */
import assert from 'node:assert/strict';
import { type IncomingHttpHeaders, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection, headers as natsHeaders } from 'nats';
import { optionsFromFlags, parseConfigText, validateOptions } from '../../src/config/config.js';
import { type ServerOptions, withDefaults } from '../../src/config/options.js';
import { ConfigError } from '../../src/errors.js';
import type { WeftServer } from '../../src/server/server.js';
import { startApiNode } from './helpers.js';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.com';
const ALICE = `Basic ${Buffer.from('alice:wonder').toString('base64')}`;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection, every header as the node sent it. */
function call(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const preflight = (url: string, origin: string, method: string, asked?: string) =>
  call('OPTIONS', url, {
    Origin: origin,
    'Access-Control-Request-Method': method,
    ...(asked === undefined ? {} : { 'Access-Control-Request-Headers': asked }),
  });

function exposed(a: Answer): string[] {
  return String(a.headers['access-control-expose-headers'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

/** The CORS headers of an answer to APP from a node that lists it. */
function assertCorsFor(a: Answer, origin: string, what: string): void {
  assert.equal(a.headers['access-control-allow-origin'], origin, what);
  assert.equal(a.headers['access-control-allow-credentials'], 'true', what);
  assert.match(String(a.headers.vary), /\bOrigin\b/, what);
}

function assertNoCors(a: Answer, what: string): void {
  for (const h of Object.keys(a.headers)) {
    assert.ok(!h.startsWith('access-control-'), `${what}: ${h} was sent`);
  }
}

const USERS = `
authorization:
  users:
    - user: alice
      password: wonder
      permissions:
        publish: { allow: ["orders.>", "svc.>"] }
        subscribe: { allow: ["_INBOX.>"] }
    - user: svc
      password: svc
`;

function node(extra: Partial<ServerOptions>) {
  return startApiNode(USERS, { maxPayload: 4096, ...extra }, 'weft-http-cors-');
}

function refused(srv: WeftServer): Record<string, number> {
  const f = srv.node.faces.find((x) => x.name === 'http')!;
  return (f.varz!() as { refused: Record<string, number> }).refused;
}

describe('http.allowed_origins: the setting', () => {
  test('YAML: origins normalised as websocket.allowed_origins; * alone; default empty', () => {
    assert.deepEqual(withDefaults().httpAllowedOrigins, []);
    const o = parseConfigText(
      'http: {allowed_origins: ["https://App.Example.com:443", "http://localhost:3000"]}',
    );
    assert.deepEqual(o.httpAllowedOrigins, ['https://app.example.com', 'http://localhost:3000']);
    assert.deepEqual(parseConfigText('http: {allowed_origins: ["*"]}').httpAllowedOrigins, ['*']);
    assert.throws(
      () => parseConfigText('http: {allowed_origins: [app.example.com]}'),
      (e: Error) => e instanceof ConfigError && /http\.allowed_origins/.test(e.message),
    );
    assert.throws(
      () => validateOptions(withDefaults({ httpAllowedOrigins: ['*', APP] })),
      /http\.allowed_origins.*stands alone/,
    );
  });

  test('flag: a comma-separated list', () => {
    const o = optionsFromFlags({ 'http-api-allowed-origins': `${APP}, http://localhost:3000` });
    assert.deepEqual(o.httpAllowedOrigins, [APP, 'http://localhost:3000']);
    assert.throws(
      () => optionsFromFlags({ 'http-api-allowed-origins': 'ftp://x' }),
      /--http-api-allowed-origins/,
    );
  });
});

describe('CORS with listed origins (HTTP port and WebSocket port)', () => {
  let n: Awaited<ReturnType<typeof node>>;
  let nc: NatsConnection;
  let ws = '';
  before(async () => {
    n = await node({ httpAllowedOrigins: [APP, 'http://localhost:3000'], websocketPort: 0 });
    ws = `http://127.0.0.1:${n.srv.node.websocket!.listeners[0]!.port}`;
    nc = await connect({ port: n.srv.port, user: 'svc', pass: 'svc' });
    nc.subscribe('svc.echo', {
      callback: (_e, m) => {
        const h = natsHeaders();
        h.set('Nats-Msg-Id', 'r-1');
        h.set('Trace', 'abc');
        m.respond(m.data, { headers: h });
      },
    });
    await nc.flush();
  });
  after(async () => {
    await nc?.close();
    await n?.close();
  });

  for (const port of ['http', 'websocket'] as const) {
    const base = () => (port === 'http' ? n.base : ws);

    test(`${port} port: a preflight from a listed origin is 204, needs no login, lists what the API reads`, async () => {
      const a = await preflight(
        `${base()}/v1/publish/orders.new`,
        APP,
        'POST',
        'authorization, content-type, nats-msg-id, x-nats-header-trace, ce-type, last-event-id, x-evil',
      );
      assert.equal(a.status, 204);
      assertCorsFor(a, APP, 'preflight');
      assert.equal(a.headers['access-control-allow-methods'], 'POST');
      assert.equal(
        a.headers['access-control-allow-headers'],
        'authorization, content-type, nats-msg-id, x-nats-header-trace, ce-type, last-event-id',
      );
      assert.equal(a.headers['access-control-max-age'], '600');
      assert.equal(a.body, '');
      // A path with two methods lists both; the origin as the browser sends it is echoed.
      const w = await preflight(`${base()}/v1/webhooks`, 'http://localhost:3000', 'POST');
      assert.equal(w.status, 204);
      assert.equal(w.headers['access-control-allow-origin'], 'http://localhost:3000');
      assert.equal(w.headers['access-control-allow-methods'], 'GET, POST');
      assert.equal(w.headers['access-control-allow-headers'], undefined);
    });

    test(`${port} port: a preflight from another origin is 403 (counted), an unknown path 404`, async () => {
      const before = refused(n.srv).origin_not_allowed ?? 0;
      const a = await preflight(`${base()}/v1/publish/orders.new`, EVIL, 'POST', 'authorization');
      assert.equal(a.status, 403);
      assertNoCors(a, 'refused preflight');
      assert.deepEqual(JSON.parse(a.body), {
        error: { code: 403, description: `origin ${EVIL} is not allowed (http.allowed_origins)` },
      });
      assert.equal(refused(n.srv).origin_not_allowed, before + 1);
      const u = await preflight(`${base()}/v1/nope`, APP, 'POST');
      assert.equal(u.status, 404);
      // OPTIONS that is not a preflight (no Access-Control-Request-Method): 405 as any method.
      const o = await call('OPTIONS', `${base()}/v1/publish/x`, { Origin: APP });
      assert.equal(o.status, 405);
      assertCorsFor(o, APP, '405');
      assert.deepEqual(exposed(o), ['allow']);
    });

    test(`${port} port: answers to a listed origin carry CORS and expose the reply's headers`, async () => {
      const p = await call(
        'POST',
        `${base()}/v1/publish/orders.new`,
        { Origin: APP, Authorization: ALICE },
        'x',
      );
      assert.equal(p.status, 202);
      assertCorsFor(p, APP, 'publish');
      const r = await call(
        'POST',
        `${base()}/v1/request/svc.echo`,
        { Origin: APP, Authorization: ALICE },
        'ping',
      );
      assert.equal(r.status, 200);
      assert.equal(r.body, 'ping');
      assertCorsFor(r, APP, 'request');
      assert.deepEqual(exposed(r).sort(), ['nats-msg-id', 'x-nats-header-trace']);
      assert.equal(r.headers['x-nats-header-trace'], 'abc');
    });

    test(`${port} port: errors carry CORS too (401, 403, 404, 413)`, async () => {
      const e401 = await call('POST', `${base()}/v1/publish/orders.new`, {
        Origin: APP,
        Authorization: 'Basic Ym9iOm5v',
      });
      assert.equal(e401.status, 401);
      assertCorsFor(e401, APP, '401');
      assert.deepEqual(exposed(e401), ['www-authenticate']);
      const e403 = await call('POST', `${base()}/v1/publish/secret.x`, {
        Origin: APP,
        Authorization: ALICE,
      });
      assert.equal(e403.status, 403);
      assertCorsFor(e403, APP, '403');
      const e404 = await call('GET', `${base()}/v1/nope`, { Origin: APP });
      assert.equal(e404.status, 404);
      assertCorsFor(e404, APP, '404');
      const e413 = await call(
        'POST',
        `${base()}/v1/publish/orders.new`,
        { Origin: APP, Authorization: ALICE },
        'x'.repeat(5000),
      );
      assert.equal(e413.status, 413);
      assertCorsFor(e413, APP, '413');
      assert.equal(JSON.parse(e413.body).error.code, 413);
    });

    test(`${port} port: another origin: reads answered without CORS headers, writes refused (403)`, async () => {
      const g = await call('GET', `${base()}/v1/openapi.json`, { Origin: EVIL });
      assert.equal(g.status, 200);
      assertNoCors(g, 'unlisted origin, GET');
      assert.equal(g.headers.vary, 'Origin');
      // A "simple" cross-origin POST (a form: no preflight) would carry ambient credentials: refused.
      const seen: string[] = [];
      const sub = nc.subscribe('orders.>', { callback: (_e, m) => seen.push(m.subject) });
      await nc.flush();
      const before = refused(n.srv).origin_not_allowed ?? 0;
      const w = await call(
        'POST',
        `${base()}/v1/publish/orders.evil`,
        { Origin: EVIL, Authorization: ALICE, 'Content-Type': 'text/plain' },
        'x',
      );
      assert.equal(w.status, 403);
      assertNoCors(w, 'cross-origin write');
      assert.deepEqual(JSON.parse(w.body), {
        error: {
          code: 403,
          description: `a POST from origin ${EVIL} is not allowed (http.allowed_origins)`,
        },
      });
      const site = await call(
        'POST',
        `${base()}/v1/publish/orders.evil`,
        { 'Sec-Fetch-Site': 'cross-site', Authorization: ALICE },
        'x',
      );
      assert.equal(site.status, 403);
      assert.equal(refused(n.srv).origin_not_allowed, before + 2);
      // The same origin (Origin names the Host; or the browser says same-origin), or none: answered.
      const host = new URL(base()).host;
      for (const h of <Record<string, string>[]>[
        { Origin: `http://${host}` },
        { Origin: 'https://behind.a.proxy', 'Sec-Fetch-Site': 'same-origin' },
        {},
      ]) {
        const a = await call(
          'POST',
          `${base()}/v1/publish/orders.ok`,
          { ...h, Authorization: ALICE },
          'x',
        );
        assert.equal(a.status, 202, JSON.stringify(h));
        assertNoCors(a, JSON.stringify(h));
      }
      await nc.flush();
      sub.unsubscribe();
      assert.deepEqual(seen, ['orders.ok', 'orders.ok', 'orders.ok']);
    });
  }
});

describe('CORS with *', () => {
  let n: Awaited<ReturnType<typeof node>>;
  before(async () => {
    n = await node({ httpAllowedOrigins: ['*'] });
  });
  after(() => n.close());

  test('any origin: Allow-Origin *, never with credentials', async () => {
    const a = await preflight(`${n.base}/v1/publish/orders.new`, EVIL, 'POST', 'authorization');
    assert.equal(a.status, 204);
    assert.equal(a.headers['access-control-allow-origin'], '*');
    assert.equal(a.headers['access-control-allow-credentials'], undefined);
    assert.equal(a.headers['access-control-allow-headers'], 'authorization');
    const p = await call(
      'POST',
      `${n.base}/v1/publish/orders.new`,
      { Origin: 'http://localhost:1234', Authorization: ALICE },
      'x',
    );
    assert.equal(p.status, 202);
    assert.equal(p.headers['access-control-allow-origin'], '*');
    assert.equal(p.headers['access-control-allow-credentials'], undefined);
    const e = await call('POST', `${n.base}/v1/publish/orders.new`, { Origin: EVIL });
    assert.equal(e.status, 401);
    assert.equal(e.headers['access-control-allow-origin'], '*');
    assert.deepEqual(exposed(e), ['www-authenticate']);
  });
});

describe('CORS by default (no allowed_origins)', () => {
  let n: Awaited<ReturnType<typeof node>>;
  before(async () => {
    n = await node({});
  });
  after(() => n.close());

  test('same origin only: no CORS header on any answer; a preflight or a cross-origin write is 403', async () => {
    const g = await call('GET', `${n.base}/v1/openapi.json`, { Origin: APP });
    assert.equal(g.status, 200);
    assertNoCors(g, 'default GET');
    assert.equal(g.headers.vary, undefined);
    const same = await call(
      'POST',
      `${n.base}/v1/publish/orders.new`,
      { Origin: n.base, Authorization: ALICE },
      'x',
    );
    assert.equal(same.status, 202);
    assertNoCors(same, 'default same-origin publish');
    const p = await call(
      'POST',
      `${n.base}/v1/publish/orders.new`,
      { Origin: APP, Authorization: ALICE },
      'x',
    );
    assert.equal(p.status, 403);
    assertNoCors(p, 'default cross-origin publish');
    const a = await preflight(`${n.base}/v1/publish/orders.new`, APP, 'POST');
    assert.equal(a.status, 403);
    assertNoCors(a, 'default preflight');
    assert.equal(refused(n.srv).origin_not_allowed, 2);
  });
});
