/**
 * PendingOrder: the oldest pending sequence of a consumer, with acks in
 * any order, sequences pending for a long time, and its bound.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COMPACT_SLACK, PendingOrder } from '../../src/jetstream/pending-order.js';

describe('PendingOrder', () => {
  test('the oldest still pending, acked in any order', () => {
    const pending = new Map<number, true>();
    const o = new PendingOrder();
    for (let s = 1; s <= 10; s++) {
      pending.set(s, true);
      o.push(s, pending);
    }
    assert.equal(o.first(pending), 1);
    pending.delete(3);
    assert.equal(o.first(pending), 1);
    pending.delete(1);
    pending.delete(2);
    assert.equal(o.first(pending), 4);
    for (let s = 4; s <= 10; s++) pending.delete(s);
    assert.equal(o.first(pending), undefined);
    assert.equal(o.length, 0);
  });

  test('acked: the front moves past an acked front, and only then', () => {
    const pending = new Map<number, true>();
    const o = new PendingOrder();
    for (let s = 1; s <= 5; s++) {
      pending.set(s, true);
      o.push(s, pending);
    }
    pending.delete(3);
    o.acked(3); // not the front: nothing moves
    assert.equal(o.length, 5);
    pending.delete(1);
    o.acked(1);
    assert.equal(o.length, 4);
    assert.equal(o.first(pending), 2);
    pending.delete(2);
    o.acked(2);
    assert.equal(o.first(pending), 4);
    for (const s of [4, 5]) {
      pending.delete(s);
      o.acked(s);
    }
    o.acked(5); // empty: nothing to move
    assert.equal(o.first(pending), undefined);
    assert.equal(o.length, 0);
  });

  test('matches the smallest key of a model under random acks (fuzz)', () => {
    let seed = 11;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pending = new Map<number, true>();
    const o = new PendingOrder();
    let next = 1;
    for (let i = 0; i < 50_000; i++) {
      if (rnd(3) !== 0 || pending.size === 0) {
        pending.set(next, true);
        o.push(next++, pending);
      } else {
        // Ack the oldest most of the time, else any pending one.
        const keys = [...pending.keys()];
        pending.delete(rnd(4) === 0 ? keys[rnd(keys.length)]! : Math.min(...keys.slice(0, 8)));
      }
      const min = pending.size === 0 ? undefined : Math.min(...pending.keys());
      assert.equal(o.first(pending), min);
    }
  });

  test('bounded while one sequence stays pending and the rest are acked', () => {
    const pending = new Map<number, true>();
    const o = new PendingOrder();
    pending.set(1, true);
    o.push(1, pending);
    for (let s = 2; s < 100_000; s++) {
      pending.set(s, true);
      o.push(s, pending);
      pending.delete(s);
      assert.equal(o.first(pending), 1);
    }
    assert.ok(o.length <= 2 * pending.size + COMPACT_SLACK + 1, `${o.length} entries`);
    assert.ok(o.compactions > 0);
  });
});
