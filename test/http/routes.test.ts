/**
 * The HTTP API's skeleton with `fetch`: the route table's answers (404,
 * 405 with Allow, 400 for a path that does not decode), the OpenAPI
 * document — every path and method in it answers (not 404/405) — and the
 * connection in /connz's registry.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { apiUrl } from './helpers.js';

describe('HTTP API routes', () => {
  let srv: WeftServer;
  let dir = '';
  let base = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-http-routes-'));
    srv = await startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'error',
      httpApiPort: 0,
    });
    base = apiUrl(srv);
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
      paths: Record<string, Record<string, unknown>>;
    };
    assert.equal(doc.openapi, '3.1.0');
    const seen: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        const url = base + p.replace(/\{[^}]+\}/g, 'x.y');
        const res = await fetch(url, {
          method: method.toUpperCase(),
          ...(method === 'post' || method === 'put' ? { body: '{}' } : {}),
          signal: AbortSignal.timeout(5000),
        });
        // A 404 from the route itself (no webhook of that name) is an answer; the table's is "no route".
        const text = await res.text();
        assert.ok(
          !(res.status === 404 && text.includes('"no route ')) && res.status !== 405,
          `${method.toUpperCase()} ${p} answered ${res.status} ${text}`,
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
