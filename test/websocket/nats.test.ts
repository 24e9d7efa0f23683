/**
 * The NATS client protocol over WebSocket, as nats-server's websocket
 * listener serves it: @nats-io/nats-core's wsconnect (the v3 client's
 * WebSocket transport, what browsers use) against the node's WebSocket
 * listener, next to a TCP client of the `nats` package.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type NatsConnection, wsconnect } from '@nats-io/nats-core';
import { connect, StringCodec } from 'nats';
import { WebSocket } from 'ws';
import { startServer, type WeftServer } from '../../src/server/server.js';

const sc = StringCodec();

// Node 20 has no global WebSocket: the client is given the `ws` library's, as a browser has its own.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

describe('NATS over WebSocket', () => {
  let srv: WeftServer;
  let dir = '';
  let url = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-nats-ws-'));
    srv = await startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'error',
      websocketPort: 0,
    });
    url = `ws://127.0.0.1:${srv.node.websocket!.listeners[0]!.port}`;
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('wsconnect publishes and subscribes; a TCP client sees it and answers its requests', async () => {
    const ws: NatsConnection = await wsconnect({ servers: url, name: 'browser-like' });
    const tcp = await connect({ port: srv.port });
    try {
      const got: string[] = [];
      const sub = ws.subscribe('ws.in');
      const done = (async () => {
        for await (const m of sub) {
          got.push(m.string());
          if (got.length === 2) break;
        }
      })();
      tcp.subscribe('svc.echo', {
        callback: (_e, m) => m.respond(sc.encode(`echo ${sc.decode(m.data)}`)),
      });
      const fromWs = tcp.subscribe('ws.out', { max: 1 });
      await tcp.flush();
      await ws.flush();
      ws.publish('ws.out', 'from the browser');
      tcp.publish('ws.in', sc.encode('one'));
      ws.publish('ws.in', 'two');
      for await (const m of fromWs) assert.equal(sc.decode(m.data), 'from the browser');
      await done;
      // Two publishers on two connections: no order between them.
      assert.deepEqual(got.sort(), ['one', 'two']);
      const r = await ws.request('svc.echo', 'hi', { timeout: 2000 });
      assert.equal(r.string(), 'echo hi');
      const c = [...srv.node.connections.values()].find((x) => x.client?.name === 'browser-like');
      assert.equal(c?.face, 'nats');
    } finally {
      await ws.close();
      await tcp.close();
    }
  });
});
