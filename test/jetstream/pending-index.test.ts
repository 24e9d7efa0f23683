/**
 * PendingIndex: the ring over a consumer's pending window behaves as an
 * ordered map of sequence → slot — with in-order and random acks, messages
 * left pending far behind (their entries move out of the ring, counted),
 * sparse sequences (a filter) and sequences past 2^32 — and its window stays
 * within its bound and is given back when nothing is pending.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PendingIndex, WINDOW_FACTOR, WINDOW_MIN } from '../../src/jetstream/pending-index.js';

/** Every pending sequence and its slot, ascending, as the index's users visit them. */
function entries(ix: PendingIndex): [number, number][] {
  const out: [number, number][] = [...ix.behindEntries()];
  for (let seq = ix.ringFirst; seq <= ix.ringLast; seq++) {
    const s = ix.at(seq);
    if (s >= 0) out.push([seq, s]);
  }
  return out;
}

function check(ix: PendingIndex, model: Map<number, number>): void {
  assert.equal(ix.size, model.size);
  const keys = [...model.keys()].sort((a, b) => a - b);
  assert.equal(ix.first(), keys[0]);
  assert.deepEqual(
    entries(ix),
    keys.map((k) => [k, model.get(k)!]),
  );
}

describe('PendingIndex', () => {
  for (const [name, base, gap, min] of [
    ['dense', 1, 1, 64],
    ['sparse (a filter)', 1, 40, 64],
    ['past 2^32', 2 ** 32 - 300, 3, 64],
    ['default bound', 1, 2, undefined],
  ] as const) {
    test(`matches an ordered map under random operations: ${name} (fuzz)`, () => {
      let seed = 7;
      const rnd = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      const ix = new PendingIndex(min);
      const model = new Map<number, number>();
      let next = base;
      let slot = 0;
      let most = 0;
      for (let step = 0; step < 20_000; step++) {
        const op = rnd(10);
        const keys = [...model.keys()];
        // The pending count grows in the first half, shrinks in the second.
        if (op < (step < 10_000 ? 5 : 3) || keys.length === 0) {
          const seq = next + rnd(gap);
          next = seq + 1;
          assert.equal(ix.get(seq), -1);
          ix.set(seq, slot);
          model.set(seq, slot++);
        } else if (op < 8) {
          // Mostly the oldest (in-order acks); a few stay pending for long.
          const sorted = keys.sort((a, b) => a - b);
          const seq =
            rnd(20) === 0 ? sorted[rnd(sorted.length)]! : sorted[Math.min(1, sorted.length - 1)]!;
          assert.equal(ix.delete(seq), model.get(seq));
          model.delete(seq);
          assert.equal(ix.delete(seq), -1);
        } else if (op < 9) {
          const seq = next + rnd(100) - 50;
          assert.equal(ix.get(seq), model.get(seq) ?? -1);
          assert.equal(ix.delete(next + 1000), -1);
        } else {
          const all = [...model.keys()];
          const seq = all[rnd(all.length)]!;
          assert.equal(ix.get(seq), model.get(seq));
        }
        most = Math.max(most, model.size);
        assert.ok(
          ix.window <= Math.max(min ?? WINDOW_MIN, WINDOW_FACTOR * (most + 1)),
          `window ${ix.window} with ${model.size} pending`,
        );
        if (step % 97 === 0) check(ix, model);
      }
      check(ix, model);
      if (min === 64) assert.ok(ix.evicted > 0, 'entries left behind moved out of the ring');
      for (const k of [...model.keys()]) assert.equal(ix.delete(k), model.get(k));
      model.clear();
      check(ix, model);
      ix.reset();
      assert.ok(ix.window <= 4096);
      // Usable again after a reset.
      ix.set(next + 5, 1);
      model.set(next + 5, 1);
      check(ix, model);
    });
  }

  test('a message pending far behind: the ring keeps its bound, the oldest moves behind', () => {
    const ix = new PendingIndex(64);
    ix.set(1, 0);
    for (let s = 2; s < 10_000; s++) {
      ix.set(s, s);
      assert.equal(ix.delete(s), s);
    }
    assert.equal(ix.first(), 1);
    assert.equal(ix.size, 1);
    assert.equal(ix.evicted, 1);
    assert.ok(ix.window <= 128);
    assert.equal(ix.get(1), 0);
    assert.equal(ix.delete(1), 0);
    assert.equal(ix.first(), undefined);
  });
});
