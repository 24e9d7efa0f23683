/**
 * TLS on the client port, against Weft and (WEFT_TEST_TARGET=nats-server)
 * nats-server 2.9 with the same certificates: INFO in clear with
 * tls_required, then the handshake; the official clients connect with a CA
 * file and with a client certificate under verify; every refusal (plain text,
 * no certificate, expired, untrusted, a stalled handshake) closes that socket
 * alone, leaving established connections working.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { connect as connectV3 } from '@nats-io/transport-node';
import { connect, type NatsConnection } from 'nats';
import type { TlsConfig } from '../../src/auth/types.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import {
  checkFor,
  monitorJson,
  startTarget,
  TARGET,
  type Target,
  within,
} from '../helpers/harness.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

let certs: TestCerts;
let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weft-tls-'));
  certs = await makeCerts(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tlsBlock(verify: boolean, timeoutMs = 2000): TlsConfig {
  return {
    certFile: certs.server.cert,
    keyFile: certs.server.key,
    caFile: certs.ca,
    verify,
    verifyAndMap: false,
    timeoutMs,
  };
}

/** Reads the plaintext INFO line, as a client does before its handshake. */
async function readInfo(sock: net.Socket): Promise<Record<string, unknown>> {
  let buf = '';
  return within(
    new Promise((resolve, reject) => {
      const onData = (d: Buffer) => {
        buf += d.toString('latin1');
        const end = buf.indexOf('\r\n');
        if (end < 0) return;
        sock.off('data', onData);
        sock.pause();
        resolve(JSON.parse(buf.slice(5, end)) as Record<string, unknown>);
      };
      sock.on('data', onData);
      sock.once('error', reject);
    }),
    3000,
    'INFO',
  );
}

function openRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything the peer sends until it closes, and when it closed. */
function untilClosed(sock: net.Socket, ms: number): Promise<{ text: string; at: number }> {
  let text = '';
  sock.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  sock.on('error', () => {});
  sock.resume();
  return within(
    new Promise((resolve) => sock.once('close', () => resolve({ text, at: Date.now() }))),
    ms,
    'the server to close the socket',
  );
}

/**
 * INFO in clear, then a TLS handshake with `opts`; resolves to the result of
 * a PING after CONNECT: 'PONG', or the error/close that ended it.
 */
async function tlsPing(port: number, opts: tls.ConnectionOptions): Promise<string> {
  const raw = await openRaw(port);
  await readInfo(raw);
  const sock = tls.connect({
    socket: raw,
    servername: 'localhost',
    ca: readFileSync(certs.ca),
    ...opts,
  });
  sock.on('error', () => {});
  let text = '';
  const done = new Promise<string>((resolve) => {
    sock.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('PONG\r\n')) resolve('PONG');
    });
    sock.once('close', () => resolve(`closed: ${JSON.stringify(text)}`));
  });
  sock.once('secureConnect', () => sock.write('CONNECT {"verbose":false}\r\nPING\r\n'));
  try {
    return await within(done, 5000, 'PONG or close');
  } finally {
    sock.destroy();
  }
}

const caOnly = () => ({ caFile: certs.ca });
const withClientCert = () => ({
  caFile: certs.ca,
  certFile: certs.client.cert,
  keyFile: certs.client.key,
});

async function pubSubWorks(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject, { max: 1 });
  nc.publish(subject, enc.encode('over tls'));
  for await (const m of sub) assert.equal(dec.decode(m.data), 'over tls');
}

describe('TLS on the client port (server certificate only)', () => {
  let srv: Target;
  const conns: NatsConnection[] = [];
  before(async () => {
    srv = await startTarget({ tls: tlsBlock(false) });
  });
  after(async () => {
    await Promise.all(conns.map((nc) => (nc.isClosed() ? undefined : nc.close())));
    await srv.close();
  });

  test('INFO is sent in clear with tls_required, without tls_verify', async () => {
    const raw = await openRaw(srv.port);
    try {
      const info = await readInfo(raw);
      assert.equal(info.tls_required, true);
      assert.equal(info.tls_verify, undefined);
    } finally {
      raw.destroy();
    }
  });

  test('the nats v2 client connects with a CA file; pub/sub works', async () => {
    const nc = await connect({ servers: srv.url, reconnect: false, tls: caOnly() });
    conns.push(nc);
    await pubSubWorks(nc, 'tls.v2');
  });

  test('the @nats-io/transport-node v3 client connects with a CA file; pub/sub works', async () => {
    const nc = await connectV3({ servers: srv.url, reconnect: false, tls: caOnly() });
    try {
      const sub = nc.subscribe('tls.v3', { max: 1 });
      nc.publish('tls.v3', enc.encode('over tls'));
      for await (const m of sub) assert.equal(dec.decode(m.data), 'over tls');
    } finally {
      await nc.close();
    }
  });

  test('a client that does not trust the server certificate fails to connect', async () => {
    await assert.rejects(
      connect({ servers: srv.url, reconnect: false, tls: { caFile: certs.otherCa } }),
    );
  });

  test('/connz shows tls_version and tls_cipher_suite', async () => {
    const nc = await connect({
      servers: srv.url,
      reconnect: false,
      tls: caOnly(),
      name: 'connz-tls',
    });
    conns.push(nc);
    await nc.flush();
    const body = await monitorJson<{ connections: Record<string, unknown>[] }>(srv, '/connz');
    const row = body.connections.find((c) => c.name === 'connz-tls');
    assert.ok(row, JSON.stringify(body));
    assert.match(String(row.tls_version), /^1\.[23]$/);
    assert.match(String(row.tls_cipher_suite), /^TLS_/);
  });

  test('a plaintext CONNECT on the TLS port: the socket is closed with nothing after INFO', async () => {
    const nc = await connect({ servers: srv.url, reconnect: false, tls: caOnly() });
    conns.push(nc);
    const raw = await openRaw(srv.port);
    await readInfo(raw);
    const closed = untilClosed(raw, 5000);
    raw.write('CONNECT {"verbose":false}\r\nPING\r\n');
    const { text } = await closed;
    assert.equal(text, '', 'nothing is sent in clear after INFO');
    // Nobody else noticed.
    await pubSubWorks(nc, 'tls.after.plain');
    const closedConns = await monitorJson<{ connections: Record<string, unknown>[] }>(
      srv,
      '/connz?state=closed',
    );
    assert.ok(
      closedConns.connections.some((c) => c.reason === 'TLS Handshake Failure'),
      JSON.stringify(closedConns),
    );
  });
});

describe('TLS with verify (mutual TLS)', () => {
  let srv: Target;
  const conns: NatsConnection[] = [];
  before(async () => {
    srv = await startTarget({ tls: tlsBlock(true, 500) });
  });
  after(async () => {
    await Promise.all(conns.map((nc) => (nc.isClosed() ? undefined : nc.close())));
    await srv.close();
  });

  test('INFO announces tls_required and tls_verify', async () => {
    const raw = await openRaw(srv.port);
    try {
      const info = await readInfo(raw);
      assert.equal(info.tls_required, true);
      assert.equal(info.tls_verify, true);
    } finally {
      raw.destroy();
    }
  });

  test('v2 and v3 clients connect with a client certificate; pub/sub works across them', async () => {
    const v2 = await connect({ servers: srv.url, reconnect: false, tls: withClientCert() });
    conns.push(v2);
    const v3 = await connectV3({ servers: srv.url, reconnect: false, tls: withClientCert() });
    try {
      const sub = v3.subscribe('mtls.x', { max: 1 });
      await v3.flush();
      v2.publish('mtls.x', enc.encode('mutual'));
      for await (const m of sub) assert.equal(dec.decode(m.data), 'mutual');
    } finally {
      await v3.close();
    }
  });

  test('the official client without a certificate cannot connect', async () => {
    await assert.rejects(connect({ servers: srv.url, reconnect: false, tls: caOnly() }));
  });

  test('a raw TLS client with a certificate gets PONG', async () => {
    assert.equal(
      await tlsPing(srv.port, {
        cert: readFileSync(certs.client.cert),
        key: readFileSync(certs.client.key),
      }),
      'PONG',
    );
  });

  test('every bad certificate is refused, and an established connection keeps working', async () => {
    const nc = await connect({ servers: srv.url, reconnect: false, tls: withClientCert() });
    conns.push(nc);
    const cases: [string, tls.ConnectionOptions][] = [
      ['no certificate', {}],
      ['expired', { cert: readFileSync(certs.expired.cert), key: readFileSync(certs.expired.key) }],
      [
        'untrusted CA',
        { cert: readFileSync(certs.untrusted.cert), key: readFileSync(certs.untrusted.key) },
      ],
    ];
    for (const [name, opts] of cases) {
      const got = await tlsPing(srv.port, opts);
      assert.match(got, /^closed: ""$/, `${name}: ${got}`);
    }
    await pubSubWorks(nc, 'mtls.after.refusals');
  });

  test('a TCP client that never starts TLS is closed after tls.timeout', async () => {
    const raw = await openRaw(srv.port);
    const start = Date.now();
    await readInfo(raw);
    const { text, at } = await untilClosed(raw, 5000);
    assert.equal(text, '');
    // timeout is 0.5 s; nats-server's deadline is from the accept too.
    assert.ok(at - start >= 400, `closed after ${at - start} ms`);
  });

  test('a client trickling bytes is still closed at the deadline', async () => {
    const raw = await openRaw(srv.port);
    const start = Date.now();
    await readInfo(raw);
    // A TLS record header, one byte at a time: never a whole ClientHello.
    const header = [0x16, 0x03, 0x01, 0x02, 0x00];
    const timer = setInterval(() => {
      const b = header.shift();
      if (b !== undefined && !raw.destroyed) raw.write(Buffer.from([b]));
    }, 150);
    try {
      const { at } = await untilClosed(raw, 5000);
      assert.ok(at - start < 2000, `closed after ${at - start} ms`);
    } finally {
      clearInterval(timer);
    }
  });

  test('/connz?auth=1 shows the verified client certificate chain', async () => {
    const nc = await connect({
      servers: srv.url,
      reconnect: false,
      tls: withClientCert(),
      name: 'connz-mtls',
    });
    conns.push(nc);
    await nc.flush();
    const body = await monitorJson<{ connections: Record<string, unknown>[] }>(
      srv,
      '/connz?auth=1',
    );
    const row = body.connections.find((c) => c.name === 'connz-mtls');
    assert.ok(row, JSON.stringify(body));
    const chain = row.tls_peer_certs as { subject: string; cert_sha256: string }[];
    assert.equal(chain[0]?.subject, 'CN=alice,O=Weft tests');
    assert.match(chain[0]?.cert_sha256 ?? '', /^[0-9a-f]{64}$/);
  });
});

describe('TLS refusals are counted by reason (Weft)', {
  skip: TARGET !== 'weft' && 'Weft metrics',
}, () => {
  test('weft_tls_handshake_failures_total{reason} counts each refusal', async () => {
    const srv = await startTarget({ tls: tlsBlock(true, 300) });
    try {
      const plain = await openRaw(srv.port);
      await readInfo(plain);
      const closed = untilClosed(plain, 5000);
      plain.write('CONNECT {}\r\n');
      await closed;
      await tlsPing(srv.port, {});
      await tlsPing(srv.port, {
        cert: readFileSync(certs.expired.cert),
        key: readFileSync(certs.expired.key),
      });
      await tlsPing(srv.port, {
        cert: readFileSync(certs.untrusted.cert),
        key: readFileSync(certs.untrusted.key),
      });
      const stall = await openRaw(srv.port);
      await untilClosed(stall, 5000);
      // TLS 1.1 is below the minimum (1.2).
      await tlsPing(srv.port, {
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
        cert: readFileSync(certs.client.cert),
        key: readFileSync(certs.client.key),
      });
      await checkFor(async () => {
        const text = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
        for (const reason of [
          'plaintext',
          'no_certificate',
          'expired',
          'untrusted',
          'timeout',
          'protocol',
        ]) {
          const re = new RegExp(
            `weft_tls_handshake_failures_total\\{reason="${reason}"[^}]*\\} 1\\n`,
          );
          assert.match(text, re, reason);
        }
        return true;
      }, 3000);
      const varz = await monitorJson<{ tls_required: boolean; tls_verify: boolean }>(srv, '/varz');
      assert.equal(varz.tls_required, true);
      assert.equal(varz.tls_verify, true);
    } finally {
      await srv.close();
    }
  });
});

describe('TLS with verify_and_map (the certificate names the user)', () => {
  let srv: Target;
  before(async () => {
    srv = await startTarget({
      tls: { ...tlsBlock(true), verifyAndMap: true },
      securityDoc: {
        authorization: {
          users: [
            {
              user: 'alice@example.com',
              permissions: { publish: 'alice.>', subscribe: ['alice.>', '_INBOX.>'] },
            },
          ],
        },
      },
    });
  });
  after(async () => {
    await srv.close();
  });

  test("the certificate's email SAN is the user, with that user's permissions", async () => {
    const nc = await connect({ servers: srv.url, reconnect: false, tls: withClientCert() });
    try {
      const sub = nc.subscribe('alice.inbox', { max: 1 });
      nc.publish('alice.inbox', enc.encode('mapped'));
      for await (const m of sub) assert.equal(dec.decode(m.data), 'mapped');
      const connz = await monitorJson<{ connections: { authorized_user?: string }[] }>(
        srv,
        '/connz?auth=1',
      );
      assert.deepEqual(
        connz.connections.map((c) => c.authorized_user),
        ['alice@example.com'],
      );
    } finally {
      await nc.close();
    }
  });

  test('a certificate that names no user is refused', async () => {
    // The server's own certificate (CN=localhost) is a valid client certificate of the CA.
    await assert.rejects(
      connect({
        servers: srv.url,
        reconnect: false,
        tls: { caFile: certs.ca, certFile: certs.server.cert, keyFile: certs.server.key },
      }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'AUTHORIZATION_VIOLATION', String(err));
        return true;
      },
    );
  });
});
