/**
 * `Stream.storeNotifyRun` (a run of plain publishes on one subject told
 * with one notice: the Kafka face's record batch): sequences set in the
 * call's turn, one `done` after all are durable and never in that turn,
 * one writer notice for the run (`appendNotify` without a notice of its
 * own, then `notifyQueued` once); a refused record is skipped and the ones
 * after it stored, as `storeNotify` would; a failed write tells the run
 * that none is stored; a stream or store that cannot take a run says so
 * with nothing done.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openFileStore } from '../../src/streams/file-store.js';
import { createMemoryStore } from '../../src/streams/memory-store.js';
import { Stream } from '../../src/streams/stream.js';
import { normalizeConfig } from '../../src/streams/stream-config.js';
import { StreamApiError } from '../../src/streams/stream-errors.js';
import { checkFor } from '../helpers/poll.js';
import { FaultOps } from './fault-ops.js';
import { countNotices, storedPayloads } from './run-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'weft-run-'));
let nextDir = 0;
const newDir = () => join(root, `s${nextDir++}`);
after(() => rmSync(root, { recursive: true, force: true }));

const cfg = (extra: Record<string, unknown> = {}) =>
  normalizeConfig({ name: 'S', subjects: ['s.>'], ...extra }, 'S');

const HEAD = Buffer.from('NATS/1.0\r\nKafka-Timestamp: 1\r\n\r\n');

/** A run, as a promise of what `done` told and whether it came in the call's turn. */
function run(
  s: Stream,
  payloads: Buffer[],
  seqs: number[],
): { taken: boolean; told: Promise<{ failed: unknown; refused: unknown; sameTurn: boolean }> } {
  let sameTurn = true;
  let taken = false;
  const told = new Promise<{ failed: unknown; refused: unknown; sameTurn: boolean }>((resolve) => {
    taken = s.storeNotifyRun(
      's.a',
      payloads.map(() => HEAD),
      payloads,
      Date.now(),
      seqs,
      (failed, refused) => resolve({ failed, refused, sameTurn }),
    );
  });
  sameTurn = false;
  return { taken, told };
}

describe('Stream.storeNotifyRun', () => {
  test('a run: consecutive sequences now, one notice, told once durable, never in this turn', async () => {
    const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
    const s = new Stream(cfg(), store, new Date());
    await s.open();
    try {
      await s.store('s.a', null, Buffer.from('before'));
      const n = countNotices(store);
      const payloads = Array.from({ length: 16 }, (_, i) => Buffer.from(`v${i}`));
      const seqs = new Array<number>(16);
      const r = run(s, payloads, seqs);
      assert.equal(r.taken, true);
      assert.deepEqual(
        seqs,
        Array.from({ length: 16 }, (_, i) => i + 2),
      );
      assert.deepEqual(n, { own: 0, queued: 1, appends: 16 }, 'one notice for the run');
      const told = await r.told;
      assert.deepEqual(told, { failed: null, refused: null, sameTurn: false });
      for (let i = 0; i < 16; i++) {
        const m = await store.get(i + 2);
        assert.equal(m?.payload.toString(), `v${i}`);
        assert.equal(m?.subject, 's.a');
        assert.deepEqual(m?.headers, HEAD);
      }
      // Told in order with the other publishes' notices (the same queue).
      const order: string[] = [];
      await new Promise<void>((resolve) => {
        s.storeNotify('s.a', null, Buffer.from('x'), () => order.push('notify 1'));
        s.storeNotifyRun('s.a', [HEAD], [Buffer.from('y')], Date.now(), [], () =>
          order.push('run'),
        );
        s.storeNotify('s.a', null, Buffer.from('z'), () => {
          order.push('notify 2');
          resolve();
        });
      });
      assert.deepEqual(order, ['notify 1', 'run', 'notify 2']);
      assert.equal(s.state().lastSeq, 20);
    } finally {
      await s.close();
    }
  });

  test('a refused record is skipped, the ones after it stored; the run tells the first refusal', async () => {
    const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
    const s = new Stream(cfg({ max_msg_size: 100 }), store, new Date());
    await s.open();
    try {
      const seqs = new Array<number>(5);
      const r = run(
        s,
        [
          Buffer.from('a'),
          Buffer.alloc(200),
          Buffer.from('c'),
          Buffer.alloc(300),
          Buffer.from('e'),
        ],
        seqs,
      );
      assert.equal(r.taken, true);
      assert.deepEqual([...seqs], [1, undefined, 2, undefined, 3]);
      const told = await r.told;
      assert.equal(told.failed, null);
      assert.ok(told.refused instanceof StreamApiError, String(told.refused));
      assert.equal((told.refused as StreamApiError).errCode, 10054);
      assert.equal(s.state().messages, 3);
      assert.equal((await store.get(3))?.payload.toString(), 'e');
      // Every record refused: told, nothing stored, no notice queued.
      const none = run(s, [Buffer.alloc(101)], []);
      assert.equal(none.taken, true);
      const t2 = await none.told;
      assert.equal(t2.sameTurn, false);
      assert.ok(t2.refused instanceof StreamApiError);
      assert.equal(s.state().messages, 3);
    } finally {
      await s.close();
    }
  });

  test('a failed write tells the run none is stored', async () => {
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
      const seqs: number[] = [];
      const r = run(s, [Buffer.from('a'), Buffer.from('b')], seqs);
      assert.equal(r.taken, true);
      const told = await r.told;
      assert.notEqual(told.failed, null);
      assert.equal(told.refused, null);
      ops.heal();
      await checkFor(() => store.writeError === null);
      const again = run(s, [Buffer.from('c')], []);
      assert.deepEqual((await again.told).failed, null);
      assert.deepEqual(
        await storedPayloads(store),
        ['ok', 'c'],
        'the failed run left nothing on disk',
      );
    } finally {
      await s.close();
    }
  });

  test('a limit that removes on publish, or a store without notifyQueued: not taken, nothing done', async () => {
    const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
    const s = new Stream(cfg({ max_msgs: 10 }), store, new Date());
    await s.open();
    const m = new Stream(cfg(), createMemoryStore(), new Date());
    await m.open();
    try {
      for (const x of [s, m]) {
        const seqs: number[] = [];
        const r = run(x, [Buffer.from('a')], seqs);
        assert.equal(r.taken, false);
        assert.deepEqual(seqs, []);
        assert.equal(x.state().messages, 0);
      }
    } finally {
      await s.close();
      await m.close();
    }
  });
});
