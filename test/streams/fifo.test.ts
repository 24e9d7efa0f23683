/**
 * The ring-buffer queue of the publish path (src/streams/fifo.ts): first
 * in, first out across wrap-around and growth.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Fifo } from '../../src/streams/fifo.js';

describe('fifo', () => {
  test('shifts in push order across wrap-around and growth; empty gives undefined', () => {
    const q = new Fifo<number>(4);
    assert.equal(q.shift(), undefined);
    const model: number[] = [];
    let next = 0;
    // Pushes and shifts in uneven runs: the head wraps many times, the ring grows twice.
    for (let round = 0; round < 200; round++) {
      const pushes = (round * 7) % 5;
      const shifts = (round * 3) % 4;
      for (let i = 0; i < pushes + (round < 20 ? 1 : 0); i++) {
        q.push(next);
        model.push(next++);
      }
      for (let i = 0; i < shifts; i++) assert.equal(q.shift(), model.shift());
      assert.equal(q.length, model.length);
    }
    while (model.length > 0) assert.equal(q.shift(), model.shift());
    assert.equal(q.length, 0);
    assert.equal(q.shift(), undefined);
  });

  test('a shifted element is no longer held by the ring', () => {
    const q = new Fifo<object>(2);
    q.push({});
    q.shift();
    const ring = (q as unknown as { ring: unknown[] }).ring;
    assert.ok(ring.every((x) => x === undefined));
  });
});
