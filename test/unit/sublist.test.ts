/**
 * The subject index: literal, `*` and `>` matching, queue groups merged by
 * name, removal with pruning, the bounded match cache (hits, invalidation,
 * eviction) and the generation counter. A randomised run checks every match
 * against `subjectMatches` while subscriptions come and go, cache included.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Subscriber, Subscription } from '../../src/core/message.js';
import { subjectMatches } from '../../src/core/subject.js';
import { type MatchResult, SUBLIST_CACHE_MAX, Sublist } from '../../src/core/sublist.js';
import { makeRng, seedFromEnv } from '../fuzz/nats-frames.js';

const owner: Subscriber = { id: 1, kind: 'client', echo: true, deliver: () => {} };
let nextSid = 1;

function sub(subject: string, queue = ''): Subscription {
  return { subject, queue, sid: String(nextSid++), owner, max: 0, delivered: 0 };
}

function subjectsOf(subs: readonly Subscription[]): string[] {
  return subs.map((s) => s.subject).sort();
}

/** The result as sorted plain subjects and `queue:[subjects]` groups, for comparison. */
function shape(r: MatchResult): { plain: string[]; queues: string[] } {
  return {
    plain: subjectsOf(r.plain),
    queues: r.queues.map((g) => `${g[0].queue}:[${subjectsOf(g).join(',')}]`).sort(),
  };
}

function insertAll(sl: Sublist, ...subjects: string[]): Subscription[] {
  return subjects.map((s) => {
    const x = sub(s);
    sl.insert(x);
    return x;
  });
}

/** The trie's root level, to see that removal prunes. */
function rootIsEmpty(sl: Sublist): boolean {
  return (sl as unknown as { root: { isEmpty(): boolean } }).root.isEmpty();
}

describe('Sublist: matching', () => {
  test('literal subjects match only themselves', () => {
    const sl = new Sublist();
    insertAll(sl, 'foo', 'foo.bar', 'foo.bar.baz', 'bar');
    assert.deepEqual(shape(sl.match('foo.bar')), { plain: ['foo.bar'], queues: [] });
    assert.deepEqual(shape(sl.match('foo')), { plain: ['foo'], queues: [] });
    assert.deepEqual(shape(sl.match('foo.baz')), { plain: [], queues: [] });
    assert.deepEqual(shape(sl.match('foo.bar.baz.qux')), { plain: [], queues: [] });
  });

  test('`*` matches exactly one token', () => {
    const sl = new Sublist();
    insertAll(sl, 'foo.*', '*.bar', '*', 'foo.*.baz');
    assert.deepEqual(shape(sl.match('foo.bar')).plain, ['*.bar', 'foo.*']);
    assert.deepEqual(shape(sl.match('foo')).plain, ['*']);
    assert.deepEqual(shape(sl.match('foo.x.baz')).plain, ['foo.*.baz']);
    assert.deepEqual(shape(sl.match('foo.bar.qux')).plain, []);
  });

  test('`>` matches one or more trailing tokens', () => {
    const sl = new Sublist();
    insertAll(sl, 'foo.>', '>', 'foo.bar.>');
    assert.deepEqual(shape(sl.match('foo')).plain, ['>']);
    assert.deepEqual(shape(sl.match('foo.bar')).plain, ['>', 'foo.>']);
    assert.deepEqual(shape(sl.match('foo.bar.baz.qux')).plain, ['>', 'foo.>', 'foo.bar.>']);
    assert.deepEqual(shape(sl.match('bar.baz')).plain, ['>']);
  });

  test('mixed wildcards and literals', () => {
    const sl = new Sublist();
    insertAll(sl, 'a.*.c.>', 'a.b.c.d', '*.b.*.d', 'a.*.*.*', 'a.b.>', '*.*.c', 'x.>');
    assert.deepEqual(shape(sl.match('a.b.c.d')).plain, [
      '*.b.*.d',
      'a.*.*.*',
      'a.*.c.>',
      'a.b.>',
      'a.b.c.d',
    ]);
    assert.deepEqual(shape(sl.match('a.b.c')).plain, ['*.*.c', 'a.b.>']);
    assert.deepEqual(shape(sl.match('a.z.c.d.e')).plain, ['a.*.c.>']);
  });

  test('several subscriptions on one subject all match', () => {
    const sl = new Sublist();
    const [a, b] = insertAll(sl, 'foo', 'foo');
    const r = sl.match('foo');
    assert.equal(r.plain.length, 2);
    assert.ok(r.plain.includes(a) && r.plain.includes(b));
  });

  test('queue groups are merged by name across nodes', () => {
    const sl = new Sublist();
    const members = [
      sub('foo.bar', 'q1'),
      sub('foo.*', 'q1'),
      sub('foo.>', 'q1'),
      sub('foo.bar', 'q2'),
      sub('>', 'q2'),
      sub('foo.bar'),
      sub('other', 'q1'),
    ];
    for (const m of members) sl.insert(m);
    const r = sl.match('foo.bar');
    assert.deepEqual(shape(r), {
      plain: ['foo.bar'],
      queues: ['q1:[foo.*,foo.>,foo.bar]', 'q2:[>,foo.bar]'],
    });
    for (const g of r.queues) assert.ok(g.every((s) => s.queue === g[0].queue));
  });

  test('the same queue name on unrelated subjects stays apart', () => {
    const sl = new Sublist();
    sl.insert(sub('a', 'q'));
    sl.insert(sub('b', 'q'));
    assert.deepEqual(shape(sl.match('a')).queues, ['q:[a]']);
    assert.deepEqual(shape(sl.match('b')).queues, ['q:[b]']);
  });

  test('randomised: matches equal subjectMatches while subscriptions change', () => {
    const seed = seedFromEnv();
    const rng = makeRng(seed);
    // A small cache so eviction happens too.
    const sl = new Sublist(16);
    const live: Subscription[] = [];
    const tokens = ['a', 'b', 'c'];
    const randomSubject = (wild: boolean): string => {
      const n = rng.range(1, 4);
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        if (wild && i === n - 1 && rng.chance(0.15)) parts.push('>');
        else if (wild && rng.chance(0.25)) parts.push('*');
        else parts.push(rng.pick(tokens));
      }
      return parts.join('.');
    };
    for (let step = 0; step < 3000; step++) {
      const r = rng.int(10);
      if (r < 3 || live.length === 0) {
        const s = sub(randomSubject(true), rng.chance(0.3) ? rng.pick(['q1', 'q2']) : '');
        sl.insert(s);
        live.push(s);
      } else if (r < 5) {
        const [s] = live.splice(rng.int(live.length), 1);
        assert.equal(sl.remove(s), true);
      } else {
        const subject = randomSubject(false);
        const got = sl.match(subject);
        const want = live.filter((s) => subjectMatches(s.subject, subject));
        const gotAll = [...got.plain, ...got.queues.flat()];
        assert.equal(gotAll.length, want.length, `seed ${seed} step ${step}: ${subject}`);
        assert.deepEqual(
          new Set(gotAll),
          new Set(want),
          `WEFT_FUZZ_SEED=${seed} step ${step}: match(${subject})`,
        );
        assert.ok(got.plain.every((s) => s.queue === ''));
        const names = got.queues.map((g) => g[0].queue);
        assert.equal(new Set(names).size, names.length, 'one group per queue name');
      }
      assert.equal(sl.count, live.length);
    }
  });
});

describe('Sublist: remove', () => {
  test('removes exactly that subscription; a second remove returns false', () => {
    const sl = new Sublist();
    const [a, b] = insertAll(sl, 'foo.*', 'foo.*');
    assert.equal(sl.count, 2);
    assert.equal(sl.remove(a), true);
    assert.equal(sl.remove(a), false);
    assert.deepEqual(sl.match('foo.x').plain, [b]);
    assert.equal(sl.count, 1);
    assert.equal(sl.stats.removes, 1);
  });

  test('removing what was never inserted returns false and changes nothing', () => {
    const sl = new Sublist();
    insertAll(sl, 'foo.bar');
    assert.equal(sl.remove(sub('foo.bar')), false, 'same subject, other subscription');
    assert.equal(sl.remove(sub('foo.baz')), false);
    assert.equal(sl.remove(sub('foo.bar.baz')), false);
    assert.equal(sl.remove(sub('foo.*')), false);
    assert.equal(sl.remove(sub('foo.bar', 'q')), false);
    assert.equal(sl.count, 1);
    assert.equal(sl.match('foo.bar').plain.length, 1);
  });

  test('a queue group disappears with its last member', () => {
    const sl = new Sublist();
    const a = sub('foo', 'q');
    const b = sub('foo', 'q');
    sl.insert(a);
    sl.insert(b);
    assert.equal(sl.remove(a), true);
    assert.deepEqual(sl.match('foo').queues, [[b]]);
    assert.equal(sl.remove(b), true);
    assert.deepEqual(sl.match('foo').queues, []);
  });

  test('removing everything prunes the trie back to empty', () => {
    const sl = new Sublist();
    const subs = [
      ...insertAll(sl, 'a.b.c.d', 'a.b', 'a.*.c', 'a.>', '*', '>', 'x.y.z'),
      sub('a.b.c', 'q'),
      sub('*.*', 'q'),
    ];
    sl.insert(subs[subs.length - 2]);
    sl.insert(subs[subs.length - 1]);
    assert.equal(rootIsEmpty(sl), false);
    // Remove the deepest first, then the rest: intermediate nodes must go too.
    for (const s of subs) assert.equal(sl.remove(s), true, s.subject);
    assert.equal(sl.count, 0);
    assert.deepEqual(sl.all(), []);
    assert.equal(rootIsEmpty(sl), true, 'empty nodes were left behind');
  });

  test('removing a leaf keeps the nodes others still need', () => {
    const sl = new Sublist();
    const [deep, mid] = insertAll(sl, 'a.b.c', 'a.b');
    assert.equal(sl.remove(deep), true);
    assert.deepEqual(sl.match('a.b').plain, [mid]);
    assert.deepEqual(sl.match('a.b.c').plain, []);
    const again = sub('a.b.c');
    sl.insert(again);
    assert.deepEqual(sl.match('a.b.c').plain, [again]);
  });

  test('a node going from one plain subscription to several and back, with a queue group alongside', () => {
    // A node holds a lone plain subscription without a Set, and queue
    // groups only once there is one: every transition must keep matches exact.
    const sl = new Sublist();
    const [a, b, c] = insertAll(sl, 'n.x', 'n.x', 'n.x');
    assert.deepEqual(sl.match('n.x').plain, [a, b, c]);
    assert.equal(sl.remove(b), true);
    assert.equal(sl.remove(b), false);
    assert.deepEqual(sl.match('n.x').plain, [a, c]);
    assert.equal(sl.remove(a), true);
    assert.deepEqual(sl.match('n.x').plain, [c]);
    assert.equal(sl.remove(a), false, 'not the lone subscription');
    const q = sub('n.x', 'q');
    sl.insert(q);
    sl.insert(a);
    assert.deepEqual(shape(sl.match('n.x')), { plain: ['n.x', 'n.x'], queues: ['q:[n.x]'] });
    assert.equal(sl.remove(c), true);
    assert.equal(sl.remove(q), true);
    assert.deepEqual(sl.match('n.x'), { plain: [a], queues: [], cursors: new Uint32Array(0) });
    assert.equal(sl.remove(a), true);
    assert.deepEqual(sl.match('n.x').plain, []);
    assert.equal(rootIsEmpty(sl), true);
  });

  test('all() lists every subscription once', () => {
    const sl = new Sublist();
    const subs = [...insertAll(sl, 'a', 'a.b', 'a.*', 'a.>', '*.b'), sub('a', 'q'), sub('a', 'q')];
    sl.insert(subs[5]);
    sl.insert(subs[6]);
    const all = sl.all();
    assert.equal(all.length, subs.length);
    assert.deepEqual(new Set(all), new Set(subs));
  });
});

describe('Sublist: cache', () => {
  test('a repeated match is a cache hit and returns the same result', () => {
    const sl = new Sublist();
    insertAll(sl, 'foo.*');
    const first = sl.match('foo.bar');
    assert.equal(sl.stats.cacheHits, 0);
    const second = sl.match('foo.bar');
    assert.equal(second, first);
    assert.equal(sl.stats.cacheHits, 1);
    assert.equal(sl.stats.matches, 2);
    sl.match('foo.baz');
    assert.equal(sl.stats.cacheHits, 1);
    assert.equal(sl.cacheSize, 2);
  });

  test('a wildcard subscription added after a cached match is in the next match', () => {
    const sl = new Sublist();
    const [lit] = insertAll(sl, 'foo.bar');
    assert.deepEqual(sl.match('foo.bar').plain, [lit]);
    const pwc = sub('foo.*');
    sl.insert(pwc);
    assert.deepEqual(new Set(sl.match('foo.bar').plain), new Set([lit, pwc]));
    const fwc = sub('>');
    sl.insert(fwc);
    assert.deepEqual(new Set(sl.match('foo.bar').plain), new Set([lit, pwc, fwc]));
    const q = sub('*.bar', 'workers');
    sl.insert(q);
    assert.deepEqual(sl.match('foo.bar').queues, [[q]]);
  });

  test('an empty cached match is invalidated by a new interest', () => {
    const sl = new Sublist();
    assert.equal(sl.match('foo.bar').plain.length, 0);
    assert.equal(sl.match('foo.bar').plain.length, 0);
    const s = sub('foo.>');
    sl.insert(s);
    assert.deepEqual(sl.match('foo.bar').plain, [s]);
    const lit = sub('baz');
    assert.equal(sl.match('baz').plain.length, 0);
    sl.insert(lit);
    assert.deepEqual(sl.match('baz').plain, [lit]);
  });

  test('a removed subscription is gone from the next match, wildcard or literal', () => {
    const sl = new Sublist();
    const [lit, pwc, fwc] = insertAll(sl, 'a.b', 'a.*', 'a.>');
    assert.equal(sl.match('a.b').plain.length, 3);
    sl.remove(pwc);
    assert.deepEqual(new Set(sl.match('a.b').plain), new Set([lit, fwc]));
    sl.remove(fwc);
    assert.deepEqual(sl.match('a.b').plain, [lit]);
    sl.remove(lit);
    assert.deepEqual(sl.match('a.b').plain, []);
  });

  test('a change leaves unrelated cached results correct', () => {
    const sl = new Sublist();
    const [x] = insertAll(sl, 'x.y');
    sl.match('x.y');
    sl.insert(sub('a.*'));
    sl.insert(sub('b'));
    assert.deepEqual(sl.match('x.y').plain, [x]);
  });

  test('the cache is bounded; a clear and a freeze are counted', () => {
    const sl = new Sublist(4);
    insertAll(sl, '>');
    // A hot subject between one-off ones: half the lookups hit, so a full
    // cache is cleared (its entries counted as evicted).
    for (let i = 0; i < 20; i++) {
      sl.match('hot');
      sl.match(`warm.${i}`);
      assert.ok(sl.cacheSize <= 4);
    }
    assert.ok(sl.stats.cacheEvictions > 0);
    assert.equal(sl.stats.cacheFreezes, 0);
    // Only one-off subjects: no hits, so the full cache thrashes and freezes.
    for (let i = 0; i < 100; i++) {
      sl.match(`cold.${i}`);
      assert.ok(sl.cacheSize <= 4, `size ${sl.cacheSize} after ${i + 1} subjects`);
    }
    assert.ok(sl.stats.cacheFreezes > 0);
  });

  test('subjects published in turn, more than the cache holds: a frozen sample still hits', () => {
    const sl = new Sublist(64);
    insertAll(sl, 'c.*');
    const subjects = Array.from({ length: 200 }, (_, i) => `c.${i}`);
    for (let round = 0; round < 3; round++) for (const s of subjects) sl.match(s);
    const hits = sl.stats.cacheHits;
    for (let round = 0; round < 20; round++) for (const s of subjects) sl.match(s);
    // Clearing when full would give no hit at all in this order.
    const rate = (sl.stats.cacheHits - hits) / (20 * subjects.length);
    assert.ok(rate > 0.15, `hit rate ${rate.toFixed(2)}`);
    assert.ok(sl.cacheSize <= 64);
  });

  test('a cache that hardly ever hits is bypassed, and used again once subjects repeat', () => {
    const sl = new Sublist(16);
    insertAll(sl, 'c.*');
    // 2,000 subjects in turn through 16 slots: under 1% could hit.
    for (let round = 0; round < 3; round++) for (let i = 0; i < 2000; i++) sl.match(`c.${i}`);
    assert.ok(sl.stats.cacheBypasses > 0, 'bypassed');
    // Then a few subjects only: within the longest bypass plus a fill, they hit.
    const hits = sl.stats.cacheHits;
    for (let i = 0; i < 64 * 16 + 100; i++) sl.match(`c.${i % 4}`);
    assert.ok(sl.stats.cacheHits - hits > 50, `${sl.stats.cacheHits - hits} hits`);
    for (let i = 0; i < 10; i++) assert.deepEqual(shape(sl.match(`c.${i}`)).plain, ['c.*']);
  });

  test('a frozen sample that stops paying is dropped: new subjects in use hit again', () => {
    const sl = new Sublist(16);
    insertAll(sl, 'c.*');
    // 40 subjects in turn: the kept sample (16 of them) hits 40 %, so it stays.
    for (let round = 0; round < 200; round++) for (let i = 0; i < 40; i++) sl.match(`c.${i}`);
    assert.ok(sl.stats.cacheFreezes > 0);
    const evictions = sl.stats.cacheEvictions;
    // Then 4 other subjects only: within the longest freeze, the longest
    // bypass and a fill (64 × 16 lookups each), they are cached and hit.
    for (let i = 0; i < 2 * 64 * 16 + 100; i++) sl.match(`d.${i % 4}`);
    const hits = sl.stats.cacheHits;
    for (let i = 0; i < 100; i++) sl.match(`d.${i % 4}`);
    assert.equal(sl.stats.cacheHits - hits, 100);
    assert.ok(sl.stats.cacheEvictions > evictions, 'the old sample was dropped');
  });

  test('the default bound is SUBLIST_CACHE_MAX', () => {
    const sl = new Sublist();
    for (let i = 0; i < SUBLIST_CACHE_MAX + 10; i++) sl.match(`s.${i}`);
    assert.equal(sl.cacheSize, SUBLIST_CACHE_MAX);
  });
});

describe('Sublist: generation and stats', () => {
  test('every insert and remove changes the generation; a match does not', () => {
    const sl = new Sublist();
    const seen = new Set([sl.generation]);
    const a = sub('foo.*');
    const b = sub('foo.bar', 'q');
    sl.insert(a);
    assert.ok(!seen.has(sl.generation));
    seen.add(sl.generation);
    sl.insert(b);
    assert.ok(!seen.has(sl.generation));
    seen.add(sl.generation);
    const g = sl.generation;
    sl.match('foo.bar');
    sl.match('foo.bar');
    assert.equal(sl.generation, g);
    sl.remove(a);
    assert.ok(!seen.has(sl.generation));
    seen.add(sl.generation);
    sl.remove(b);
    assert.ok(!seen.has(sl.generation));
  });

  test('stats count subscriptions, inserts, removes and matches', () => {
    const sl = new Sublist();
    const [a] = insertAll(sl, 'a', 'b', 'c');
    sl.remove(a);
    sl.match('b');
    assert.deepEqual(sl.stats, {
      subscriptions: 2,
      inserts: 3,
      removes: 1,
      matches: 1,
      cacheHits: 0,
      uncached: 0,
      ackRouteHits: 0,
      ackRouteEvictions: 0,
      cacheEvictions: 0,
      cacheFreezes: 0,
      cacheBypasses: 0,
    });
    assert.equal(sl.count, 2);
  });
});
