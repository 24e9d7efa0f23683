/**
 * The HTTP API's skeleton with `fetch`: the route table's answers (404,
 * 405 with Allow, 400 for a path that does not decode), the OpenAPI
 * document — every path and method in it answers (not 404/405) — and the
 * connection in /connz's registry; and the `HttpContext` a module's
 * handler gets (bodyJson, maySubscribe, signal), on a table of test routes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/config.js';
import { HttpConnection } from '../../src/protocols/http/connection.js';
import { Dispatcher } from '../../src/protocols/http/dispatch.js';
import type { HttpModule } from '../../src/protocols/http/module.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';
import { apiUrl } from './helpers.js';

describe('HTTP API routes', () => {
  let srv: WeftServer;
  let dir = '';
  let base = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-http-routes-'));
    srv = await startServer({
      port: 0,
      httpPort: 0,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'error',
      httpApiPort: 0,
    });
    base = apiUrl(srv);
  });

  test('/metrics counts requests by route, answers by code and refusals by reason', async () => {
    const metricsOf = async () => (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
    // A series by its name and one label (the node adds server_name).
    const value = (text: string, name: string, label: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const route = ['weft_http_requests_total', 'route="POST /v1/publish/{subject}"'] as const;
    const code = ['weft_http_responses_total', 'code="202"'] as const;
    const notFound = ['weft_http_refused_total', 'reason="not_found"'] as const;
    const before = await metricsOf();
    assert.match(
      before,
      /weft_http_refused_total\{reason="too_large",[^}]*\} 0\n/,
      'every reason from the start',
    );
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${base}/v1/publish/m.x`, { method: 'POST', body: 'x' });
      assert.equal(r.status, 202);
    }
    await (await fetch(`${base}/v1/none`)).body?.cancel();
    const after = await metricsOf();
    assert.equal(value(after, ...route) - value(before, ...route), 3);
    assert.equal(value(after, ...code) - value(before, ...code), 3);
    assert.equal(value(after, ...notFound) - value(before, ...notFound), 1);
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an unknown route is 404 with a JSON error', async () => {
    const r = await fetch(`${base}/v1/nope`);
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const body = (await r.json()) as { error: { code: number; description: string } };
    assert.equal(body.error.code, 404);
    assert.match(body.error.description, /no route \/v1\/nope/);
  });

  test('a wrong method is 405 with Allow', async () => {
    const r = await fetch(`${base}/v1/publish/a.b`, { method: 'GET' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
    await r.body?.cancel();
  });

  test('bad percent-encoding in the path is 400', async () => {
    const r = await fetch(`${base}/v1/publish/a%zz`, { method: 'POST', body: 'x' });
    assert.equal(r.status, 400);
    assert.match(
      ((await r.json()) as { error: { description: string } }).error.description,
      /percent-encoding/,
    );
  });

  test('every path and method of the OpenAPI document answers', async () => {
    const r = await fetch(`${base}/v1/openapi.json`);
    assert.equal(r.status, 200);
    const doc = (await r.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    };
    assert.equal(doc.openapi, '3.1.0');
    const seen: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const url = base + p.replace(/\{[^}]+\}/g, 'x.y');
        const res = await fetch(url, {
          method: method.toUpperCase(),
          ...(method === 'post' || method === 'put' ? { body: '{}' } : {}),
          signal: AbortSignal.timeout(5000),
        });
        // An event stream never ends: its status and type are the answer.
        const streaming = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
        const text = streaming ? '(event stream)' : await res.text();
        if (streaming) await res.body?.cancel();
        // A 404 from the route itself (no webhook of that name) is an answer; the table's is "no route".
        assert.ok(
          !(res.status === 404 && text.includes('"no route ')) && res.status !== 405,
          `${method.toUpperCase()} ${p} answered ${res.status} ${text}`,
        );
        // What is served is what the document says: the status is one it lists.
        const listed = Object.keys(op.responses ?? {});
        assert.ok(
          listed.includes(String(res.status)) || listed.includes('default'),
          `${method.toUpperCase()} ${p} answered ${res.status}, not among its documented responses ${listed.join(', ')}`,
        );
        seen.push(`${method.toUpperCase()} ${p}`);
      }
    }
    for (const must of [
      'POST /v1/publish/{subject}',
      'POST /v1/request/{subject}',
      'GET /v1/subscribe/{subject}',
      'GET /v1/openapi.json',
    ]) {
      assert.ok(seen.includes(must), `${must} is in the document`);
    }
  });

  test('a keep-alive connection is a connection of the node, type http', async () => {
    const r = await fetch(`${base}/v1/nope`);
    await r.body?.cancel();
    const http = [...srv.node.connections.values()].filter((c) => c.face === 'http');
    assert.ok(http.length >= 1);
  });
});

describe('HttpContext for modules (a route table of test routes)', () => {
  let srv: WeftServer;
  let dir = '';
  let base = '';
  let server: Server;
  let aborted = 0;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-http-ctx-'));
    srv = await startServer({
      ...parseConfigText(
        'authorization:\n  users:\n    - user: u\n      password: p\n      permissions:\n        subscribe: { allow: ["ok.>"] }\n',
      ),
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      jetstream: false,
    });
    const host = srv.node;
    const module: HttpModule = {
      name: 'test',
      routes: [
        {
          method: 'POST',
          path: '/t/json',
          module: 'test',
          openapi: {},
          handle: async (ctx) => {
            const b = await ctx.bodyJson();
            if (b !== null) ctx.json(200, { got: b.value, user: ctx.identity.user });
          },
        },
        {
          method: 'GET',
          path: '/t/sub/{subject}',
          module: 'test',
          openapi: {},
          handle: (ctx) => {
            const v = ctx.maySubscribe(ctx.params.subject!);
            if (v !== null) ctx.json(200, v);
          },
        },
        {
          method: 'GET',
          path: '/t/hang',
          module: 'test',
          openapi: {},
          handle: (ctx) => {
            ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
            ctx.res.write('open\n');
            ctx.signal.addEventListener('abort', () => aborted++);
          },
        },
      ],
    };
    const d = new Dispatcher(host, [module], () => false);
    server = createServer();
    const conns = new WeakMap<object, HttpConnection>();
    server.on('request', (req, res) => {
      let c = conns.get(req.socket);
      if (c === undefined) {
        c = new HttpConnection(host.connections.nextId(), req.socket, null, host);
        conns.set(req.socket, c);
        host.connections.opened(c);
      }
      d.serve(c, req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const auth = { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` };

  test('bodyJson: JSON in, identity known; bad JSON is 400', async () => {
    const ok = await fetch(`${base}/t/json`, { method: 'POST', body: '{"a":1}', headers: auth });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { got: { a: 1 }, user: 'u' });
    const bad = await fetch(`${base}/t/json`, { method: 'POST', body: '{"a":', headers: auth });
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as { error: { description: string } }).error.description,
      /not JSON/,
    );
  });

  test('maySubscribe: allowed, or 403 with nats-server text', async () => {
    const ok = await fetch(`${base}/t/sub/ok.x`, { headers: auth });
    assert.deepEqual(await ok.json(), { check: false });
    const no = await fetch(`${base}/t/sub/secret.x`, { headers: auth });
    assert.equal(no.status, 403);
    assert.equal(
      ((await no.json()) as { error: { description: string } }).error.description,
      'Permissions Violation for Subscription to "secret.x"',
    );
  });

  test('signal: aborted when the client goes away before the answer ends', async () => {
    const ac = new AbortController();
    const r = await fetch(`${base}/t/hang`, { headers: auth, signal: ac.signal });
    const reader = r.body!.getReader();
    await reader.read();
    ac.abort();
    await checkFor(() => aborted === 1);
  });
});
