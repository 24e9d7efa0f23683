/**
 * Authentication with the official clients (`nats` v2 and
 * `@nats-io/transport-node` v3): a token, users with plain and bcrypt
 * passwords, nkeys, no_auth_user; each refusal is nats-server's
 * 'Authorization Violation' and closes. Runs against nats-server too
 * (WEFT_TEST_TARGET=nats-server), with the same config document.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createUser } from '@nats-io/nkeys';
import {
  connect as connectV3,
  nkeyAuthenticator as nkeyAuthenticatorV3,
} from '@nats-io/transport-node';
import bcrypt from 'bcryptjs';
import { ErrorCode, type NatsError, nkeyAuthenticator, StringCodec } from 'nats';
import { FIRST_DELAY_MS, FREE_FAILURES } from '../../src/auth/throttle.js';
import { onlyOn, RawClient, startTargetFor } from '../helpers/harness.js';

const sc = StringCodec();

async function refused(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: NatsError) => {
    assert.equal(err.code, ErrorCode.AuthorizationViolation, String(err));
    return true;
  });
}

/** A raw connection's CONNECT is refused with nats-server's text and closed. */
async function rawRefused(port: number, connect: Record<string, unknown>): Promise<void> {
  const c = await RawClient.open(port);
  try {
    c.send(
      `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...connect })}\r\nPING\r\n`,
    );
    await c.expectClosed(3000, [/^-ERR 'Authorization Violation'$/]);
  } finally {
    c.destroy();
  }
}

describe('authentication', () => {
  test('token: the right token connects; a wrong one and none are refused', async (t) => {
    const { srv, pool } = await startTargetFor(t, {
      securityDoc: { authorization: { token: 's3cret-token' } },
    });
    const nc = await pool.connect({ token: 's3cret-token' });
    await nc.flush();
    await refused(pool.connect({ token: 'wrong' }));
    await refused(pool.connect({}));
    // The v3 client too.
    const v3 = await connectV3({ servers: srv.url, token: 's3cret-token', reconnect: false });
    await v3.flush();
    await v3.close();
    await assert.rejects(
      connectV3({ servers: srv.url, token: 'wrong', reconnect: false }),
      (err: Error) => {
        assert.match(String(err), /Authorization Violation/i);
        return true;
      },
    );
    const raw = await RawClient.open(srv.port);
    assert.equal(raw.info.auth_required, true);
    raw.destroy();
    await rawRefused(srv.port, { auth_token: 'nope' });
  });

  test('users with plain and bcrypt passwords; a wrong password or user is refused', async (t) => {
    const hash = await bcrypt.hash('b-pass', 6);
    const { srv, pool } = await startTargetFor(t, {
      securityDoc: {
        authorization: {
          users: [
            { user: 'alice', password: 'a-pass' },
            { user: 'bob', password: hash },
          ],
        },
      },
    });
    const a = await pool.connect({ user: 'alice', pass: 'a-pass' });
    const b = await pool.connect({ user: 'bob', pass: 'b-pass' });
    const sub = b.subscribe('greet', { max: 1 });
    await b.flush();
    a.publish('greet', sc.encode('hi bob'));
    for await (const m of sub) assert.equal(sc.decode(m.data), 'hi bob');
    await refused(pool.connect({ user: 'alice', pass: 'b-pass' }));
    await refused(pool.connect({ user: 'bob', pass: hash }));
    await refused(pool.connect({ user: 'carol', pass: 'a-pass' }));
    await rawRefused(srv.port, { user: 'alice', pass: '' });
    // The v3 client too.
    const v3 = await connectV3({ servers: srv.url, user: 'bob', pass: 'b-pass', reconnect: false });
    await v3.flush();
    await v3.close();
  });

  test('nkey: the client signs the nonce; an unknown key is refused', async (t) => {
    const user = createUser();
    const stranger = createUser();
    const { srv, pool } = await startTargetFor(t, {
      securityDoc: { authorization: { users: [{ nkey: user.getPublicKey() }] } },
    });
    const raw = await RawClient.open(srv.port);
    assert.equal(typeof raw.info.nonce, 'string');
    assert.ok((raw.info.nonce as string).length >= 11);
    raw.destroy();
    const nc = await pool.connect({ authenticator: nkeyAuthenticator(user.getSeed()) });
    await nc.flush();
    await refused(pool.connect({ authenticator: nkeyAuthenticator(stranger.getSeed()) }));
    // The v3 client too.
    const v3 = await connectV3({
      servers: srv.url,
      authenticator: nkeyAuthenticatorV3(user.getSeed()),
      reconnect: false,
    });
    await v3.flush();
    await v3.close();
    // The right key with a signature of something else.
    const c = await RawClient.open(srv.port);
    const sig = Buffer.from(user.sign(Buffer.from('not-the-nonce'))).toString('base64url');
    c.send(
      `CONNECT ${JSON.stringify({ verbose: false, nkey: user.getPublicKey(), sig })}\r\nPING\r\n`,
    );
    await c.expectClosed(3000, [/^-ERR 'Authorization Violation'$/]);
    c.destroy();
  });

  test('no_auth_user: a client with no credentials takes that user', async (t) => {
    const { pool } = await startTargetFor(t, {
      securityDoc: {
        authorization: {
          users: [
            {
              user: 'guest',
              password: 'g',
              permissions: { publish: 'public.>', subscribe: 'public.>' },
            },
            { user: 'admin', password: 'x' },
          ],
        },
        no_auth_user: 'guest',
      },
    });
    const anon = await pool.connect({});
    const sub = anon.subscribe('public.news', { max: 1 });
    await anon.flush();
    const admin = await pool.connect({ user: 'admin', pass: 'x' });
    admin.publish('public.news', sc.encode('hello'));
    for await (const m of sub) assert.equal(sc.decode(m.data), 'hello');
    await refused(pool.connect({ user: 'admin', pass: 'wrong' }));
  });

  test('a failed CONNECT never lets what follows it through', async (t) => {
    const { srv, pool } = await startTargetFor(t, {
      securityDoc: { authorization: { users: [{ user: 'u', password: 'p' }] } },
    });
    const watcher = await pool.connect({ user: 'u', pass: 'p' });
    const sub = watcher.subscribe('leak');
    await watcher.flush();
    const c = await RawClient.open(srv.port);
    c.send('CONNECT {"verbose":false,"user":"u","pass":"bad"}\r\nPUB leak 4\r\nleak\r\nPING\r\n');
    await c.expectClosed(3000, [/^-ERR 'Authorization Violation'$/]);
    c.destroy();
    await watcher.flush();
    assert.equal(sub.getProcessed(), 0);
  });
});

describe('failed logins', () => {
  test(
    'are slowed for the failing address, and only for it',
    onlyOn('weft', 'Weft slows failed logins per address; nats-server does not'),
    async (t) => {
      const { srv } = await startTargetFor(t, {
        securityDoc: { authorization: { users: [{ user: 'u', password: 'right' }] } },
      });
      for (let i = 0; i < FREE_FAILURES + 1; i++) {
        await rawRefused(srv.port, { user: 'u', pass: `guess-${i}` });
      }
      // The next guess from 127.0.0.1 waits before it is answered...
      const began = Date.now();
      await rawRefused(srv.port, { user: 'u', pass: 'guess-again' });
      assert.ok(Date.now() - began >= FIRST_DELAY_MS, `answered after ${Date.now() - began} ms`);
      // ...while a client from another address is not slowed.
      const other = await connectFrom('127.0.0.2', srv.port);
      other.send('CONNECT {"verbose":false,"user":"u","pass":"right"}\r\nPING\r\n');
      const t0 = Date.now();
      await other.expectLine('PONG');
      assert.ok(Date.now() - t0 < FIRST_DELAY_MS, 'another address was slowed');
      other.destroy();
    },
  );
});

/** A raw client whose socket is bound to `local` (another loopback address). */
async function connectFrom(local: string, port: number): Promise<RawClient> {
  const c = await RawClient.connectOnly(port, 2000, local);
  await c.expectLine(/^INFO /);
  return c;
}

describe('bcrypt logins', () => {
  test(
    'are checked off the event loop: other clients are answered meanwhile',
    onlyOn('weft', "measures Weft's event loop"),
    async (t) => {
      // Cost 11: a few hundred ms of CPU per check (bcryptjs on the event
      // loop held it for the whole of four such checks, about 600 ms).
      const users = await Promise.all(
        [1, 2, 3, 4].map(async (i) => ({
          user: `b${i}`,
          password: (await bcrypt.hash(`pw-${i}`, 11)).replace(/^\$2b\$/, '$2a$'),
        })),
      );
      const { srv } = await startTargetFor(t, {
        // A generous auth timeout: on a loaded machine four cost-11 checks
        // can take longer than the default 2 s, and this test is about the
        // event loop, not the timeout.
        securityDoc: {
          authorization: { users: [...users, { user: 'plain', password: 'p' }], timeout: 10 },
        },
      });
      const watcher = await RawClient.handshake(srv.port, { user: 'plain', pass: 'p' });
      t.after(() => watcher.destroy());
      const started = performance.now();
      const logins = Promise.all(
        users.map((_, k) =>
          RawClient.handshake(srv.port, { user: `b${k + 1}`, pass: `pw-${k + 1}` }, 10_000).then(
            (c) => c.destroy(),
          ),
        ),
      );
      let done = false;
      void logins.then(() => {
        done = true;
      });
      let worst = 0;
      let pings = 0;
      while (!done) {
        const t0 = performance.now();
        await watcher.ping(5000);
        worst = Math.max(worst, performance.now() - t0);
        pings++;
      }
      await logins;
      const total = performance.now() - started;
      assert.ok(pings >= 2, `only ${pings} PINGs during the logins`);
      // Checks on the event loop would hold a PING for about the whole of
      // the logins; off it, a PING waits a small part of them. Relative to
      // the logins' own time, so a loaded machine (slower bcrypt, slower
      // scheduling) moves both sides alike. Half, not less: on 2 busy cores
      // the pool's threads and the event loop take turns, and one PING once
      // waited 370 ms of ~1.2 s (a loaded full run, issue 16).
      assert.ok(
        worst < Math.max(150, total / 2),
        `a PING waited ${Math.round(worst)} ms during ${Math.round(total)} ms of bcrypt logins`,
      );
    },
  );
});
