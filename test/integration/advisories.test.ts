/**
 * The system account's advisories with the official client, against Weft
 * and (WEFT_TEST_TARGET=nats-server) the reference with the same config: a
 * user of the system account subscribed to `$SYS.ACCOUNT.*.CONNECT` /
 * `DISCONNECT` sees another client come and go with its account, user,
 * name and counts; a refused login is announced on
 * `$SYS.SERVER.<id>.CLIENT.AUTH.ERR`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Msg, type NatsConnection, StringCodec } from 'nats';
import { checkFor, startTargetFor } from '../helpers/harness.js';

const sc = StringCodec();

const CONFIG = {
  accounts: {
    SYS: { users: [{ user: 'sys', password: 'sys' }] },
    A: { users: [{ user: 'a', password: 'a' }] },
  },
  system_account: 'SYS',
};

type Event = Record<string, unknown> & {
  client: Record<string, unknown>;
  server: Record<string, unknown>;
};

function events(nc: NatsConnection, subject: string) {
  const got: { subject: string; body: Event }[] = [];
  nc.subscribe(subject, {
    callback: (_e, m: Msg) => got.push({ subject: m.subject, body: JSON.parse(sc.decode(m.data)) }),
  });
  return got;
}

describe('system account advisories', () => {
  test('a client of account A connects and disconnects', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: CONFIG });
    const sys = await pool.connect({ user: 'sys', pass: 'sys' });
    const connects = events(sys, '$SYS.ACCOUNT.*.CONNECT');
    const disconnects = events(sys, '$SYS.ACCOUNT.*.DISCONNECT');
    await sys.flush();
    const a = await pool.connect({ user: 'a', pass: 'a', name: 'advisory-test' });
    await checkFor(() => connects.length >= 1, 3000);
    const c = connects[0];
    assert.equal(c.subject, '$SYS.ACCOUNT.A.CONNECT');
    assert.equal(c.body.type, 'io.nats.server.advisory.v1.client_connect');
    assert.equal(typeof c.body.id, 'string');
    assert.ok(!Number.isNaN(Date.parse(c.body.timestamp as string)));
    assert.equal(c.body.server.id, sys.info?.server_id);
    assert.equal(typeof c.body.server.name, 'string');
    assert.equal(c.body.client.acc, 'A');
    assert.equal(c.body.client.user, 'a');
    assert.equal(c.body.client.name, 'advisory-test');
    assert.equal(c.body.client.lang, 'nats.js');
    assert.equal(typeof c.body.client.id, 'number');
    assert.equal(c.body.client.kind, 'Client');
    assert.equal(c.body.client.client_type, 'nats');

    a.publish('x', sc.encode('abc'));
    a.publish('y', sc.encode('defg'));
    await a.flush();
    await a.close();
    await checkFor(() => disconnects.length >= 1, 3000);
    const d = disconnects[0];
    assert.equal(d.subject, '$SYS.ACCOUNT.A.DISCONNECT');
    assert.equal(d.body.type, 'io.nats.server.advisory.v1.client_disconnect');
    assert.equal(d.body.client.acc, 'A');
    assert.equal(d.body.client.user, 'a');
    assert.equal(d.body.client.id, c.body.client.id);
    assert.equal(d.body.reason, 'Client Closed');
    assert.deepEqual(d.body.sent, { msgs: 2, bytes: 7 });
    assert.equal(typeof (d.body.received as { msgs: number }).msgs, 'number');
    assert.ok((d.body.server.seq as number) > (c.body.server.seq as number));
  });

  test('a refused login is announced on CLIENT.AUTH.ERR', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: CONFIG });
    const sys = await pool.connect({ user: 'sys', pass: 'sys' });
    const errs = events(sys, '$SYS.SERVER.*.CLIENT.AUTH.ERR');
    await sys.flush();
    await assert.rejects(pool.connect({ user: 'a', pass: 'wrong' }));
    await checkFor(() => errs.length >= 1, 3000);
    const e = errs[0];
    assert.equal(e.subject, `$SYS.SERVER.${sys.info?.server_id}.CLIENT.AUTH.ERR`);
    assert.equal(e.body.type, 'io.nats.server.advisory.v1.client_disconnect');
    assert.equal(e.body.reason, 'Authentication Failure');
    assert.equal(e.body.client.user, 'a');
    assert.equal(e.body.client.acc, '$G');
  });
});
