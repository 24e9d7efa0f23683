/**
 * A writer round that begins before the end of the turn (file-writer.ts,
 * EARLY_ROUND_RECORDS and EARLY_ROUND_BYTES): under sync `always`, once
 * that many records and bytes wait and the writer is idle, their write is
 * under way at once; what is appended after it in the same turn waits for
 * the next round (one write in flight), each append is acknowledged only by
 * the round that wrote it, in order, and a failed early round refuses its
 * records and those behind it, as any failed round.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openFileStore } from '../../src/streams/file-store.js';
import { EARLY_ROUND_BYTES, EARLY_ROUND_RECORDS } from '../../src/streams/file-writer-types.js';
import { StoreError } from '../../src/streams/store.js';
import { checkFor } from '../helpers/poll.js';
import { FaultOps } from './fault-ops.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'weft-early-round-'));
  dirs.push(d);
  return d;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A payload of `size` bytes that names its index. */
function payload(i: number, size: number): Buffer {
  const b = Buffer.alloc(size, 0x61 + (i % 26));
  b.write(String(i));
  return b;
}

/** Opens a store, settles open's own work, and returns it with its ops. */
async function open(dir: string, kind: 'always' | 'interval') {
  const ops = new FaultOps();
  const sync = kind === 'always' ? { kind } : { kind, intervalMs: 60_000 };
  // No fill: its zero writes would count as writes here.
  const s = await openFileStore(dir, {
    sync,
    fileOps: ops,
    fillBytes: 0,
    writeRetry: { minMs: 5, maxMs: 20 },
  });
  await s.append('warm', null, Buffer.from('warm'));
  for (let i = 0; i < 3; i++) await turn();
  return { s, ops };
}

describe('file store: an early round', () => {
  const big = 1024;
  // Enough records of `big` bytes to pass both bounds, and more behind them.
  const first = Math.max(EARLY_ROUND_RECORDS, Math.ceil(EARLY_ROUND_BYTES / big));
  const total = first + 36;

  test('large records: the round begins in the turn, the rest wait for the next, acks in order', async () => {
    const dir = await tempDir();
    const { s, ops } = await open(dir, 'always');
    const writes = ops.calls.write;
    const acked: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      all.push(s.append('big', null, payload(i, big)).then((m) => void acked.push(m.seq)));
      // Checked in the same turn, before the event loop could run a round.
      if (i === first - 2) assert.equal(ops.calls.write, writes, 'no write below the bounds');
      if (i === first - 1) assert.equal(ops.calls.write, writes + 1, 'the write began at once');
    }
    assert.equal(ops.calls.write, writes + 1, 'one write in flight: the rest wait');
    assert.equal(s.stats.earlyRounds, 1);
    await Promise.all(all);
    assert.deepEqual(
      acked,
      Array.from({ length: total }, (_, i) => i + 2),
      'acknowledged in order',
    );
    assert.equal(ops.calls.write, writes + 2, 'the records behind it: one more round');
    await s.close();
    const re = await openFileStore(dir, { sync: { kind: 'always' } });
    try {
      for (let i = 0; i < total; i++) {
        const m = await re.get(i + 2);
        assert.ok(m?.payload.equals(payload(i, big)), `seq ${i + 2} as appended`);
      }
    } finally {
      await re.close();
    }
  });

  test('small records and sync interval wait for the end of the turn, as before', async () => {
    for (const [kind, size, n] of [
      ['always', 16, 256],
      ['interval', big, total],
    ] as const) {
      const { s, ops } = await open(await tempDir(), kind);
      const writes = ops.calls.write;
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) all.push(s.append('s', null, payload(i, size)));
      assert.equal(ops.calls.write, writes, `${kind} ${size} B: no write in the turn`);
      await Promise.all(all);
      assert.equal(ops.calls.write, writes + 1, `${kind} ${size} B: one round`);
      assert.equal(s.stats.earlyRounds, 0);
      await s.close();
    }
  });

  test('a failed early round refuses its records and those behind it; none is on disk', async () => {
    const dir = await tempDir();
    const { s, ops } = await open(dir, 'always');
    ops.inject('write', 1, 'EIO');
    const outcomes = await Promise.allSettled(
      Array.from({ length: total }, (_, i) => s.append('big', null, payload(i, big))),
    );
    assert.equal(s.stats.earlyRounds, 1);
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      const e = (o as PromiseRejectedResult).reason;
      assert.ok(e instanceof StoreError && e.code === 'unwritable', String(e));
    }
    ops.heal();
    await checkFor(() => s.writeError === null, 5000);
    const next = await s.append('after', null, Buffer.from('after'));
    assert.ok(next.seq > total + 1, 'sequences given to failed appends are not reused');
    await s.close();
    const re = await openFileStore(dir, { sync: { kind: 'always' } });
    try {
      assert.equal(re.state().messages, 2, 'only warm and after');
      const m = await re.get(next.seq);
      assert.equal(m?.payload.toString(), 'after');
    } finally {
      await re.close();
    }
  });
});

/** node:fs, with the zero fill's writes (one buffer of zeros, 64 KiB or more) held until `release`. */
class FillGate extends FaultOps {
  held = 0;
  private waiting: (() => void)[] = [];

  override async writev(fd: number, bufs: Buffer[], pos: number): Promise<number> {
    const b = bufs[0]!;
    if (bufs.length === 1 && b.length >= 64 * 1024 && b.every((x) => x === 0)) {
      this.held++;
      await new Promise<void>((r) => this.waiting.push(r));
    }
    return super.writev(fd, bufs, pos);
  }

  release(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

describe('file store: the zero fill beside the rounds', () => {
  test('a round below the fill under way is written and acked meanwhile; one reaching it waits', async () => {
    const dir = await tempDir();
    const ops = new FillGate();
    // Fills of 64 KiB: the next is due once 32 KiB of the filled 64 KiB are used.
    const s = await openFileStore(dir, {
      sync: { kind: 'always' },
      fileOps: ops,
      fillBytes: 64 * 1024,
    });
    await checkFor(() => ops.held === 1, 5000);
    ops.release(); // the first fill: [META, 64 KiB)
    const kib = (i: number) => payload(i, 1024);
    let seq = 0;
    for (let i = 0; i < 34; i++) seq = (await s.append('f', null, kib(i))).seq;
    await checkFor(() => ops.held === 2, 5000); // the second fill, from 64 KiB, held
    const below = await s.append('f', null, kib(34));
    assert.equal(below.seq, seq + 1, 'acked while the fill is held');
    let crossed = false;
    const across = Array.from({ length: 40 }, (_, i) => s.append('f', null, kib(35 + i)));
    const all = Promise.all(across).then(() => {
      crossed = true;
    });
    for (let i = 0; i < 5; i++) await turn();
    assert.equal(crossed, false, 'a round reaching the fill waits for it');
    ops.release();
    await all;
    await s.close();
    const re = await openFileStore(dir, { sync: { kind: 'always' } });
    try {
      assert.equal(re.state().messages, 75);
      for (let i = 0; i < 75; i++) {
        const m = await re.get(i + 1);
        assert.ok(m?.payload.equals(kib(i)), `seq ${i + 1} as appended`);
      }
    } finally {
      await re.close();
    }
  });
});
