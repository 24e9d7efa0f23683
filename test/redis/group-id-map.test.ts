/**
 * The PEL map (groups/id-map.ts) as two sorted arrays: lookups through its
 * hint, a key put back before the first live slot, walks that go on while
 * slots shift under them, and a model check with every operation (get and
 * has included) and walks interleaved with changes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IdMap } from '../../src/protocols/redis/groups/id-map.js';
import { type IdKey, idKey, MIN_ID } from '../../src/protocols/redis/groups/ids.js';

const id = (ms: number, seq = 0): IdKey => idKey(BigInt(ms), BigInt(seq));
/** An equal string that is not the same object (an XACK's ID when the memo missed). */
const copy = (k: IdKey): IdKey => Buffer.from(k, 'latin1').toString('latin1');

describe('the PEL map', () => {
  test('finds keys by equal strings, not only the ones it holds', () => {
    const m = new IdMap<number>();
    for (let i = 0; i < 100; i++) m.set(id(i), i);
    for (let i = 99; i >= 0; i -= 7) assert.equal(m.get(copy(id(i))), i);
    for (let i = 0; i < 100; i += 2) assert.equal(m.delete(copy(id(i))), true);
    for (let i = 0; i < 100; i++) assert.equal(m.has(id(i)), i % 2 === 1);
    assert.equal(m.get(id(1000)), undefined);
    assert.equal(m.delete(id(1000)), false);
    assert.equal(m.size, 50);
  });

  test('a key deleted at the front and put back is found, once', () => {
    const m = new IdMap<string>();
    m.set(id(1), 'a');
    m.set(id(2), 'b');
    m.set(id(3), 'c');
    assert.equal(m.get(id(1)), 'a'); // the hint now at its slot
    assert.equal(m.delete(id(1)), true);
    assert.equal(m.get(id(1)), undefined);
    m.set(id(1), 'A'); // before the first live key: a new slot, the dead one left behind
    assert.equal(m.get(id(1)), 'A');
    assert.equal(m.has(id(1)), true);
    assert.deepEqual(
      [...m.from(MIN_ID)].map(([, v]) => v),
      ['A', 'b', 'c'],
    );
    assert.equal(m.first(), id(1));
    assert.equal(m.delete(id(1)), true);
    assert.equal(m.delete(id(1)), false);
    assert.equal(m.first(), id(2));
    assert.equal(m.size, 2);
  });

  test('a walk gives each live key once, in order, while keys go in before it and slots shift', () => {
    const m = new IdMap<number>();
    for (let i = 10; i < 200; i += 2) m.set(id(i), i);
    const seen: number[] = [];
    for (const [k, v] of m.from(MIN_ID)) {
      seen.push(v);
      // An older key back before the walk's place (XCLAIM FORCE while XAUTOCLAIM awaits):
      // the slots shift by one; the walk must neither give this key again nor skip the next.
      if (v === 50) m.set(id(1), 1);
      // One ahead, then deleted: never given.
      if (v === 80) {
        m.set(id(81), 81);
        m.delete(id(81));
      }
      // Everything before the walk's place goes: the arrays compact.
      if (v === 120) for (let i = 1; i <= 120; i++) m.delete(id(i));
      assert.ok(m.has(k) || v <= 120);
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 95 }, (_, i) => 10 + 2 * i),
    );
    assert.deepEqual(
      [...m.from(MIN_ID)].map(([, v]) => v),
      Array.from({ length: 39 }, (_, i) => 122 + 2 * i),
    );
  });

  test('as a model Map: every operation, walks interleaved with changes', () => {
    let seed = 5;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let round = 0; round < 20; round++) {
      const m = new IdMap<number>();
      const model = new Map<IdKey, number>();
      const span = 20 + (rnd() % 400);
      let next = 0;
      for (let i = 0; i < 3000; i++) {
        const r = rnd() % 10;
        const k = r < 4 ? id(next++ % span) : id(rnd() % span);
        const kk = rnd() % 2 === 0 ? k : copy(k);
        if (r < 5) {
          m.set(kk, i);
          model.set(k, i);
        } else if (r < 8) assert.equal(m.delete(kk), model.delete(k));
        else if (r < 9) assert.equal(m.get(kk), model.get(k));
        else assert.equal(m.has(kk), model.has(k));
        if (i % 301 === 0) {
          // A walk from a random key, changing the map as it goes.
          const from = id(rnd() % span);
          const got: IdKey[] = [];
          for (const [wk, wv] of m.from(from)) {
            assert.equal(model.get(wk), wv);
            got.push(wk);
            const c = id(rnd() % span);
            if (rnd() % 2 === 0) {
              m.delete(c);
              model.delete(c);
            } else if (c < wk) {
              m.set(c, -1);
              model.set(c, -1);
            }
          }
          for (let j = 1; j < got.length; j++) assert.ok(got[j - 1]! < got[j]!);
        }
        if (i % 97 === 0) {
          const want = [...model].sort((a, b) => (a[0] < b[0] ? -1 : 1));
          assert.deepEqual([...m.from(MIN_ID)], want);
          assert.equal(m.size, model.size);
          assert.equal(m.first(), want[0]?.[0] ?? null);
          assert.equal(m.last(), want[want.length - 1]?.[0] ?? null);
        }
      }
    }
  });
});
