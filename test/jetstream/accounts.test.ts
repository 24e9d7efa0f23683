/**
 * JetStream per account: each account its own streams (a name may repeat
 * across accounts), restored per account at restart; an account without
 * JetStream refused as nats-server 2.9 refuses it; the account limits
 * (max_streams, max_consumers, max_file, max_mem) with nats-server 2.9's
 * errors. The same steps and expectations run on nats-server with
 * WEFT_TEST_TARGET=nats-server.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as connectV3, type NatsConnection as NatsV3 } from '@nats-io/transport-node';
import { TARGET } from '../helpers/harness.js';
import { type AccountsTarget, type Reply, startAccountsTarget } from './account-target.js';

const API = '$JS.API.';
const NOT_ENABLED = {
  code: 503,
  err_code: 10039,
  description: 'JetStream not enabled for account',
};

function ok(r: Reply | null, what: string): Reply {
  assert.ok(r !== null, `${what}: no reply`);
  assert.equal(r.error, undefined, `${what}: ${JSON.stringify(r.error)}`);
  return r;
}

function refused(r: Reply | null, code: number, errCode: number, description: string): void {
  assert.ok(r !== null, 'no reply');
  assert.deepEqual(r.error, { code, err_code: errCode, description });
}

describe('JetStream in two accounts with JetStream and one without', () => {
  let t: AccountsTarget;
  before(async () => {
    t = await startAccountsTarget({ A: 'enabled', B: 'enabled', C: undefined });
  });
  after(async () => {
    await t?.close();
  });

  const orders = { name: 'ORDERS', subjects: ['orders.>'] };

  it('a stream name may repeat across accounts, each stream its own', async () => {
    ok(await t.ask('A', `${API}STREAM.CREATE.ORDERS`, orders), 'create in A');
    const b = ok(await t.ask('B', `${API}STREAM.CREATE.ORDERS`, orders), 'create in B');
    assert.equal(b.did_create, true);
    assert.deepEqual(ok(await t.ask('A', 'orders.1', 'a1'), 'publish in A'), {
      stream: 'ORDERS',
      seq: 1,
    });
    ok(await t.ask('B', 'orders.1', 'b1'), 'publish in B');
    assert.deepEqual(ok(await t.ask('B', 'orders.2', 'b2'), 'publish in B'), {
      stream: 'ORDERS',
      seq: 2,
    });
    const ia = ok(await t.ask('A', `${API}STREAM.INFO.ORDERS`), 'info A');
    const ib = ok(await t.ask('B', `${API}STREAM.INFO.ORDERS`), 'info B');
    assert.equal(ia.state.messages, 1);
    assert.equal(ib.state.messages, 2);
    const m = ok(await t.ask('A', `${API}STREAM.MSG.GET.ORDERS`, { seq: 1 }), 'get A');
    assert.equal(Buffer.from(m.message.data, 'base64').toString(), 'a1');
    assert.equal((await t.ask('A', `${API}INFO`))!.streams, 1);
    if (t.kind === 'weft') {
      assert.ok(existsSync(path.join(t.dataDir, 'streams', 'A', 'ORDERS', 'stream.json')));
      assert.ok(existsSync(path.join(t.dataDir, 'streams', 'B', 'ORDERS', 'stream.json')));
    }
  });

  it('consumers are the account’s own', async () => {
    const d = { stream_name: 'ORDERS', config: { durable_name: 'D', ack_policy: 'explicit' } };
    ok(await t.ask('A', `${API}CONSUMER.DURABLE.CREATE.ORDERS.D`, d), 'consumer in A');
    const na = ok(await t.ask('A', `${API}CONSUMER.NAMES.ORDERS`), 'names A');
    const nb = ok(await t.ask('B', `${API}CONSUMER.NAMES.ORDERS`), 'names B');
    assert.deepEqual(na.consumers, ['D']);
    assert.deepEqual(nb.consumers, []);
    refused(await t.ask('B', `${API}CONSUMER.INFO.ORDERS.D`), 404, 10014, 'consumer not found');
    const ca = ok(await t.ask('A', `${API}CONSUMER.INFO.ORDERS.D`), 'consumer info A');
    assert.equal(ca.num_pending, 1);
  });

  it('deleting one account’s stream leaves the other’s', async () => {
    ok(await t.ask('B', `${API}STREAM.CREATE.GONE`, { name: 'GONE', subjects: ['gone'] }), 'B');
    ok(await t.ask('A', `${API}STREAM.CREATE.GONE`, { name: 'GONE', subjects: ['gone'] }), 'A');
    ok(await t.ask('A', `${API}STREAM.DELETE.GONE`), 'delete in A');
    refused(await t.ask('A', `${API}STREAM.INFO.GONE`), 404, 10059, 'stream not found');
    ok(await t.ask('B', `${API}STREAM.INFO.GONE`), 'B keeps its GONE');
    ok(await t.ask('B', `${API}STREAM.DELETE.GONE`), 'delete in B');
  });

  it('an account without JetStream gets "not enabled" for every JSON request', async () => {
    const cases: [string, unknown, Reply][] = [
      ['INFO', undefined, { type: 'io.nats.jetstream.api.v1.account_info_response' }],
      [
        'STREAM.CREATE.X',
        { name: 'X', subjects: ['x'] },
        { type: 'io.nats.jetstream.api.v1.stream_create_response' },
      ],
      [
        'STREAM.NAMES',
        undefined,
        {
          type: 'io.nats.jetstream.api.v1.stream_names_response',
          total: 0,
          offset: 0,
          limit: 0,
          streams: null,
        },
      ],
      [
        'STREAM.LIST',
        undefined,
        {
          type: 'io.nats.jetstream.api.v1.stream_list_response',
          total: 0,
          offset: 0,
          limit: 0,
          streams: [],
        },
      ],
      [
        'STREAM.INFO.X',
        undefined,
        { type: 'io.nats.jetstream.api.v1.stream_info_response', total: 0, offset: 0, limit: 0 },
      ],
      ['STREAM.DELETE.X', undefined, { type: 'io.nats.jetstream.api.v1.stream_delete_response' }],
      [
        'STREAM.PURGE.X',
        undefined,
        { type: 'io.nats.jetstream.api.v1.stream_purge_response', purged: 0 },
      ],
      [
        'STREAM.MSG.GET.X',
        { seq: 1 },
        { type: 'io.nats.jetstream.api.v1.stream_msg_get_response' },
      ],
      [
        'CONSUMER.CREATE.X',
        { stream_name: 'X', config: {} },
        { type: 'io.nats.jetstream.api.v1.consumer_create_response' },
      ],
      [
        'CONSUMER.NAMES.X',
        undefined,
        {
          type: 'io.nats.jetstream.api.v1.consumer_names_response',
          total: 0,
          offset: 0,
          limit: 0,
          consumers: [],
        },
      ],
      ['CONSUMER.INFO.X.D', undefined, { type: 'io.nats.jetstream.api.v1.consumer_info_response' }],
    ];
    for (const [api, body, want] of cases) {
      const r = await t.ask('C', API + api, body);
      assert.deepEqual(r, { ...want, error: NOT_ENABLED }, api);
    }
  });

  it('an account without JetStream leaves pull requests and direct gets unanswered', async () => {
    assert.equal(await t.ask('C', `${API}CONSUMER.MSG.NEXT.X.D`, { batch: 1 }, 300), null);
    assert.equal(await t.ask('C', `${API}DIRECT.GET.X`, { seq: 1 }, 300), null);
    // And nothing is captured there: a publish on A's stream subjects in C is just a message.
    assert.equal(await t.ask('C', 'orders.9', 'c', 300), null);
  });

  it('a restart restores each account’s streams and consumers', async () => {
    await t.restart();
    const ia = ok(await t.ask('A', `${API}STREAM.INFO.ORDERS`), 'info A');
    const ib = ok(await t.ask('B', `${API}STREAM.INFO.ORDERS`), 'info B');
    assert.equal(ia.state.messages, 1);
    assert.equal(ib.state.messages, 2);
    const na = ok(await t.ask('A', `${API}CONSUMER.NAMES.ORDERS`), 'names A');
    assert.deepEqual(na.consumers, ['D']);
    assert.deepEqual(ok(await t.ask('B', `${API}STREAM.NAMES`), 'names B').streams, ['ORDERS']);
    // Still captured per account after the restart.
    assert.deepEqual(ok(await t.ask('A', 'orders.3', 'a2'), 'publish in A'), {
      stream: 'ORDERS',
      seq: 2,
    });
    assert.equal(ok(await t.ask('B', `${API}STREAM.INFO.ORDERS`), 'B').state.messages, 2);
    refused(await t.ask('C', `${API}INFO`), 503, 10039, 'JetStream not enabled for account');
  });
});

describe('JetStream account limits', () => {
  let t: AccountsTarget;
  before(async () => {
    t = await startAccountsTarget({
      L: { max_streams: 3, max_consumers: 2, max_file: 10000, max_mem: 5000 },
      F: { max_file: 3000 },
    });
  });
  after(async () => {
    await t?.close();
  });

  const create = (name: string, more: Record<string, unknown> = {}) =>
    t.ask('L', `${API}STREAM.CREATE.${name}`, { name, subjects: [name.toLowerCase()], ...more });
  const STORAGE = [500, 10047, 'insufficient storage resources available'] as const;

  it('account info reports the limits and the usage', async () => {
    const info = ok(await t.ask('L', `${API}INFO`), 'account info');
    assert.deepEqual(info.limits, {
      max_memory: 5000,
      max_storage: 10000,
      max_streams: 3,
      max_consumers: 2,
      max_ack_pending: -1,
      memory_max_stream_bytes: -1,
      storage_max_stream_bytes: -1,
      max_bytes_required: false,
    });
    assert.equal(info.streams, 0);
  });

  it('max_bytes is reserved against max_file at create and update', async () => {
    ok(await create('S1', { max_bytes: 6000 }), 'S1 6000 of 10000');
    refused(await create('S2', { max_bytes: 4001 }), ...STORAGE);
    ok(await create('S2', { max_bytes: 4000 }), 'S2 4000: exactly the rest');
    // A stream without max_bytes needs one byte of room.
    refused(await create('S3'), ...STORAGE);
    const s1 = { name: 'S1', subjects: ['s1'] };
    refused(await t.ask('L', `${API}STREAM.UPDATE.S1`, { ...s1, max_bytes: 6001 }), ...STORAGE);
    ok(await t.ask('L', `${API}STREAM.UPDATE.S1`, { ...s1, max_bytes: 5000 }), 'S1 down to 5000');
    ok(await t.ask('L', `${API}STREAM.UPDATE.S1`, { ...s1, max_bytes: 6000 }), 'S1 back to 6000');
  });

  it('memory streams are reserved against max_mem', async () => {
    refused(
      await create('M1', { storage: 'memory', max_bytes: 6000 }),
      500,
      10028,
      'insufficient memory resources available',
    );
    ok(await create('M1', { storage: 'memory' }), 'M1 without max_bytes');
  });

  it('max_streams refuses the next stream', async () => {
    refused(
      await create('M2', { storage: 'memory', max_bytes: 1 }),
      400,
      10027,
      'maximum number of streams reached',
    );
    const info = ok(await t.ask('L', `${API}INFO`), 'account info');
    assert.equal(info.streams, 3);
  });

  it('max_consumers applies per stream', async () => {
    const eph = (stream: string) =>
      t.ask('L', `${API}CONSUMER.CREATE.${stream}`, {
        stream_name: stream,
        config: { ack_policy: 'explicit' },
      });
    ok(await eph('S1'), 'first on S1');
    ok(await eph('S1'), 'second on S1');
    refused(await eph('S1'), 400, 10026, 'maximum consumers limit reached');
    const d = { stream_name: 'S1', config: { durable_name: 'D', ack_policy: 'explicit' } };
    refused(
      await t.ask('L', `${API}CONSUMER.DURABLE.CREATE.S1.D`, d),
      400,
      10026,
      'maximum consumers limit reached',
    );
    // Another stream has its own count.
    ok(await eph('S2'), 'first on S2');
    ok(await eph('S2'), 'second on S2');
    assert.equal(ok(await t.ask('L', `${API}INFO`), 'info').consumers, 4);
  });

  it('a publish that would pass max_mem is refused in its PubAck', async () => {
    // Each message is about 1,000 bytes as either server counts it: four fit in 5,000.
    const body = 'm'.repeat(1000);
    for (let i = 1; i <= 4; i++) {
      assert.deepEqual(ok(await t.ask('L', 'm1', body), `publish ${i}`), {
        stream: 'M1',
        seq: i,
      });
    }
    const r = await t.ask('L', 'm1', body);
    assert.deepEqual(r, {
      error: { code: 400, err_code: 10002, description: 'resource limits exceeded for account' },
      stream: 'M1',
      seq: 0,
    });
    const info = ok(await t.ask('L', `${API}INFO`), 'account info');
    assert.ok(info.memory > 4000 && info.memory <= 5000, `memory ${info.memory}`);
    // Room again once the stream is purged.
    ok(await t.ask('L', `${API}STREAM.PURGE.M1`), 'purge');
    assert.equal(ok(await t.ask('L', 'm1', body), 'publish after the purge').error, undefined);
  });

  it('/jsz?accounts=true shows each account’s usage and reservation', async () => {
    const res = await fetch(`http://127.0.0.1:${t.httpPort}/jsz?accounts=true`);
    const jsz = (await res.json()) as Reply;
    const l = (jsz.account_details as Reply[]).find((a) => a.name === 'L');
    assert.ok(l !== undefined, JSON.stringify(jsz.account_details));
    assert.equal(l.reserved_memory, 5000);
    assert.equal(l.reserved_storage, 10000);
    const info = ok(await t.ask('L', `${API}INFO`), 'account info');
    assert.equal(l.memory, info.memory);
    assert.equal(l.storage, info.storage);
    // The node's totals: what the streams' max_bytes reserve (S1 6,000 and S2 4,000; M1 none).
    assert.equal(jsz.reserved_storage, 10000);
    assert.equal(jsz.reserved_memory, 0);
    const varz = (await (await fetch(`http://127.0.0.1:${t.httpPort}/varz`)).json()) as Reply;
    assert.equal(varz.jetstream.stats.reserved_storage, 10000);
    if (t.kind === 'weft') {
      // Weft's own: what each limit refused so far in this suite, also in /metrics.
      assert.deepEqual(l.weft.limits_hit, {
        streams: 1,
        consumers: 2,
        storage: 3,
        memory: 1,
        publish: 1,
      });
      assert.equal(l.weft.limits.max_streams, 3);
      const metrics = await (await fetch(`http://127.0.0.1:${t.httpPort}/metrics`)).text();
      assert.match(
        metrics,
        /^weft_jetstream_limit_refusals_total\{account="L",limit="storage"[^}]*\} 3$/m,
      );
    }
  });

  it('a publish that would pass max_file is refused in its PubAck', async () => {
    ok(await t.ask('F', `${API}STREAM.CREATE.F`, { name: 'F', subjects: ['f'] }), 'create F');
    const body = 'f'.repeat(1000);
    ok(await t.ask('F', 'f', body), 'first');
    ok(await t.ask('F', 'f', body), 'second');
    refused(await t.ask('F', 'f', body), 400, 10002, 'resource limits exceeded for account');
    const info = ok(await t.ask('F', `${API}INFO`), 'account info');
    assert.ok(info.storage > 2000 && info.storage <= 3000, `storage ${info.storage}`);
    const si = ok(await t.ask('F', `${API}STREAM.INFO.F`), 'stream info');
    assert.equal(si.state.messages, 2);
  });
});

describe('JetStream per account with @nats-io/jetstream (v3)', () => {
  let t: AccountsTarget;
  const conns: NatsV3[] = [];
  before(async () => {
    t = await startAccountsTarget({
      A: 'enabled',
      B: 'enabled',
      C: undefined,
      L: { max_streams: 1, max_consumers: 1 },
    });
  });
  after(async () => {
    for (const nc of conns) await nc.close();
    await t?.close();
  });

  const as = async (account: string) => {
    const u = account.toLowerCase();
    const nc = await connectV3({ port: t.port, user: u, pass: u, reconnect: false });
    conns.push(nc);
    return nc;
  };

  it('same stream name in two accounts: publishes and consumers stay in their account', async () => {
    const [a, b] = [await as('A'), await as('B')];
    const [jsmA, jsmB] = [await jetstreamManager(a), await jetstreamManager(b)];
    await jsmA.streams.add({ name: 'EV', subjects: ['ev.>'] });
    await jsmB.streams.add({ name: 'EV', subjects: ['ev.>'] });
    const ack = await jetstream(a).publish('ev.a', 'from A');
    assert.deepEqual([ack.stream, ack.seq], ['EV', 1]);
    await jetstream(b).publish('ev.b1', 'from B');
    await jetstream(b).publish('ev.b2', 'from B');
    await jsmA.consumers.add('EV', { durable_name: 'W', ack_policy: AckPolicy.Explicit });
    const c = await jetstream(a).consumers.get('EV', 'W');
    const got: string[] = [];
    for await (const m of await c.fetch({ max_messages: 5, expires: 1000 })) {
      got.push(m.subject);
      m.ack();
    }
    assert.deepEqual(got, ['ev.a']);
    assert.equal((await jsmB.streams.info('EV')).state.messages, 2);
    assert.deepEqual(await jsmB.consumers.list('EV').next(), []);
    assert.equal((await jsmA.getAccountInfo()).streams, 1);
  });

  it('an account without JetStream: the client says JetStream is not enabled', async () => {
    const c = await as('C');
    await assert.rejects(jetstreamManager(c), (err: Error) => {
      assert.equal(err.name, 'JetStreamNotEnabled');
      return true;
    });
  });

  it('the limits reach the client as API errors with nats-server’s codes', async () => {
    const jsm = await jetstreamManager(await as('L'));
    const info = await jsm.getAccountInfo();
    assert.equal(info.limits.max_streams, 1);
    assert.equal(info.limits.max_consumers, 1);
    await jsm.streams.add({ name: 'ONE', subjects: ['one'] });
    await assert.rejects(jsm.streams.add({ name: 'TWO', subjects: ['two'] }), (err: Error) => {
      assert.ok(err instanceof JetStreamApiError, String(err));
      assert.equal(err.code, 10027);
      return true;
    });
    await jsm.consumers.add('ONE', { durable_name: 'X', ack_policy: AckPolicy.Explicit });
    await assert.rejects(
      jsm.consumers.add('ONE', { durable_name: 'Y', ack_policy: AckPolicy.Explicit }),
      (err: Error) => {
        assert.ok(err instanceof JetStreamApiError, String(err));
        assert.equal(err.code, 10026);
        return true;
      },
    );
  });
});

describe('a reload turns JetStream on in an account and replaces limits', {
  skip: TARGET === 'nats-server' ? "Weft's reload" : false,
}, () => {
  let t: AccountsTarget;
  before(async () => {
    t = await startAccountsTarget({ A: 'enabled', D: undefined });
  });
  after(async () => {
    await t?.close();
  });

  it('applies at once, keeping what is stored', async () => {
    ok(await t.ask('A', `${API}STREAM.CREATE.S`, { name: 'S', subjects: ['s'] }), 'create in A');
    ok(await t.ask('A', 's', 'kept'), 'publish in A');
    refused(await t.ask('D', `${API}INFO`), 503, 10039, 'JetStream not enabled for account');
    await t.reload({ A: { max_streams: 1 }, D: 'enabled' });
    ok(await t.ask('D', `${API}STREAM.CREATE.S`, { name: 'S', subjects: ['s'] }), 'create in D');
    refused(
      await t.ask('A', `${API}STREAM.CREATE.T`, { name: 'T', subjects: ['t'] }),
      400,
      10027,
      'maximum number of streams reached',
    );
    assert.equal(ok(await t.ask('A', `${API}INFO`), 'info').limits.max_streams, 1);
    assert.equal(ok(await t.ask('A', `${API}STREAM.INFO.S`), 'info').state.messages, 1);
    // Turned off again: kept until restart (its streams are not dropped under its clients).
    await t.reload({ A: 'enabled', D: undefined });
    ok(await t.ask('D', `${API}STREAM.INFO.S`), 'D keeps JetStream until restart');
    await t.restart();
    refused(await t.ask('D', `${API}INFO`), 503, 10039, 'JetStream not enabled for account');
    assert.equal(ok(await t.ask('A', `${API}INFO`), 'info').limits.max_streams, -1);
  });
});
