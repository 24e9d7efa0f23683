/**
 * The idle collector (src/server/idle-gc.ts): when it asks V8 for a
 * collection — only after the loop has been quiet long enough, at most
 * IDLE_GC_TRIES times per quiet period, never for a small new space — and
 * that asking does collect (counted in `runs`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IDLE_GC_TRIES, IdleCollector, newSpaceBytes } from '../../src/server/idle-gc.js';

test('collects once the loop has been quiet for firstMs, then every quietMs, IDLE_GC_TRIES times', async () => {
  const c = new IdleCollector({ firstMs: 1000, quietMs: 3000, minNewSpace: 0 });
  assert.equal(await c.check(0.5, 1000), false, 'busy');
  assert.equal(await c.check(0, 500), false, 'quiet for 500 ms');
  assert.equal(await c.check(0, 500), true, 'quiet for 1 s');
  assert.equal(c.runs, 1);
  assert.ok(c.lastMs >= 0);
  assert.equal(await c.check(0, 2000), false, '2 s after the first');
  assert.equal(await c.check(0, 1000), true, '3 s after the first');
  for (let i = 2; i < IDLE_GC_TRIES; i++) assert.equal(await c.check(0, 3000), true);
  assert.equal(c.runs, IDLE_GC_TRIES);
  assert.equal(await c.check(0, 60_000), false, 'no more in this quiet period');
  // A busy check starts a new quiet period.
  assert.equal(await c.check(0.3, 1000), false);
  assert.equal(await c.check(0, 1000), true);
  assert.equal(c.runs, IDLE_GC_TRIES + 1);
});

test('a new space at or below minNewSpace is left alone', async () => {
  const c = new IdleCollector({ firstMs: 0, minNewSpace: newSpaceBytes() + 1024 * 1024 * 1024 });
  assert.equal(await c.check(0, 1000), false);
  assert.equal(c.runs, 0);
});

test('a started collector stops (its timer does not hold the process)', () => {
  const c = new IdleCollector({ checkMs: 10 });
  c.start();
  c.start();
  c.stop();
  c.stop();
  assert.equal(c.runs, 0);
});
