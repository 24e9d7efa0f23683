/**
 * The synced mark's rewrites (file-synced-mark.ts): at most one pwrite per
 * MARK_WRITE_MS (plus one each time an fsync of it is due) however many
 * rounds move it, the latest position written by a timer soon after, and
 * written exactly on close. And what a lagging mark means at open: the
 * whole records past it are read back, never cut.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type FileStore, openFileStore } from '../../src/streams/file-store.js';
import {
  MARK_FSYNC_MS,
  MARK_WRITE_MS,
  MarkFile,
  readMark,
} from '../../src/streams/file-synced-mark.js';
import { checkFor } from '../helpers/poll.js';

const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'weft-synced-mark-'));
  dirs.push(d);
  return d;
}

after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The most writes the mark may make in `ms`: one per MARK_WRITE_MS, one per fsync, the first. */
function writeBound(ms: number): number {
  return Math.floor(ms / MARK_WRITE_MS) + Math.floor(ms / MARK_FSYNC_MS) + 2;
}

function markOf(s: FileStore): MarkFile {
  return (s as unknown as { mark: MarkFile }).mark;
}

describe('synced mark', () => {
  test('moves in quick succession cost one write; the latest is written soon after', async () => {
    const dir = await tempDir();
    const m = new MarkFile(dir);
    try {
      const t0 = Date.now();
      for (let i = 1; i <= 500; i++) m.write({ segName: 1, offset: i * 64, lastSeq: i });
      const ms = Date.now() - t0;
      assert.ok(m.writes <= writeBound(ms), `${m.writes} writes in ${ms} ms`);
      await checkFor(() => readMark(dir).mark?.lastSeq === 500);
      assert.deepEqual(readMark(dir).mark, { segName: 1, offset: 500 * 64, lastSeq: 500 });
      assert.equal(m.errors, 0);
    } finally {
      m.close();
    }
  });

  test("several stores' held marks are all written by the shared timer", async () => {
    const ds = await Promise.all([tempDir(), tempDir(), tempDir()]);
    const ms = ds.map((d) => new MarkFile(d));
    try {
      for (let i = 1; i <= 100; i++) {
        for (const [k, m] of ms.entries())
          m.write({ segName: k + 1, offset: i, lastSeq: i * 10 + k });
      }
      for (const [k, d] of ds.entries()) {
        await checkFor(() => readMark(d).mark?.lastSeq === 1000 + k);
        assert.deepEqual(readMark(d).mark, { segName: k + 1, offset: 100, lastSeq: 1000 + k });
      }
    } finally {
      for (const m of ms) m.close();
    }
  });

  test('close writes the held mark', async () => {
    const dir = await tempDir();
    const m = new MarkFile(dir);
    for (let i = 1; i <= 20; i++) m.write({ segName: 3, offset: i * 100, lastSeq: i + 7 });
    m.close();
    assert.deepEqual(readMark(dir).mark, { segName: 3, offset: 2000, lastSeq: 27 });
    m.write({ segName: 3, offset: 1, lastSeq: 1 }); // after close: ignored
    assert.deepEqual(readMark(dir).mark, { segName: 3, offset: 2000, lastSeq: 27 });
  });

  test('a store under sync always writes the mark at most once per MARK_WRITE_MS, not per round', async () => {
    const dir = await tempDir();
    const s = await openFileStore(dir, { sync: { kind: 'always' } });
    const w0 = markOf(s).writes;
    const t0 = Date.now();
    // Each append awaited alone: a writer round (and a mark move) each.
    for (let i = 1; i <= 300; i++) await s.append('a', null, Buffer.from(`m${i}`), i);
    const ms = Date.now() - t0;
    const writes = markOf(s).writes - w0;
    assert.ok(writes <= writeBound(ms), `${writes} mark writes for 300 rounds in ${ms} ms`);
    // The trailing write brings the file to the last round's position.
    await checkFor(() => readMark(dir).mark?.lastSeq === 300);
    await s.close();
    assert.equal(readMark(dir).mark?.lastSeq, 300);
  });

  test('records past a lagging mark (a process crash) are read back, none cut', async () => {
    const dir = await tempDir();
    const s = await openFileStore(dir, { sync: { kind: 'always' } });
    for (let i = 1; i <= 100; i++) await s.append('a', null, Buffer.from(`m${i}`), i);
    await s.close();
    // The mark as it could be after a kill -9: behind the last 60 records.
    const { mark } = readMark(dir);
    assert.ok(mark !== null);
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).length, 1);
    const back = new MarkFile(dir);
    back.write({ ...mark, offset: Math.floor(mark.offset / 3), lastSeq: 30 }, true);
    back.close();
    const r = await openFileStore(dir, { sync: { kind: 'always' } });
    try {
      assert.equal(r.recovered.truncatedBytes, 0);
      assert.equal(r.recovered.damage.ranges, 0);
      assert.equal(r.state().lastSeq, 100);
      assert.equal(r.state().messages, 100);
      for (let i = 1; i <= 100; i++) {
        assert.equal((await r.get(i))?.payload.toString(), `m${i}`);
      }
    } finally {
      await r.close();
    }
  });
});
