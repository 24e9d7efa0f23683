/**
 * `/accountz` and `/accstatz`, against Weft and (WEFT_TEST_TARGET=nats-server)
 * the reference with the same config, on the fields both have: the account
 * list and system account; an account's connections, exports and imports;
 * per-account connection counts. Weft's own additions (import counters,
 * JetStream use, per-account metrics) are checked on Weft only.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StringCodec } from 'nats';
import { checkFor, monitorJson, onlyOn, startTargetFor } from '../helpers/harness.js';

const sc = StringCodec();

const CONFIG = {
  accounts: {
    SYS: { users: [{ user: 'sys', password: 'sys' }] },
    A: {
      users: [{ user: 'a', password: 'a' }],
      exports: [{ stream: 'events.>' }, { service: 'svc.time', accounts: ['B'] }],
    },
    B: {
      users: [{ user: 'b', password: 'b' }],
      imports: [
        { stream: { account: 'A', subject: 'events.>' }, prefix: 'from_a' },
        { service: { account: 'A', subject: 'svc.time' }, to: 'time' },
      ],
    },
  },
  system_account: 'SYS',
};

type Detail = Record<string, unknown> & {
  exports: Record<string, unknown>[];
  imports: (Record<string, unknown> & { weft?: Record<string, number | boolean> })[];
  weft?: Record<string, unknown>;
};

async function detail(srv: { httpPort: number }, acc: string): Promise<Detail> {
  const r = await monitorJson<{ account_detail: Detail }>(srv, `/accountz?acc=${acc}`);
  return r.account_detail;
}

describe('/accountz', () => {
  test('lists the accounts and the system account', async (t) => {
    const { srv } = await startTargetFor(t, { securityDoc: CONFIG });
    const r = await monitorJson<{ accounts: string[]; system_account: string; server_id: string }>(
      srv,
      '/accountz',
    );
    assert.equal(r.system_account, 'SYS');
    for (const name of ['$G', 'A', 'B', 'SYS']) assert.ok(r.accounts.includes(name), name);
    assert.equal(typeof r.server_id, 'string');
  });

  test('an account: connections, exports, imports', async (t) => {
    const { srv, pool } = await startTargetFor(t, { securityDoc: CONFIG });
    await pool.connect({ user: 'a', pass: 'a' });
    await pool.connect({ user: 'a', pass: 'a' });
    await pool.connect({ user: 'b', pass: 'b' });
    await checkFor(async () => (await detail(srv, 'A')).client_connections === 2, 3000);
    const a = await detail(srv, 'A');
    assert.equal(a.account_name, 'A');
    assert.equal(a.is_system ?? false, false);
    const exports = a.exports
      .map((e) => [e.subject, e.type, e.approved_accounts ?? null, e.response_type ?? null])
      .sort();
    assert.deepEqual(exports, [
      ['events.>', 'stream', null, null],
      ['svc.time', 'service', ['B'], 'Singleton'],
    ]);
    const b = await detail(srv, 'B');
    assert.equal(b.client_connections, 1);
    // nats-server adds its own imports from the system account; the configured ones:
    const imports = b.imports
      .filter((i) => i.account === 'A')
      .map((i) => [i.subject, i.type, i.local_subject ?? null, i.to ?? null])
      .sort();
    assert.deepEqual(imports, [
      ['events.>', 'stream', 'from_a.events.>', null],
      ['time', 'service', null, 'svc.time'],
    ]);
    assert.equal((await detail(srv, 'SYS')).is_system, true);
    const res = await fetch(`http://127.0.0.1:${srv.httpPort}/accountz?acc=nope`);
    assert.equal(res.status, 400);
  });

  test(
    "Weft's additions: import counters, JetStream use, per-account metrics",
    onlyOn('weft', 'Weft-only fields'),
    async (t) => {
      const { srv, pool } = await startTargetFor(t, { securityDoc: CONFIG });
      const a = await pool.connect({ user: 'a', pass: 'a' });
      const b = await pool.connect({ user: 'b', pass: 'b' });
      b.subscribe('from_a.>');
      a.subscribe('svc.time', { callback: (_e, m) => m.respond(sc.encode('now')) });
      await Promise.all([a.flush(), b.flush()]);
      a.publish('events.1', sc.encode('x'));
      await a.flush();
      await b.request('time', sc.encode('?'), { timeout: 2000 });
      const d = await detail(srv, 'B');
      const stream = d.imports.find((i) => i.type === 'stream')!;
      const service = d.imports.find((i) => i.type === 'service')!;
      assert.equal(stream.weft?.installed, true);
      assert.equal(stream.weft?.forwarded, 1);
      assert.equal(service.weft?.forwarded, 1);
      assert.equal(service.weft?.responses, 1);
      assert.equal(service.weft?.responses_open, 0);
      const js = (await detail(srv, '$G')).weft?.jetstream as Record<string, number>;
      assert.equal(js.streams, 0);
      const statz = await monitorJson<{ account_statz: { acc: string; conns: number }[] }>(
        srv,
        '/accstatz',
      );
      assert.deepEqual(
        statz.account_statz.map((s) => [s.acc, s.conns]),
        [
          ['A', 1],
          ['B', 1],
        ],
      );
      const metrics = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
      assert.match(metrics, /weft_account_connections\{account="A"[^}]*\} 1/);
      assert.match(metrics, /weft_account_subscriptions\{account="B"[^}]*\} \d+/);
      assert.match(metrics, /weft_import_responses_open\{[^}]*\} 0/);
    },
  );
});
