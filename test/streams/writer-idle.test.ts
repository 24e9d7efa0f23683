/**
 * The writer after a round with nothing queued behind it (file-writer.ts
 * `loop`): it is idle at once, not a loop turn later, so the next turn's
 * appends start a round of their own as soon as they arrive (an early
 * round, under sync `always`), and appends made after the acks are written
 * and acknowledged as before. The wait of a turn is kept only when records
 * are queued (they share the next round).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openFileStore } from '../../src/streams/file-store.js';
import { EARLY_ROUND_BYTES, EARLY_ROUND_RECORDS } from '../../src/streams/file-writer-types.js';
import { FaultOps } from './fault-ops.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('file store: the writer after a round', () => {
  const big = 1024;
  const n = Math.max(EARLY_ROUND_RECORDS, Math.ceil(EARLY_ROUND_BYTES / big));

  test('idle in the turn after its acks: a burst then begins an early round at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-writer-idle-'));
    dirs.push(dir);
    const ops = new FaultOps();
    const s = await openFileStore(dir, { sync: { kind: 'always' }, fileOps: ops, fillBytes: 0 });
    try {
      await s.append('warm', null, Buffer.from('warm'));
      for (let i = 0; i < 3; i++) await turn();
      // One record, acknowledged; in the next turn (queued by its ack, before
      // anything the writer queues after the round), a burst of big records.
      const burst = await new Promise<Promise<unknown>[]>((resolve) => {
        s.append('one', null, Buffer.from('one')).then(() => {
          setImmediate(() => {
            const writes = ops.calls.write;
            const all = Array.from({ length: n }, (_, i) =>
              s.append('big', null, Buffer.alloc(big, 0x61 + (i % 26))),
            );
            assert.equal(ops.calls.write, writes + 1, 'the burst is written at once');
            resolve(all);
          });
        });
      });
      assert.equal(s.stats.earlyRounds, 1, 'an early round: the writer was idle');
      const acked = (await Promise.all(burst)) as { seq: number }[];
      assert.deepEqual(
        acked.map((m) => m.seq),
        Array.from({ length: n }, (_, i) => i + 3),
        'acknowledged in order',
      );
    } finally {
      await s.close();
    }
    const re = await openFileStore(dir, { sync: { kind: 'always' } });
    try {
      assert.equal(re.state().messages, 2 + n);
    } finally {
      await re.close();
    }
  });
});
