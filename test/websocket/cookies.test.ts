/**
 * Credentials in cookies on the WebSocket listener, as nats-server's
 * `websocket { jwt_cookie, user_cookie, pass_cookie, token_cookie }`: a
 * browser cannot set headers on a WebSocket, but it sends its cookies with
 * the upgrade. A cookie fills a CONNECT field the client left empty;
 * CONNECT's own fields win. The TCP port never reads cookies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAccount } from '@nats-io/nkeys';
import { parseSecurity } from '../../src/auth/config.js';
import type { ServerOptions } from '../../src/config/options.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { mintAccount, mintOperator, mintUser } from '../helpers/jwt.js';
import { RawClient } from '../helpers/raw.js';
import { RawWsClient } from '../helpers/ws-raw.js';

const VIOLATION = "-ERR 'Authorization Violation'";

/**
 * Each failed login comes from its own loopback address, so the node's
 * per-address login throttle (3 free failures) never slows the next test.
 */
let nextAddress = 10;
const freshAddress = () => `127.0.0.${nextAddress++}`;

async function node(t: { after(fn: () => Promise<void>): void }, o: Partial<ServerOptions>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-ws-cookie-'));
  const srv: WeftServer = await startServer({
    port: 0,
    httpPort: -1,
    host: '127.0.0.1',
    dataDir: dir,
    logLevel: 'silent',
    websocketPort: 0,
    ...o,
  });
  t.after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `ws://127.0.0.1:${srv.node.websocket!.listeners[0]!.port}`;
  const ws = (cookie: string | null, localAddress?: string) =>
    RawWsClient.open(url, {
      headers: cookie === null ? {} : { Cookie: cookie },
      localAddress,
    });
  return { srv, ws };
}

describe('credentials in WebSocket cookies', () => {
  test('token_cookie: the cookie alone logs in; a wrong one, or none, is refused', async (t) => {
    const { srv, ws } = await node(t, {
      ...parseSecurity({ authorization: { token: 's3cret' } }),
      websocketTokenCookie: 'nats_token',
    });
    const ok = await ws('theme=dark; nats_token=s3cret');
    assert.equal(await ok.connect(), 'PONG');
    // It works: a publish to itself comes back.
    ok.send('SUB a.b 1\r\nPUB a.b 2\r\nhi\r\n');
    assert.equal(await ok.nextLine(), 'MSG a.b 1 2');
    assert.equal(await ok.nextLine(), 'hi');
    ok.close();

    const wrong = await ws('nats_token=nope', freshAddress());
    assert.equal(await wrong.connect(), VIOLATION);
    // Closed as nats-server closes a refused login: 1008, policy violation.
    assert.equal(await wrong.closed(), 1008);
    // A cookie of another name is not the token.
    const other = await ws('token=s3cret', freshAddress());
    assert.equal(await other.connect(), VIOLATION);
    const none = await ws(null, freshAddress());
    assert.equal(await none.connect(), VIOLATION);
    // The client port reads no cookie: CONNECT without a token is refused there.
    const tcp = await RawClient.open(srv.port);
    tcp.send('CONNECT {"verbose":false}\r\nPING\r\n');
    assert.equal(await tcp.nextLine(), VIOLATION);
    tcp.destroy();
  });

  test("CONNECT's own fields win over the cookies", async (t) => {
    const { ws } = await node(t, {
      ...parseSecurity({ authorization: { token: 's3cret' } }),
      websocketTokenCookie: 'nats_token',
    });
    // A right token in CONNECT with a wrong cookie: CONNECT's counts.
    const c1 = await ws('nats_token=nope');
    assert.equal(await c1.connect({ auth_token: 's3cret' }), 'PONG');
    c1.close();
    // A wrong token in CONNECT with the right cookie: refused.
    const c2 = await ws('nats_token=s3cret', freshAddress());
    assert.equal(await c2.connect({ auth_token: 'nope' }), VIOLATION);
  });

  test('user_cookie and pass_cookie: each fills its own field', async (t) => {
    const { ws } = await node(t, {
      ...parseSecurity({
        authorization: {
          users: [
            { user: 'alice', password: 'wonder' },
            { user: 'bob', password: 'builder' },
          ],
        },
      }),
      websocketUserCookie: 'u',
      websocketPassCookie: 'p',
    });
    const a = await ws('u=alice; p="wonder"');
    assert.equal(await a.connect(), 'PONG');
    a.close();
    // The user from CONNECT, the password from the cookie.
    const b = await ws('p=builder');
    assert.equal(await b.connect({ user: 'bob' }), 'PONG');
    b.close();
    // CONNECT names bob; the cookie's password is alice's: refused.
    const c = await ws('u=alice; p=wonder', freshAddress());
    assert.equal(await c.connect({ user: 'bob' }), VIOLATION);
  });

  test('jwt_cookie: a bearer user JWT in a cookie logs in (operator mode)', async (t) => {
    const sysKp = createAccount();
    const op = await mintOperator(sysKp.getPublicKey());
    const sys = await mintAccount(op, {}, { kp: sysKp, name: 'SYS' });
    const acc = await mintAccount(op, {}, { name: 'WEB' });
    const bearer = await mintUser(acc, {
      bearer_token: true,
      pub: { allow: ['web.>'], deny: [] },
      sub: { allow: ['web.>', '_INBOX.>'], deny: [] },
    });
    const signed = await mintUser(acc, {});
    const { srv, ws } = await node(t, {
      ...parseSecurity({
        operator: op.jwt,
        system_account: sys.pub,
        resolver: 'MEMORY',
        resolver_preload: { [sys.pub]: sys.jwt, [acc.pub]: acc.jwt },
      }),
      websocketJwtCookie: 'nats_jwt',
    });
    const b = await ws(`session=1; nats_jwt=${bearer.jwt}`);
    assert.equal(await b.connect({ name: 'cookie-jwt' }), 'PONG');
    // The JWT's permissions apply.
    b.send('PUB other.x 0\r\n\r\nPING\r\n');
    assert.equal(await b.nextLine(), '-ERR \'Permissions Violation for Publish to "other.x"\'');
    assert.equal(await b.nextLine(), 'PONG');
    const conn = [...srv.node.connections.values()].find((x) => x.client?.name === 'cookie-jwt');
    assert.equal(conn?.identity?.account.name, acc.pub);
    b.close();
    // A user JWT that is not a bearer token must sign the nonce: the cookie alone is not enough.
    const s = await ws(`nats_jwt=${signed.jwt}`, freshAddress());
    assert.equal(await s.connect(), VIOLATION);
    const junk = await ws('nats_jwt=not.a.jwt', freshAddress());
    assert.equal(await junk.connect(), VIOLATION);
  });

  test('a Cookie header over the HTTP header limit is refused before the upgrade (400, counted)', async (t) => {
    const { srv, ws } = await node(t, {
      ...parseSecurity({ authorization: { token: 's3cret' } }),
      websocketTokenCookie: 'nats_token',
    });
    await assert.rejects(ws(`nats_token=${'x'.repeat(40_000)}`), /upgrade refused: 400/);
    const varz = srv.node.websocket!.varz() as { refused: Record<string, number> };
    assert.equal(varz.refused.bad_request, 1);
    // Others go on.
    const ok = await ws('nats_token=s3cret');
    assert.equal(await ok.connect(), 'PONG');
    ok.close();
  });
});

describe('websocket.no_auth_user', () => {
  test('a WebSocket client without credentials is that user; TCP is not; credentials still win', async (t) => {
    const { srv, ws } = await node(t, {
      ...parseSecurity({
        authorization: {
          users: [
            { user: 'alice', password: 'wonder' },
            { user: 'guest', password: 'g', permissions: { publish: ['public.>'] } },
          ],
        },
      }),
      websocketNoAuthUser: 'guest',
    });
    const anon = await ws(null);
    assert.equal(await anon.connect({ name: 'anon' }), 'PONG');
    const who = (name: string) =>
      [...srv.node.connections.values()].find((x) => x.client?.name === name)?.identity?.user;
    assert.equal(who('anon'), 'guest');
    // guest's permissions apply.
    anon.send('PUB private.x 0\r\n\r\nPING\r\n');
    assert.match(await anon.nextLine(), /Permissions Violation for Publish to "private.x"/);
    anon.close();
    const a = await ws(null);
    assert.equal(await a.connect({ name: 'alice', user: 'alice', pass: 'wonder' }), 'PONG');
    assert.equal(who('alice'), 'alice');
    a.close();
    const tcp = await RawClient.open(srv.port);
    tcp.send('CONNECT {"verbose":false}\r\nPING\r\n');
    assert.equal(await tcp.nextLine(), VIOLATION);
    tcp.destroy();
  });
});

describe('cookies without cookie settings', () => {
  let srv: WeftServer;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-ws-cookie-'));
    srv = await startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      websocketPort: 0,
      ...parseSecurity({ authorization: { token: 's3cret' } }),
    });
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('are not read', async () => {
    const url = `ws://127.0.0.1:${srv.node.websocket!.listeners[0]!.port}`;
    const c = await RawWsClient.open(url, {
      headers: { Cookie: 'nats_token=s3cret; token=s3cret' },
      localAddress: freshAddress(),
    });
    assert.equal(await c.connect(), VIOLATION);
  });
});
