/**
 * The consumers' turn clock (src/jetstream/consumer-clock.ts): one clock
 * read per run of synchronous work, never a value older than that run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { turnClockStats, turnNow } from '../../src/jetstream/consumer-clock.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('consumer turn clock', () => {
  test('reads the clock once per run of synchronous work, and is within it', async () => {
    await nextTurn();
    const before = Date.now();
    const reads = turnClockStats.reads;
    const first = turnNow();
    for (let i = 0; i < 1000; i++) assert.equal(turnNow(), first);
    const after = Date.now();
    assert.equal(turnClockStats.reads, reads + 1);
    assert.ok(first >= before && first <= after, `${first} in [${before}, ${after}]`);
  });

  test('a later run reads the clock again (after the microtasks queued before it)', async () => {
    await nextTurn();
    const reads = turnClockStats.reads;
    turnNow();
    await Promise.resolve();
    await Promise.resolve();
    const before = Date.now();
    const second = turnNow();
    assert.equal(turnClockStats.reads, reads + 2);
    assert.ok(second >= before, `${second} >= ${before}`);
    await nextTurn();
    const third = turnNow();
    assert.equal(turnClockStats.reads, reads + 3);
    assert.ok(third >= second);
  });
});
