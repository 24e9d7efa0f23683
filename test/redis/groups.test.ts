/**
 * Consumer groups with the clients applications use (ioredis, node-redis
 * in RESP2 and RESP3) against a real node: the PEL, delivery counts,
 * consumers and the last delivered ID survive a restart; the group is a
 * durable JetStream consumer a NATS client sees; BLOCK is woken by a new
 * entry on any of its keys; NOACK; claims.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { AckPolicy, connect, type NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { createClient } from 'redis';
import { groupsOfFace } from '../../src/protocols/redis/groups/access.js';
import { REDIS_GROUP_READ_MAX } from '../../src/protocols/redis/groups/live.js';
import { JsErr } from '../../src/streams/stream-errors.js';
import { checkFor } from '../helpers/poll.js';
import { type RedisNode, startRedisNode } from './groups-helpers.js';

type Entries = [string, string[]][];
type ReadReply = [string, Entries][] | null;

describe('consumer groups', () => {
  let node: RedisNode;
  let r: Redis;
  before(async () => {
    node = await startRedisNode();
    r = new Redis({ port: node.port, host: '127.0.0.1' });
  });
  after(async () => {
    r.disconnect();
    await node.close();
  });

  test('the PEL, delivery counts, consumers and last ID survive a restart', async () => {
    for (let i = 1; i <= 5; i++) await r.xadd('orders', `${i}-0`, 'n', String(i));
    assert.equal(await r.xgroup('CREATE', 'orders', 'billing', '0'), 'OK');
    const a = (await r.xreadgroup(
      'GROUP',
      'billing',
      'alice',
      'COUNT',
      2,
      'STREAMS',
      'orders',
      '>',
    )) as ReadReply;
    assert.deepEqual(
      a![0]![1].map((e) => e[0]),
      ['1-0', '2-0'],
    );
    const b = (await r.xreadgroup(
      'GROUP',
      'billing',
      'bob',
      'COUNT',
      2,
      'STREAMS',
      'orders',
      '>',
    )) as ReadReply;
    assert.deepEqual(
      b![0]![1].map((e) => e[0]),
      ['3-0', '4-0'],
    );
    // alice reads her history twice: delivery count 3 for 1-0 and 2-0.
    await r.xreadgroup('GROUP', 'billing', 'alice', 'STREAMS', 'orders', '0');
    await r.xreadgroup('GROUP', 'billing', 'alice', 'STREAMS', 'orders', '0');
    assert.equal(await r.xack('orders', 'billing', '2-0'), 1);
    await r.xclaim('orders', 'billing', 'carol', 0, '4-0', 'IDLE', 60_000, 'RETRYCOUNT', 9);
    await r.xgroup('CREATECONSUMER', 'orders', 'billing', 'dave');
    const pendingBefore = await r.xpending('orders', 'billing', '-', '+', 10);
    const groupsBefore = await r.xinfo('GROUPS', 'orders');

    r.disconnect();
    await node.restart();
    r = new Redis({ port: node.port, host: '127.0.0.1' });

    const pendingAfter = (await r.xpending('orders', 'billing', '-', '+', 10)) as [
      string,
      string,
      number,
      number,
    ][];
    const strip = (p: unknown) => (p as unknown[][]).map((e) => [e[0], e[1], e[3]]);
    assert.deepEqual(strip(pendingAfter), strip(pendingBefore));
    assert.deepEqual(strip(pendingAfter), [
      ['1-0', 'alice', 3],
      ['3-0', 'bob', 1],
      ['4-0', 'carol', 9],
    ]);
    // The idle time kept counting from the delivery time, across the restart.
    assert.ok(pendingAfter[2]![2] >= 60_000, `idle ${pendingAfter[2]![2]}`);
    assert.deepEqual(await r.xinfo('GROUPS', 'orders'), groupsBefore);
    const consumers = (await r.xinfo('CONSUMERS', 'orders', 'billing')) as unknown[][];
    assert.deepEqual(
      consumers.map((c) => [c[1], c[3]]),
      [
        ['alice', 1],
        ['bob', 1],
        ['carol', 1],
        ['dave', 0],
      ],
    );
    // The position survived: `>` goes on with 5-0, nothing is given twice.
    const next = (await r.xreadgroup(
      'GROUP',
      'billing',
      'alice',
      'STREAMS',
      'orders',
      '>',
    )) as ReadReply;
    assert.deepEqual(next![0]![1], [['5-0', ['n', '5']]]);
    assert.equal(await r.xreadgroup('GROUP', 'billing', 'alice', 'STREAMS', 'orders', '>'), null);
    assert.equal(await r.xack('orders', 'billing', '1-0', '3-0', '4-0', '5-0'), 4);
    assert.deepEqual(await r.xpending('orders', 'billing'), [0, null, null, null]);
  });

  test('the group is a durable JetStream consumer; what a NATS client takes from it', async () => {
    for (let i = 1; i <= 3; i++) await r.xadd('jobs', `${i}-0`, 'j', String(i));
    await r.xgroup('CREATE', 'jobs', 'workers', '0');
    await r.xreadgroup('GROUP', 'workers', 'w1', 'COUNT', 1, 'STREAMS', 'jobs', '>');
    const nc: NatsConnection = await connect({ port: node.srv.port });
    try {
      const jsm = await nc.jetstreamManager();
      const names = (await jsm.consumers.list('jobs').next()).map((c) => c.name);
      assert.deepEqual(names, ['redis_workers']);
      const info = await jsm.consumers.info('jobs', 'redis_workers');
      assert.equal(info.config.ack_policy, AckPolicy.Explicit);
      assert.equal(info.num_ack_pending, 1);
      assert.equal(info.delivered.stream_seq, 1);
      // A NATS client pulling from the group's consumer takes the next entry
      // as another member would; without its ack the entry stays with it.
      const js = nc.jetstream();
      const c = await js.consumers.get('jobs', 'redis_workers');
      const m = await c.next({ expires: 2000 });
      assert.equal(m?.seq, 2);
      // XACK of the Redis entry acks the JetStream delivery.
      assert.equal(await r.xack('jobs', 'workers', '1-0'), 1);
      await checkFor(
        async () => (await jsm.consumers.info('jobs', 'redis_workers')).num_ack_pending === 1,
        5000,
      );
    } finally {
      await nc.close();
    }
    // After a restart, what the NATS client held unacked (never in the PEL,
    // after the group's last ID) goes to the next Redis reader.
    r.disconnect();
    await node.restart();
    r = new Redis({ port: node.port, host: '127.0.0.1' });
    const got = (await r.xreadgroup('GROUP', 'workers', 'w2', 'STREAMS', 'jobs', '>')) as ReadReply;
    assert.deepEqual(
      got![0]![1].map((e) => e[0]),
      ['2-0', '3-0'],
    );
  });

  test('after a restart, acks the consumer missed are made again from the records', async () => {
    for (let i = 1; i <= 3; i++) await r.xadd('lost', `${i}-0`, 'v', String(i));
    await r.xgroup('CREATE', 'lost', 'g', '0');
    await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'lost', '>');
    // An XACK whose record is written but whose JetStream ack never happened
    // (a crash between the two): the group's change alone.
    const face = node.srv.node.faces.find((f) => f.name === 'redis') as unknown as {
      state: Parameters<typeof groupsOfFace>[0];
    };
    const all = await groupsOfFace(face.state).of(node.srv.node.accounts.get('$G')!);
    const cs = node.srv.node.jetstream!.account('$G')!.streams.get('lost')!;
    const ids = [...all.get(cs, 'g')!.state.pel.from('')].slice(0, 2).map(([k]) => k);
    await all.commit(all.get(cs, 'g')!, { o: 'ack', ids });
    assert.equal(cs.consumers.byName.get('redis_g')!.counts().num_ack_pending, 3);
    r.disconnect();
    await node.restart();
    r = new Redis({ port: node.port, host: '127.0.0.1' });
    assert.deepEqual(await r.xpending('lost', 'g'), [1, '3-0', '3-0', [['c', '1']]]);
    const consumer = node.srv.node
      .jetstream!.account('$G')!
      .streams.get('lost')!
      .consumers.byName.get('redis_g')!;
    await checkFor(() => consumer.counts().num_ack_pending === 1, 5000);
  });

  test('a group whose JetStream consumer cannot be made is not made', async () => {
    const nc = await connect({ port: node.srv.port });
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({
        name: 'limited',
        subjects: ['redis.stream.limited'],
        max_consumers: 1,
      });
      await jsm.consumers.add('limited', { durable_name: 'taken', ack_policy: AckPolicy.Explicit });
    } finally {
      await nc.close();
    }
    await assert.rejects(
      r.xgroup('CREATE', 'limited', 'g', '0'),
      /^ReplyError: ERR the group's JetStream consumer cannot be created: maximum consumers limit reached/,
    );
    assert.deepEqual(await r.xinfo('GROUPS', 'limited'), []);
  });

  test('BLOCK on several keys is woken by an entry on one; the reply names it alone', async () => {
    await r.xgroup('CREATE', 'k1', 'g', '$', 'MKSTREAM');
    await r.xgroup('CREATE', 'k2', 'g', '$', 'MKSTREAM');
    const p = r.duplicate();
    const t0 = Date.now();
    const none = await p.xreadgroup(
      'GROUP',
      'g',
      'c',
      'BLOCK',
      200,
      'STREAMS',
      'k1',
      'k2',
      '>',
      '>',
    );
    assert.equal(none, null);
    assert.ok(Date.now() - t0 >= 190);
    const waiting = p.xreadgroup('GROUP', 'g', 'c', 'BLOCK', 0, 'STREAMS', 'k1', 'k2', '>', '>');
    await checkFor(() => {
      const js = node.srv.node.jetstream!.account('$G')!;
      return js.streams.get('k2')!.consumers.byName.get('redis_g')!.counts().num_waiting === 1;
    }, 5000);
    await r.xadd('k2', '7-0', 'x', 'y');
    assert.deepEqual(await waiting, [['k2', [['7-0', ['x', 'y']]]]]);
    // The other key's wait was cancelled: its next entry is there for the next read.
    await r.xadd('k1', '8-0', 'x', 'z');
    assert.deepEqual(await p.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'k1', '>'), [
      ['k1', [['8-0', ['x', 'z']]]],
    ]);
    p.disconnect();
  });

  test('reads take entries in process; while a BLOCK read waits, through a pull request behind it', async () => {
    const face = node.srv.node.faces.find((f) => f.name === 'redis')!;
    const counts = () => (face.varz!() as { groups: Record<string, number> }).groups;
    await r.xgroup('CREATE', 'dq', 'g', '$', 'MKSTREAM');
    const consumer = () =>
      node.srv.node.jetstream!.account('$G')!.streams.get('dq')!.consumers.byName.get('redis_g')!;
    const p = r.duplicate();
    const blocked = p.xreadgroup('GROUP', 'g', 'b', 'BLOCK', 0, 'STREAMS', 'dq', '>');
    await checkFor(() => consumer().counts().num_waiting === 1, 5000);
    // The waiting read goes first: this one asks the consumer with a pull request.
    const before = counts();
    assert.equal(await r.xreadgroup('GROUP', 'g', 'c', 'COUNT', 5, 'STREAMS', 'dq', '>'), null);
    assert.equal(counts().pull_requests, before.pull_requests! + 1);
    assert.equal(counts().direct_entries, before.direct_entries);
    await r.xadd('dq', '1-0', 'n', '1');
    assert.deepEqual(await blocked, [['dq', [['1-0', ['n', '1']]]]]);
    p.disconnect();
    // Nothing waits: taken in process, no pull request.
    for (let i = 2; i <= 4; i++) await r.xadd('dq', `${i}-0`, 'n', String(i));
    const got = (await r.xreadgroup(
      'GROUP',
      'g',
      'c',
      'COUNT',
      5,
      'STREAMS',
      'dq',
      '>',
    )) as ReadReply;
    assert.deepEqual(
      got![0]![1].map((e) => e[0]),
      ['2-0', '3-0', '4-0'],
    );
    assert.equal(counts().direct_entries, before.direct_entries! + 3);
    assert.equal(counts().pull_requests, before.pull_requests! + 1);
    assert.deepEqual(await r.xpending('dq', 'g'), [
      4,
      '1-0',
      '4-0',
      [
        ['b', '1'],
        ['c', '3'],
      ],
    ]);
    assert.equal(consumer().counts().num_ack_pending, 4);
    assert.equal(await r.xack('dq', 'g', '2-0', '3-0', '9-0'), 2);
    assert.equal(consumer().counts().num_ack_pending, 2);
    assert.deepEqual(
      consumer()
        .snapshot()
        .pending.map((e) => [e[0], e[2]]),
      [
        [1, 1],
        [4, 1],
      ],
    );
  });

  test('XACK and XREADGROUP > run in the turn they are read: a pipeline answers as one command at a time', async () => {
    const face = node.srv.node.faces.find((f) => f.name === 'redis')!;
    const counts = () => (face.varz!() as { groups: Record<string, number> }).groups;
    for (let i = 1; i <= 5; i++) await r.xadd('turn', `${i}-0`, 'n', String(i));
    await r.xgroup('CREATE', 'turn', 'g', '0');
    const before = counts().commands_in_turn!;
    const replies = await r
      .pipeline()
      .xreadgroup('GROUP', 'g', 'a', 'COUNT', 2, 'STREAMS', 'turn', '>')
      .xpending('turn', 'g')
      .xreadgroup('GROUP', 'g', 'b', 'COUNT', 2, 'NOACK', 'STREAMS', 'turn', '>')
      .xack('turn', 'g', '1-0', '1-0', '3-0', '9-0')
      .xpending('turn', 'g')
      .xreadgroup('GROUP', 'g', 'a', 'COUNT', 9, 'STREAMS', 'turn', '>')
      .xreadgroup('GROUP', 'g', 'a', 'COUNT', 9, 'STREAMS', 'turn', '>')
      .exec();
    assert.deepEqual(
      replies!.map(([err, v]) => (err === null ? v : String(err))),
      [
        [
          [
            'turn',
            [
              ['1-0', ['n', '1']],
              ['2-0', ['n', '2']],
            ],
          ],
        ],
        [2, '1-0', '2-0', [['a', '2']]],
        [
          [
            'turn',
            [
              ['3-0', ['n', '3']],
              ['4-0', ['n', '4']],
            ],
          ],
        ],
        1,
        [1, '2-0', '2-0', [['a', '1']]],
        [['turn', [['5-0', ['n', '5']]]]],
        null,
      ],
    );
    // The ack and every read but the first ran whole in their turn (no
    // Promise), the empty read too; the first estimated the group's unknown
    // entries-read counter (lag.ts: a read of the stream's top).
    assert.equal(counts().commands_in_turn, before + 4);
    // What the commands wrote is what a restart reads back.
    r.disconnect();
    await node.restart();
    r = new Redis({ port: node.port, host: '127.0.0.1' });
    assert.deepEqual(await r.xpending('turn', 'g'), [2, '2-0', '5-0', [['a', '2']]]);
  });

  test('a group record that cannot be written fails its command, counted; the next one goes through', async () => {
    const face = node.srv.node.faces.find((f) => f.name === 'redis')!;
    const counts = () => (face.varz!() as { groups: Record<string, number> }).groups;
    await r.xadd('unsaved', '1-0', 'n', '1');
    await r.xgroup('CREATE', 'unsaved', 'g', '0');
    await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'unsaved', '>');
    const records = node.srv.node.jetstream!.account('$G')!.streams.get('$REDIS_groups')!.stream;
    const failures = counts().write_failures!;
    records.admit = { admitPublish: () => JsErr.MaxBytes() };
    try {
      await assert.rejects(
        r.xack('unsaved', 'g', '1-0'),
        /^ReplyError: ERR consumer group state not saved: /,
      );
    } finally {
      records.admit = null;
    }
    assert.equal(counts().write_failures, failures + 1);
    await r.xadd('unsaved', '2-0', 'n', '2');
    assert.deepEqual(await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'unsaved', '>'), [
      ['unsaved', [['2-0', ['n', '2']]]],
    ]);
  });

  test('a NATS publish to the stream wakes a blocked XREADGROUP; pipelined XADD then read', async () => {
    await r.xgroup('CREATE', 'mixed', 'g', '$', 'MKSTREAM');
    const p = r.duplicate();
    const waiting = p.xreadgroup('GROUP', 'g', 'c', 'BLOCK', 10_000, 'STREAMS', 'mixed', '>');
    await checkFor(() => {
      const js = node.srv.node.jetstream!.account('$G')!;
      return js.streams.get('mixed')!.consumers.byName.get('redis_g')!.counts().num_waiting === 1;
    }, 5000);
    const nc = await connect({ port: node.srv.port });
    nc.publish('redis.stream.mixed', 'from nats');
    await nc.flush();
    await nc.close();
    const got = (await waiting) as ReadReply;
    assert.equal(got![0]![0], 'mixed');
    assert.deepEqual(got![0]![1][0]![1], ['payload', 'from nats']);
    // An XADD and a read of the same connection, pipelined: the read sees the entry.
    const res = await p
      .pipeline()
      .xadd('mixed', '*', 'k', 'v')
      .xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'mixed', '>')
      .exec();
    const id = res![0]![1] as string;
    assert.deepEqual(res![1]![1], [['mixed', [[id, ['k', 'v']]]]]);
    p.disconnect();
  });

  test('a blocked reader that goes away loses nothing', async () => {
    await r.xgroup('CREATE', 'k3', 'g', '$', 'MKSTREAM');
    const p = r.duplicate();
    void p.xreadgroup('GROUP', 'g', 'gone', 'BLOCK', 0, 'STREAMS', 'k3', '>').catch(() => {});
    await checkFor(() => {
      const js = node.srv.node.jetstream!.account('$G')!;
      return js.streams.get('k3')!.consumers.byName.get('redis_g')!.counts().num_waiting === 1;
    }, 5000);
    p.disconnect();
    await r.xadd('k3', '9-0', 'a', 'b');
    await checkFor(async () => {
      const got = (await r.xreadgroup('GROUP', 'g', 'stays', 'STREAMS', 'k3', '>')) as ReadReply;
      return got !== null && got[0]![1][0]![0] === '9-0';
    }, 5000);
    const consumers = (await r.xinfo('CONSUMERS', 'k3', 'g')) as unknown[][];
    assert.deepEqual(
      consumers.map((c) => c[1]),
      ['stays'],
    );
  });

  test('NOACK: delivered, not pending, acked on the JetStream consumer', async () => {
    for (let i = 1; i <= 3; i++) await r.xadd('noack', `${i}-0`, 'v', String(i));
    await r.xgroup('CREATE', 'noack', 'g', '0');
    const got = (await r.xreadgroup(
      'GROUP',
      'g',
      'c',
      'NOACK',
      'STREAMS',
      'noack',
      '>',
    )) as ReadReply;
    assert.equal(got![0]![1].length, 3);
    assert.deepEqual(await r.xpending('noack', 'g'), [0, null, null, null]);
    const consumer = node.srv.node
      .jetstream!.account('$G')!
      .streams.get('noack')!
      .consumers.byName.get('redis_g')!;
    await checkFor(() => consumer.counts().num_ack_pending === 0, 5000);
  });

  test('a read without COUNT takes at most REDIS_GROUP_READ_MAX entries, counted', async () => {
    const n = REDIS_GROUP_READ_MAX + 5;
    for (let i = 0; i < n; i += 1000) {
      const p = r.pipeline();
      for (let j = i; j < Math.min(n, i + 1000); j++) p.xadd('big', '*', 'v', 'x');
      await p.exec();
    }
    await r.xgroup('CREATE', 'big', 'g', '0');
    const face = node.srv.node.faces.find((f) => f.name === 'redis')!;
    const capped = () => (face.varz!() as { groups: Record<string, number> }).groups.reads_capped!;
    const before = capped();
    const first = (await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'big', '>')) as ReadReply;
    assert.equal(first![0]![1].length, REDIS_GROUP_READ_MAX);
    assert.equal(capped(), before + 1);
    const rest = (await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'big', '>')) as ReadReply;
    assert.equal(rest![0]![1].length, 5);
    assert.equal(capped(), before + 1);
  });

  test('/varz shows the groups and their counters', async () => {
    const face = node.srv.node.faces.find((f) => f.name === 'redis')!;
    const v = (face.varz!() as { groups: Record<string, number> }).groups;
    assert.ok(v.groups >= 5, JSON.stringify(v));
    for (const k of [
      'reads_capped',
      'late_entries',
      'write_failures',
      'direct_entries',
      'pull_requests',
      'snapshots',
      'skipped_records',
      'stale_groups',
      'forwarded',
      'forwards_served',
      'forward_timeouts',
    ]) {
      assert.equal(typeof v[k], 'number', k);
    }
    // One: the record refused on purpose above ('a group record that cannot be written …').
    assert.equal(v.write_failures, 1);
    assert.ok(v.snapshots >= 5);
    const registry = new Registry();
    face.metrics!(registry);
    const text = await registry.metrics();
    assert.match(text, /^weft_redis_groups \d+$/m);
    assert.match(text, /^weft_redis_groups_snapshots_total \d+$/m);
    assert.match(text, /^weft_redis_groups_forward_timeouts_total 0$/m);
  });

  test('entries-read and lag as redis-server 7 counts them, entry by entry', async () => {
    // Each step's answer is redis-server 7's (checked with redis-cli against it).
    const info = async (key: string): Promise<[unknown, unknown]> => {
      const g = ((await r.xinfo('GROUPS', key)) as unknown[][])[0]!;
      return [g[g.indexOf('entries-read') + 1], g[g.indexOf('lag') + 1]];
    };
    const read = (key: string, n: number) =>
      r.xreadgroup('GROUP', 'g', 'c', 'COUNT', n, 'STREAMS', key, '>');
    for (let i = 1; i <= 6; i++) await r.xadd('er1', `${i}-0`, 'f', 'v');
    await r.xgroup('CREATE', 'er1', 'g', '0');
    await read('er1', 3);
    // The first entry is the stream's first: known from there on (was unknown until the last).
    assert.deepEqual(await info('er1'), [3, 3]);
    await read('er1', 3);
    assert.deepEqual(await info('er1'), [6, 0]);
    // A deletion after the entries read: unknown, then the last entry tells.
    for (let i = 1; i <= 6; i++) await r.xadd('er2', `${i}-0`, 'f', 'v');
    await r.xdel('er2', '5-0');
    await r.xgroup('CREATE', 'er2', 'g', '0');
    await read('er2', 3);
    assert.deepEqual(await info('er2'), [null, null]);
    await read('er2', 3);
    assert.deepEqual(await info('er2'), [6, 0]);
    await r.xadd('er2', '7-0', 'f', 'v');
    await r.xadd('er2', '8-0', 'f', 'v');
    await read('er2', 1);
    assert.deepEqual(await info('er2'), [7, 1]);
  });

  test('XAUTOCLAIM hands over idle entries and reports deleted ones', async () => {
    for (let i = 1; i <= 4; i++) await r.xadd('claims', `${i}-0`, 'v', String(i));
    await r.xgroup('CREATE', 'claims', 'g', '0');
    await r.xreadgroup('GROUP', 'g', 'slow', 'STREAMS', 'claims', '>');
    assert.equal(await r.xdel('claims', '2-0'), 1);
    const [cursor, claimed, deleted] = (await r.xautoclaim(
      'claims',
      'g',
      'fast',
      0,
      '0',
      'COUNT',
      2,
    )) as [string, Entries, string[]];
    assert.equal(cursor, '3-0');
    assert.deepEqual(claimed, [['1-0', ['v', '1']]]);
    assert.deepEqual(deleted, ['2-0']);
    const rest = (await r.xautoclaim('claims', 'g', 'fast', 0, cursor, 'JUSTID')) as [
      string,
      string[],
      string[],
    ];
    assert.deepEqual(rest, ['0-0', ['3-0', '4-0'], []]);
    const pending = (await r.xpending('claims', 'g', '-', '+', 10)) as unknown[][];
    // JUSTID does not count a delivery.
    assert.deepEqual(
      pending.map((p) => [p[0], p[1], p[3]]),
      [
        ['1-0', 'fast', 2],
        ['3-0', 'fast', 1],
        ['4-0', 'fast', 1],
      ],
    );
  });

  for (const RESP of [2, 3] as const) {
    test(`node-redis, RESP${RESP}`, async () => {
      const c = createClient({ url: `redis://127.0.0.1:${node.port}`, RESP });
      c.on('error', () => {});
      await c.connect();
      try {
        const key = `nr${RESP}`;
        for (let i = 1; i <= 2; i++) await r.xadd(key, `${i}-0`, 'f', String(i));
        assert.equal(await c.xGroupCreate(key, 'g', '0'), 'OK');
        const read = await c.xReadGroup('g', 'c', { key, id: '>' }, { COUNT: 10 });
        // node-redis gives the RESP3 map in the RESP2 shape.
        const entries = (
          read as unknown as {
            name: string;
            messages: { id: string; message: Record<string, string> }[];
          }[]
        )[0]!.messages;
        assert.deepEqual(
          entries.map((m) => [m.id, m.message]),
          [
            ['1-0', { f: '1' }],
            ['2-0', { f: '2' }],
          ],
        );
        const pending = await c.xPending(key, 'g');
        assert.equal(pending.pending, 2);
        assert.equal(await c.xAck(key, 'g', '1-0'), 1);
        const auto = await c.xAutoClaim(key, 'g', 'd', 0, '0-0');
        assert.equal(auto.messages.length, 1);
        assert.deepEqual(auto.deletedMessages, []);
        const groups = await c.xInfoGroups(key);
        assert.equal(groups.length, 1);
        assert.equal(groups[0]!.name, 'g');
        assert.equal(groups[0]!.pending, 1);
      } finally {
        await c.quit().catch(() => {});
      }
    });
  }
});
