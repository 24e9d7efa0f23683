/**
 * The data directory's lock: who holds it is named; a holder that is gone
 * (dead pid, a pid now used by another process, a host rebooted since) is
 * taken over with a warning; a live holder or one on another host is
 * respected; a node releases only its own lock.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { StartError } from '../../src/errors.js';
import { DataDirLock, LOCK_FILE, type LockHolder } from '../../src/server/data-lock.js';
import { createLogger } from '../../src/util/logger.js';
import { checkFor } from '../helpers/poll.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'weft-lock-'));
  dirs.push(d);
  return d;
}

function recorder(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('debug', (l) => lines.push(l)), lines };
}

/** Writes a lock as another holder would have. */
function plant(dir: string, h: Partial<LockHolder>): void {
  const holder = { pid: 1, host: hostname(), since: '2026-01-01T00:00:00.000Z', node: 'old', ...h };
  symlinkSync(JSON.stringify(holder), path.join(dir, LOCK_FILE));
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof StartError, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

describe('data directory lock', () => {
  test('names its holder, refuses a second taker in the process, and is released', async () => {
    const dir = await tempDir();
    const { log } = recorder();
    const lock = DataDirLock.acquire(dir, 'n1', log);
    const holder = JSON.parse(readlinkSync(path.join(dir, LOCK_FILE))) as LockHolder;
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.host, hostname());
    assert.equal(holder.node, 'n1');
    assert.ok(!Number.isNaN(Date.parse(holder.since)));
    refused(
      () => DataDirLock.acquire(dir, 'n2', log),
      new RegExp(`in use by node "n1", pid ${process.pid} on host .*\\(in this process\\)`),
    );
    lock.release();
    lock.release();
    assert.equal(existsSync(path.join(dir, LOCK_FILE)), false);
    DataDirLock.acquire(dir, 'n2', log).release();
  });

  test('the lock of a dead pid on this host is taken over, with a warning', async () => {
    const dir = await tempDir();
    const pid = await deadPid();
    plant(dir, { pid });
    const { log, lines } = recorder();
    const lock = DataDirLock.acquire(dir, 'new', log);
    assert.equal((JSON.parse(readlinkSync(path.join(dir, LOCK_FILE))) as LockHolder).node, 'new');
    assert.match(
      lines.join(''),
      new RegExp(`\\[WRN\\] .*stale lock of node "old", pid ${pid} .*that process is gone`),
    );
    lock.release();
  });

  test('a live holder is respected and named', async (t) => {
    const dir = await tempDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
      stdio: 'ignore',
    });
    t.after(() => child.kill('SIGKILL'));
    await new Promise((r) => child.once('spawn', r));
    // As a node in that process would have written it (its real start tick).
    const { readFileSync } = await import('node:fs');
    let tick: string | undefined;
    try {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      tick = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    } catch {
      tick = undefined;
    }
    plant(dir, { pid: child.pid!, node: 'alive', ...(tick !== undefined ? { tick } : {}) });
    refused(
      () => DataDirLock.acquire(dir, 'x', recorder().log),
      new RegExp(
        `in use by node "alive", pid ${child.pid} on host ${hostname()}, since 2026-01-01`,
      ),
    );
  });

  test('a live pid that is another process than the holder (pid reused) is stale', async (t) => {
    if (!existsSync('/proc/self/stat')) {
      t.skip('process start ticks come from /proc (Linux)');
      return;
    }
    const dir = await tempDir();
    // pid 1 is alive, but not the process that took this lock (no process starts at tick -1).
    plant(dir, { pid: 1, tick: '-1' });
    const { log, lines } = recorder();
    DataDirLock.acquire(dir, 'new', log).release();
    assert.match(lines.join(''), /pid 1 is now another process/);
  });

  test('a lock from before a reboot is stale', async (t) => {
    if (!existsSync('/proc/sys/kernel/random/boot_id')) {
      t.skip('boot ids come from /proc (Linux)');
      return;
    }
    const dir = await tempDir();
    plant(dir, { pid: 1, boot: '00000000-0000-0000-0000-000000000000' });
    const { log, lines } = recorder();
    DataDirLock.acquire(dir, 'new', log).release();
    assert.match(lines.join(''), /the host has rebooted since/);
  });

  test('a lock from another host is respected, even with a pid that is dead here', async () => {
    const dir = await tempDir();
    plant(dir, { pid: await deadPid(), host: 'elsewhere.example', node: 'far' });
    refused(
      () => DataDirLock.acquire(dir, 'x', recorder().log),
      /in use by node "far", pid \d+ on host elsewhere\.example/,
    );
  });

  test('a LOCK that is not a lock, or names no holder, is refused with what to do', async () => {
    const dir = await tempDir();
    writeFileSync(path.join(dir, LOCK_FILE), 'something else');
    refused(() => DataDirLock.acquire(dir, 'x', recorder().log), /not a symbolic link.*remove it/);
    const dir2 = await tempDir();
    symlinkSync('garbage', path.join(dir2, LOCK_FILE));
    refused(() => DataDirLock.acquire(dir2, 'x', recorder().log), /names no holder.*remove it/);
  });

  test('release leaves a lock another node has taken since alone', async () => {
    const dir = await tempDir();
    const lock = DataDirLock.acquire(dir, 'mine', recorder().log);
    // Someone removed ours and another node took the directory.
    await rm(path.join(dir, LOCK_FILE));
    plant(dir, { pid: 1, node: 'theirs' });
    lock.release();
    assert.match(readlinkSync(path.join(dir, LOCK_FILE)), /"theirs"/);
  });

  test('of two processes taking over one stale lock at once, exactly one holds it', async () => {
    const dir = await tempDir();
    plant(dir, { pid: await deadPid() });
    const lockUrl = new URL('../../src/server/data-lock.js', import.meta.url).href;
    const loggerUrl = new URL('../../src/util/logger.js', import.meta.url).href;
    // Each takes the lock and holds it (stays alive) until killed, or says why not.
    const script = `
      import { DataDirLock } from ${JSON.stringify(lockUrl)};
      import { createLogger } from ${JSON.stringify(loggerUrl)};
      try {
        DataDirLock.acquire(${JSON.stringify(dir)}, 'racer', createLogger('silent'));
        process.stdout.write('held\\n');
        setInterval(() => {}, 60000);
      } catch (err) {
        process.stdout.write('refused: ' + err.message + '\\n');
      }
    `;
    const racers = [0, 1].map(() => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
      });
      return { child, out: () => out };
    });
    try {
      await checkFor(() => racers.every((r) => r.out().endsWith('\n')), 10_000);
      const held = racers.filter((r) => r.out() === 'held\n');
      assert.equal(held.length, 1, racers.map((r) => r.out()).join(''));
      const holder = JSON.parse(readlinkSync(path.join(dir, LOCK_FILE))) as LockHolder;
      assert.equal(holder.pid, held[0]!.child.pid);
      const other = racers.find((r) => r !== held[0])!;
      assert.match(other.out(), new RegExp(`refused: .*pid ${holder.pid} on host`));
    } finally {
      for (const r of racers) r.child.kill('SIGKILL');
    }
  });
});
