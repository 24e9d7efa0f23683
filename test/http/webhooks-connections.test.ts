/**
 * A webhook's connections: kept alive between POSTs (a burst is carried
 * by at most `concurrency` connections), closed when the webhook is
 * deleted or stopped by a 410, and, for https, the receiver's
 * certificate verified (a receiver whose CA the node does not trust gets
 * nothing, and the status says why).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection, StringCodec } from 'nats';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { makeCerts } from '../helpers/certs.js';
import { checkFor } from '../helpers/poll.js';
import { Receiver } from './webhook-receiver.js';

const sc = StringCodec();

describe('webhook connections', () => {
  let srv: WeftServer;
  let nc: NatsConnection;
  let dir = '';
  let tlsRx: HttpsServer;
  let tlsUrl = '';
  let tlsRequests = 0;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-conn-'));
    const certs = await makeCerts(path.join(dir));
    // A receiver with a certificate from the tests' CA, which the node does not trust.
    tlsRx = createHttpsServer(
      { cert: readFileSync(certs.server.cert), key: readFileSync(certs.server.key) },
      (req, res) => {
        tlsRequests++;
        req.resume();
        res.writeHead(200).end();
      },
    );
    await new Promise<void>((r) => tlsRx.listen(0, '127.0.0.1', () => r()));
    tlsUrl = `https://localhost:${(tlsRx.address() as AddressInfo).port}/hook`;
    srv = await startServer({
      port: 0,
      httpPort: 0,
      httpApiPort: 0,
      host: '127.0.0.1',
      dataDir: path.join(dir, 'data'),
      logLevel: 'silent',
    });
    nc = await connect({ port: srv.port });
  });

  after(async () => {
    await nc?.close();
    await srv?.close();
    tlsRx?.closeAllConnections();
    await new Promise<void>((r) => (tlsRx ? tlsRx.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (method: string, p: string, body?: unknown) => {
    const port = srv.node.faces.find((f) => f.name === 'http')!.listeners[0]!.port;
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely, field by field, in assertions
    return { status: res.status, body: text === '' ? null : (JSON.parse(text) as any) };
  };

  test('a burst goes over at most `concurrency` kept-alive connections; deleting the webhook closes them', async () => {
    const rx = await new Receiver().start();
    try {
      const made = await api('POST', '/v1/webhooks', {
        name: 'keep',
        url: rx.url,
        subject: 'keep',
        concurrency: 4,
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      for (let i = 0; i < 200; i++) nc.publish('keep', sc.encode(`m${i}`));
      await checkFor(() => rx.received.length === 200, 10_000);
      assert.ok(rx.accepted <= 4, `${rx.accepted} connections for 200 POSTs`);
      const s = await api('GET', '/v1/webhooks/keep');
      assert.equal(s.body.status.connections, rx.accepted);
      assert.ok(rx.openConnections() > 0);
      assert.equal((await api('DELETE', '/v1/webhooks/keep')).status, 200);
      await checkFor(() => rx.openConnections() === 0);
    } finally {
      await rx.stop();
    }
  });

  test('a 410 stops the webhook and its connection closes', async () => {
    const rx = await new Receiver(() => ({ status: 410 })).start();
    try {
      assert.equal(
        (await api('POST', '/v1/webhooks', { name: 'gone', url: rx.url, subject: 'gone' })).status,
        201,
      );
      nc.publish('gone', sc.encode('x'));
      await checkFor(
        async () => (await api('GET', '/v1/webhooks/gone')).body.status.state === 'stopped',
        10_000,
      );
      await checkFor(() => rx.openConnections() === 0);
      assert.equal(rx.received.length, 1);
    } finally {
      await rx.stop();
    }
  });

  test('https: a receiver whose certificate the node cannot verify gets nothing; last_error says why', async () => {
    const made = await api('POST', '/v1/webhooks', {
      name: 'tls',
      url: tlsUrl,
      subject: 'tls',
      retry_base: '50ms',
      retry_max: '100ms',
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    nc.publish('tls', sc.encode('secret'));
    await checkFor(
      async () => (await api('GET', '/v1/webhooks/tls')).body.status.failed >= 2,
      10_000,
    );
    const s = (await api('GET', '/v1/webhooks/tls')).body.status;
    assert.match(String(s.last_error), /certificate/);
    assert.equal(s.delivered, 0);
    assert.equal(tlsRequests, 0);
  });
});
