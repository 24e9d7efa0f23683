/**
 * XADD's fast path to a stream on this node (stream-access.ts
 * `hereForXadd` / `appendEntry`, commands/streams.ts `xaddHere`): the
 * corners it touches. The payload is copied for other subscribers only
 * when there are some (pipelined XADDs, whose fields are slices of the
 * connection's read buffer, reach a NATS subscriber and the store intact,
 * in order, headers and reply agreeing); the XADD subject is worked out
 * once per stream config and again after an update; the ID after the top
 * entry, and errors in line with the replies before them; the answer is a
 * slot the stream's ack fills (`Stream.storeNotify`): the stream's refusal
 * in the general path's words and in its place, a stream with limits (which
 * stores through `Stream.store`) in order, blocked readers and groups told.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { connect, type NatsConnection, StringCodec } from 'nats';
import type { RedisFaceState } from '../../src/protocols/redis/command.js';
import { streamsOf } from '../../src/protocols/redis/stream-access.js';
import { BlockedReads } from '../../src/protocols/redis/stream-wait.js';
import { checkFor } from '../helpers/poll.js';
import { RawRedis, type RedisNode, resp, startRedisNode } from './helpers.js';

const sc = StringCodec();

describe('XADD to a stream on this node', () => {
  let dir: string;
  let node: RedisNode;
  let io: Redis;
  let nc: NatsConnection;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-redis-xadd-here-'));
    node = await startRedisNode({ jetstream: true, dataDir: dir });
    io = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    nc = await connect({ port: node.srv.port, reconnect: false });
  });
  after(async () => {
    io?.disconnect();
    await nc?.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('pipelined XADDs reach a NATS subscriber and the store intact, in order', async () => {
    await io.xadd('fp', '*', 'payload', 'first');
    const n = 500;
    const sub = nc.subscribe('redis.stream.fp', { max: n });
    const seen: { data: string; id: string | undefined }[] = [];
    const done = (async () => {
      for await (const m of sub)
        seen.push({ data: sc.decode(m.data), id: m.headers?.get('Redis-Stream-Id') });
    })();
    await nc.flush();
    const p = io.pipeline();
    for (let i = 0; i < n; i++) p.xadd('fp', '*', 'payload', `v${i}-${'x'.repeat(i % 37)}`);
    const ids = (await p.exec())!.map(([err, id]) => {
      assert.equal(err, null);
      return id as string;
    });
    await done;
    assert.equal(seen.length, n);
    for (let i = 0; i < n; i++) {
      assert.equal(seen[i]!.data, `v${i}-${'x'.repeat(i % 37)}`);
      assert.equal(seen[i]!.id, ids[i]);
    }
    const entries = await io.xrange('fp', ids[0]!, '+');
    assert.deepEqual(
      entries,
      ids.map((id, i) => [id, ['payload', `v${i}-${'x'.repeat(i % 37)}`]]),
    );
  });

  test('with nobody subscribed, pipelined XADDs are stored intact (named and UTF-8 fields too)', async () => {
    const p = io.pipeline();
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) p.xadd('quiet', '*', 'payload', `p${i}`);
      else if (i % 3 === 1) p.xadd('quiet', '*', 'temp', `t${i}`);
      else p.xadd('quiet', '*', 'größe', `g${i}`);
    }
    const ids = (await p.exec())!.map(([, id]) => id as string);
    const entries = await io.xrange('quiet', '-', '+');
    assert.equal(entries.length, 300);
    for (let i = 0; i < 300; i++) {
      const field = ['payload', 'temp', 'größe'][i % 3]!;
      const value = `${['p', 't', 'g'][i % 3]}${i}`;
      assert.deepEqual(entries[i], [ids[i], [field, value]]);
    }
    // IDs grow, each after the one before (the top is known between XADDs).
    for (let i = 1; i < ids.length; i++) {
      const [am, as] = ids[i - 1]!.split('-').map(BigInt);
      const [bm, bs] = ids[i]!.split('-').map(BigInt);
      assert.ok(bm! > am! || (bm === am && bs! > as!), `${ids[i]} after ${ids[i - 1]}`);
    }
  });

  test('the reused header block: IDs and field names changing length, a NATS subscriber sees each', async () => {
    // Explicit IDs whose text changes length, field names that change (the
    // default `payload`, printable, one over HEAD_FIELD_MAX, UTF-8, a space):
    // pipelined, so the block is rewritten, reused and bypassed in turn.
    const fields = ['f', 'f', 'payload', 'g', 'k'.repeat(64), 'k'.repeat(65), 'größe', 'a b', 'f'];
    const ids = [
      '1-1',
      '1-2',
      '9-9',
      '10-0',
      '10-10',
      '999-1',
      '1000-0',
      '1000-1',
      '12345678901234-0',
    ];
    const sub = nc.subscribe('redis.stream.heads', { max: ids.length });
    const seen: { data: string; id: string | undefined; field: string | undefined }[] = [];
    const done = (async () => {
      for await (const m of sub) {
        seen.push({
          data: sc.decode(m.data),
          id: m.headers?.get('Redis-Stream-Id'),
          field: m.headers?.get('Redis-Field'),
        });
      }
    })();
    await nc.flush();
    await io.xadd('heads', '1-0', 'payload', 'first');
    const p = io.pipeline();
    for (let i = 0; i < ids.length; i++) p.xadd('heads', ids[i]!, fields[i]!, `v${i}`);
    const got = (await p.exec())!.map(([err, id]) => {
      assert.equal(err, null);
      return id as string;
    });
    assert.deepEqual(got, ids);
    await done;
    assert.deepEqual(
      seen.map((m) => [m.id, m.field, m.data]),
      [
        ['1-0', '', 'first'],
        ...ids
          .slice(0, ids.length - 1)
          .map((id, i) => [id, fields[i] === 'payload' ? '' : fields[i], `v${i}`]),
      ],
    );
    const entries = await io.xrange('heads', '1-1', '+');
    assert.deepEqual(
      entries,
      ids.map((id, i) => [id, [fields[i], `v${i}`]]),
    );
  });

  test('auto IDs after a top past the safe integers, and two streams in turn', async () => {
    // The top's parts as numbers while they are safe integers, as BigInts after:
    // the IDs are Redis's either way (the clock is behind these tops: seq + 1).
    const big = '9007199254740990';
    await io.xadd('huge', `${big}-9007199254740989`, 'f', 'v');
    const p = io.pipeline();
    for (let i = 0; i < 4; i++) p.xadd('huge', '*', 'f', `v${i}`);
    p.xadd('huge', '9007199254740993-0', 'f', 'w');
    p.xadd('huge', '*', 'f', 'w1');
    p.xadd('huge', '*', 'f', 'w2');
    const got = (await p.exec())!.map(([err, id]) => {
      assert.equal(err, null);
      return id as string;
    });
    assert.deepEqual(got, [
      `${big}-9007199254740990`,
      `${big}-9007199254740991`,
      `${big}-9007199254740992`,
      `${big}-9007199254740993`,
      '9007199254740993-0',
      '9007199254740993-1',
      '9007199254740993-2',
    ]);
    // Two streams in turn, one with a top in the future: each after its own top.
    await io.xadd('near', '*', 'f', 'v');
    await io.xadd('far', '99999999999999-7', 'f', 'v');
    const q = io.pipeline();
    for (let i = 0; i < 6; i++) q.xadd(i % 2 === 0 ? 'near' : 'far', '*', 'f', `v${i}`);
    const ids = (await q.exec())!.map(([, id]) => id as string);
    assert.deepEqual(
      [ids[1], ids[3], ids[5]],
      ['99999999999999-8', '99999999999999-9', '99999999999999-10'],
    );
    const near = (await io.xrange('near', '-', '+')).map(([id]) => id);
    assert.deepEqual(near.slice(1), [ids[0], ids[2], ids[4]]);
    for (let i = 1; i < near.length; i++) {
      const [am, as] = near[i - 1]!.split('-').map(BigInt);
      const [bm, bs] = near[i]!.split('-').map(BigInt);
      assert.ok(bm! > am! || (bm === am && bs! > as!), `${near[i]} after ${near[i - 1]}`);
    }
  });

  test('XADD read as ranges: any case, pipelined with other commands, cut byte by byte, a bad key, subscribe mode', async () => {
    const raw = await RawRedis.connect(node.port);
    try {
      const first = await raw.call(resp('XADD', 'ranges', '*', 'f', 'one'));
      assert.match(first, /^\$\d+\r\n\d+-\d+\r\n$/);
      // In one write: names in any case, another command between, a second stream, the general shape.
      const wire = Buffer.concat([
        resp('xadd', 'ranges', '*', 'f', 'two'),
        resp('XaDd', 'ranges', '*', 'payload', 'three'),
        resp('XLEN', 'ranges'),
        resp('XADD', 'ranges2', '*', 'g', 'four'),
        resp('XADD', 'ranges', '*', 'a', '1', 'b', '2'),
        resp('XADD', 'ranges', '*', 'größe', 'five'),
      ]);
      const replies = await raw.call(wire, 6);
      assert.match(replies, /^(\$\d+\r\n\d+-\d+\r\n){2}:3\r\n(\$\d+\r\n\d+-\d+\r\n){3}$/);
      const cut = resp('XADD', 'ranges', '*', 'f', 'six');
      for (const b of cut) raw.write(Buffer.from([b]));
      assert.match(await raw.read(), /^\$\d+\r\n\d+-\d+\r\n$/);
      const entries = await io.xrange('ranges', '-', '+');
      assert.deepEqual(
        entries.map(([, f]) => f),
        [
          ['f', 'one'],
          ['f', 'two'],
          ['payload', 'three'],
          ['a', '1', 'b', '2'],
          ['größe', 'five'],
          ['f', 'six'],
        ],
      );
      assert.deepEqual(
        (await io.xrange('ranges2', '-', '+')).map(([, f]) => f),
        [['g', 'four']],
      );
      // A key no stream may be named: the general path's error, in its place.
      assert.equal(
        await raw.call(Buffer.concat([resp('XADD', '', '*', 'f', 'v'), resp('PING')]), 2),
        '-ERR the empty key cannot name a Weft stream\r\n+PONG\r\n',
      );
      // RESP2's subscribe mode refuses it, as it does any XADD.
      await raw.call(resp('SUBSCRIBE', 'chan'));
      assert.equal(
        await raw.call(resp('XADD', 'ranges', '*', 'f', 'v')),
        "-ERR Can't execute 'xadd': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
      );
    } finally {
      raw.close();
    }
  });

  test('the XADD subject follows a stream update', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'upd', subjects: ['upd.a', 'upd.b.>'] });
    // Two XADDs: the second takes the fast path, which keeps the subject for this config.
    const onA = nc.subscribe('upd.a', { max: 2 });
    await nc.flush();
    const first = [
      await io.xadd('upd', '*', 'payload', 'to a'),
      await io.xadd('upd', '*', 'payload', 'to a'),
    ];
    let i = 0;
    for await (const m of onA) {
      assert.equal(sc.decode(m.data), 'to a');
      assert.equal(m.headers?.get('Redis-Stream-Id'), first[i++]);
    }
    await jsm.streams.update('upd', { subjects: ['upd.a', 'upd.b.>', 'redis.stream.upd'] });
    const onOwn = nc.subscribe('redis.stream.upd', { max: 1 });
    await nc.flush();
    const second = await io.xadd('upd', '*', 'payload', 'to own');
    for await (const m of onOwn) {
      assert.equal(sc.decode(m.data), 'to own');
      assert.equal(m.headers?.get('Redis-Stream-Id'), second);
    }
    await jsm.streams.update('upd', { subjects: ['upd.b.>'] });
    await assert.rejects(
      io.xadd('upd', '*', 'payload', 'nowhere'),
      /captures only wildcard subjects/,
    );
    assert.equal(await io.xlen('upd'), 3);
  });

  test('explicit IDs and their errors keep their place among pipelined replies', async () => {
    const p = io.pipeline();
    p.xadd('ex', '5-1', 'f', 'a');
    p.xadd('ex', '5-1', 'f', 'b');
    p.xadd('ex', '5-*', 'f', 'c');
    p.xadd('ex', '0-0', 'f', 'd');
    p.xadd('ex', '4-9', 'f', 'e');
    p.xadd('ex', '6', 'f', 'g');
    const r = (await p.exec())!;
    assert.deepEqual(r[0], [null, '5-1']);
    assert.match(String(r[1]![0]), /equal or smaller than the target stream top item/);
    assert.deepEqual(r[2], [null, '5-2']);
    assert.match(String(r[3]![0]), /must be greater than 0-0/);
    assert.match(String(r[4]![0]), /equal or smaller than the target stream top item/);
    assert.deepEqual(r[5], [null, '6-0']);
    assert.deepEqual(await io.xrange('ex', '-', '+'), [
      ['5-1', ['f', 'a']],
      ['5-2', ['f', 'c']],
      ['6-0', ['f', 'g']],
    ]);
  });

  test('automatic IDs after an ID ahead of the clock, on two streams, up to the last one', async () => {
    const p = io.pipeline();
    p.xadd('ahead1', '99999999999999-5', 'f', 'a');
    p.xadd('ahead1', '*', 'f', 'b');
    p.xadd('ahead2', '99999999999999-1', 'f', 'a');
    p.xadd('ahead2', '*', 'f', 'b');
    p.xadd('ahead1', '*', 'f', 'c');
    p.xadd('ahead3', '18446744073709551615-18446744073709551614', 'f', 'a');
    p.xadd('ahead3', '*', 'f', 'b');
    p.xadd('ahead3', '*', 'f', 'c');
    p.xadd('ahead3', '18446744073709551615-*', 'f', 'd');
    const r = (await p.exec())!;
    assert.deepEqual(
      r.slice(0, 7).map(([, id]) => id),
      [
        '99999999999999-5',
        '99999999999999-6',
        '99999999999999-1',
        '99999999999999-2',
        '99999999999999-7',
        '18446744073709551615-18446744073709551614',
        '18446744073709551615-18446744073709551615',
      ],
    );
    assert.match(String(r[7]![0]), /exhausted the last possible ID/);
    assert.match(String(r[8]![0]), /exhausted the last possible ID/);
  });

  test("a refusal by the stream keeps its place in line, in the general path's words", async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'small', subjects: ['redis.stream.small'], max_msg_size: 300 });
    const big = 'x'.repeat(400);
    // The first XADD opens the stream (the general path); the pipeline after it is here.
    const general = await io.xadd('small', '*', 'f', big).then(
      () => assert.fail('stored'),
      (err: Error) => err.message,
    );
    assert.match(
      general,
      /^ERR the stream refused the entry: message size exceeds maximum allowed/,
    );
    const p = io.pipeline();
    p.xadd('small', '1-1', 'f', 'a');
    p.xadd('small', '1-2', 'f', big);
    p.xadd('small', '1-3', 'f', 'c');
    p.xadd('small', '*', 'f', big);
    p.xadd('small', '1-4', 'f', 'd');
    const r = (await p.exec())!;
    assert.deepEqual(r[0], [null, '1-1']);
    assert.equal((r[1]![0] as Error).message, general);
    assert.deepEqual(r[2], [null, '1-3']);
    assert.equal((r[3]![0] as Error).message, general);
    assert.deepEqual(r[4], [null, '1-4']);
    assert.deepEqual(await io.xrange('small', '-', '+'), [
      ['1-1', ['f', 'a']],
      ['1-3', ['f', 'c']],
      ['1-4', ['f', 'd']],
    ]);
  });

  test('a stream with limits (stored through Stream.store) answers in order and keeps its bound', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'lim', subjects: ['redis.stream.lim'], max_msgs: 3 });
    await io.xadd('lim', '1-1', 'f', 'a');
    const p = io.pipeline();
    for (let i = 2; i <= 40; i++) p.xadd('lim', `1-${i}`, 'f', `v${i}`);
    const r = (await p.exec())!;
    assert.deepEqual(
      r.map(([err, id]) => [err, id]),
      Array.from({ length: 39 }, (_, k) => [null, `1-${k + 2}`]),
    );
    assert.equal(await io.xlen('lim'), 3);
    assert.deepEqual(
      (await io.xrange('lim', '-', '+')).map(([id]) => id),
      ['1-38', '1-39', '1-40'],
    );
  });

  test('blocked readers and groups are told of pipelined entries once stored', async () => {
    await io.xadd('told', '1-1', 'f', 'first');
    await io.xgroup('CREATE', 'told', 'g', '$');
    const blocker = io.duplicate();
    try {
      const waiting = blocker.xread('COUNT', 100, 'BLOCK', 0, 'STREAMS', 'told', '1-1');
      await checkFor(() => BlockedReads.live >= 1, 3000);
      const p = io.pipeline();
      for (let i = 2; i <= 6; i++) p.xadd('told', `1-${i}`, 'f', `v${i}`);
      const ids = (await p.exec())!.map(([, id]) => id);
      assert.deepEqual(ids, ['1-2', '1-3', '1-4', '1-5', '1-6']);
      const read = (await waiting) as [string, [string, string[]][]][];
      assert.equal(read[0]![0], 'told');
      assert.equal(read[0]![1][0]![0], '1-2');
      const got = (await io.xreadgroup(
        'GROUP',
        'g',
        'c',
        'COUNT',
        100,
        'STREAMS',
        'told',
        '>',
      )) as [string, [string, string[]][]][];
      assert.deepEqual(
        got[0]![1].map(([id]) => id),
        ids,
      );
    } finally {
      blocker.disconnect();
    }
  });

  test('short bulk replies are written in place, byte for byte (XADD IDs, CLIENT GETNAME)', async () => {
    const raw = await RawRedis.connect(node.port);
    try {
      assert.equal(await raw.call(resp('XADD', 'rawid', '5-1', 'f', 'v')), '$3\r\n5-1\r\n');
      const big = '18446744073709551615-18446744073709551615';
      assert.equal(await raw.call(resp('XADD', 'rawid', big, 'f', 'v')), `$41\r\n${big}\r\n`);
      // 64 characters: in place; 65: the general encoder; the same bytes either way.
      for (const n of [1, 9, 10, 99, 64, 65]) {
        const name = 'n'.repeat(n);
        assert.equal(await raw.call(resp('CLIENT', 'SETNAME', name)), '+OK\r\n');
        assert.equal(await raw.call(resp('CLIENT', 'GETNAME')), `$${n}\r\n${name}\r\n`);
      }
      // Pipelined: in order, after replies that waited for the disk.
      const replies = await raw.call(
        Buffer.concat([
          resp('XADD', 'rawid2', '7-1', 'f', 'v'),
          resp('CLIENT', 'GETNAME'),
          resp('XADD', 'rawid2', '7-2', 'f', 'v'),
        ]),
        3,
      );
      assert.equal(replies, `$3\r\n7-1\r\n$65\r\n${'n'.repeat(65)}\r\n$3\r\n7-2\r\n`);
    } finally {
      raw.close();
    }
  });
  test('a pipeline into a stream being made: one XADD waits for it, the rest take the fast path', async () => {
    const face = node.srv.node.faces.find((f) => f.name === 'redis') as unknown as {
      state: RedisFaceState;
    };
    const counters = streamsOf(face.state).counters;
    const queued = counters.queued;
    const n = 300;
    const p = io.pipeline();
    for (let i = 0; i < n; i++) p.xadd('made-now', '*', 'f', `v${i}`);
    p.xlen('made-now');
    const res = (await p.exec())!;
    assert.equal(res.length, n + 1);
    const ids = res.slice(0, n).map(([err, id]) => {
      assert.equal(err, null);
      return id as string;
    });
    assert.deepEqual(res[n], [null, n]);
    // The first made the stream; the connection held the others until it
    // was made, and they did not queue (before: every XADD read meanwhile).
    assert.equal(counters.queued - queued, 1);
    const entries = await io.xrange('made-now', '-', '+');
    assert.deepEqual(
      entries,
      ids.map((id, i) => [id, ['f', `v${i}`]]),
    );
  });
});
