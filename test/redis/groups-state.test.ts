/**
 * The consumer-group state on its own: IDs in their sortable form, the
 * ordered PEL map, the changes (Redis's rules for reads, history reads,
 * acks, claims, consumer deletion), and the record stream: changes written
 * and read back give the same group, and snapshots keep the records few.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IdMap } from '../../src/protocols/redis/groups/id-map.js';
import {
  type IdKey,
  idKey,
  MAX_ID,
  MIN_ID,
  nextId,
  parseId,
  prevId,
  showId,
} from '../../src/protocols/redis/groups/ids.js';
import { recordAt } from '../../src/protocols/redis/groups/record-bytes.js';
import {
  apply,
  applyAck,
  GroupState,
  pendingOf,
  snapshot,
  UNKNOWN_READ,
} from '../../src/protocols/redis/groups/state.js';
import {
  encode,
  GroupStore,
  SNAPSHOT_EVERY,
  SNAPSHOT_PEL_CHUNK,
} from '../../src/protocols/redis/groups/store.js';
import { type RedisNode, startRedisNode } from './groups-helpers.js';

const id = (ms: number, seq = 0): IdKey => idKey(BigInt(ms), BigInt(seq));

describe('consumer group state', () => {
  test('IDs sort as strings in ID order and print as Redis does', () => {
    const ids = ['10-0', '9-5', '9-10', '0-1', '18446744073709551615-18446744073709551615'];
    const keys = ids.map((s) => parseId(s)!);
    assert.deepEqual([...keys].sort().map(showId), [
      '0-1',
      '9-5',
      '9-10',
      '10-0',
      '18446744073709551615-18446744073709551615',
    ]);
    assert.equal(parseId('5'), id(5, 0));
    assert.equal(parseId('5', 'max'), idKey(5n, (1n << 64n) - 1n));
    assert.equal(parseId('18446744073709551616-0'), null);
    assert.equal(parseId('1-x'), null);
    assert.equal(showId(nextId(idKey(1n, (1n << 64n) - 1n))!), '2-0');
    assert.equal(showId(prevId(id(2))!), '1-18446744073709551615');
    assert.equal(nextId(MAX_ID), null);
    assert.equal(prevId(MIN_ID), null);
  });

  test('the PEL map iterates in ID order whatever the order of inserts and deletes', () => {
    const m = new IdMap<number>();
    const model = new Map<IdKey, number>();
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 5000; i++) {
      const k = id(rnd() % 300);
      if (rnd() % 3 === 0) {
        assert.equal(m.delete(k), model.delete(k));
      } else {
        m.set(k, i);
        model.set(k, i);
      }
      if (i % 250 === 0) {
        const want = [...model].sort((a, b) => (a[0] < b[0] ? -1 : 1));
        assert.deepEqual([...m.from(MIN_ID)], want);
        const lo = id(100);
        const hi = id(200);
        assert.deepEqual(
          [...m.from(lo, hi)],
          want.filter(([k]) => k >= lo && k <= hi),
        );
        assert.equal(m.size, model.size);
        assert.equal(m.first(), want[0]?.[0] ?? null);
        assert.equal(m.last(), want[want.length - 1]?.[0] ?? null);
      }
    }
  });

  test('the PEL map as XREADGROUP and XACK use it: oldest first out, a few out of order, some back', () => {
    const m = new IdMap<number>();
    const model = new Map<IdKey, number>();
    const keysHeld = () => (m as unknown as { keys: IdKey[] }).keys.length;
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    let next = 0;
    let most = 0;
    for (let i = 0; i < 20000; i++) {
      const r = rnd() % 20;
      const live = [...model.keys()].sort();
      if (r < 9) {
        const k = id(next++);
        assert.equal(m.above(k), true);
        m.set(k, i);
        model.set(k, i);
      } else if (r < 17 && live.length > 0) {
        // XACK of the oldest (the usual case).
        assert.equal(m.delete(live[0]!), true);
        model.delete(live[0]!);
      } else if (r < 18 && live.length > 0) {
        const k = live[rnd() % live.length]!;
        assert.equal(m.delete(k), model.delete(k));
      } else if (r < 19) {
        // An older ID back (XCLAIM FORCE), or a duplicate/unknown XACK.
        const k = id(rnd() % (next + 1));
        assert.equal(m.above(k), k > (live[live.length - 1] ?? '') && !model.has(k));
        m.set(k, i);
        model.set(k, i);
      } else {
        const k = id(rnd() % (next + 1));
        assert.equal(m.delete(k), model.delete(k));
      }
      most = Math.max(most, model.size);
      if (i % 97 === 0) {
        const want = [...model].sort((a, b) => (a[0] < b[0] ? -1 : 1));
        assert.deepEqual([...m.from(MIN_ID)], want);
        assert.equal(m.size, model.size);
        assert.equal(m.first(), want[0]?.[0] ?? null);
        assert.equal(m.last(), want[want.length - 1]?.[0] ?? null);
        // Bounded: dead keys never more than the live ones plus the slack of 32, twice.
        assert.ok(
          keysHeld() <= 2 * (2 * model.size + 33) + 1,
          `${keysHeld()} keys for ${model.size}`,
        );
      }
    }
    assert.ok(most > 10);
  });

  test('the PEL map: deletes while iterating (the first key each time, then every other)', () => {
    const m = new IdMap<number>();
    for (let i = 0; i < 200; i++) m.set(id(i), i);
    const seen: number[] = [];
    for (const [k, v] of m.from(MIN_ID)) {
      seen.push(v);
      m.delete(k);
    }
    assert.equal(seen.length, 200);
    assert.equal(m.size, 0);
    for (let i = 0; i < 200; i++) m.set(id(i), i);
    // Even keys: itself (the first key, or a hole) and an odd one ahead, never visited then.
    const kept: number[] = [];
    for (const [k, v] of m.from(MIN_ID)) {
      kept.push(v);
      if (v % 2 === 0) {
        m.delete(k);
        m.delete(id(v + 3));
      }
    }
    assert.deepEqual(kept, [0, 1, ...Array.from({ length: 99 }, (_, i) => 2 * i + 2)]);
    assert.deepEqual(
      [...m.from(MIN_ID)].map(([, v]) => v),
      [1],
    );
  });

  test("XACK's lookup then applyAck: the same group as apply of the ack record", () => {
    const make = () => {
      const g = new GroupState('g', MIN_ID, UNKNOWN_READ, 0);
      for (let r = 0; r < 6; r++) {
        const n: [IdKey, number][] = [];
        for (let i = 0; i < 5; i++) n.push([id(r * 5 + i), r * 5 + i + 1]);
        apply(g, { o: 'read', c: `c${r % 3}`, t: r, n, last: n[4]![0], er: (r + 1) * 5 });
      }
      return g;
    };
    const view = (g: GroupState) => ({
      pel: [...g.pel.from(MIN_ID)].map(([k, n]) => [k, n.seq, n.consumer.name]),
      consumers: [...g.consumers.values()].map((c) => [
        c.name,
        [...c.pel.from(MIN_ID)].map(([k]) => k),
      ]),
    });
    const many = Array.from({ length: 20 }, (_, i) => id(i * 3));
    // After a claim moved some entries to another consumer (their Nack kept):
    // each ID still has one Nack, so a repeat (an equal string, not the same
    // one) is found once by the look back, which compares Nacks.
    const claimed = (g: GroupState) => {
      apply(g, { o: 'claim', c: 'z', t: 50, e: [id(3), id(7), id(12)].map((k) => [k, 0, 50, 2]) });
      return g;
    };
    const fresh = (k: IdKey) => Buffer.from(k, 'latin1').toString('latin1');
    for (const [ids, prep] of [
      [[id(3), id(1), id(3), id(99), id(0), id(1)], make],
      [[id(100)], make],
      [[...many, ...many, id(29)], make],
      [
        [id(7), id(3), fresh(id(7)), id(12), fresh(id(3)), id(2), fresh(id(12))],
        () => claimed(make()),
      ],
    ] as [IdKey[], () => GroupState][]) {
      const a = prep();
      const b = prep();
      const { ids: found, nacks } = pendingOf(a, ids);
      // Pending ones only, each once, in argument order.
      const want = [...new Set(ids)].filter((k) => b.pel.has(k));
      assert.deepEqual(found, want);
      assert.deepEqual(
        nacks.map((n) => n.seq),
        want.map((k) => b.pel.get(k)!.seq),
      );
      applyAck(a, found, nacks);
      apply(b, { o: 'ack', ids });
      assert.deepEqual(view(a), view(b));
    }
  });

  test('changes follow Redis: reads, history, acks, claims, consumer deletion', () => {
    const g = new GroupState('g', MIN_ID, UNKNOWN_READ, 0);
    apply(g, {
      o: 'read',
      c: 'a',
      t: 10,
      n: [
        [id(1), 1],
        [id(2), 2],
      ],
      last: id(2),
      er: 2,
    });
    apply(g, { o: 'read', c: 'b', t: 20, n: [[id(3), 3]], last: id(3), er: 3 });
    apply(g, { o: 'read', c: 'b', t: 25, n: [[id(4), 4]], last: id(4), er: 4, noack: 1 });
    assert.equal(g.lastId, id(4));
    assert.equal(g.entriesRead, 4);
    assert.deepEqual(
      [...g.pel.from(MIN_ID)].map(([k, n]) => [showId(k), n.consumer.name, n.count]),
      [
        ['1-0', 'a', 1],
        ['2-0', 'a', 1],
        ['3-0', 'b', 1],
      ],
    );
    apply(g, { o: 'hist', c: 'a', t: 30, ids: [id(1), id(3)] });
    // Only a's own entries count a delivery.
    assert.equal(g.pel.get(id(1))!.count, 2);
    assert.equal(g.pel.get(id(1))!.time, 30);
    assert.equal(g.pel.get(id(3))!.count, 1);
    apply(g, { o: 'claim', c: 'c', t: 40, e: [[id(1), 1, 35, 5]], d: [id(2)] });
    assert.equal(g.pel.get(id(1))!.consumer.name, 'c');
    assert.equal(g.consumers.get('a')!.pel.size, 0);
    assert.equal(g.pel.has(id(2)), false);
    apply(g, { o: 'ack', ids: [id(3), id(99)] });
    assert.equal(g.pel.size, 1);
    // A read of an entry still pending (SETID back) moves it, count 1 again.
    apply(g, { o: 'setid', last: MIN_ID, er: UNKNOWN_READ });
    apply(g, { o: 'read', c: 'd', t: 50, n: [[id(1), 1]], last: id(1), er: 1 });
    assert.equal(g.pel.get(id(1))!.consumer.name, 'd');
    assert.equal(g.pel.get(id(1))!.count, 1);
    assert.equal(g.consumers.get('c')!.pel.size, 0);
    apply(g, { o: 'dc', c: 'd' });
    assert.equal(g.pel.size, 0);
    assert.deepEqual([...g.consumers.keys()].sort(), ['a', 'b', 'c']);
  });
});

describe('consumer group records', () => {
  let node: RedisNode;
  before(async () => {
    node = await startRedisNode();
  });
  after(async () => {
    await node.close();
  });

  test('a large PEL is written in parts and read back whole', async () => {
    const js = node.srv.node.jetstream!.account('$G')!;
    const store = new GroupStore(js, '');
    await store.open();
    const state = new GroupState('big', MIN_ID, UNKNOWN_READ, 1);
    const n = SNAPSHOT_PEL_CHUNK * 2 + 123;
    const entries: [IdKey, number][] = [];
    for (let i = 1; i <= n; i++) entries.push([id(i), i]);
    apply(state, { o: 'read', c: 'x', t: 5, n: entries, last: id(n), er: n });
    const before = js.streams.get('$REDIS_groups')?.stream.state().lastSeq ?? 0;
    const g = await store.create('big-stream', 7, state);
    const after = js.streams.get('$REDIS_groups')!.stream.state().lastSeq;
    assert.equal(after - before, 3, 'two parts and the snapshot');
    const back = (await new GroupStore(js, '').open()).find((x) => x.stream === 'big-stream')!;
    assert.deepEqual(snapshot(back.state), snapshot(state));
    await store.remove(g);
  });

  test("read back equal, and snapshots keep a group's records few", async () => {
    const js = node.srv.node.jetstream!.account('$G')!;
    const store = new GroupStore(js, '');
    await store.open();
    const state = new GroupState('g\u00ff binary', MIN_ID, UNKNOWN_READ, 1);
    const g = await store.create('s', 123, state);
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= SNAPSHOT_EVERY * 2 + 10; i++) {
      const op = { o: 'read', c: `c${i % 3}`, t: i, n: [[id(i), i]], last: id(i), er: i } as const;
      apply(state, { ...op, n: [[id(i), i]] });
      writes.push(store.write(g, { ...op, n: [[id(i), i]] }));
      if (i % 2 === 0) {
        apply(state, { o: 'ack', ids: [id(i - 1)] });
        writes.push(store.write(g, { o: 'ack', ids: [id(i - 1)] }));
      }
    }
    await Promise.all(writes);
    assert.ok(store.counters.snapshots >= 3, `${store.counters.snapshots} snapshots`);
    const records = js.streams.get('$REDIS_groups')!.stream.state().messages;
    assert.ok(records <= SNAPSHOT_EVERY + 2, `${records} records`);
    const again = await new GroupStore(js, '').open();
    assert.equal(again.length, 1);
    assert.equal(again[0]!.stream, 's');
    assert.equal(again[0]!.streamCreated, 123);
    assert.deepEqual(snapshot(again[0]!.state), snapshot(state));
    await store.remove(g);
    assert.equal((await new GroupStore(js, '').open()).length, 0);
  });
});

describe('group records: the XREADGROUP and XACK records built by hand', () => {
  // The text JSON.stringify made of the spread form before: read back by the same decode.
  const spreadForm = (r: Parameters<typeof encode>[0]): string => {
    if (r.o === 'read')
      return JSON.stringify({
        ...r,
        last: showId(r.last),
        n: r.n.map(([id, seq]) => [showId(id), seq]),
      });
    if (r.o === 'ack') return JSON.stringify({ ...r, ids: r.ids.map(showId) });
    throw new Error('not a read or an ack');
  };
  test('same bytes as JSON.stringify of the spread form', () => {
    const id = (ms: bigint, seq: bigint) => idKey(ms, seq);
    const cases: Parameters<typeof encode>[0][] = [
      { o: 'read', c: 'c1', t: 1733500000123, n: [], last: MIN_ID, er: UNKNOWN_READ },
      {
        o: 'read',
        c: 'a "quoted"\\ \n naïve ✓ \u0001',
        t: 5,
        n: [
          [id(1733500000123n, 0n), 1],
          [id(1733500000123n, 7n), 2],
          [id(18446744073709551615n, 18446744073709551615n), 9007199254740991],
        ],
        last: id(1733500000123n, 7n),
        er: 12345,
      },
      { o: 'read', c: '', t: 0, n: [[id(0n, 1n), 3]], last: id(0n, 1n), er: 1, noack: 1 },
      { o: 'read', c: 'x', t: 1, n: [], last: MAX_ID, er: Number.NaN },
      { o: 'ack', ids: [] },
      { o: 'ack', ids: [id(1n, 0n)] },
      { o: 'ack', ids: [id(1733500000123n, 0n), id(1733500000123n, 1n), MAX_ID] },
    ];
    const buf = Buffer.alloc(4096, 0xee);
    for (const r of cases) {
      const got = encode(r);
      assert.equal(got.toString('utf8'), spreadForm(r));
      assert.deepEqual(JSON.parse(got.toString('utf8')), JSON.parse(spreadForm(r)));
      // writeNotify's bytes (record-bytes.ts): the same, nothing written past them.
      buf.fill(0xee);
      const n = recordAt(r, buf);
      assert.equal(buf.subarray(0, n).toString('utf8'), spreadForm(r));
      assert.ok(buf.subarray(n).every((b) => b === 0xee));
      // Too small a buffer: not written, the caller encodes it otherwise.
      assert.equal(recordAt(r, Buffer.alloc(8)), -1);
    }
    // Many entries, and numbers as JSON writes them.
    const many: Parameters<typeof encode>[0] = {
      o: 'read',
      c: 'ÿ\u0000',
      t: -1.5,
      n: Array.from(
        { length: 50 },
        (_, i) => [id(BigInt(i * 7919), BigInt(i)), i * 1e12] as [string, number],
      ),
      last: MAX_ID,
      er: 1e21,
      noack: 1,
    };
    const n = recordAt(many, buf);
    assert.equal(buf.subarray(0, n).toString('utf8'), spreadForm(many));
    // Numbers at the edges of numAt's int32 and nine-digit paths (record-bytes.ts).
    const edges = [0, 9, 10, 99, 2 ** 31 - 1, 2 ** 31, 999_999_999, 1e9, 1e9 + 1, 1e10 + 5];
    edges.push(1765100000123, 2 ** 53 - 1, 2 ** 53, 1e300, -1, 0.5, -0);
    for (const x of edges) {
      const r: Parameters<typeof encode>[0] = {
        o: 'read',
        c: 'c',
        t: x,
        n: [[id(1n, 0n), x]],
        last: id(1n, 0n),
        er: x,
      };
      const len = recordAt(r, buf);
      assert.equal(buf.subarray(0, len).toString('utf8'), spreadForm(r), String(x));
    }
    assert.equal(recordAt({ o: 'cc', c: 'x', t: 1 }, buf), -1);
  });
});
