/**
 * The HTTP API on the WebSocket listener: with both on, plain requests
 * under /v1/ on `websocket.port` are the API's (a browser app needs one
 * port), while NATS over WebSocket at / keeps working on the same port and
 * other plain requests are refused as before.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { wsconnect } from '@nats-io/nats-core';
import { connect, StringCodec } from 'nats';
import { WebSocket } from 'ws';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';

const sc = StringCodec();
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

describe('HTTP API on the WebSocket port', () => {
  let srv: WeftServer;
  let dir = '';
  let ws = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-http-ws-'));
    srv = await startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'error',
      httpApiPort: 0,
      websocketPort: 0,
      jetstream: false,
    });
    ws = `127.0.0.1:${srv.node.websocket!.listeners[0]!.port}`;
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('publish and request on the WebSocket port; NATS over WebSocket beside them', async () => {
    const nc = await connect({ port: srv.port });
    const wsc = await wsconnect({ servers: `ws://${ws}` });
    try {
      const got: string[] = [];
      nc.subscribe('shared.>', { callback: (_e, m) => got.push(sc.decode(m.data)) });
      nc.subscribe('svc.time', { callback: (_e, m) => m.respond(sc.encode('now')) });
      await nc.flush();
      const r = await fetch(`http://${ws}/v1/publish/shared.a`, {
        method: 'POST',
        body: 'via ws port',
      });
      assert.equal(r.status, 202);
      const q = await fetch(`http://${ws}/v1/request/svc.time`, { method: 'POST' });
      assert.equal(q.status, 200);
      assert.equal(await q.text(), 'now');
      wsc.publish('shared.b', sc.encode('via websocket'));
      await wsc.flush();
      await checkFor(() => got.length === 2);
      assert.deepEqual(got.sort(), ['via websocket', 'via ws port']);
      const http = [...srv.node.connections.values()].filter((c) => c.face === 'http');
      assert.ok(http.length >= 1, 'the connection is the HTTP face’s');
    } finally {
      await wsc.close();
      await nc.close();
    }
  });

  test('the OpenAPI document and errors are the same there; other plain requests are refused as before', async () => {
    const doc = await fetch(`http://${ws}/v1/openapi.json`);
    assert.equal(doc.status, 200);
    await doc.body?.cancel();
    const nf = await fetch(`http://${ws}/v1/nope`);
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { error: { code: number } }).error.code, 404);
    const root = await fetch(`http://${ws}/`);
    assert.equal(root.status, 426);
    await root.body?.cancel();
  });
});
