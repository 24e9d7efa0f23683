/**
 * Accounts and per-identity limits with the official client: accounts are
 * isolated subject spaces; account and user limits on connections,
 * subscriptions, payload and data rates; and a reload (what SIGHUP does)
 * that keeps allowed connections going and closes or trims the others.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ErrorCode, type NatsConnection, type NatsError, StringCodec } from 'nats';
import { parseSecurity } from '../../src/auth/config.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { clientPool } from '../helpers/clients.js';
import { checkFor, onlyOn, RawClient, startTargetFor } from '../helpers/harness.js';

const sc = StringCodec();

const TWO_ACCOUNTS = {
  accounts: {
    A: { users: [{ user: 'a', password: 'a' }] },
    B: { users: [{ user: 'b', password: 'b' }] },
  },
};

async function startWeft(
  t: { after: (fn: () => Promise<void>) => void },
  doc: Record<string, unknown>,
) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-tenancy-'));
  const srv: WeftServer = await startServer({ ...weftBase(dataDir), ...parseSecurity(doc) });
  const pool = clientPool(`nats://127.0.0.1:${srv.port}`);
  t.after(async () => {
    await pool.closeAll();
    await srv.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { srv, pool };
}

/** Reloads `srv` with the settings startWeft gave it and the security blocks of `doc` (what SIGHUP does). */
function reloadWith(srv: WeftServer, doc: Record<string, unknown>) {
  return srv.node.reload({ ...weftBase(srv.node.options.dataDir), ...parseSecurity(doc) });
}

/** The settings every node of this file starts with. */
function weftBase(dataDir: string) {
  return {
    host: '127.0.0.1',
    port: 0,
    httpPort: 0,
    dataDir,
    logLevel: 'silent' as const,
    meshPort: -1,
  };
}

/** Messages a subscription has received by the time the connection round-trips a PING. */
async function received(nc: NatsConnection, sub: { getReceived(): number }): Promise<number> {
  await nc.flush();
  return sub.getReceived();
}

describe('accounts', () => {
  test('each account is its own subject space', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: TWO_ACCOUNTS });
    const a1 = await pool.connect({ user: 'a', pass: 'a' });
    const a2 = await pool.connect({ user: 'a', pass: 'a' });
    const b = await pool.connect({ user: 'b', pass: 'b' });
    const inA = a2.subscribe('orders.>');
    const inB = b.subscribe('orders.>');
    const all = b.subscribe('>');
    await Promise.all([a2.flush(), b.flush()]);
    for (let i = 0; i < 10; i++) a1.publish(`orders.${i}`, sc.encode(String(i)));
    await a1.flush();
    await checkFor(async () => (await received(a2, inA)) === 10, 3000);
    assert.equal(await received(b, inB), 0);
    assert.equal(await received(b, all), 0);
    all.unsubscribe();
    // Requests do not cross either.
    a2.subscribe('svc', { callback: (_e, m) => m.respond(sc.encode('from A')) });
    await a2.flush();
    const r = await a1.request('svc', sc.encode('?'), { timeout: 2000 });
    assert.equal(sc.decode(r.data), 'from A');
    await assert.rejects(b.request('svc', sc.encode('?'), { timeout: 500 }), (e: NatsError) => {
      assert.equal(e.code, ErrorCode.NoResponders);
      return true;
    });
  });

  test('an account default_permissions apply to its users that set none', async (t) => {
    const { srv } = await startTargetFor(t, {
      securityDoc: {
        accounts: {
          A: {
            users: [{ user: 'a', password: 'a' }],
            default_permissions: { publish: { deny: ['admin.>'] } },
          },
        },
      },
    });
    const c = await RawClient.handshake(srv.port, { user: 'a', pass: 'a' });
    c.send('PUB admin.reset 0\r\n\r\n');
    await c.expectLine(`-ERR 'Permissions Violation for Publish to "admin.reset"'`);
    await c.ping();
    c.destroy();
  });
});

describe('limits per identity', () => {
  test(
    'account max_connections: the next connection is refused by name',
    onlyOn('weft', 'nats-server has no account limits in its config file (only in JWTs)'),
    async (t) => {
      const { srv, pool } = await startWeft(t, {
        accounts: {
          A: {
            users: [
              { user: 'a', password: 'a' },
              { user: 'a2', password: 'a' },
            ],
            limits: { max_connections: 2 },
          },
          B: { users: [{ user: 'b', password: 'b' }] },
        },
      });
      await pool.connect({ user: 'a', pass: 'a' });
      await pool.connect({ user: 'a2', pass: 'a' });
      const c = await RawClient.open(srv.port);
      c.send('CONNECT {"verbose":false,"user":"a","pass":"a"}\r\nPING\r\n');
      await c.expectClosed(3000, [/^-ERR 'maximum account active connections exceeded'$/]);
      c.destroy();
      // Another account is not affected.
      await (await pool.connect({ user: 'b', pass: 'b' })).flush();
    },
  );

  test(
    'user max_subscriptions and max_payload',
    onlyOn('weft', 'per-user limits are Weft config'),
    async (t) => {
      const { srv } = await startWeft(t, {
        authorization: {
          users: [{ user: 'u', password: 'p', limits: { max_subscriptions: 2, max_payload: 16 } }],
        },
      });
      const c = await RawClient.handshake(srv.port, { user: 'u', pass: 'p' });
      c.send('SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n');
      await c.expectLine(`-ERR 'maximum subscriptions exceeded'`);
      await c.ping();
      // Unsubscribing frees a place.
      c.send('UNSUB 1\r\nSUB c 3\r\nPING\r\n');
      await c.expectLine('PONG');
      c.send(`PUB a 17\r\n${'x'.repeat(17)}\r\n`);
      await c.expectClosed(3000, [/^-ERR 'Maximum Payload Violation'$/]);
      c.destroy();
    },
  );

  test(
    'a data rate with rate_exceeded: slow delays the publisher and loses nothing',
    onlyOn('weft', 'rates are Weft config'),
    async (t) => {
      const { pool } = await startWeft(t, {
        authorization: {
          users: [
            { user: 'slow', password: 'p', limits: { msgs_per_second: 100 } },
            { user: 'free', password: 'p' },
          ],
        },
      });
      const pub = await pool.connect({ user: 'slow', pass: 'p' });
      const watcher = await pool.connect({ user: 'free', pass: 'p' });
      const sub = watcher.subscribe('rate.>');
      await watcher.flush();
      const began = Date.now();
      // 100 fit the bucket; 200 more need about 2 s at 100 msgs/s.
      for (let i = 0; i < 300; i++) pub.publish(`rate.${i}`, sc.encode(String(i)));
      await pub.flush();
      const took = Date.now() - began;
      await checkFor(async () => (await received(watcher, sub)) === 300, 5000);
      assert.ok(took >= 1500, `300 messages at 100/s took only ${took} ms`);
      // Another identity is not slowed meanwhile.
      const other = await pool.connect({ user: 'free', pass: 'p' });
      const t0 = Date.now();
      for (let i = 0; i < 300; i++) other.publish('rate.free', sc.encode('x'));
      await other.flush();
      assert.ok(Date.now() - t0 < took, 'the unlimited user was slowed too');
    },
  );

  test(
    'rate_exceeded: drop drops what exceeds the rate and counts it',
    onlyOn('weft', 'rates are Weft config'),
    async (t) => {
      const { srv, pool } = await startWeft(t, {
        authorization: {
          users: [
            { user: 'd', password: 'p', limits: { msgs_per_second: 50, rate_exceeded: 'drop' } },
            { user: 'w', password: 'p' },
          ],
        },
      });
      const pub = await pool.connect({ user: 'd', pass: 'p' });
      const watcher = await pool.connect({ user: 'w', pass: 'p' });
      const sub = watcher.subscribe('drop.>');
      await watcher.flush();
      for (let i = 0; i < 500; i++) pub.publish('drop.x', sc.encode(String(i)));
      await pub.flush();
      const got = await received(watcher, sub);
      assert.ok(got >= 50 && got < 500, `got ${got} of 500`);
      assert.equal(srv.node.security.quotas.rateDrops, 500 - got);
    },
  );
});

describe('reload', () => {
  test(
    'a removed user is closed, shrunk permissions trim subscriptions, others keep going',
    onlyOn('weft', 'calls the node API'),
    async (t) => {
      const doc = (keep: boolean, narrow: boolean) => ({
        authorization: {
          users: [
            { user: 'stay', password: 'p' },
            ...(keep ? [{ user: 'gone', password: 'p' }] : []),
            {
              user: 'trim',
              password: 'p',
              permissions: { subscribe: narrow ? ['keep.>'] : ['keep.>', 'lose.>'] },
            },
          ],
        },
      });
      const { srv, pool } = await startWeft(t, doc(true, false));
      const stay = await pool.connect({ user: 'stay', pass: 'p' });
      const gone = await RawClient.handshake(srv.port, { user: 'gone', pass: 'p' });
      const trim = await RawClient.handshake(srv.port, { user: 'trim', pass: 'p' });
      trim.send('SUB keep.x 1\r\nSUB lose.x 2\r\n');
      await trim.ping();
      const counted = stay.subscribe('seq');
      await stay.flush();
      // Traffic through the reload: every message of the staying user arrives.
      const publisher = await pool.connect({ user: 'stay', pass: 'p' });
      let sent = 0;
      const timer = setInterval(() => {
        for (let i = 0; i < 20; i++) publisher.publish('seq', sc.encode(String(sent++)));
      }, 1);
      const report = await reloadWith(srv, doc(false, true));
      clearInterval(timer);
      await publisher.flush();
      assert.equal(report.closed, 1);
      assert.equal(report.subscriptionsRemoved, 1);
      await gone.expectClosed(3000, [/^-ERR 'Authorization Violation'$/]);
      await trim.expectLine(`-ERR 'Permissions Violation for Subscription to "lose.x"'`);
      await trim.ping();
      await checkFor(async () => (await received(stay, counted)) === sent, 5000);
      // The port and monitoring changed nothing: no restart was needed.
      assert.deepEqual(report.needRestart, []);
      // A new login uses the new configuration.
      await assert.rejects(pool.connect({ user: 'gone', pass: 'p' }));
    },
  );
});

describe('reload of limits', () => {
  test(
    'a shrunk max_subscriptions removes the subscriptions over it, each named',
    onlyOn('weft', 'calls the node API'),
    async (t) => {
      const doc = (max: number) => ({
        authorization: {
          users: [{ user: 'u', password: 'p', limits: { max_subscriptions: max } }],
        },
      });
      const { srv } = await startWeft(t, doc(3));
      const c = await RawClient.handshake(srv.port, { user: 'u', pass: 'p' });
      t.after(() => c.destroy());
      c.send('SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n');
      await c.ping();
      const report = await reloadWith(srv, doc(1));
      assert.equal(report.subscriptionsRemoved, 2);
      await c.expectLine(`-ERR 'maximum subscriptions exceeded'`);
      await c.expectLine(`-ERR 'maximum subscriptions exceeded'`);
      await c.ping();
      // The one kept still receives; a new one is refused at the new limit.
      c.send('PUB a 2\r\nhi\r\nSUB d 4\r\n');
      await c.expectMsg('a', 1, 'hi');
      await c.expectLine(`-ERR 'maximum subscriptions exceeded'`);
      // Unsubscribing frees the place (the count was kept right through the reload).
      c.send('UNSUB 1\r\nSUB d 4\r\nPING\r\n');
      await c.expectLine('PONG');
    },
  );
});

test(
  'a reload that changes system_account says it needs a restart',
  onlyOn('weft', 'calls the node API'),
  async (t) => {
    const doc = (sys: string) => ({
      accounts: { SYS1: {}, SYS2: {}, A: { users: [{ user: 'a', password: 'a' }] } },
      system_account: sys,
    });
    const { srv } = await startWeft(t, doc('SYS1'));
    const report = await reloadWith(srv, doc('SYS2'));
    assert.deepEqual(report.needRestart, ['system_account']);
    assert.equal(srv.node.systemAccount.name, 'SYS1');
  },
);
