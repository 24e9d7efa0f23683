/**
 * The WebSocket listener (src/protocols/websocket/listener.ts) with a
 * test-only echo route (test/helpers/ws-echo.ts, a session on the shared
 * Connection base): routing by path and subprotocol, the refusals before
 * the upgrade (404, 403, 400, 503, 426, handshake timeout), the message
 * bound (1009), max_connections through the registry, wss with the node's
 * certificates, /varz and /metrics, and "going away" on shutdown.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import type { ServerOptions } from '../../src/config/options.js';
import { WebSocketListener } from '../../src/protocols/websocket/listener.js';
import { WeftNode } from '../../src/server/server.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { checkFor, within } from '../helpers/poll.js';
import { addEchoRoute, EchoConnection } from '../helpers/ws-echo.js';

const dirs: string[] = [];

async function startNode(options: Partial<ServerOptions> = {}): Promise<WeftNode> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'weft-ws-'));
  dirs.push(dataDir);
  const node = new WeftNode({
    port: 0,
    httpPort: 0,
    host: '127.0.0.1',
    logLevel: 'error',
    jetstream: false,
    dataDir,
    websocketPort: 0,
    ...options,
  });
  await node.start();
  // The listener is made at start (src/server/server.ts); a route may be added at any time.
  addEchoRoute(node);
  return node;
}

function wsPort(node: WeftNode): number {
  return node.websocket!.listeners[0].port;
}

interface Opened {
  ws: WebSocket;
  got: Buffer[];
  closed: Promise<number>;
}

/** Opens a WebSocket; resolves once open, or rejects with the HTTP status that refused it. */
function open(
  url: string,
  protocols: string[] = ['echo'],
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    const got: Buffer[] = [];
    ws.on('message', (d) => got.push(d as Buffer));
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.once('open', () => resolve({ ws, got, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c;
      });
      res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`)));
    });
    ws.once('error', (err) => reject(err));
  });
}

after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the WebSocket listener', () => {
  let node: WeftNode;
  let base = '';
  before(async () => {
    node = await startNode({
      websocketAllowedOrigins: ['https://app.example.com'],
      websocketMaxMessage: 4096,
      websocketHandshakeTimeoutMs: 300,
    });
    base = `ws://127.0.0.1:${wsPort(node)}`;
  });
  after(() => node.shutdown());

  test('a session on the Connection base runs over it: bytes echo back as binary messages', async () => {
    const c = await open(`${base}/echo?x=1`);
    assert.equal(c.ws.protocol, 'echo');
    c.ws.send(Buffer.from('hello'));
    c.ws.send(Buffer.from(' world'));
    await checkFor(() => Buffer.concat(c.got).toString() === 'hello world');
    const conn = [...node.connections.values()].find((x) => x instanceof EchoConnection);
    assert.ok(conn, 'the connection is in the registry');
    assert.equal(conn.remoteAddress, '127.0.0.1');
    const local = (c.ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    assert.equal(conn.remotePort, local, 'the peer port is the HTTP request socket');
    assert.equal((conn as EchoConnection).protocol, 'echo');
    c.ws.close();
    await checkFor(() => node.connections.size === 0);
  });

  test('an unknown path gets 404; a plain request 426; both counted', async () => {
    await assert.rejects(open(`${base}/nope`), /HTTP 404: no WebSocket service at \/nope/);
    const res = await fetch(`http://127.0.0.1:${wsPort(node)}/echo`);
    assert.equal(res.status, 426);
    assert.equal(res.headers.get('upgrade'), 'websocket');
    assert.equal((await fetch(`http://127.0.0.1:${wsPort(node)}/x`)).status, 404);
    const v = node.websocket!.varz() as { refused: Record<string, number> };
    assert.equal(v.refused.not_found, 2);
    assert.equal(v.refused.not_websocket, 1);
  });

  test('a missing or wrong subprotocol is refused with 400', async () => {
    await assert.rejects(
      open(`${base}/echo`, []),
      /HTTP 400: \/echo needs the WebSocket subprotocol echo, offered: none/,
    );
    await assert.rejects(
      open(`${base}/echo`, ['mqtt', 'other']),
      /HTTP 400: .*offered: mqtt, other/,
    );
    // The client's first choice among those the route speaks is selected.
    const c = await open(`${base}/echo`, ['other', 'echo']);
    assert.equal(c.ws.protocol, 'echo');
    c.ws.close();
    assert.equal(
      (node.websocket!.varz() as { refused: Record<string, number> }).refused.subprotocol,
      2,
    );
  });

  test('a browser origin not in allowed_origins gets 403; a listed one or none passes', async () => {
    await assert.rejects(
      open(`${base}/echo`, ['echo'], { origin: 'https://evil.example.com' }),
      /HTTP 403: origin https:\/\/evil.example.com is not allowed/,
    );
    // The default port is implied, as nats-server compares origins.
    const a = await open(`${base}/echo`, ['echo'], { origin: 'https://app.example.com:443' });
    const b = await open(`${base}/echo`);
    a.ws.close();
    b.ws.close();
    assert.equal((node.websocket!.varz() as { refused: Record<string, number> }).refused.origin, 1);
  });

  test('a message over websocket.max_message closes with 1009, counted; others go on', async () => {
    const other = await open(`${base}/echo`);
    const c = await open(`${base}/echo`);
    c.ws.send(Buffer.alloc(5000));
    assert.equal(await within(c.closed, 2000, 'close'), 1009);
    const v = node.websocket!.varz() as { frame_errors: Record<string, number> };
    assert.equal(v.frame_errors.too_big, 1);
    other.ws.send(Buffer.from('still here'));
    await checkFor(() => Buffer.concat(other.got).toString() === 'still here');
    other.ws.close();
  });

  test('a text frame closes an MQTT-style binary-only route with 1003', async () => {
    const c = await open(`${base}/echo`);
    c.ws.send('text');
    assert.equal(await within(c.closed, 2000, 'close'), 1003);
  });

  test('a connection that never upgrades is closed after handshake_timeout, counted', async () => {
    const sock = tcpConnect(wsPort(node), '127.0.0.1');
    sock.on('error', () => {});
    await within(new Promise((r) => sock.once('close', r)), 3000, 'the idle socket closed');
    assert.ok(
      ((node.websocket!.varz() as { refused: Record<string, number> }).refused.handshake_timeout ??
        0) >= 1,
    );
  });

  test('an invalid handshake (no Sec-WebSocket-Key) gets 400, counted', async () => {
    const sock = tcpConnect(wsPort(node), '127.0.0.1');
    let answer = '';
    sock.on('data', (d) => {
      answer += d;
    });
    sock.write(
      'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: echo\r\n\r\n',
    );
    await within(new Promise((r) => sock.once('close', r)), 3000, 'the refused socket closed');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    const v = node.websocket!.varz() as { refused: Record<string, number> };
    assert.equal(v.refused.bad_handshake, 1);
  });

  test('/varz and /metrics show the listener, its routes and counters', async () => {
    const v = (await (await fetch(`http://127.0.0.1:${node.httpPort}/varz`)).json()) as {
      weft: { faces: Record<string, Record<string, unknown>> };
    };
    const w = v.weft.faces.websocket;
    assert.deepEqual(w.listeners, [
      { setting: 'websocket.port', host: '127.0.0.1', port: wsPort(node), tls: false },
    ]);
    // The NATS face's route (NATS over WebSocket at /, added at start) and the test's own.
    assert.deepEqual(w.routes, [
      { path: '/', subprotocols: [], face: 'nats' },
      { path: '/echo', subprotocols: ['echo'], face: 'echo' },
    ]);
    assert.equal(w.max_message, 4096);
    const m = await (await fetch(`http://127.0.0.1:${node.httpPort}/metrics`)).text();
    assert.match(m, /weft_websocket_refused_total\{reason="not_found"[^}]*\} 2/);
    assert.match(m, /weft_websocket_frame_errors_total\{reason="too_big"[^}]*\} 1/);
    assert.match(m, /weft_websocket_upgrades_total\{face="echo"[^}]*\} \d+/);
  });
});

describe('the WebSocket listener: limits and shutdown', () => {
  test('an upgrade past max_connections gets 503; the registry counts it', async () => {
    const node = await startNode({ maxConnections: 1 });
    try {
      const base = `ws://127.0.0.1:${wsPort(node)}`;
      const first = await open(`${base}/echo`);
      await assert.rejects(open(`${base}/echo`), /HTTP 503: max_connections reached/);
      assert.equal(node.stats.refusedConnections, 1);
      first.ws.close();
      await checkFor(() => node.connections.size === 0);
      const again = await open(`${base}/echo`);
      again.ws.close();
    } finally {
      await node.shutdown();
    }
  });

  test('a client that stops reading is a slow consumer at max_pending: backpressure is real', async () => {
    const node = await startNode({
      maxPending: 256 * 1024,
      maxPayload: 64 * 1024,
      websocketMaxMessage: 128 * 1024,
    });
    try {
      const c = await open(`ws://127.0.0.1:${wsPort(node)}/echo`);
      // The client keeps sending and never reads: the echoes pile up in the
      // server's socket (bufferedAmount) and its queue, up to max_pending.
      c.ws.pause();
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (let i = 0; i < 2000 && node.connections.size > 0; i++) {
        c.ws.send(chunk);
        await new Promise((r) => setImmediate(r));
      }
      await checkFor(() => node.connections.size === 0, 5000);
      const closed = node.connections.closedList.at(-1);
      assert.equal(closed?.type, 'echo');
      assert.equal(closed?.reason, 'Slow Consumer (Pending Bytes)');
      c.ws.terminate();
    } finally {
      await node.shutdown();
    }
  });

  test('websocket.compression negotiates permessage-deflate (off by default)', async () => {
    const on = await startNode({ websocketCompression: true });
    const off = await startNode();
    try {
      const a = await open(`ws://127.0.0.1:${wsPort(on)}/echo`, ['echo'], {
        perMessageDeflate: true,
      });
      const b = await open(`ws://127.0.0.1:${wsPort(off)}/echo`, ['echo'], {
        perMessageDeflate: true,
      });
      assert.match(a.ws.extensions, /permessage-deflate/);
      assert.equal(b.ws.extensions, '');
      const big = Buffer.alloc(100_000, 'abc');
      a.ws.send(big);
      await checkFor(() => Buffer.concat(a.got).equals(big));
      a.ws.close();
      b.ws.close();
    } finally {
      await on.shutdown();
      await off.shutdown();
    }
  });

  test('shutdown closes WebSocket connections with 1001 (going away)', async () => {
    const node = await startNode();
    const c = await open(`ws://127.0.0.1:${wsPort(node)}/echo`);
    await node.shutdown();
    assert.equal(await within(c.closed, 3000, 'close'), 1001);
  });

  test('off by default: no listener, FaceHost.websocket is null', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'weft-ws-'));
    dirs.push(dataDir);
    const node = new WeftNode({
      port: 0,
      httpPort: -1,
      logLevel: 'error',
      jetstream: false,
      dataDir,
    });
    assert.equal(node.websocket, null);
    await node.start();
    assert.equal(
      node.faces.some((f) => f instanceof WebSocketListener),
      false,
    );
    await node.shutdown();
  });
});

describe('wss (websocket.tls)', () => {
  let certs: TestCerts;
  let node: WeftNode;
  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'weft-ws-certs-'));
    dirs.push(dir);
    certs = await makeCerts(dir);
    node = await startNode({
      websocketTls: {
        certFile: certs.server.cert,
        keyFile: certs.server.key,
        caFile: '',
        verify: false,
        verifyAndMap: false,
        timeoutMs: 2000,
      },
    });
  });
  after(() => node.shutdown());

  test('serves wss with the configured certificate; the session sees the TLS handshake', async () => {
    const c = await open(`wss://localhost:${wsPort(node)}/echo`, ['echo'], {
      ca: readFileSync(certs.ca),
    });
    c.ws.send(Buffer.from('secure'));
    await checkFor(() => Buffer.concat(c.got).toString() === 'secure');
    const conn = [...node.connections.values()][0] as EchoConnection;
    assert.match(conn.tls?.version ?? '', /^1\.[23]$/);
    c.ws.close();
    assert.equal(node.websocket!.listeners[0].tls, true);
  });

  test('plain ws on the wss port fails its handshake, counted as plaintext', async () => {
    await assert.rejects(open(`ws://127.0.0.1:${wsPort(node)}/echo`));
    await checkFor(() => (node.tlsHandshakeFailures.get('plaintext') ?? 0) >= 1);
  });
});
