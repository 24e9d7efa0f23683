/**
 * Group commit under the `always` policy, checked with an fsync held
 * open: every append that arrives while an fsync runs — in one turn or
 * over many — is covered by the one next fsync, and none of them
 * resolves (is acknowledged) before that fsync is done.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type DsyncFlags, type FileOps, realFileOps } from '../../src/streams/file-ops.js';
import { openFileStore } from '../../src/streams/file-store.js';
import { checkFor } from '../helpers/poll.js';

/**
 * node:fs, with fsyncs that wait for `release` while `hold` is set. A write
 * on a descriptor opened with `dsync` (O_DSYNC, the segments under sync
 * `always`) is its own fsync: it is held the same way, after its bytes
 * went to the file and before it returns.
 */
class GatedOps implements FileOps {
  hold = false;
  /** fsyncs started, and finished. */
  started = 0;
  finished = 0;
  private waiting: (() => void)[] = [];
  private readonly dsyncFds = new Set<number>();
  writevSync = realFileOps.writevSync;
  ftruncate = realFileOps.ftruncate;
  unlink = realFileOps.unlink;
  writeSync = realFileOps.writeSync;
  syncSync = realFileOps.syncSync;

  async open(path: string, flags: DsyncFlags, dsync = false): Promise<number> {
    const fd = await realFileOps.open(path, flags, dsync);
    if (dsync) this.dsyncFds.add(fd);
    return fd;
  }

  openSync(path: string, flags: DsyncFlags, dsync = false): number {
    const fd = realFileOps.openSync(path, flags, dsync);
    if (dsync) this.dsyncFds.add(fd);
    return fd;
  }

  close(fd: number): void {
    this.dsyncFds.delete(fd);
    realFileOps.close(fd);
  }

  async writev(fd: number, bufs: Buffer[], pos: number): Promise<number> {
    if (!this.dsyncFds.has(fd)) return realFileOps.writev(fd, bufs, pos);
    this.started++;
    const n = await realFileOps.writev(fd, bufs, pos);
    await this.gate();
    this.finished++;
    return n;
  }

  async sync(fd: number, dataOnly: boolean): Promise<void> {
    this.started++;
    await this.gate();
    await realFileOps.sync(fd, dataOnly);
    this.finished++;
  }

  private async gate(): Promise<void> {
    if (this.hold) await new Promise<void>((r) => this.waiting.push(r));
  }

  get blocked(): number {
    return this.waiting.length;
  }

  release(): void {
    this.hold = false;
    for (const r of this.waiting.splice(0)) r();
  }
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'weft-group-commit-'));
  dirs.push(d);
  return d;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('file store: group commit', () => {
  test('appends arriving during an fsync share the next one, and wait for it', async () => {
    const ops = new GatedOps();
    const s = await openFileStore(await tempDir(), { sync: { kind: 'always' }, fileOps: ops });
    // Let open's compaction round settle first.
    await s.append('gc', null, Buffer.from('warm'));
    ops.hold = true;
    const resolved: number[] = [];
    const first = s.append('gc', null, Buffer.from('first')).then((m) => resolved.push(m.seq));
    await checkFor(() => ops.blocked === 1, 5000);
    const syncsBefore = ops.started;
    const batchesBefore = s.stats.batches;
    // 60 appends over 20 turns of the event loop, all while that fsync runs.
    const later: Promise<number>[] = [];
    for (let t = 0; t < 20; t++) {
      for (let i = 0; i < 3; i++) {
        later.push(
          s.append('gc', null, Buffer.from(`${t}.${i}`)).then((m) => resolved.push(m.seq)),
        );
      }
      await turn();
    }
    assert.equal(ops.started, syncsBefore, 'no fsync started while one runs');
    assert.deepEqual(resolved, [], 'nothing acknowledged before its fsync');
    ops.release();
    await first;
    await Promise.all(later);
    // One batch (one writev, one fsync) for all 60 (the held one was counted when it began).
    assert.equal(s.stats.batches - batchesBefore, 1, 'one batch for the 60 appends');
    assert.equal(ops.started - syncsBefore, 1, 'one fsync covers the 60 appends');
    assert.deepEqual(
      resolved,
      Array.from({ length: 61 }, (_, i) => i + 2),
      'acknowledged in order',
    );
    await s.close();
  });

  test('an append during an fsync is not acknowledged by it', async () => {
    const ops = new GatedOps();
    const s = await openFileStore(await tempDir(), { sync: { kind: 'always' }, fileOps: ops });
    await s.append('gc', null, Buffer.from('warm'));
    ops.hold = true;
    let firstDone = false;
    let secondDone = false;
    const first = s.append('gc', null, Buffer.from('a')).then(() => {
      firstDone = true;
    });
    await checkFor(() => ops.blocked === 1, 5000);
    const second = s.append('gc', null, Buffer.from('b')).then(() => {
      secondDone = true;
    });
    // Hold the next fsync too: the first resolves, the second must not.
    const release = ops.release.bind(ops);
    release();
    ops.hold = true;
    await first;
    assert.ok(firstDone);
    await checkFor(() => ops.blocked === 1, 5000);
    assert.equal(secondDone, false, 'the second append waits for its own fsync');
    ops.release();
    await second;
    assert.ok(secondDone);
    await s.close();
  });
});
