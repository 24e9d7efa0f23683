/**
 * Advisories called directly (as any face would): published into the system
 * account in nats-server's subjects and shapes, only when someone listens;
 * the global account's clients are not announced.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Advisories, type DisconnectInfo } from '../../src/connection/advisories.js';
import { Accounts } from '../../src/core/account.js';
import type { Message, Subscriber, Subscription } from '../../src/core/message.js';
import { Router } from '../../src/core/router.js';

function setup() {
  const accounts = new Accounts();
  const sys = accounts.getOrCreate('$SYS');
  const adv = new Advisories(
    {
      router: new Router(),
      serverId: 'NSERVER',
      name: 'n1',
      options: { host: '127.0.0.1' },
      jetstream: null,
    },
    sys,
  );
  // biome-ignore lint/suspicious/noExplicitAny: a JSON advisory, read field by field
  const got: { subject: string; body: Record<string, any> }[] = [];
  const listener: Subscriber = {
    id: 1,
    kind: 'client',
    echo: true,
    deliver: (_s: Subscription, m: Message) =>
      got.push({ subject: m.subject, body: JSON.parse(m.payload.toString()) }),
  };
  const listen = () =>
    sys.subscribe({
      subject: '$SYS.>',
      queue: '',
      sid: '1',
      owner: listener,
      max: 0,
      delivered: 0,
    });
  return { adv, got, listen };
}

const conn: DisconnectInfo = {
  id: 7,
  start: new Date('2026-12-06T00:00:00Z'),
  host: '10.0.0.1',
  account: 'A',
  user: 'alice',
  name: 'svc',
  lang: 'go',
  version: '1.2.3',
  inMsgs: 3,
  inBytes: 30,
  outMsgs: 4,
  outBytes: 40,
  reason: 'Client Closed',
};

test('nothing is built when nobody listens', () => {
  const { adv, got } = setup();
  adv.clientConnected(conn);
  assert.equal(got.length, 0);
  assert.equal(adv.skipped, 1);
});

test('connect, disconnect and auth failure in nats-server shapes', () => {
  const { adv, got, listen } = setup();
  listen();
  adv.clientConnected(conn);
  adv.clientDisconnected(conn);
  adv.authFailed({ ...conn, account: '', reason: '' });
  assert.deepEqual(
    got.map((g) => g.subject),
    ['$SYS.ACCOUNT.A.CONNECT', '$SYS.ACCOUNT.A.DISCONNECT', '$SYS.SERVER.NSERVER.CLIENT.AUTH.ERR'],
  );
  const [c, d, e] = got.map((g) => g.body);
  assert.equal(c.type, 'io.nats.server.advisory.v1.client_connect');
  assert.equal(c.id.length, 22);
  assert.deepEqual(
    { ...c.server, time: undefined },
    {
      name: 'n1',
      host: '127.0.0.1',
      id: 'NSERVER',
      ver: c.server.ver,
      seq: 1,
      jetstream: false,
      time: undefined,
    },
  );
  assert.deepEqual(c.client, {
    start: '2026-12-06T00:00:00.000Z',
    host: '10.0.0.1',
    id: 7,
    acc: 'A',
    user: 'alice',
    name: 'svc',
    lang: 'go',
    ver: '1.2.3',
    kind: 'Client',
    client_type: 'nats',
  });
  assert.equal(d.type, 'io.nats.server.advisory.v1.client_disconnect');
  assert.deepEqual(d.sent, { msgs: 3, bytes: 30 });
  assert.deepEqual(d.received, { msgs: 4, bytes: 40 });
  assert.equal(d.reason, 'Client Closed');
  assert.equal(typeof d.client.stop, 'string');
  assert.equal(d.server.seq, 2);
  assert.equal(e.reason, 'Authentication Failure');
  assert.equal(e.client.acc, '$G');
});

test('clients of the global account are not announced (as nats-server)', () => {
  const { adv, got, listen } = setup();
  listen();
  adv.clientConnected({ ...conn, account: '$G' });
  adv.clientDisconnected({ ...conn, account: '$G' });
  assert.equal(got.length, 0);
});
