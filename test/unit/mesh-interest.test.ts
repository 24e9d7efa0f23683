/**
 * Local interest aggregation (src/mesh/interest.ts): each distinct
 * (account, subject, queue) advertised once, a plain subject not at all
 * while a plain wildcard covers it; and a randomized model check of the
 * advertised set against an independent computation.
 *
 * Random runs use a seeded PRNG: set WEFT_FUZZ_SEED to replay a failure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { covers, type InterestChange, LocalInterest } from '../../src/mesh/interest.js';
import { type InterestEntry, interestKey } from '../../src/mesh/lsdb.js';
import { makeRng, seedFromEnv, subSeed, withContext } from '../fuzz/nats-frames.js';

const SEED = seedFromEnv();

const e = (subject: string, queue = '', account = '$G'): InterestEntry => [account, subject, queue];
const none: InterestChange = { add: [], del: [] };

describe('covers()', () => {
  // [pattern, other, pattern covers other]
  const table: Array<[string, string, boolean]> = [
    ['foo', 'foo', true],
    ['foo', 'bar', false],
    ['foo.bar', 'foo', false],
    ['foo', 'foo.bar', false],
    ['foo.*', 'foo.bar', true],
    ['foo.*', 'foo', false],
    ['foo.*', 'foo.bar.baz', false],
    ['foo.*', 'bar.baz', false],
    ['*', 'foo', true],
    ['*', 'foo.bar', false],
    ['*.bar', 'foo.bar', true],
    ['*.bar', 'foo.baz', false],
    ['foo.>', 'foo.bar', true],
    ['foo.>', 'foo.bar.baz', true],
    ['foo.>', 'foo', false],
    ['foo.>', 'bar.baz', false],
    ['>', 'foo', true],
    ['>', 'foo.bar.baz', true],
    ['foo.*.baz', 'foo.bar.baz', true],
    ['foo.*.baz', 'foo.bar.qux', false],
    // Pattern against pattern: does the first match all the second does?
    ['foo.*', 'foo.*', true],
    ['foo.>', 'foo.>', true],
    ['foo.>', 'foo.*', true],
    ['foo.>', 'foo.*.bar', true],
    ['foo.>', 'foo.bar.>', true],
    ['foo.*', 'foo.>', false],
    ['foo.*.>', 'foo.>', false],
    ['foo.>', 'foo.*.>', true],
    ['foo.bar', 'foo.*', false],
    ['foo.bar.>', 'foo.>', false],
    ['*', '>', false],
    ['*', '*', true],
    ['>', '>', true],
    ['>', '*', true],
    ['>', '*.>', true],
    ['*.>', '>', false],
    ['*.*', 'foo.*', true],
    ['*.*', '*.bar', true],
    ['foo.*', '*.bar', false],
    ['*.bar', 'foo.*', false],
    ['*.*', 'foo.>', false],
    ['*.>', 'foo.bar', true],
    ['*.>', 'foo', false],
  ];
  for (const [p, o, want] of table) {
    test(`covers(${p}, ${o}) is ${want}`, () => assert.equal(covers(p, o), want));
  }

  test('agrees with matching on literal subjects', () => {
    // p covers literal s exactly when p matches s.
    const pats = ['a', 'a.b', '*', '*.b', 'a.*', 'a.>', '>', '*.*', 'a.*.c', '*.>'];
    const lits = ['a', 'b', 'a.b', 'a.c', 'b.b', 'a.b.c', 'a.x.c', 'a.b.c.d'];
    const matches = (p: string, s: string): boolean => {
      const pt = p.split('.');
      const st = s.split('.');
      for (let i = 0; i < pt.length; i++) {
        if (pt[i] === '>') return st.length > i;
        if (i >= st.length || (pt[i] !== '*' && pt[i] !== st[i])) return false;
      }
      return pt.length === st.length;
    };
    for (const p of pats)
      for (const s of lits) assert.equal(covers(p, s), matches(p, s), `${p} ${s}`);
  });
});

describe('LocalInterest', () => {
  test('many subscriptions to one subject: one add, and one del at the last removal', () => {
    const li = new LocalInterest();
    assert.deepEqual(li.add('$G', 'foo', ''), { add: [e('foo')], del: [] });
    for (let i = 1; i < 1000; i++) assert.deepEqual(li.add('$G', 'foo', ''), none);
    assert.equal(li.advertisedCount, 1);
    for (let i = 1; i < 1000; i++) assert.deepEqual(li.remove('$G', 'foo', ''), none);
    assert.deepEqual(li.remove('$G', 'foo', ''), { add: [], del: [e('foo')] });
    assert.equal(li.advertisedCount, 0);
    assert.deepEqual(li.remove('$G', 'foo', ''), none, 'one removal too many changes nothing');
  });

  test('queue entries count the same way, per group', () => {
    const li = new LocalInterest();
    assert.deepEqual(li.add('$G', 'foo', 'q'), { add: [e('foo', 'q')], del: [] });
    assert.deepEqual(li.add('$G', 'foo', 'q'), none);
    assert.deepEqual(li.add('$G', 'foo', 'r'), { add: [e('foo', 'r')], del: [] });
    assert.deepEqual(li.add('$G', 'foo', ''), { add: [e('foo')], del: [] });
    assert.equal(li.advertisedCount, 3);
    assert.deepEqual(li.remove('$G', 'foo', 'q'), none);
    assert.deepEqual(li.remove('$G', 'foo', 'q'), { add: [], del: [e('foo', 'q')] });
    assert.deepEqual(li.remove('$G', 'foo', 'q'), none);
    assert.deepEqual(li.remove('$G', 'nope', 'q'), none);
  });

  test('a plain subject under an advertised wildcard is not advertised', () => {
    const li = new LocalInterest();
    assert.deepEqual(li.add('$G', 'foo.>', ''), { add: [e('foo.>')], del: [] });
    assert.deepEqual(li.add('$G', 'foo.bar', ''), none);
    assert.deepEqual(li.add('$G', 'foo.*', ''), none, 'a narrower wildcard too');
    assert.deepEqual(li.add('$G', 'foo', ''), { add: [e('foo')], del: [] }, 'foo.> not foo');
    assert.equal(li.advertisedCount, 2);
    // Removing a covered subject withdraws nothing.
    assert.deepEqual(li.remove('$G', 'foo.bar', ''), none);
    assert.deepEqual(li.remove('$G', 'foo.*', ''), none);
  });

  test('a wildcard arriving withdraws the subjects it covers', () => {
    const li = new LocalInterest();
    li.add('$G', 'foo.a', '');
    li.add('$G', 'foo.b', '');
    li.add('$G', 'foo.b.c', '');
    li.add('$G', 'bar', '');
    const c = li.add('$G', 'foo.*', '');
    assert.deepEqual(c.add, [e('foo.*')]);
    assert.deepEqual(
      c.del.map(interestKey).sort(),
      [e('foo.a'), e('foo.b')].map(interestKey).sort(),
    );
    const d = li.add('$G', 'foo.>', '');
    assert.deepEqual(d.add, [e('foo.>')]);
    assert.deepEqual(
      d.del.map(interestKey).sort(),
      [e('foo.*'), e('foo.b.c')].map(interestKey).sort(),
    );
    assert.equal(li.advertisedCount, 2);
  });

  test('a wildcard removed re-advertises what it covered, except what another still covers', () => {
    const li = new LocalInterest();
    li.add('$G', 'foo.a', '');
    li.add('$G', 'foo.b.c', '');
    li.add('$G', 'foo.b.d', '');
    li.add('$G', 'foo.b.*', '');
    li.add('$G', 'foo.>', '');
    li.add('$G', '*.a', '');
    assert.equal(li.advertisedCount, 2);
    const c = li.remove('$G', 'foo.>', '');
    assert.deepEqual(c.del, [e('foo.>')]);
    // foo.a stays under *.a; foo.b.c and foo.b.d stay under foo.b.*.
    assert.deepEqual(c.add, [e('foo.b.*')]);
    const d = li.remove('$G', 'foo.b.*', '');
    assert.deepEqual(d.del, [e('foo.b.*')]);
    assert.deepEqual(
      d.add.map(interestKey).sort(),
      [e('foo.b.c'), e('foo.b.d')].map(interestKey).sort(),
    );
    const f = li.remove('$G', '*.a', '');
    assert.deepEqual(f, { add: [e('foo.a')], del: [e('*.a')] });
    assert.equal(li.advertisedCount, 3);
  });

  test('queue entries are never covered, nor do they cover', () => {
    const li = new LocalInterest();
    li.add('$G', 'foo.>', '');
    assert.deepEqual(li.add('$G', 'foo.bar', 'q'), { add: [e('foo.bar', 'q')], del: [] });
    assert.deepEqual(li.add('$G', 'baz.>', 'q'), { add: [e('baz.>', 'q')], del: [] });
    assert.deepEqual(li.add('$G', 'baz.x', ''), { add: [e('baz.x')], del: [] });
    assert.deepEqual(li.add('$G', '>', ''), {
      add: [e('>')],
      del: [e('foo.>'), e('baz.x')],
    });
    assert.equal(li.advertisedCount, 3);
  });

  test('accounts are separate', () => {
    const li = new LocalInterest();
    li.add('A', 'foo.>', '');
    assert.deepEqual(li.add('B', 'foo.bar', ''), { add: [e('foo.bar', '', 'B')], del: [] });
    assert.deepEqual(li.add('A', 'foo.bar', ''), none);
    assert.deepEqual(li.add('B', 'foo.bar', 'q'), { add: [e('foo.bar', 'q', 'B')], del: [] });
    assert.deepEqual(li.add('A', 'foo.bar', 'q'), { add: [e('foo.bar', 'q', 'A')], del: [] });
    assert.deepEqual(li.remove('A', 'foo.>', ''), {
      add: [e('foo.bar', '', 'A')],
      del: [e('foo.>', '', 'A')],
    });
    assert.deepEqual(li.remove('B', 'foo.bar', ''), { add: [], del: [e('foo.bar', '', 'B')] });
    assert.equal(li.advertisedCount, 3);
  });
});

// --- model check ---------------------------------------------------------------

const SUBJECTS = [
  'a',
  'b',
  'a.b',
  'a.c',
  'b.b',
  'a.b.c',
  'a.x.c',
  'a.*',
  '*.b',
  'a.>',
  'a.b.>',
  'a.*.c',
  '*.*',
  '*',
  '>',
  '*.>',
];
const ACCOUNTS = ['A', 'B'];
const QUEUES = ['', '', '', 'q1', 'q2'];

/** What must be advertised, from the multiset of subscriptions alone. */
function expected(subs: Map<string, number>): Set<string> {
  const present: InterestEntry[] = [];
  for (const [k, n] of subs) if (n > 0) present.push(JSON.parse(k) as InterestEntry);
  const out = new Set<string>();
  for (const x of present) {
    if (x[2] !== '') {
      out.add(interestKey(x));
      continue;
    }
    const covered = present.some(
      (w) => w[2] === '' && w[0] === x[0] && w[1] !== x[1] && covers(w[1], x[1]),
    );
    if (!covered) out.add(interestKey(x));
  }
  return out;
}

describe('LocalInterest model check', () => {
  test('random adds and removes: the advertised set is always the expected one', () => {
    const runs = 60;
    const steps = 400;
    for (let run = 0; run < runs; run++) {
      const seed = subSeed(SEED, run);
      const rng = makeRng(seed);
      const li = new LocalInterest();
      const subs = new Map<string, number>();
      const advertised = new Set<string>();
      const log: string[] = [];
      // Some runs use few subjects, so the same ones come and go often.
      const universe = rng.chance(0.5) ? SUBJECTS : SUBJECTS.slice(0, rng.range(2, 8));
      for (let step = 0; step < steps; step++) {
        const x: InterestEntry = [rng.pick(ACCOUNTS), rng.pick(universe), rng.pick(QUEUES)];
        const k = JSON.stringify(x);
        const have = subs.get(k) ?? 0;
        const adding = have === 0 || rng.chance(0.55);
        const change = adding ? li.add(...x) : li.remove(...x);
        subs.set(k, adding ? have + 1 : have - 1);
        log.push(`${adding ? '+' : '-'}${x.join('|')}`);
        withContext(
          () => `seed ${SEED} run ${run} step ${step}; ops: ${log.slice(-20).join(' ')}`,
          () => {
            const adds = change.add.map(interestKey);
            const dels = change.del.map(interestKey);
            for (const d of dels) {
              assert.ok(advertised.has(d), `del of ${d} that was not advertised`);
              assert.ok(!adds.includes(d), `${d} both added and deleted in one change`);
              advertised.delete(d);
            }
            for (const a of adds) {
              assert.ok(!advertised.has(a), `${a} advertised twice without a del`);
              advertised.add(a);
            }
            assert.deepEqual([...advertised].sort(), [...expected(subs)].sort());
            assert.equal(li.advertisedCount, advertised.size);
          },
        );
      }
      // Remove everything: nothing stays advertised.
      for (const [k, n] of subs) {
        const x = JSON.parse(k) as InterestEntry;
        for (let i = 0; i < n; i++) {
          const c = li.remove(...x);
          for (const d of c.del) advertised.delete(interestKey(d));
          for (const a of c.add) advertised.add(interestKey(a));
        }
      }
      assert.equal(advertised.size, 0, `seed ${SEED} run ${run}: left ${[...advertised]}`);
      assert.equal(li.advertisedCount, 0);
    }
  });
});
