/**
 * The HTTP API across the mesh and over TLS:
 *   - a chain a - b - c: a publish on a's API reaches a NATS subscriber on c,
 *     a request on a is answered by a responder on c, and a publish on c
 *     with `Nats-Expected-Stream` waits for the ack of a stream that lives
 *     on a;
 *   - `http.tls`: the API over HTTPS with the configured certificate; plain
 *     HTTP on that port fails its handshake, counted as plaintext.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StringCodec } from 'nats';
import type { Face } from '../../src/protocols/face.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { chain, checkFor, type Mesh, type MeshNode, startMesh } from '../mesh/helpers.js';
import { apiUrl } from './helpers.js';

const sc = StringCodec();

interface Inner {
  node: { faces: Face[] } | null;
}

function api(n: MeshNode): string {
  const f = (n as MeshNode & Inner).node?.faces.find((x) => x.name === 'http');
  assert.ok(f, `node ${n.name} has no HTTP face`);
  return `http://127.0.0.1:${f.listeners[0]!.port}`;
}

describe('HTTP API across the mesh (chain a - b - c)', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh(chain(3), { extra: { jetstream: true, httpApiPort: 0 } });
  });
  after(() => mesh?.stopAll());

  test('publish and request on a reach a subscriber and a responder on c', async () => {
    const nc = await mesh.node('c').connect();
    const got: string[] = [];
    nc.subscribe('far.events', { callback: (_e, m) => got.push(sc.decode(m.data)) });
    nc.subscribe('far.svc', {
      callback: (_e, m) => m.respond(sc.encode(`answer to ${sc.decode(m.data)}`)),
    });
    await nc.flush();
    await mesh.synced();
    const r = await fetch(`${api(mesh.node('a'))}/v1/publish/far.events`, {
      method: 'POST',
      body: 'e1',
    });
    assert.equal(r.status, 202);
    await checkFor(() => got.length === 1, 3000);
    assert.deepEqual(got, ['e1']);
    const q = await fetch(`${api(mesh.node('a'))}/v1/request/far.svc?timeout=3s`, {
      method: 'POST',
      body: 'q',
    });
    assert.equal(q.status, 200);
    assert.equal(await q.text(), 'answer to q');
  });

  test('Nats-Expected-Stream waits for the ack of a stream on another node', async () => {
    const nc = await mesh.node('a').connect();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'FAR', subjects: ['far.orders.>'] });
    await mesh.synced();
    const r = await fetch(`${api(mesh.node('c'))}/v1/publish/far.orders.1?timeout=3s`, {
      method: 'POST',
      body: 'o',
      headers: { 'Nats-Expected-Stream': 'FAR' },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { stream: 'FAR', seq: 1, duplicate: false });
  });
});

describe('HTTP API over TLS (http.tls)', () => {
  let certs: TestCerts;
  let srv: WeftServer;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-http-tls-'));
    certs = await makeCerts(dir);
    srv = await startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      jetstream: false,
      httpApiPort: 0,
      httpApiTls: {
        certFile: certs.server.cert,
        keyFile: certs.server.key,
        caFile: '',
        verify: false,
        verifyAndMap: false,
        timeoutMs: 2000,
      },
    });
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves HTTPS with the configured certificate', async () => {
    const port = Number(new URL(apiUrl(srv)).port);
    const nc = await import('nats').then((m) => m.connect({ port: srv.port }));
    const got: string[] = [];
    nc.subscribe('secure.x', { callback: (_e, m) => got.push(sc.decode(m.data)) });
    await nc.flush();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: 'localhost',
          port,
          method: 'POST',
          path: '/v1/publish/secure.x',
          ca: readFileSync(certs.ca),
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('over tls');
    });
    assert.equal(status, 202);
    await checkFor(() => got.length === 1);
    assert.deepEqual(got, ['over tls']);
    const conn = [...srv.node.connections.values()].find((c) => c.face === 'http');
    assert.match(conn?.tls?.version ?? '', /^1\.[23]$/);
    await nc.close();
  });

  test('plain HTTP on the HTTPS port fails its handshake, counted', async () => {
    const port = Number(new URL(apiUrl(srv)).port);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/v1/openapi.json`));
    const face = srv.node.faces.find((f) => f.name === 'http')!;
    await checkFor(() => (face.tlsFailures?.get('plaintext') ?? 0) >= 1);
  });
});
