/**
 * The HTTP API's security, the same model as every face (docs/security.md):
 * Basic and Bearer credentials through `security.login`, 401 with
 * `WWW-Authenticate`, permissions with nats-server's texts (403), the
 * reserved subjects, `no_auth_user`, the identity kept per keep-alive
 * connection (`/connz` shows it), and `max_connections` over HTTP sockets.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/config.js';
import type { ServerOptions } from '../../src/config/options.js';
import { startServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';
import { apiUrl } from './helpers.js';

type ErrorBody = { error: { code: number; description: string } };

const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

async function node(yaml: string, extra: Partial<ServerOptions> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-http-auth-'));
  const srv = await startServer({
    ...parseConfigText(yaml),
    port: 0,
    httpPort: -1,
    host: '127.0.0.1',
    dataDir: dir,
    logLevel: 'silent',
    httpApiPort: 0,
    jetstream: false,
    ...extra,
  });
  return {
    srv,
    base: apiUrl(srv),
    close: async () => {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const USERS = `
authorization:
  users:
    - user: alice
      password: wonder
      permissions:
        publish: { allow: ["orders.>"] }
    - user: guest
      password: guest
      permissions:
        publish: { allow: ["public.>"] }
no_auth_user: guest
`;

describe('HTTP API security: users', () => {
  let n: Awaited<ReturnType<typeof node>>;
  before(async () => {
    n = await node(USERS);
  });
  after(() => n.close());

  const pub = (subject: string, auth?: string) =>
    fetch(`${n.base}/v1/publish/${subject}`, {
      method: 'POST',
      body: 'x',
      headers: auth === undefined ? {} : { Authorization: auth },
    });

  test('Basic credentials log in; permissions refuse with nats-server text (403)', async () => {
    const ok = await pub('orders.new', basic('alice', 'wonder'));
    assert.equal(ok.status, 202);
    const no = await pub('secret.x', basic('alice', 'wonder'));
    assert.equal(no.status, 403);
    const body = (await no.json()) as ErrorBody;
    assert.equal(body.error.description, 'Permissions Violation for Publish to "secret.x"');
    assert.equal(body.error.code, 403);
  });

  test('a wrong password or a malformed header is 401 with WWW-Authenticate', async () => {
    for (const auth of [
      basic('alice', 'nope'),
      basic('nobody', 'x'),
      'Basic !!!',
      'Digest abc',
      'Bearer',
    ]) {
      const r = await pub('orders.new', auth);
      assert.equal(r.status, 401, auth);
      assert.match(r.headers.get('www-authenticate') ?? '', /Basic realm="weft".*Bearer/);
      assert.equal(((await r.json()) as ErrorBody).error.code, 401);
    }
  });

  test('no credentials: the no_auth_user identity and its permissions', async () => {
    const ok = await pub('public.news');
    assert.equal(ok.status, 202);
    await ok.body?.cancel();
    const no = await pub('orders.new');
    assert.equal(no.status, 403);
    await no.body?.cancel();
  });

  test('reserved subjects are refused whatever the permissions', async () => {
    const r = await pub('$MQTT.sess.x', basic('alice', 'wonder'));
    assert.equal(r.status, 403);
    await r.body?.cancel();
  });

  test('the identity is kept per keep-alive connection and shown in /connz', async () => {
    const before = n.srv.node.security.counters.authFailures;
    for (let i = 0; i < 3; i++) {
      const r = await pub('orders.a', basic('alice', 'wonder'));
      assert.equal(r.status, 202);
    }
    assert.equal(n.srv.node.security.counters.authFailures, before);
    const users = [...n.srv.node.connections.values()]
      .filter((c) => c.face === 'http')
      .map((c) => c.identity?.user);
    assert.ok(users.includes('alice'), `http connections: ${users.join(', ')}`);
  });
});

describe('HTTP API security: token', () => {
  let n: Awaited<ReturnType<typeof node>>;
  before(async () => {
    n = await node('authorization:\n  token: t0ken\n');
  });
  after(() => n.close());

  test('Bearer <token> logs in; a wrong one or none is 401', async () => {
    const ok = await fetch(`${n.base}/v1/publish/a.b`, {
      method: 'POST',
      body: 'x',
      headers: { Authorization: 'Bearer t0ken' },
    });
    assert.equal(ok.status, 202);
    for (const h of [{ Authorization: 'Bearer nope' }, {}] as Record<string, string>[]) {
      const r = await fetch(`${n.base}/v1/publish/a.b`, { method: 'POST', body: 'x', headers: h });
      assert.equal(r.status, 401);
      await r.body?.cancel();
    }
  });

  test('the OpenAPI document needs no login', async () => {
    const r = await fetch(`${n.base}/v1/openapi.json`);
    assert.equal(r.status, 200);
    await r.body?.cancel();
  });
});

describe('HTTP API: max_connections', () => {
  let n: Awaited<ReturnType<typeof node>>;
  before(async () => {
    n = await node('', { maxConnections: 2 });
  });
  after(() => n.close());

  test('HTTP sockets count under max_connections; past it 503 and close', async () => {
    const port = Number(new URL(n.base).port);
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = netConnect(port, '127.0.0.1', () => resolve(s));
        s.on('error', reject);
      });
    const held = [await open(), await open()];
    await checkFor(() => n.srv.node.connections.size === 2);
    const third = await open();
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      third.on('data', (d) => {
        got += d.toString();
      });
      third.on('close', () => resolve(got));
      third.write('POST /v1/publish/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx');
    });
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /max_connections/);
    for (const s of held) s.destroy();
    await checkFor(() => n.srv.node.connections.size === 0);
    const r = await fetch(`${n.base}/v1/publish/a`, { method: 'POST', body: 'x' });
    assert.equal(r.status, 202);
  });
});
