/**
 * `Stream.appendInRun` (the Redis face's pipelined XADDs, redis/xadd-run.ts):
 * each publish appended in the call, consecutive sequences; one notice for
 * all appended under it in a turn (no notice of their own: one
 * `notifyQueued`), told once durable, never in that turn; the run ends at
 * the turn's end, and before any other notice queued on the stream (told
 * in that order); a refused publish returns 0 with nothing stored and the
 * run goes on; a failed write tells the run; a stream with a limit that
 * removes on a publish, or a store without `notifyQueued`, takes none;
 * closing the stream tells an open run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openFileStore } from '../../src/streams/file-store.js';
import { createMemoryStore } from '../../src/streams/memory-store.js';
import { type StoreNotice, Stream } from '../../src/streams/stream.js';
import { normalizeConfig } from '../../src/streams/stream-config.js';
import { checkFor } from '../helpers/poll.js';
import { FaultOps } from './fault-ops.js';
import { countNotices, storedPayloads } from './run-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'weft-arun-'));
let nextDir = 0;
const newDir = () => join(root, `s${nextDir++}`);
after(() => rmSync(root, { recursive: true, force: true }));

const cfg = (extra: Record<string, unknown> = {}) =>
  normalizeConfig({ name: 'S', subjects: ['s.>'], ...extra }, 'S');
const HEAD = Buffer.from('NATS/1.0\r\nRedis-Stream-Id: 1-1\r\n\r\n');

/** A notice that records what it was told, and whether in the turn it was made. */
class Told implements StoreNotice {
  calls: { err: unknown; sameTurn: boolean }[] = [];
  private sameTurn = true;
  readonly done: Promise<void>;
  private resolve!: () => void;
  constructor(
    private readonly order: string[] = [],
    private readonly name = 'run',
  ) {
    this.done = new Promise((r) => {
      this.resolve = r;
    });
    queueMicrotask(() => {
      this.sameTurn = false;
    });
  }
  stored(err: unknown): void {
    this.calls.push({ err, sameTurn: this.sameTurn });
    this.order.push(this.name);
    this.resolve();
  }
}

const put = (s: Stream, text: string, run: StoreNotice): number => {
  const b = Buffer.from(`xx${text}yy`);
  return s.appendInRun('s.a', HEAD, b, 2, b.length - 2, Date.now(), run);
};

describe('Stream.appendInRun', () => {
  test('a run: consecutive sequences now, one notice, told once durable, never in this turn', async () => {
    const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
    const s = new Stream(cfg(), store, new Date());
    await s.open();
    try {
      await s.store('s.a', null, Buffer.from('before'));
      const n = countNotices(store);
      const run = new Told();
      const seqs = Array.from({ length: 16 }, (_, i) => put(s, `v${i}`, run));
      assert.deepEqual(
        seqs,
        Array.from({ length: 16 }, (_, i) => i + 2),
      );
      assert.equal(s.openRun, run);
      assert.deepEqual(n, { own: 0, queued: 0, appends: 16 }, 'no notice queued in the turn');
      await run.done;
      assert.deepEqual(n, { own: 0, queued: 1, appends: 16 }, 'one notice for the run');
      assert.deepEqual(run.calls, [{ err: null, sameTurn: false }]);
      assert.equal(s.openRun, null, 'ended with the turn');
      for (let i = 0; i < 16; i++) {
        const m = await store.get(i + 2);
        assert.equal(m?.payload.toString(), `v${i}`, 'the payload range, not the buffer');
        assert.deepEqual(m?.headers, HEAD);
      }
    } finally {
      await s.close();
    }
  });

  test('another notice on the stream ends the run first: told in that order', async () => {
    const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
    const s = new Stream(cfg(), store, new Date());
    await s.open();
    try {
      const order: string[] = [];
      const a = new Told(order, 'run a');
      const b = new Told(order, 'run b');
      assert.equal(put(s, 'a1', a), 1);
      assert.equal(put(s, 'a2', a), 2);
      s.storeNotify('s.a', null, Buffer.from('n'), () => order.push('notify'));
      assert.equal(s.openRun, null);
      assert.equal(put(s, 'b1', b), 4);
      // A run after another run: the first is ended, then b goes on.
      const c = new Told(order, 'run c');
      assert.equal(put(s, 'c1', c), 5);
      assert.equal(put(s, 'b2', b), 6);
      const stored = s.store('s.a', null, Buffer.from('p'));
      assert.equal(s.openRun, null, 'a store() ends it too');
      await Promise.all([a.done, b.done, c.done, stored]);
      await checkFor(() => order.length === 5);
      assert.deepEqual(order, ['run a', 'notify', 'run b', 'run c', 'run b']);
      assert.equal(b.calls.length, 2, 'each opening of a run is told');
    } finally {
      await s.close();
    }
  });

  test('a refused publish returns 0, nothing stored; the run goes on', async () => {
    const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
    const s = new Stream(cfg({ max_msg_size: 100 }), store, new Date());
    await s.open();
    try {
      const run = new Told();
      assert.equal(put(s, 'a', run), 1);
      assert.equal(put(s, 'x'.repeat(200), run), 0);
      assert.equal(put(s, 'c', run), 2);
      await run.done;
      assert.deepEqual(run.calls, [{ err: null, sameTurn: false }]);
      assert.equal(s.state().messages, 2);
      // Refused as the first: no run opened, nothing told.
      const none = new Told();
      assert.equal(put(s, 'x'.repeat(200), none), 0);
      assert.equal(s.openRun, null);
    } finally {
      await s.close();
    }
  });

  test('a failed write tells the run', async () => {
    const ops = new FaultOps();
    const store = await openFileStore(newDir(), {
      sync: { kind: 'always' },
      fileOps: ops,
      writeRetry: { minMs: 5, maxMs: 20 },
    });
    const s = new Stream(cfg(), store, new Date());
    await s.open();
    try {
      await s.store('s.a', null, Buffer.from('ok'));
      ops.inject('write', 1, 'EIO', 1);
      const run = new Told();
      put(s, 'a', run);
      put(s, 'b', run);
      await run.done;
      assert.notEqual(run.calls[0]!.err, null);
      ops.heal();
      await checkFor(() => store.writeError === null);
      const again = new Told();
      assert.ok(put(s, 'c', again) > 0);
      await again.done;
      assert.equal(again.calls[0]!.err, null);
      assert.deepEqual(
        await storedPayloads(store),
        ['ok', 'c'],
        'the failed run left nothing on disk',
      );
    } finally {
      await s.close();
    }
  });

  test('a limit that removes on publish, or a store without notifyQueued: 0, nothing done', async () => {
    const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
    const s = new Stream(cfg({ max_msgs: 10 }), store, new Date());
    await s.open();
    const m = new Stream(cfg(), createMemoryStore(), new Date());
    await m.open();
    try {
      for (const x of [s, m]) {
        assert.equal(put(x, 'a', new Told()), 0);
        assert.equal(x.state().messages, 0);
        assert.equal(x.openRun, null);
      }
    } finally {
      await s.close();
      await m.close();
    }
  });

  test('closing the stream with a run open tells the run', async () => {
    const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
    const s = new Stream(cfg(), store, new Date());
    await s.open();
    const run = new Told();
    assert.equal(put(s, 'a', run), 1);
    const closed = s.close();
    assert.equal(s.openRun, null);
    await closed;
    await run.done;
    assert.equal(run.calls.length, 1);
  });

  test("two streams' runs end through one function (no call target per stream)", async () => {
    const streams: Stream[] = [];
    const runs = [new Told(), new Told()];
    for (const run of runs) {
      const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
      const s = new Stream(cfg(), store, new Date());
      await s.open();
      streams.push(s);
      assert.equal(put(s, 'a', run), 1);
      // A new stream's first run calls what every other stream's calls: not an arrow of its own.
      assert.equal(Object.hasOwn(s, 'endRun'), false);
    }
    await Promise.all(runs.map((r) => r.done));
    for (const r of runs) assert.deepEqual(r.calls, [{ err: null, sameTurn: false }]);
    for (const s of streams) assert.equal(s.openRun, null);
    await Promise.all(streams.map((s) => s.close()));
  });
});
