/**
 * The internal-error handler: every error is logged with its stack and
 * counted; the first reports the node degraded, shuts it down once and exits
 * 70 when the shutdown is done, or when its bound passes, or when it fails.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { EXIT_INTERNAL, FatalHandler, type FatalNode } from '../../src/server/fatal.js';
import { Health } from '../../src/util/health.js';
import { createLogger } from '../../src/util/logger.js';
import { within } from '../helpers/poll.js';

function fakeNode(shutdown: () => Promise<void>): FatalNode & { lines: string[]; stops: number } {
  const lines: string[] = [];
  const node = {
    lines,
    stops: 0,
    log: createLogger('error', (l) => lines.push(l)),
    stats: { uncaughtErrors: 0 },
    health: new Health(),
    options: { shutdownGraceMs: 0 },
    shutdown: () => {
      node.stops++;
      return shutdown();
    },
  };
  return node;
}

/** An exit function that resolves the returned promise instead of exiting. */
function exitProbe(): { exit: (code: number) => void; code: Promise<number> } {
  let exit!: (code: number) => void;
  const code = new Promise<number>((r) => {
    exit = r;
  });
  return { exit, code };
}

describe('internal error handler', () => {
  test('logs the stack, counts, reports, shuts down once and exits 70', async () => {
    let finish!: () => void;
    const node = fakeNode(() => new Promise<void>((r) => (finish = r)));
    const probe = exitProbe();
    const h = new FatalHandler(node, probe.exit, 60_000);
    h.handle('uncaught exception', new Error('boom'));
    h.handle('unhandled rejection', 'not an error');
    assert.equal(node.stats.uncaughtErrors, 2);
    assert.equal(node.stops, 1, 'one shutdown for both');
    assert.equal(h.tripped, true);
    const log = node.lines.join('');
    assert.match(log, /\[ERR\] uncaught exception \(internal error #1\): Error: boom\n\s+at /);
    assert.match(log, /unhandled rejection \(internal error #2\): not an error/);
    assert.equal((node.health.toJSON() as { status: string }).status, 'degraded');
    finish();
    assert.equal(await within(probe.code, 5000, 'exit'), EXIT_INTERNAL);
  });

  test('exits 70 when the shutdown outlasts its bound', async () => {
    const node = fakeNode(() => new Promise<void>(() => {}));
    const probe = exitProbe();
    new FatalHandler(node, probe.exit, 50).handle('uncaught exception', new Error('stuck'));
    assert.equal(await within(probe.code, 5000, 'exit'), EXIT_INTERNAL);
    assert.match(node.lines.join(''), /shutdown did not finish within 50ms; exiting now/);
  });

  test('exits 70 when the shutdown fails', async () => {
    const node = fakeNode(() => Promise.reject(new Error('stores would not close')));
    const probe = exitProbe();
    new FatalHandler(node, probe.exit, 60_000).handle('uncaught exception', new Error('x'));
    assert.equal(await within(probe.code, 5000, 'exit'), EXIT_INTERNAL);
    assert.match(node.lines.join(''), /shutdown failed: Error: stores would not close/);
  });

  test('install listens for both events and the undo stops it', () => {
    const node = fakeNode(() => new Promise<void>(() => {}));
    const h = new FatalHandler(node, () => {}, 60_000);
    const proc = new EventEmitter();
    const undo = h.install(proc);
    assert.equal(proc.listenerCount('uncaughtException'), 1);
    assert.equal(proc.listenerCount('unhandledRejection'), 1);
    undo();
    assert.equal(proc.listenerCount('uncaughtException'), 0);
    assert.equal(proc.listenerCount('unhandledRejection'), 0);
  });
});
