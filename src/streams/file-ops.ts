/**
 * The file operations the file store's writer makes, behind one small
 * interface so a test can make any one of them fail (ENOSPC, EIO, a short
 * write) and check what the store does about it (test/streams/fault-ops.ts).
 * `realFileOps` is node:fs. Reading a store back on open goes to node:fs
 * directly: it changes nothing, so there is nothing to roll back.
 */
import * as fs from 'node:fs';

export interface FileOps {
  /**
   * Creates (flags 'wx+') or opens (flags 'r+') a file; the descriptor.
   * `dsync`: every write on it is durable when it returns — the write and
   * an fdatasync in one system call (O_DSYNC), so one thread-pool job, not
   * two, per writer round (bench/PROFILE.md, "Issue 16 — store (round 5)").
   */
  open(path: string, flags: DsyncFlags, dsync?: boolean): Promise<number>;
  /** Positional gathered write; the bytes written (possibly fewer than given). */
  writev(fd: number, bufs: Buffer[], pos: number): Promise<number>;
  /** `writev` on the calling thread (to the page cache: sync `interval`). */
  writevSync(fd: number, bufs: Buffer[], pos: number): number;
  /** fdatasync (`dataOnly`) or fsync. */
  sync(fd: number, dataOnly: boolean): Promise<void>;
  ftruncate(fd: number, len: number): Promise<void>;
  unlink(path: string): Promise<void>;
  close(fd: number): void;
  /** The synchronous forms that open uses (it runs before anything else). */
  openSync(path: string, flags: DsyncFlags, dsync?: boolean): number;
  writeSync(fd: number, buf: Buffer, pos: number): number;
  syncSync(fd: number, dataOnly: boolean): void;
}

/** The open flags the writer uses: create a new file, or open one to write. */
export type DsyncFlags = 'wx+' | 'r+';

/** Whether this platform has O_DSYNC (Linux and macOS do; elsewhere writes are fdatasynced after). */
export const DSYNC_SUPPORTED = typeof fs.constants.O_DSYNC === 'number';

/** `flags` as numbers, with O_DSYNC when `dsync` (and the platform has it). */
export function openFlags(flags: DsyncFlags, dsync = false): DsyncFlags | number {
  if (!dsync || !DSYNC_SUPPORTED) return flags;
  const c = fs.constants;
  const base = flags === 'wx+' ? c.O_RDWR | c.O_CREAT | c.O_EXCL : c.O_RDWR;
  return base | c.O_DSYNC;
}

export const realFileOps: FileOps = {
  open: (p, flags, dsync) =>
    new Promise((resolve, reject) =>
      fs.open(p, openFlags(flags, dsync), 0o666, (e, fd) => (e ? reject(e) : resolve(fd))),
    ),
  writev: (fd, bufs, pos) =>
    new Promise((resolve, reject) =>
      fs.writev(fd, bufs, pos, (e, n) => (e ? reject(e) : resolve(n))),
    ),
  sync: (fd, dataOnly) =>
    new Promise((resolve, reject) => {
      const cb = (e: Error | null): void => (e ? reject(e) : resolve());
      if (dataOnly) fs.fdatasync(fd, cb);
      else fs.fsync(fd, cb);
    }),
  writevSync: (fd, bufs, pos) => fs.writevSync(fd, bufs, pos),
  ftruncate: (fd, len) =>
    new Promise((resolve, reject) => fs.ftruncate(fd, len, (e) => (e ? reject(e) : resolve()))),
  unlink: (p) => fs.promises.unlink(p),
  close: (fd) => fs.closeSync(fd),
  openSync: (p, flags, dsync) => fs.openSync(p, openFlags(flags, dsync)),
  writeSync: (fd, buf, pos) => fs.writeSync(fd, buf, 0, buf.length, pos),
  syncSync: (fd, dataOnly) => (dataOnly ? fs.fdatasyncSync(fd) : fs.fsyncSync(fd)),
};

/** A write that made no progress: reported like the system's own errors. */
export class ShortWriteError extends Error {
  readonly code = 'ESHORTWRITE';
  constructor(done: number, total: number) {
    super(`short write: ${done} of ${total} bytes written, and no progress`);
    this.name = 'ShortWriteError';
  }
}

/**
 * Writes all of `bufs` at `pos`: one writev; a short write is finished with
 * further writes (the next one usually reports why it was short, e.g.
 * ENOSPC). A write that makes no progress fails with ShortWriteError.
 */
export async function writeAll(
  ops: FileOps,
  fd: number,
  bufs: Buffer[],
  pos: number,
): Promise<number> {
  let total = 0;
  for (const b of bufs) total += b.length;
  let done = await ops.writev(fd, bufs, pos);
  if (done < total) {
    const rest = Buffer.concat(bufs, total);
    while (done < total) {
      const n = await ops.writev(fd, [rest.subarray(done)], pos + done);
      if (n <= 0) throw new ShortWriteError(done, total);
      done += n;
    }
  }
  return total;
}

/** `writeAll` with `writevSync`: the same short-write handling, on the calling thread. */
export function writeAllSync(ops: FileOps, fd: number, bufs: Buffer[], pos: number): number {
  let total = 0;
  for (const b of bufs) total += b.length;
  let done = ops.writevSync(fd, bufs, pos);
  if (done < total) {
    const rest = Buffer.concat(bufs, total);
    while (done < total) {
      const n = ops.writevSync(fd, [rest.subarray(done)], pos + done);
      if (n <= 0) throw new ShortWriteError(done, total);
      done += n;
    }
  }
  return total;
}

/** The system error code of a failed operation (ENOSPC, EIO, …), or 'EUNKNOWN'. */
export function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'EUNKNOWN';
}
