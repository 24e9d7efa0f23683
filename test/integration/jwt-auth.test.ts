/**
 * Decentralised (JWT) authentication with the official clients: `.creds`
 * files read by `nats` v2 and `@nats-io/transport-node` v3, against a node
 * in operator mode (`operator`, `resolver: MEMORY`, `resolver_preload`).
 * Runs against nats-server too (WEFT_TEST_TARGET=nats-server) with the same
 * config document and the same expectations.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { newScopedSigner } from '@nats-io/jwt';
import { createAccount, createUser } from '@nats-io/nkeys';
import { connect as connectV3, credsAuthenticator as credsV3 } from '@nats-io/transport-node';
import {
  credsAuthenticator,
  ErrorCode,
  type NatsConnection,
  type NatsError,
  StringCodec,
} from 'nats';
import { parseSecurity } from '../../src/auth/config.js';
import { startServer } from '../../src/server/server.js';
import { monitorJson, onlyOn, RawClient, startTargetFor } from '../helpers/harness.js';
import {
  credsText,
  type Minted,
  mintAccount,
  mintOperator,
  mintUser,
  nowSeconds,
  signNonce,
  type TestOperator,
  UNLIMITED,
} from '../helpers/jwt.js';
import { checkFor } from '../helpers/poll.js';

const sc = StringCodec();
const te = new TextEncoder();

const creds = (u: Minted) => credsAuthenticator(te.encode(credsText(u)));

/** The operator-mode security blocks: the operator, the system account, and `accounts` by a directory or preloaded. */
function operatorDoc(
  w: { op: { jwt: string }; sys: { pub: string } },
  accounts: readonly { pub: string; jwt: string }[],
  resolver: string,
  dir: string,
): Record<string, unknown> {
  return {
    operator: w.op.jwt,
    system_account: w.sys.pub,
    ...(resolver === 'dir'
      ? { resolver: { type: 'full', dir } }
      : {
          resolver: 'MEMORY',
          resolver_preload: Object.fromEntries(accounts.map((a) => [a.pub, a.jwt])),
        }),
  };
}

async function refused(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: NatsError) => {
    assert.equal(err.code, ErrorCode.AuthorizationViolation, String(err));
    return true;
  });
}

interface World {
  op: TestOperator;
  sys: Minted;
  a: Minted;
  b: Minted;
  /** A's signing key. */
  ask: ReturnType<typeof createAccount>;
  /** A's scoped signing key: its users may use only `scoped.>`. */
  scoped: ReturnType<typeof createAccount>;
  securityDoc: Record<string, unknown>;
}

let w: World;
/** Users of A minted before A's JWT, so A can revoke one. */
let revoked: Minted;

before(async () => {
  const sysKp = createAccount();
  const op = await mintOperator(sysKp.getPublicKey());
  const sys = await mintAccount(op, {}, { kp: sysKp, name: 'SYS' });
  const ask = createAccount();
  const scoped = createAccount();
  const aKp = createAccount();
  revoked = await mintUser({ kp: aKp, pub: aKp.getPublicKey(), jwt: '' });
  const a = await mintAccount(
    op,
    {
      signing_keys: [
        ask.getPublicKey(),
        newScopedSigner(scoped, 'scoped', {
          pub: { allow: ['scoped.>'], deny: [] },
          sub: { allow: ['scoped.>'], deny: [] },
        }),
      ],
      revocations: { [revoked.pub]: nowSeconds() + 5 },
    },
    { kp: aKp, name: 'A' },
  );
  const b = await mintAccount(op, {}, { name: 'B' });
  w = {
    op,
    sys,
    a,
    b,
    ask,
    scoped,
    securityDoc: {
      operator: op.jwt,
      system_account: sys.pub,
      resolver: 'MEMORY',
      resolver_preload: { [sys.pub]: sys.jwt, [a.pub]: a.jwt, [b.pub]: b.jwt },
    },
  };
});

describe('JWT authentication (operator mode)', () => {
  test('a user connects with its .creds file and pub/subs within its permissions', async (t) => {
    const { srv, pool } = await startTargetFor(t, { securityDoc: w.securityDoc });
    const alice = await mintUser(w.a, {
      pub: { allow: ['orders.>'], deny: [] },
      sub: { allow: ['orders.>'], deny: [] },
    });
    const raw = await RawClient.open(srv.port);
    assert.equal(raw.info.auth_required, true);
    assert.equal(typeof raw.info.nonce, 'string');
    raw.destroy();
    const nc = await pool.connect({ authenticator: creds(alice) });
    const sub = nc.subscribe('orders.new', { max: 1 });
    await nc.flush();
    // The v3 client reads the same creds and talks to the same account.
    const v3 = await connectV3({
      servers: srv.url,
      authenticator: credsV3(te.encode(credsText(alice))),
      reconnect: false,
    });
    v3.publish('orders.new', 'from v3');
    await v3.flush();
    for await (const m of sub) assert.equal(sc.decode(m.data), 'from v3');
    await v3.close();
    // Outside its permissions: nats-server's violation, the connection stays.
    const denied: string[] = [];
    (async () => {
      for await (const s of nc.status()) {
        const ctx = (s as { permissionContext?: { operation: string; subject: string } })
          .permissionContext;
        if (s.type === 'error' && ctx !== undefined) denied.push(`${ctx.operation} ${ctx.subject}`);
      }
    })();
    nc.publish('billing.x', sc.encode('no'));
    await checkFor(() => denied.includes('publish billing.x'), 3000);
    await nc.flush();
  });

  // Three refusals per node at most: more from one address are slowed down (throttle).
  test('expired, revoked and wrongly signed users get Authorization Violation', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: w.securityDoc });
    const expired = await mintUser(w.a, {}, { exp: nowSeconds() - 10 });
    await refused(pool.connect({ authenticator: creds(expired) }));
    await refused(pool.connect({ authenticator: creds(revoked) }));
    // The right JWT with another user's seed: the nonce signature does not verify.
    const good = await mintUser(w.a);
    const thief = { ...good, kp: createUser() };
    await refused(pool.connect({ authenticator: creds(thief) }));
    const nc = await pool.connect({ authenticator: creds(good) });
    await nc.flush();
  });

  test('unknown-account, untrusted-issuer and unsigned users get Authorization Violation', async (t) => {
    const { srv, pool } = await startTargetFor(t, { securityDoc: w.securityDoc });
    const stranger = await mintAccount(w.op, {}, { name: 'NOT-PRELOADED' });
    await refused(pool.connect({ authenticator: creds(await mintUser(stranger)) }));
    // A user issued by a key the account does not list.
    const rogue = await mintUser(w.a, {}, { signer: createAccount() });
    await refused(pool.connect({ authenticator: creds(rogue) }));
    // A JWT without a signature of the nonce, on the wire.
    const c = await RawClient.open(srv.port);
    c.send(
      `CONNECT ${JSON.stringify({ verbose: false, jwt: (await mintUser(w.a)).jwt })}\r\nPING\r\n`,
    );
    await c.expectClosed(3000, [/^-ERR 'Authorization Violation'$/]);
    c.destroy();
  });

  test('two accounts are isolated; a signing-key user shares its account', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: w.securityDoc });
    const a1 = await pool.connect({ authenticator: creds(await mintUser(w.a)) });
    const a2 = await pool.connect({
      authenticator: creds(await mintUser(w.a, {}, { signer: w.ask })),
    });
    const b1 = await pool.connect({ authenticator: creds(await mintUser(w.b)) });
    const inA = a1.subscribe('>');
    const inB = b1.subscribe('>');
    await a1.flush();
    await b1.flush();
    b1.publish('shared.subject', sc.encode('from B'));
    a2.publish('shared.subject', sc.encode('from A'));
    await b1.flush();
    await a2.flush();
    await checkFor(() => inA.getReceived() === 1 && inB.getReceived() === 1, 3000);
    // Both flushed after the publishes: anything crossing would be here by now.
    await a1.flush();
    await b1.flush();
    assert.equal(inA.getReceived(), 1, 'A saw only its own message');
    assert.equal(inB.getReceived(), 1, 'B saw only its own message');
  });

  test('a bearer user needs no signature; src and connection types restrict where from', async (t) => {
    const { srv, pool } = await startTargetFor(t, { securityDoc: w.securityDoc });
    const bearer = await mintUser(w.a, { bearer_token: true });
    const c = await RawClient.open(srv.port);
    c.send(`CONNECT ${JSON.stringify({ verbose: false, jwt: bearer.jwt })}\r\n`);
    await c.ping();
    c.destroy();
    const lan = await mintUser(w.a, { src: ['10.0.0.0/8'] });
    await refused(pool.connect({ authenticator: creds(lan) }));
    const wsOnly = await mintUser(w.a, { allowed_connection_types: ['WEBSOCKET'] });
    await refused(pool.connect({ authenticator: creds(wsOnly) }));
  });

  test("a scoped signing key's user gets the key's template permissions", async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: w.securityDoc });
    const watcher = await pool.connect({ authenticator: creds(await mintUser(w.a)) });
    const seen = watcher.subscribe('>');
    await watcher.flush();
    const user = await mintUser(w.a, {}, { signer: w.scoped, scoped: true });
    const nc = await pool.connect({ authenticator: creds(user) });
    const denied: string[] = [];
    (async () => {
      for await (const s of nc.status()) {
        const ctx = (s as { permissionContext?: { operation: string; subject: string } })
          .permissionContext;
        if (s.type === 'error' && ctx !== undefined) denied.push(`${ctx.operation} ${ctx.subject}`);
      }
    })();
    nc.publish('elsewhere', sc.encode('no'));
    nc.publish('scoped.x', sc.encode('yes'));
    await checkFor(() => denied.includes('publish elsewhere') && seen.getReceived() === 1, 3000);
    await watcher.flush();
    assert.equal(seen.getReceived(), 1);
  });

  test('a user JWT that expires while connected closes the connection', async (t) => {
    const { srv } = await startTargetFor(t, { securityDoc: w.securityDoc });
    const shortLived = await mintUser(w.a, {}, { exp: nowSeconds() + 2 });
    const c = await RawClient.open(srv.port);
    const sig = signNonce(shortLived.kp, c.info.nonce as string);
    c.send(`CONNECT ${JSON.stringify({ verbose: false, jwt: shortLived.jwt, sig })}\r\nPING\r\n`);
    await c.expectLine(/^PONG$/);
    const lines = await c.expectClosed(5000, [/^-ERR '.*Authentication Expired'$/, /^PING$/]);
    assert.ok(
      lines.some((l) => /Authentication Expired/.test(l)),
      JSON.stringify(lines),
    );
    c.destroy();
  });

  test('a directory resolver: <dir>/<account public key>.jwt', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'weft-jwt-dir-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const acc of [w.sys, w.a]) await writeFile(path.join(dir, `${acc.pub}.jwt`), acc.jwt);
    const { pool } = await startTargetFor(t, {
      securityDoc: {
        operator: w.op.jwt,
        system_account: w.sys.pub,
        resolver: { type: 'full', dir },
      },
    });
    const nc = await pool.connect({ authenticator: creds(await mintUser(w.a)) });
    await nc.flush();
    // B has no file: its users are refused.
    await refused(pool.connect({ authenticator: creds(await mintUser(w.b)) }));
  });

  test(
    'reload (SIGHUP) reads the account JWTs again: a revoked user is closed, others stay',
    onlyOn('weft', 'calls the node reload directly'),
    async (t) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'weft-jwt-reload-'));
      const aKp = createAccount();
      const acc = await mintAccount(w.op, {}, { kp: aKp });
      await writeFile(path.join(dir, `${acc.pub}.jwt`), acc.jwt);
      const options = {
        host: '127.0.0.1',
        port: 0,
        httpPort: 0,
        dataDir: path.join(dir, 'data'),
        logLevel: 'silent' as const,
        meshPort: -1,
        ...parseSecurity({ operator: w.op.jwt, resolver: { type: 'full', dir } }),
      };
      const srv = await startServer(options);
      t.after(async () => {
        await srv.close();
        await rm(dir, { recursive: true, force: true });
      });
      const login = async (u: Minted) => {
        const c = await RawClient.open(srv.port);
        const sig = signNonce(u.kp, c.info.nonce as string);
        c.send(`CONNECT ${JSON.stringify({ verbose: false, jwt: u.jwt, sig })}\r\n`);
        await c.ping();
        return c;
      };
      const keep = await mintUser(acc);
      const drop = await mintUser(acc);
      const [k, d] = [await login(keep), await login(drop)];
      const revoking = await mintAccount(
        w.op,
        { revocations: { [drop.pub]: nowSeconds() + 5 } },
        { kp: aKp },
      );
      await writeFile(path.join(dir, `${acc.pub}.jwt`), revoking.jwt);
      const report = await srv.node.reload(options);
      assert.equal(report.closed, 1);
      await d.expectClosed(3000, [/^-ERR 'Authorization Violation'$/]);
      await k.ping();
      k.destroy();
      d.destroy();
      // Read at the first login, and again by the reload's recheck.
      const varz = await monitorJson<{ weft: { security: Record<string, number> } }>(srv, '/varz');
      assert.equal(varz.weft.security.jwt_account_reads, 2);
      assert.equal(varz.weft.security.jwt_account_cache_evictions, 0);
    },
  );

  for (const resolver of ['preload', 'dir'] as const) {
    test(`exports and imports between JWT accounts; an import of what is not exported carries nothing (${resolver} resolver)`, async (t) => {
      const exporter = await mintAccount(
        w.op,
        {
          exports: [
            { name: 'news', subject: 'news.>', type: 'stream' },
            { name: 'time', subject: 'svc.time', type: 'service' },
          ],
        },
        { name: 'EXP' },
      );
      const importer = await mintAccount(
        w.op,
        {
          imports: [
            { name: 'news', subject: 'news.>', account: exporter.pub, type: 'stream' },
            { name: 'time', subject: 'svc.time', account: exporter.pub, type: 'service' },
          ],
        },
        { name: 'IMP' },
      );
      const sneaky = await mintAccount(
        w.op,
        {
          imports: [{ name: 'secret', subject: 'secret.>', account: exporter.pub, type: 'stream' }],
        },
        { name: 'SNEAKY' },
      );
      const accounts = [w.sys, exporter, importer, sneaky];
      const dir = await mkdtemp(path.join(tmpdir(), 'weft-jwt-imports-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      for (const a of accounts) await writeFile(path.join(dir, `${a.pub}.jwt`), a.jwt);
      const { pool } = await startTargetFor(t, {
        securityDoc: {
          ...operatorDoc(w, accounts, resolver, dir),
        },
      });
      // The importer's user first: with a directory, its exporter is read for it.
      const i = await pool.connect({ authenticator: creds(await mintUser(importer)) });
      const e = await pool.connect({ authenticator: creds(await mintUser(exporter)) });
      const x = await pool.connect({ authenticator: creds(await mintUser(sneaky)) });
      e.subscribe('svc.time', { callback: (_err, m) => m.respond(sc.encode('noon')) });
      await e.flush();
      const news = i.subscribe('news.>');
      const secret = x.subscribe('secret.>');
      await i.flush();
      await x.flush();
      e.publish('news.today', sc.encode('n'));
      e.publish('secret.plans', sc.encode('s'));
      await e.flush();
      await checkFor(() => news.getReceived() === 1, 3000);
      const reply = await i.request('svc.time', sc.encode(''), { timeout: 3000 });
      assert.equal(sc.decode(reply.data), 'noon');
      await x.flush();
      assert.equal(secret.getReceived(), 0);
    });
  }

  for (const resolver of ['preload', 'dir'] as const) {
    test(`JetStream in a JWT account follows its JWT limits (${resolver} resolver)`, async (t) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'weft-jwt-js-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const js = await mintAccount(
        w.op,
        {
          limits: {
            ...UNLIMITED,
            conn: -1,
            subs: -1,
            payload: -1,
            data: -1,
            mem_storage: -1,
            disk_storage: -1,
            streams: 1,
            consumer: -1,
          },
        },
        { name: 'JS' },
      );
      const plain = await mintAccount(w.op, {}, { name: 'PLAIN' });
      const accounts = [w.sys, js, plain];
      for (const a of accounts) await writeFile(path.join(dir, `${a.pub}.jwt`), a.jwt);
      const { pool } = await startTargetFor(t, {
        securityDoc: {
          ...operatorDoc(w, accounts, resolver, dir),
          // Not a security key: Weft ignores it here (JetStream is on by
          // default); nats-server needs it to run JetStream at all.
          jetstream: { store_dir: path.join(dir, 'ref-js') },
        },
      });
      const ask = async (nc: NatsConnection, subject: string, body: unknown) =>
        JSON.parse(
          sc.decode(
            (await nc.request(subject, sc.encode(JSON.stringify(body)), { timeout: 3000 })).data,
          ),
        );
      const a = await pool.connect({ authenticator: creds(await mintUser(js)) });
      const ok = await ask(a, '$JS.API.STREAM.CREATE.S', { name: 'S', subjects: ['s.>'] });
      assert.equal(ok.error, undefined, JSON.stringify(ok));
      const over = await ask(a, '$JS.API.STREAM.CREATE.T', { name: 'T', subjects: ['t.>'] });
      assert.equal(over.error?.err_code, 10027, JSON.stringify(over));
      const p = await pool.connect({ authenticator: creds(await mintUser(plain)) });
      const off = await ask(p, '$JS.API.INFO', {});
      assert.equal(off.error?.err_code, 10039, JSON.stringify(off));
    });
  }
});
