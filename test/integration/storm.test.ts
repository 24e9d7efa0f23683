/**
 * A wildcard SUB/UNSUB storm against a full match cache (the `sub-storm`
 * benchmark's load, smaller): every SUB takes effect before the PUB after
 * it and every UNSUB before the next, so each pair delivers exactly one
 * message, and the server keeps answering another connection's PINGs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runStorm } from '../../src/bench/storm.js';
import { startTarget, type Target } from '../helpers/harness.js';

describe('wildcard SUB/UNSUB storm with a full cache', () => {
  let srv: Target;
  before(async () => {
    srv = await startTarget();
  });
  after(async () => {
    await srv.close();
  });

  test('each pair delivers exactly its one message; PINGs are answered', async () => {
    const r = await runStorm(
      { host: '127.0.0.1', port: srv.port },
      { pairs: 2000, subjects: 6000 },
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.due, 2000);
    assert.equal(r.delivered, r.due);
    assert.ok(r.pings >= 1, 'the health connection got at least one PONG');
  });
});
