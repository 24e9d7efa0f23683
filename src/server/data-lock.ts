/**
 * One node per data directory. A node takes `<data_dir>/LOCK` at start and
 * holds it for its life; a second node on the same directory (another
 * process, or another node in this process) is refused, told who holds it.
 *
 * The lock is a symbolic link whose target is the holder's description
 * (JSON: pid, host, since, node, and on Linux the boot id and the process's
 * start tick). symlink(2) creates it atomically *with* its content, so there
 * is never a lock without a holder's name (an O_EXCL file is empty between
 * open and write), and it needs no data block on a full disk. `ls -l` shows
 * it. Taking it is also the start-up check that the directory is writable.
 *
 * A lock whose holder is gone is stale and taken over, with a warning: the
 * holder's pid is dead, or it is alive but a different process (its start
 * tick differs: the pid was reused), or the host has rebooted since (the
 * boot id differs). A lock from another host is respected, never guessed
 * about: that host may well be running the node on a shared disk.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { StartError } from '../errors.js';
import type { Logger } from '../util/logger.js';

export const LOCK_FILE = 'LOCK';
/** Attempts to take a lock while other nodes race for the same stale one. */
const LOCK_ATTEMPTS = 5;

/** Who holds a data directory, as written in its LOCK. */
export interface LockHolder {
  pid: number;
  host: string;
  /** When the lock was taken (ISO 8601). */
  since: string;
  /** The holding node's name. */
  node: string;
  /** Linux: /proc/sys/kernel/random/boot_id of the holder's boot. */
  boot?: string;
  /** Linux: the holder's start time in clock ticks since boot (/proc/<pid>/stat). */
  tick?: string;
}

/** The data directories locked by nodes of this process, by real path. */
const heldHere = new Map<string, DataDirLock>();
let exitHookInstalled = false;

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in ticks since boot. */
function startTick(pid: number | 'self'): string | undefined {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

const bootId = (): string | undefined => readOrUndefined('/proc/sys/kernel/random/boot_id');

/** Whether a process with this pid exists on this host. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(h: LockHolder): string {
  const node = h.node !== '' ? `node "${h.node}", ` : '';
  return `${node}pid ${h.pid} on host ${h.host}, since ${h.since}`;
}

/** `EROFS (read-only file system)`: the errno and its meaning, not the call's arguments. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === undefined) return String(err);
  const meaning = /^[A-Z0-9_]+: ([^,]+)/.exec(e.message)?.[1] ?? e.message;
  return `${e.code} (${meaning})`;
}

/**
 * Why the holder no longer holds the lock, or null when it does. Errs on
 * the side of "held": a wrong "stale" would put two nodes on one directory.
 */
function staleBecause(h: LockHolder, dir: string): string | null {
  if (h.host !== hostname()) return null;
  const boot = bootId();
  if (h.boot !== undefined && boot !== undefined && h.boot !== boot) {
    return 'the host has rebooted since';
  }
  if (h.pid === process.pid) {
    return heldHere.has(dir) ? null : 'no node of this process holds it';
  }
  if (!alive(h.pid)) return 'that process is gone';
  const tick = startTick(h.pid);
  if (h.tick !== undefined && tick !== undefined && h.tick !== tick) {
    return `pid ${h.pid} is now another process`;
  }
  return null;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string') return null;
    return { node: '', since: '?', ...h } as LockHolder;
  } catch {
    return null;
  }
}

/** An exclusive, process-lifetime lock on a node's data directory. */
export class DataDirLock {
  private released = false;

  private constructor(
    /** The data directory's real path. */
    readonly dir: string,
    readonly file: string,
    /** The lock's content, to release only our own. */
    private readonly target: string,
  ) {}

  /**
   * Takes the lock on `dataDir` (which must exist) for node `node`, or
   * throws a StartError naming the holder, or the directory and errno when
   * it cannot be written.
   */
  static acquire(dataDir: string, node: string, log: Logger): DataDirLock {
    let dir: string;
    try {
      dir = realpathSync(dataDir);
    } catch (err) {
      throw new StartError('data_dir', `cannot resolve ${dataDir}: ${errnoText(err)}`);
    }
    const file = path.join(dir, LOCK_FILE);
    const me: LockHolder = {
      pid: process.pid,
      host: hostname(),
      since: new Date().toISOString(),
      node,
    };
    const boot = bootId();
    const tick = startTick('self');
    if (boot !== undefined) me.boot = boot;
    if (tick !== undefined) me.tick = tick;
    const target = JSON.stringify(me);
    if (heldHere.has(dir)) {
      const other = heldHere.get(dir)!;
      throw new StartError(
        'data_dir',
        `${dir} is in use by ${describe(parseHolder(other.target)!)} (in this process); lock ${file}`,
      );
    }
    for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
      try {
        symlinkSync(target, file);
        const lock = new DataDirLock(dir, file, target);
        heldHere.set(dir, lock);
        installExitHook();
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StartError('data_dir', `${dir} is not writable: ${errnoText(err)}`);
        }
      }
      let found: string;
      try {
        found = readlinkSync(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue; // released meanwhile: try again
        if (code === 'EINVAL') {
          throw new StartError(
            'data_dir',
            `${file} is not a lock this version of weft wrote (not a symbolic link); ` +
              'if no node runs on this directory, remove it',
          );
        }
        throw new StartError('data_dir', `cannot read ${file}: ${errnoText(err)}`);
      }
      const holder = parseHolder(found);
      if (holder === null) {
        throw new StartError(
          'data_dir',
          `${file} names no holder (${JSON.stringify(found.slice(0, 80))}); ` +
            'if no node runs on this directory, remove it',
        );
      }
      const why = staleBecause(holder, dir);
      if (why === null) {
        throw new StartError('data_dir', `${dir} is in use by ${describe(holder)}; lock ${file}`);
      }
      if (takeOver(file, found)) {
        log.warn(`data_dir ${dir}: took over the stale lock of ${describe(holder)}: ${why}`);
      }
    }
    throw new StartError('data_dir', `${dir}: lost the race for ${file} ${LOCK_ATTEMPTS} times`);
  }

  /** Releases the lock (idempotent); what another node wrote is left alone. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (heldHere.get(this.dir) === this) heldHere.delete(this.dir);
    try {
      if (readlinkSync(this.file) === this.target) unlinkSync(this.file);
    } catch {
      // Gone already, or the directory with it: nothing is held.
    }
  }
}

/**
 * Removes the stale lock whose content is `stale`, unless someone replaced
 * it meanwhile. Moving it aside first (rename is atomic) and checking what
 * was moved means a racing node's fresh lock is never deleted: if that is
 * what was moved, it is put back. Returns whether the stale lock was removed.
 */
function takeOver(file: string, stale: string): boolean {
  const aside = `${file}.stale.${process.pid}.${Date.now()}`;
  try {
    renameSync(file, aside);
  } catch {
    return false; // someone else moved or released it: look again
  }
  let moved: string | undefined;
  try {
    moved = readlinkSync(aside);
  } catch {
    moved = undefined;
  }
  if (moved !== stale && moved !== undefined) {
    // A racing node's fresh lock: back it goes (symlink fails if a third took the place).
    try {
      symlinkSync(moved, file);
    } catch {
      // The place is taken again: the next attempt reads who holds it.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // Nothing to clean.
  }
  return moved === stale;
}

/** A node that dies without shutting down (process.exit) still frees its directories. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lock of [...heldHere.values()]) lock.release();
  });
}

/**
 * Creates `dir` if needed and proves a file can be created and removed in
 * it, or throws a StartError naming the directory and the errno: an
 * unwritable directory is found at start, not at the first write.
 */
export function probeWritable(dir: string, what: string): void {
  const probe = path.join(dir, `.probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    throw new StartError(what, `${dir} is not writable: ${errnoText(err)}`);
  }
}
