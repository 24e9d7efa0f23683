/**
 * The HTTP API's security, the same model as every face (docs/security.md):
 * Basic and Bearer credentials through `security.login`, 401 with
 * `WWW-Authenticate`, permissions with nats-server's texts (403), the
 * reserved subjects, `no_auth_user`, the identity kept per keep-alive
 * connection (`/connz` shows it), and `max_connections` over HTTP sockets.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseSecurity } from '../../src/auth/config.js';
import { parseConfigText, validateOptions } from '../../src/config/config.js';
import { type ServerOptions, withDefaults } from '../../src/config/options.js';
import { type Minted, mintAccount, mintOperator, mintUser } from '../helpers/jwt.js';
import { checkFor } from '../helpers/poll.js';
import { startApiNode } from './helpers.js';

type ErrorBody = { error: { code: number; description: string } };

const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

function node(yaml: string, extra: Partial<ServerOptions> = {}) {
  return startApiNode(yaml, extra, 'weft-http-auth-');
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

describe('HTTP API security: a token in a cookie (http.token_cookie)', () => {
  let n: Awaited<ReturnType<typeof node>>;
  before(async () => {
    n = await node('authorization:\n  token: t0ken\nhttp:\n  token_cookie: weft_token\n');
  });
  after(() => n.close());

  const publish = (headers: Record<string, string>) =>
    fetch(`${n.base}/v1/publish/a.b`, { method: 'POST', body: 'x', headers });

  test('the cookie logs in when no Authorization is sent, among other cookies', async () => {
    const ok = await publish({ Cookie: 'theme=dark; weft_token=t0ken; x=1' });
    assert.equal(ok.status, 202);
    const quoted = await publish({ Cookie: 'weft_token="t0ken"' });
    assert.equal(quoted.status, 202);
  });

  test('a wrong cookie, another name or an empty value is 401', async () => {
    for (const c of ['weft_token=nope', 'other=t0ken', 'weft_token=']) {
      const r = await publish({ Cookie: c });
      assert.equal(r.status, 401, c);
      await r.body?.cancel();
    }
  });

  test('an Authorization header wins over the cookie, both ways', async () => {
    const wrongHeader = await publish({ Authorization: 'Bearer nope', Cookie: 'weft_token=t0ken' });
    assert.equal(wrongHeader.status, 401);
    await wrongHeader.body?.cancel();
    const rightHeader = await publish({ Authorization: 'Bearer t0ken', Cookie: 'weft_token=nope' });
    assert.equal(rightHeader.status, 202);
  });

  test('an SSE stream logs in with the cookie (what EventSource sends)', async () => {
    const ac = new AbortController();
    const r = await fetch(`${n.base}/v1/subscribe/a.%3E`, {
      headers: { Cookie: 'weft_token=t0ken' },
      signal: ac.signal,
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
    ac.abort();
  });

  test('a cookie name that is not a token is refused in the config, naming the key', () => {
    assert.throws(
      () => validateOptions(withDefaults({ httpTokenCookie: 'bad name' })),
      /http\.token_cookie/,
    );
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

describe('HTTP API security: JWT users (operator mode)', () => {
  let n: Awaited<ReturnType<typeof node>>;
  let account: Minted;
  before(async () => {
    const op = await mintOperator();
    const sys = await mintAccount(op, {}, { name: 'SYS' });
    account = await mintAccount(op);
    const { security } = parseSecurity({
      operator: op.jwt,
      system_account: sys.pub,
      resolver: 'MEMORY',
      resolver_preload: { [sys.pub]: sys.jwt, [account.pub]: account.jwt },
    });
    n = await node('', { security });
  });
  after(() => n.close());

  test('Bearer <user JWT> logs in a bearer-token user; one that must sign a nonce is 401', async () => {
    const bearer = await mintUser(account, { bearer_token: true });
    const ok = await fetch(`${n.base}/v1/publish/a.b`, {
      method: 'POST',
      body: 'x',
      headers: { Authorization: `Bearer ${bearer.jwt}` },
    });
    assert.equal(ok.status, 202);
    const signer = await mintUser(account);
    const no = await fetch(`${n.base}/v1/publish/a.b`, {
      method: 'POST',
      body: 'x',
      headers: { Authorization: `Bearer ${signer.jwt}` },
    });
    assert.equal(no.status, 401);
    await no.body?.cancel();
  });
});

describe('HTTP API security: reload', () => {
  let n: Awaited<ReturnType<typeof node>>;
  before(async () => {
    n = await node(USERS);
  });
  after(() => n.close());

  const pub = (subject: string) =>
    fetch(`${n.base}/v1/publish/${subject}`, {
      method: 'POST',
      body: 'x',
      headers: { Authorization: basic('alice', 'wonder') },
    });

  test('narrowed permissions apply to the kept identity; a removed user is closed, then 401', async () => {
    assert.equal((await pub('orders.new')).status, 202);
    const narrowed = USERS.replace('allow: ["orders.>"]', 'allow: ["other.>"]');
    const r1 = await n.srv.node.reload({ ...n.srv.node.options, ...parseConfigText(narrowed) });
    assert.ok(r1.updated >= 1, `updated ${r1.updated}`);
    const no = await pub('orders.new');
    assert.equal(no.status, 403);
    await no.body?.cancel();
    assert.equal((await pub('other.x')).status, 202);
    const gone = USERS.replace(/ {4}- user: alice[\s\S]*?(?= {4}- user: guest)/, '');
    assert.ok(!gone.includes('alice'));
    const r2 = await n.srv.node.reload({ ...n.srv.node.options, ...parseConfigText(gone) });
    assert.ok(r2.closed >= 1, `closed ${r2.closed}`);
    const after = await pub('other.x');
    assert.equal(after.status, 401);
    await after.body?.cancel();
  });
});

describe('HTTP API security: limits', () => {
  let n: Awaited<ReturnType<typeof node>>;
  before(async () => {
    n = await node(`
authorization:
  users:
    - user: small
      password: s
      limits: { max_payload: 64, max_connections: 1 }
    - user: slowpoke
      password: s
      limits: { msgs_per_second: 1, rate_exceeded: drop }
`);
  });
  after(() => n.close());

  test("the user's max_payload is 413; its max_connections counts keep-alive connections (429)", async () => {
    const port = Number(new URL(n.base).port);
    const raw = (body: string) =>
      new Promise<string>((resolve, reject) => {
        const s = netConnect(port, '127.0.0.1', () =>
          s.write(
            `POST /v1/publish/a HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('small', 's')}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          ),
        );
        let got = '';
        s.on('data', (d) => {
          got += d.toString();
          if (got.includes('\r\n\r\n')) resolve(got);
        });
        s.on('error', reject);
        sockets.push(s);
      });
    const sockets: Socket[] = [];
    assert.match(await raw('x'.repeat(65)), /^HTTP\/1\.1 413 /);
    // That connection is closing; the user holds no connection now.
    await checkFor(() => [...n.srv.node.connections.values()].every((c) => c.identity === null));
    assert.match(await raw('ok'), /^HTTP\/1\.1 202 /);
    // The first connection is kept open with its identity: a second one is over the user's limit.
    const second = await raw('ok');
    assert.match(second, /^HTTP\/1\.1 429 /);
    assert.match(second, /maximum user active connections exceeded/);
    for (const s of sockets) s.destroy();
  });

  test("rate_exceeded: drop answers 429 for what the user's rate drops", async () => {
    const statuses: number[] = [];
    // One message a second: of five sent back to back, all but about one are dropped.
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${n.base}/v1/publish/a`, {
        method: 'POST',
        body: 'x',
        headers: { Authorization: basic('slowpoke', 's') },
      });
      statuses.push(r.status);
      await r.body?.cancel();
    }
    assert.equal(statuses[0], 202);
    assert.ok(statuses.includes(429), statuses.join(','));
  });
});
