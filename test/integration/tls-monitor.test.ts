/**
 * The monitoring port's protection: HTTPS with the `tls` block's certificate
 * (`https_port`, as nats-server) and an optional bearer token
 * (`monitor_token`, Weft's own): 401 JSON without it, 200 with it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';

let certs: TestCerts;
let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weft-tls-mon-'));
  certs = await makeCerts(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tlsBlock = () => ({
  certFile: certs.server.cert,
  keyFile: certs.server.key,
  caFile: '',
  verify: false,
  verifyAndMap: false,
  timeoutMs: 2000,
});

function httpsGet(
  port: number,
  pathname: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: pathname, ca: readFileSync(certs.ca), headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}

async function startTemp(opts: Parameters<typeof startServer>[0]): Promise<WeftServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-tls-mon-data-'));
  const srv = await startServer({
    host: '127.0.0.1',
    port: 0,
    httpPort: 0,
    dataDir,
    logLevel: 'silent',
    meshPort: -1,
    ...opts,
  });
  const close = srv.close;
  return {
    ...srv,
    close: async () => {
      await close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

describe('monitoring over HTTPS with a bearer token', () => {
  let srv: WeftServer;
  before(async () => {
    srv = await startTemp({ tls: tlsBlock(), httpsPort: 0, monitorToken: 's3cret-token' });
  });
  after(async () => {
    await srv.close();
  });

  test('https_port replaces the plain HTTP port', () => {
    assert.ok(srv.httpsPort > 0);
    assert.equal(srv.httpPort, -1);
  });

  test('without the token: 401 with a JSON error', async () => {
    const res = await httpsGet(srv.httpsPort, '/varz');
    assert.equal(res.status, 401);
    assert.match((JSON.parse(res.body) as { error: string }).error, /Authorization: Bearer/);
  });

  test('with a wrong token, or another scheme: 401', async () => {
    for (const h of ['Bearer s3cret-tokeN', 'Bearer s3cret', 'Basic s3cret-token', '']) {
      const res = await httpsGet(srv.httpsPort, '/healthz', { authorization: h });
      assert.equal(res.status, 401, h);
    }
  });

  test('with the token: 200, every endpoint', async () => {
    const auth = { authorization: 'Bearer s3cret-token' };
    const varz = await httpsGet(srv.httpsPort, '/varz', auth);
    assert.equal(varz.status, 200);
    const v = JSON.parse(varz.body) as {
      https_port: number;
      weft: { monitor_unauthorized: number };
    };
    assert.equal(v.https_port, srv.httpsPort);
    assert.ok(v.weft.monitor_unauthorized >= 1);
    const metrics = await httpsGet(srv.httpsPort, '/metrics', auth);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /weft_monitor_unauthorized_total\{[^}]*\} [1-9]/);
  });

  test('plain HTTP to the HTTPS port gets no monitoring data', async () => {
    const res = await fetch(`http://127.0.0.1:${srv.httpsPort}/varz`, {
      headers: { authorization: 'Bearer s3cret-token' },
    }).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.notEqual(res, 200);
  });
});

describe('a bearer token on plain HTTP monitoring', () => {
  test('401 without, 200 with', async () => {
    const srv = await startTemp({ monitorToken: 'tok' });
    try {
      const url = `http://127.0.0.1:${srv.httpPort}/healthz`;
      const no = await fetch(url);
      assert.equal(no.status, 401);
      assert.equal(no.headers.get('content-type'), 'application/json');
      assert.match(no.headers.get('www-authenticate') ?? '', /^Bearer/);
      const yes = await fetch(url, { headers: { authorization: 'Bearer tok' } });
      assert.equal(yes.status, 200);
      await yes.arrayBuffer();
    } finally {
      await srv.close();
    }
  });
});

describe('monitoring settings', () => {
  test('https_port without a tls block is refused, naming the key', async () => {
    await assert.rejects(startTemp({ httpsPort: 0 }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.key, 'https_port');
      return true;
    });
  });

  test('https_port and monitor_token in the config file', () => {
    const o = parseConfigText('https_port: 8443\nmonitor_token: abc\n');
    assert.equal(o.httpsPort, 8443);
    assert.equal(o.monitorToken, 'abc');
  });
});
