/**
 * AckPending: the pending entries kept in typed-array slots (no object per
 * delivery) behave as a plain map of entries would — under random
 * deliveries, redeliveries, acks (one, and all below), drops and deadline
 * moves — with the ack floor and the state file's entries derived from it,
 * and slots reused and given back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AckPending } from '../../src/jetstream/consumer-acks.js';

interface Entry {
  cseq: number;
  deliveries: number;
  deadline: number;
  time: number;
}

describe('AckPending', () => {
  test('matches a map of entries under random operations (fuzz)', () => {
    let seed = 16;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let dseq = 0;
    let cursor = 1;
    const acks = new AckPending({ consumerSeq: () => dseq, cursorSeq: () => cursor });
    const model = new Map<number, Entry>();
    for (let step = 0; step < 20_000; step++) {
      const op = rnd(10);
      const keys = [...model.keys()];
      const before = model.size;
      if (op < 4 || keys.length === 0) {
        // A new delivery at the cursor (sometimes skipping sequences, as a filter does).
        const seq = cursor + rnd(3);
        cursor = seq + 1;
        dseq++;
        const e = { cseq: dseq, deliveries: 1, deadline: step + 100, time: 1_000 + seq };
        acks.delivered(seq, e.cseq, e.deliveries, e.deadline, e.time, true);
        model.set(seq, e);
      } else if (op < 5) {
        // A redelivery: the entry is updated in place, its order kept.
        const seq = keys[rnd(keys.length)]!;
        const e = model.get(seq)!;
        dseq++;
        e.cseq = dseq;
        e.deliveries++;
        e.deadline = step + 50;
        acks.delivered(seq, e.cseq, e.deliveries, e.deadline, e.time, false);
      } else if (op < 8) {
        const seq = rnd(4) === 0 ? cursor + 5 : keys[rnd(keys.length)]!;
        const all = rnd(8) === 0;
        const done: number[] = [];
        const n = acks.ack(seq, all, done);
        const want = all ? keys.filter((k) => k <= seq) : model.has(seq) ? [seq] : [];
        for (const k of want) model.delete(k);
        assert.deepEqual(done, want);
        assert.equal(n, want.length);
      } else if (op < 9) {
        const seq = keys[rnd(keys.length)]!;
        acks.queueRedelivery(seq);
        assert.equal(acks.drop(seq), model.get(seq)!.deliveries);
        assert.equal(acks.rdq.includes(seq), false);
        model.delete(seq);
        assert.equal(acks.drop(seq), 0);
      } else {
        const seq = keys[rnd(keys.length)]!;
        model.get(seq)!.deadline = step;
        acks.setDeadline(seq, step);
      }
      assert.equal(acks.size, model.size);
      const moved = model.size < before;
      const first = [...model.keys()].sort((a, b) => a - b)[0];
      if (first === undefined) {
        assert.deepEqual(acks.floor, { consumer_seq: dseq, stream_seq: cursor - 1 });
      } else {
        assert.ok(acks.floor.stream_seq < first);
        // An ack or a drop moves the floor to just below the oldest pending.
        if (op >= 5 && op < 9 && moved) assert.equal(acks.floor.stream_seq, first - 1);
      }
      if (step % 500 === 0) {
        const state = [...model].map(([s, e]) => [s, e.cseq, e.deliveries, e.time]);
        assert.deepEqual(acks.toState(), state);
        const due = [...model]
          .filter(([s, e]) => e.deadline <= step && !acks.rdq.includes(s))
          .map(([s]) => s)
          .sort((a, b) => a - b);
        assert.deepEqual(acks.due(step), due);
        assert.equal(
          acks.redelivered(),
          [...model.values()].filter((e) => e.deliveries > 1).length,
        );
        for (const [s, e] of model) {
          assert.equal(acks.deliveries(s), e.deliveries);
          assert.equal(acks.deadline(s), e.deadline);
          assert.equal(acks.has(s), true);
        }
        // Not pending, above and below the highest ever pending: 0.
        assert.equal(acks.deliveries(cursor + 10), 0);
        for (let s = Math.max(1, cursor - 50); s < cursor; s++) {
          if (!model.has(s)) assert.equal(acks.deliveries(s), 0);
        }
      }
    }
  });

  test('the floor follows in-order acks; slots are reused, and given back when none is pending', () => {
    let dseq = 0;
    let cursor = 1;
    const acks = new AckPending({ consumerSeq: () => dseq, cursorSeq: () => cursor });
    const floor = acks.floor;
    for (let seq = 1; seq <= 10_000; seq++) {
      dseq++;
      cursor = seq + 1;
      acks.delivered(seq, dseq, 1, 0, seq, true);
    }
    for (let seq = 1; seq <= 5_000; seq++) {
      assert.equal(acks.ack(seq, false, null), 1);
      assert.deepEqual(acks.floor, { consumer_seq: seq, stream_seq: seq });
    }
    // Updated in place: no object per ack.
    assert.equal(acks.floor, floor);
    // Freed slots hold new deliveries.
    for (let seq = 10_001; seq <= 15_000; seq++) {
      dseq++;
      cursor = seq + 1;
      acks.delivered(seq, dseq, 1, 0, seq, true);
    }
    assert.equal(acks.size, 10_000);
    assert.equal(acks.deliveries(12_345), 1);
    assert.equal(acks.ack(15_000, true, null), 10_000);
    assert.deepEqual(acks.floor, { consumer_seq: dseq, stream_seq: 15_000 });
    assert.deepEqual(acks.toState(), []);
    acks.delivered(15_001, ++dseq, 2, 7, 42, true);
    assert.deepEqual(acks.toState(), [[15_001, dseq, 2, 42]]);
    assert.equal(acks.redelivered(), 1);
  });
});
