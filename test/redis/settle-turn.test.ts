/**
 * Replies settled outside a read (settle-turn.ts): flushed at the end of
 * the task that settled them — before a setImmediate queued earlier runs,
 * where the Flusher's own pass came a turn later — once per connection
 * however many settle in that task; inside a read batch, with the batch.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Connection, Flusher } from '../../src/connection/connection.js';
import { SettleTurn, settleTurnOf } from '../../src/protocols/redis/settle-turn.js';

/** A connection as the Flusher sees it: `flush` logged. */
function fake(name: string, log: string[]): Connection {
  return { flush: () => log.push(name) } as unknown as Connection;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SettleTurn', () => {
  test('flushes at the end of the task, before the next turn', async () => {
    const f = new Flusher();
    const t = new SettleTurn(f);
    const log: string[] = [];
    const next = turn().then(() => log.push('next turn'));
    // Two replies of one connection and one of another, settled in one task.
    const a = fake('a', log);
    t.enter();
    f.mark(a);
    t.enter();
    f.mark(fake('b', log));
    assert.deepEqual(log, [], 'not inside the task');
    await Promise.resolve();
    assert.deepEqual(log, ['a', 'b'], 'at its end');
    await next;
    assert.deepEqual(log, ['a', 'b', 'next turn']);
    // Let go: a mark outside any task held goes to the Flusher's pass, as before.
    f.mark(a);
    assert.deepEqual(log, ['a', 'b', 'next turn']);
    await turn();
    assert.deepEqual(log, ['a', 'b', 'next turn', 'a']);
  });

  test('inside a read batch: flushed once the batch and the task are done', async () => {
    const f = new Flusher();
    const t = settleTurnOf(f);
    assert.equal(settleTurnOf(f), t, 'one per Flusher');
    const log: string[] = [];
    f.begin();
    t.enter();
    f.mark(fake('a', log));
    f.end();
    assert.deepEqual(log, []);
    await Promise.resolve();
    assert.deepEqual(log, ['a']);
  });
});
