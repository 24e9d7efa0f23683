/**
 * Redis Streams on Weft with real clients: ioredis and node-redis add and
 * read entries (binary fields too, pipelined), XREAD BLOCK is woken by an
 * XADD from another connection and by a NATS publish into the stream, an
 * XADD is seen by a NATS subscriber (payload and headers as docs/redis.md
 * says) and by a JetStream reader, a NATS publish is read by XRANGE, the
 * keyspace lists streams, and entries survive a restart of the node.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { AckPolicy, connect, type NatsConnection, headers as natsHeaders, StringCodec } from 'nats';
import { createClient } from 'redis';
import { BlockedReads } from '../../src/protocols/redis/stream-wait.js';
import { checkFor } from '../helpers/poll.js';
import { type RedisNode, startRedisNode } from './helpers.js';

const sc = StringCodec();

describe('Redis Streams with ioredis, node-redis and NATS', () => {
  let dir: string;
  let node: RedisNode;
  let io: Redis;
  let nc: NatsConnection;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-redis-streams-'));
    node = await startRedisNode({ jetstream: true, dataDir: dir });
    io = new Redis({
      port: node.port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    await io.connect();
    nc = await connect({ port: node.srv.port, reconnect: false });
  });
  after(async () => {
    io?.disconnect();
    await nc?.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ioredis: XADD, XRANGE, XREVRANGE, XLEN, binary fields, a pipeline', async () => {
    const a = await io.xadd('io:s', '*', 'name', 'ada', 'n', '1');
    assert.match(a!, /^\d+-\d+$/);
    const bin = Buffer.from([0, 1, 2, 0xff, 13, 10]);
    const b = await io.xaddBuffer('io:s', '*', Buffer.from([0xfe, 0]), bin);
    const all = await io.xrangeBuffer('io:s', '-', '+');
    assert.equal(all.length, 2);
    assert.deepEqual(all[1]![1], [Buffer.from([0xfe, 0]), bin]);
    assert.equal(all[1]![0].toString(), b!.toString());
    assert.deepEqual(await io.xrange('io:s', '-', '+', 'COUNT', 1), [
      [a, ['name', 'ada', 'n', '1']],
    ]);
    const rev = await io.xrevrange('io:s', '+', '-');
    assert.equal(rev[0]![0], b!.toString());
    const p = io.pipeline();
    for (let i = 0; i < 50; i++) p.xadd('io:p', '*', 'i', String(i));
    const res = await p.exec();
    const ids = res!.map(([err, id]) => {
      assert.equal(err, null);
      return id as string;
    });
    const sorted = [...ids].sort((x, y) => {
      const [xm, xs] = x.split('-').map(BigInt);
      const [ym, ys] = y.split('-').map(BigInt);
      return xm! === ym! ? Number(xs! - ys!) : Number(xm! - ym!);
    });
    assert.deepEqual(ids, sorted);
    assert.equal(new Set(ids).size, 50);
    assert.equal(await io.xlen('io:p'), 50);
    const entries = await io.xrange('io:p', '-', '+');
    assert.deepEqual(
      entries.map((e) => e[1][1]),
      Array.from({ length: 50 }, (_, i) => String(i)),
    );
  });

  test('node-redis: XADD, XRANGE, XREAD, XTRIM, XDEL, XINFO STREAM', async () => {
    const c = createClient({ url: `redis://127.0.0.1:${node.port}` });
    c.on('error', () => {});
    await c.connect();
    try {
      const id1 = await c.xAdd('nr:s', '*', { a: '1', b: 'two' });
      const id2 = await c.xAdd('nr:s', '*', { a: '3' });
      const r = await c.xRange('nr:s', '-', '+');
      assert.deepEqual(
        r!.map((e) => [e.id, { ...e.message }]),
        [
          [id1, { a: '1', b: 'two' }],
          [id2, { a: '3' }],
        ],
      );
      const read = (await c.xRead({ key: 'nr:s', id: id1 })) as unknown as {
        name: string;
        messages: { id: string }[];
      }[];
      assert.equal(read[0]!.name, 'nr:s');
      assert.deepEqual(
        read[0]!.messages.map((m) => m.id),
        [id2],
      );
      const info = (await c.xInfoStream('nr:s')) as unknown as Record<string, unknown>;
      assert.equal(info.length, 2);
      assert.equal(info['last-generated-id'] ?? info.lastGeneratedId, id2);
      assert.equal(await c.xDel('nr:s', id1), 1);
      assert.equal(await c.xLen('nr:s'), 1);
      await c.xAdd('nr:s', '*', { a: '4' });
      assert.equal(await c.xTrim('nr:s', 'MAXLEN', 1), 1);
      assert.equal(await c.xLen('nr:s'), 1);
      assert.equal(await c.type('nr:s'), 'stream');
    } finally {
      await c.quit().catch(() => {});
    }
  });

  test('XREAD BLOCK with $ is woken by an XADD on another connection, and BLOCK times out', async () => {
    const blocker = io.duplicate();
    try {
      const waiting = blocker.xread('BLOCK', 0, 'STREAMS', 'blk', '$');
      // Once the read is blocked (else `$` would be resolved after the XADD).
      await checkFor(() => BlockedReads.live === 1, 3000);
      const id = await io.xadd('blk', '*', 'k', 'v');
      const got = await waiting;
      assert.deepEqual(got, [['blk', [[id, ['k', 'v']]]]]);
      const t0 = Date.now();
      assert.equal(await blocker.xread('BLOCK', 150, 'STREAMS', 'blk', '$'), null);
      assert.ok(Date.now() - t0 >= 140);
    } finally {
      blocker.disconnect();
    }
  });

  test('an XADD is a NATS message; a NATS publish into the stream is an entry', async () => {
    const sub = nc.subscribe('redis.stream.xf');
    const seen = (async () => {
      for await (const m of sub) return m;
      return null;
    })();
    await nc.flush();
    const id = await io.xadd('xf', '*', 'payload', 'hello');
    const m = await seen;
    assert.equal(sc.decode(m!.data), 'hello');
    assert.equal(m!.headers?.get('Redis-Stream-Id'), id);
    // Several fields: a JSON object for readers of other faces.
    await io.xadd('xf', '*', 'a', '1', 'b', 'x');
    const js = nc.jetstream();
    const h = natsHeaders();
    h.set('Trace', '1');
    const ack = await js.publish('redis.stream.xf', sc.encode('from nats'), { headers: h });
    const entries = await io.xrange('xf', '-', '+');
    assert.equal(entries.length, 3);
    assert.deepEqual(entries[1]![1], ['a', '1', 'b', 'x']);
    assert.deepEqual(entries[2]![1], ['payload', 'from nats']);
    const last = entries[2]![0];
    assert.match(last, new RegExp(`-${ack.seq}$`));
    const jsm = await nc.jetstreamManager();
    const stored = await jsm.streams.getMessage('xf', { seq: 2 });
    assert.deepEqual(JSON.parse(sc.decode(stored.data)), { a: '1', b: 'x' });
    assert.equal(stored.header.get('Redis-Encoding'), 'json');
  });

  test("a JetStream consumer of a Redis stream gets the XADDs (the stream's consumers are told)", async () => {
    await io.xadd('jc', '*', 'payload', 'zero');
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.add('jc', { durable_name: 'reader', ack_policy: AckPolicy.Explicit });
    const consumer = await nc.jetstream().consumers.get('jc', 'reader');
    const ids = [
      await io.xadd('jc', '*', 'payload', 'one'),
      await io.xadd('jc', '*', 'payload', 'two'),
    ];
    const got: string[] = [];
    const msgs = await consumer.fetch({ max_messages: 3, expires: 2000 });
    for await (const m of msgs) {
      got.push(`${sc.decode(m.data)} ${m.headers?.get('Redis-Stream-Id') ?? ''}`);
      m.ack();
    }
    assert.deepEqual(got.slice(1), [`one ${ids[0]}`, `two ${ids[1]}`]);
  });

  test('RESP3: XREAD answers a map of keys to entries', async () => {
    const c = createClient({ url: `redis://127.0.0.1:${node.port}`, RESP: 3 });
    c.on('error', () => {});
    await c.connect();
    try {
      const id = await c.xAdd('r3', '1-1', { a: '1' });
      const raw = await c.sendCommand(['XREAD', 'STREAMS', 'r3', '0']);
      const entries =
        raw instanceof Map ? raw.get('r3') : (raw as unknown as Record<string, unknown>).r3;
      assert.deepEqual(entries, [[id, ['a', '1']]]);
    } finally {
      await c.quit().catch(() => {});
    }
  });

  test('XREAD BLOCK on a key with no stream yet is woken by the XADD that makes it', async () => {
    const blocker = io.duplicate();
    try {
      const waiting = blocker.xread('COUNT', 10, 'BLOCK', 5000, 'STREAMS', 'later', '$');
      await checkFor(() => BlockedReads.live === 1, 3000);
      const id = await io.xadd('later', '*', 'k', 'v');
      assert.deepEqual(await waiting, [['later', [[id, ['k', 'v']]]]]);
    } finally {
      blocker.disconnect();
    }
  });

  test('XREAD BLOCK is woken by a NATS publish into the stream', async () => {
    await io.xadd('nw', '*', 'first', '1');
    const blocker = io.duplicate();
    try {
      const waiting = blocker.xread('BLOCK', 5000, 'STREAMS', 'nw', '$');
      await checkFor(() => BlockedReads.live === 1, 3000);
      await nc.jetstream().publish('redis.stream.nw', sc.encode('woke'));
      const got = (await waiting) as [string, [string, string[]][]][];
      assert.deepEqual(got[0]![1][0]![1], ['payload', 'woke']);
    } finally {
      blocker.disconnect();
    }
  });

  test('trimming is exact, and LIMIT bounds how many entries go', async () => {
    for (let i = 1; i <= 6; i++) await io.xadd('tr', `${i}-1`, 'i', String(i));
    // `~` keeps exactly the count (Redis may keep more), LIMIT removes at most that many.
    assert.equal(await io.xtrim('tr', 'MAXLEN', '~', 2, 'LIMIT', 1), 1);
    assert.equal(await io.xlen('tr'), 5);
    assert.equal(await io.xtrim('tr', 'MINID', '~', '5', 'LIMIT', 2), 2);
    assert.deepEqual(
      (await io.xrange('tr', '-', '+')).map((e) => e[0]),
      ['4-1', '5-1', '6-1'],
    );
    assert.equal(await io.xtrim('tr', 'MAXLEN', '~', 1), 2);
    await io.xadd('tr', 'MAXLEN', '=', 1, '7-1', 'i', '7');
    assert.deepEqual(await io.xrange('tr', '-', '+'), [['7-1', ['i', '7']]]);
    await io.xadd('tr', 'MINID', '8', '8-1', 'i', '8');
    assert.deepEqual(await io.xrange('tr', '-', '+'), [['8-1', ['i', '8']]]);
  });

  test('keyspace: KEYS, SCAN TYPE stream, EXISTS, DEL; other data types refused', async () => {
    await io.xadd('ks:a', '*', 'f', 'v');
    await io.xadd('ks.b c', '*', 'f', 'v');
    const keys = (await io.keys('ks*')).sort();
    assert.deepEqual(keys, ['ks.b c', 'ks:a']);
    const jsm = await nc.jetstreamManager();
    assert.equal(
      (await jsm.streams.info('ks%2Eb%20c')).config.subjects[0],
      'redis.stream.ks%2Eb%20c',
    );
    let cursor = '0';
    const seen: string[] = [];
    do {
      const [next, batch] = await io.scan(cursor, 'MATCH', 'ks*', 'COUNT', 2, 'TYPE', 'stream');
      seen.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    assert.deepEqual(seen.sort(), keys);
    assert.equal(await io.exists('ks:a', 'nope'), 1);
    assert.equal(await io.del('ks:a', 'ks.b c', 'nope'), 2);
    assert.equal(await io.exists('ks:a'), 0);
    await assert.rejects(io.set('x', '1'), /Weft is not a cache/);
    await assert.rejects(io.expire('io:s', 10), /do not expire/);
    await assert.rejects(io.get('io:s'), /WRONGTYPE/);
  });

  test('entries survive a restart', async () => {
    await io.xadd('durable', '1-1', 'a', '1');
    await io.xadd('durable', '2-1', 'b', Buffer.from([0, 255]));
    io.disconnect();
    await node.srv.close();
    node = await startRedisNode({ jetstream: true, dataDir: dir });
    io = new Redis({
      port: node.port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    await io.connect();
    const got = await io.xrangeBuffer('durable', '-', '+');
    assert.deepEqual(
      got.map(([id, f]) => [id.toString(), f]),
      [
        ['1-1', [Buffer.from('a'), Buffer.from('1')]],
        ['2-1', [Buffer.from('b'), Buffer.from([0, 255])]],
      ],
    );
    // The top ID is known again: XADD goes on after it.
    await assert.rejects(io.xadd('durable', '2-1', 'c', '1'), /equal or smaller/);
    await checkFor(async () => (await io.xlen('durable')) === 2, 2000);
  });
});
