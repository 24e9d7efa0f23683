/**
 * The node hosts its faces (docs/faces.md): each reports its listeners and
 * connections to /varz, /connz and /metrics, and shutdown closes the
 * connections of every face through the one registry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from 'nats';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';

async function json<T>(srv: WeftServer, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${srv.httpPort}${path}`);
  assert.equal(res.status, 200, path);
  return (await res.json()) as T;
}

describe('faces', () => {
  let srv: WeftServer;
  before(async () => {
    srv = await startServer({
      port: 0,
      httpPort: 0,
      host: '127.0.0.1',
      logLevel: 'error',
      jetstream: false,
    });
  });
  after(() => srv.close());

  test('/varz lists each face with its listeners and open connections', async () => {
    const nc = await connect({ port: srv.port, name: 'faces-varz' });
    try {
      const v = await json<{
        weft: {
          faces: Record<
            string,
            { listeners: { setting: string; port: number; tls: boolean }[]; connections: number }
          >;
        };
      }>(srv, '/varz');
      const nats = v.weft.faces.nats;
      assert.ok(nats, 'the NATS face is listed');
      assert.deepEqual(
        nats.listeners.map((l) => [l.setting, l.port, l.tls]),
        [['port', srv.port, false]],
      );
      assert.equal(nats.connections, 1);
    } finally {
      await nc.close();
    }
  });

  test('/connz names each connection face as its type; /metrics counts per face', async () => {
    const nc = await connect({ port: srv.port, name: 'faces-connz' });
    try {
      const cz = await json<{ connections: { name: string; type: string }[] }>(srv, '/connz');
      const row = cz.connections.find((c) => c.name === 'faces-connz');
      assert.equal(row?.type, 'nats');
      const text = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
      const m = /^weft_face_connections\{[^}]*face="nats"[^}]*\} (\d+)$/m.exec(text);
      assert.ok(m, 'weft_face_connections{face="nats"} is exported');
      assert.ok(Number(m[1]) >= 1);
    } finally {
      await nc.close();
    }
  });

  test('a closed connection is remembered with its face', async () => {
    const nc = await connect({ port: srv.port, name: 'faces-closed' });
    await nc.close();
    await checkFor(async () => {
      const cz = await json<{ connections: { name: string; type: string; reason: string }[] }>(
        srv,
        '/connz?state=closed',
      );
      const row = cz.connections.find((c) => c.name === 'faces-closed');
      if (row === undefined) return false;
      assert.equal(row.type, 'nats');
      assert.equal(row.reason, 'Client Closed');
      return true;
    }, 3000);
  });
});

test('shutdown closes every connection through the registry and frees the port', async () => {
  const srv = await startServer({
    port: 0,
    httpPort: -1,
    host: '127.0.0.1',
    logLevel: 'error',
    jetstream: false,
  });
  const nc = await connect({ port: srv.port, reconnect: false });
  const closed = nc.closed();
  assert.equal(srv.node.connections.size, 1);
  await srv.close();
  await closed;
  assert.equal(srv.node.connections.size, 0);
  assert.equal(srv.node.connections.closedList.at(-1)?.reason, 'Server Shutdown');
});
