/**
 * The clock read once per turn (src/streams/turn-clock.ts) and the times a
 * stream stamps with it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openFileStore } from '../../src/streams/file-store.js';
import { type StoreNotice, Stream } from '../../src/streams/stream.js';
import { normalizeConfig } from '../../src/streams/stream-config.js';
import { turnNow } from '../../src/streams/turn-clock.js';
import { checkFor } from '../helpers/poll.js';

/** Spins until the clock has moved on by `ms` (no sleep: the turn must not end). */
function spin(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: the point is to stay in this turn
  }
}

describe('turn clock', () => {
  test('one value through a synchronous run, the clock again in the next turn', async () => {
    const first = turnNow();
    assert.ok(Math.abs(first - Date.now()) < 1000);
    spin(3);
    assert.equal(turnNow(), first, 'same turn: same value, though the clock moved');
    await new Promise((r) => setImmediate(r));
    const next = turnNow();
    assert.ok(next >= first + 3, `${next} read again after ${first} + 3 ms`);
    assert.ok(next <= Date.now());
    await Promise.resolve();
    // The microtask that forgets it ran before this continuation.
    spin(2);
    assert.ok(turnNow() >= next + 2);
  });

  test('publishes stored in one turn share its time; a later turn is not earlier', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-turn-clock-'));
    const store = await openFileStore(dir, { sync: { kind: 'always' } });
    const s = new Stream(normalizeConfig({ name: 'T', subjects: ['t.>'] }, 'T'), store, new Date());
    await s.open();
    try {
      let told = 0;
      const notice: StoreNotice = {
        stored: (err) => {
          assert.equal(err, null);
          told++;
        },
      };
      // Three plain publishes in one turn (the appendNotify path), the clock moving between.
      for (let i = 0; i < 3; i++) {
        s.storeNotify('t.a', null, Buffer.from(`m${i}`), notice);
        spin(2);
      }
      await new Promise((r) => setImmediate(r));
      spin(2);
      await s.store('t.a', null, Buffer.from('m3'));
      await checkFor(() => told === 3);
      const times: number[] = [];
      for (let seq = 1; seq <= 4; seq++) times.push((await store.get(seq))!.time);
      assert.equal(times[1], times[0], 'same turn, same time');
      assert.equal(times[2], times[0], 'same turn, same time');
      assert.ok(times[3]! >= times[0]! + 2, `a later turn reads the clock again: ${times}`);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
