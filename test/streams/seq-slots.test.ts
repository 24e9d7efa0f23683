/**
 * SeqSlots (the stores' sequence ↔ slot mapping) against a plain array of
 * the sequence each slot stands for, through the operations the stores
 * make: fill the next slot after a jump of any size, drop slots from the
 * front, reset when empty.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { INLINE_GAP, SeqSlots } from '../../src/streams/seq-slots.js';
import { prng } from './crash-messages.js';

/** Uses the next slot for `seq` the way the stores do: small jumps as empty slots. */
function place(m: SeqSlots, model: number[], seq: number): void {
  const jump = seq - m.seqAt(model.length);
  if (jump > INLINE_GAP) m.jump(model.length, seq);
  else for (let q = seq - jump; q < seq; q++) model.push(q);
  model.push(seq);
}

function check(m: SeqSlots, model: number[], where: string): void {
  for (let i = 0; i < model.length; i++) {
    assert.equal(m.seqAt(i), model[i], `${where}: seqAt(${i})`);
    assert.equal(m.slotOf(model[i]!), i, `${where}: slotOf(${model[i]})`);
    // The sequence just before a slot, when no slot stands for it, is in a gap.
    const before = model[i]! - 1;
    if (i > 0 && model[i - 1] !== before) {
      assert.ok(m.slotOf(before) < 0, `${where}: slotOf(${before}) in a gap`);
      assert.equal(m.slotFrom(before), i, `${where}: slotFrom(${before})`);
    }
    assert.equal(m.slotFrom(model[i]!), i, `${where}: slotFrom(${model[i]})`);
  }
  if (model.length > 0) {
    assert.ok(m.slotFrom(model[0]! - 1) <= 0, `${where}: slotFrom before the first`);
    assert.ok(m.slotFrom(model[model.length - 1]! + 1) >= model.length, `${where}: past the last`);
    assert.ok(m.slotFrom(Number.POSITIVE_INFINITY) >= model.length, `${where}: slotFrom(∞)`);
  }
}

describe('SeqSlots', () => {
  test('without gaps a slot is seq - base', () => {
    const m = new SeqSlots();
    m.reset(7);
    assert.deepEqual(
      [m.seqAt(0), m.seqAt(3), m.slotOf(10), m.slotFrom(10), m.gaps],
      [7, 10, 3, 3, 0],
    );
    m.shift(2);
    assert.deepEqual([m.seqAt(0), m.slotOf(10)], [9, 1]);
  });

  test('a large jump is one gap, not empty slots; it goes once the front passes it', () => {
    const m = new SeqSlots();
    const model: number[] = [];
    m.reset(1);
    place(m, model, 1);
    place(m, model, 2);
    place(m, model, 2 ** 40);
    place(m, model, 2 ** 40 + 1);
    assert.equal(model.length, 4);
    assert.equal(m.gaps, 1);
    check(m, model, 'one gap');
    m.shift(1);
    model.splice(0, 1);
    assert.equal(m.gaps, 1);
    check(m, model, 'shifted before the gap');
    m.shift(2);
    model.splice(0, 2);
    assert.equal(m.gaps, 0);
    check(m, model, 'shifted past the gap');
  });

  test('random jumps, trims and resets agree with the plain mapping', () => {
    const rand = prng(99);
    const int = (n: number): number => Math.floor(rand() * n);
    const m = new SeqSlots();
    let model: number[] = [];
    let next = 1;
    m.reset(next);
    for (let step = 0; step < 3000; step++) {
      const op = int(10);
      if (op < 7) {
        next += [0, 0, 1, 5, INLINE_GAP, INLINE_GAP + 1, 10_000, 2 ** 36][int(8)]!;
        place(m, model, next);
        next++;
      } else if (op < 9) {
        const s = Math.min(model.length, int(40));
        m.shift(s);
        model = model.slice(s);
      } else if (int(10) === 0) {
        m.reset(next);
        model = [];
      }
      if (step % 50 === 0 || model.length < 20) check(m, model, `step ${step}`);
    }
    check(m, model, 'end');
  });
});
