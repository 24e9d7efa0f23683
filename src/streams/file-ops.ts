/**
 * The file operations the file store's writer makes, behind one small
 * interface so a test can make any one of them fail (ENOSPC, EIO, a short
 * write) and check what the store does about it (test/streams/fault-ops.ts).
 * `realFileOps` is node:fs. Reading a store back on open goes to node:fs
 * directly: it changes nothing, so there is nothing to roll back.
 */
import * as fs from 'node:fs';

export interface FileOps {
  /** Creates (flags 'wx+') or opens a file; the descriptor. */
  open(path: string, flags: string): Promise<number>;
  /** Positional gathered write; the bytes written (possibly fewer than given). */
  writev(fd: number, bufs: Buffer[], pos: number): Promise<number>;
  /** fdatasync (`dataOnly`) or fsync. */
  sync(fd: number, dataOnly: boolean): Promise<void>;
  ftruncate(fd: number, len: number): Promise<void>;
  unlink(path: string): Promise<void>;
  close(fd: number): void;
  /** The synchronous forms that open uses (it runs before anything else). */
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buf: Buffer, pos: number): number;
  syncSync(fd: number, dataOnly: boolean): void;
}

export const realFileOps: FileOps = {
  open: (p, flags) =>
    new Promise((resolve, reject) => fs.open(p, flags, (e, fd) => (e ? reject(e) : resolve(fd)))),
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
  ftruncate: (fd, len) =>
    new Promise((resolve, reject) => fs.ftruncate(fd, len, (e) => (e ? reject(e) : resolve()))),
  unlink: (p) => fs.promises.unlink(p),
  close: (fd) => fs.closeSync(fd),
  openSync: (p, flags) => fs.openSync(p, flags),
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

/** The system error code of a failed operation (ENOSPC, EIO, …), or 'EUNKNOWN'. */
export function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'EUNKNOWN';
}
