/**
 * A fault-injecting FileOps for the file store's writer: counts its write
 * calls (writev, writeSync), sync calls (fdatasync/fsync), truncates and
 * deletes,
 * and makes a chosen one fail — with ENOSPC or EIO as the system reports
 * them, or as a short write (half the bytes written, then ENOSPC on the
 * next write, as a filling disk does).
 *
 * A write on a descriptor opened with `dsync` (O_DSYNC: the writer's
 * segments under sync `always`) is a write and then an fsync: it counts as
 * both, and a sync fault makes it fail after its bytes were written, as
 * the kernel reports a failed O_DSYNC write.
 *
 * fsync is counted but not performed unless `realSync` is set: the tests
 * that use this reopen the store in the same process (or copy its files),
 * where the page cache is the disk; power loss is crash.test.ts's business.
 */
import { type DsyncFlags, type FileOps, realFileOps } from '../../src/streams/file-ops.js';

export type FaultKind = 'write' | 'sync' | 'truncate' | 'unlink';
export type Fault = 'ENOSPC' | 'EIO' | 'short';

const TEXT: Record<string, [number, string]> = {
  ENOSPC: [-28, 'no space left on device'],
  EIO: [-5, 'i/o error'],
};

/** An error shaped like node:fs's own (code, errno, syscall). */
export function sysError(code: 'ENOSPC' | 'EIO', syscall: string): NodeJS.ErrnoException {
  const [errno, text] = TEXT[code]!;
  return Object.assign(new Error(`${code}: ${text}, ${syscall}`), { code, errno, syscall });
}

interface Plan {
  kind: FaultKind;
  /** 1-based index of the first call of `kind` that fails. */
  at: number;
  fault: Fault;
  /** Calls that fail from `at` on (Infinity: until `heal`). */
  times: number;
}

export class FaultOps implements FileOps {
  readonly calls: Record<FaultKind, number> = { write: 0, sync: 0, truncate: 0, unlink: 0 };
  /** Faults raised so far. */
  fired = 0;
  realSync = false;
  private plans: Plan[] = [];
  /** A short write happened: the next write fails with ENOSPC. */
  private shortPending = false;
  /** Descriptors opened with `dsync`. */
  private readonly dsyncFds = new Set<number>();

  /** Fails call `at` (1-based, counted from now on) of `kind`, and `times - 1` after it. */
  inject(kind: FaultKind, at: number, fault: Fault, times = 1): void {
    this.plans.push({ kind, at: this.calls[kind] + at, fault, times });
  }

  /** No more faults (the disk has room again). */
  heal(): void {
    this.plans = [];
    this.shortPending = false;
  }

  /** The fault for this call of `kind`, or null. */
  private due(kind: FaultKind): Fault | null {
    const n = ++this.calls[kind];
    const p = this.plans.find((q) => q.kind === kind && n >= q.at && n < q.at + q.times);
    if (p === undefined) return null;
    this.fired++;
    return p.fault;
  }

  async open(path: string, flags: DsyncFlags, dsync = false): Promise<number> {
    const fd = await realFileOps.open(path, flags, dsync && this.realSync);
    if (dsync) this.dsyncFds.add(fd);
    return fd;
  }

  async writev(fd: number, bufs: Buffer[], pos: number): Promise<number> {
    const n = await this.writevOnly(fd, bufs, pos);
    if (this.dsyncFds.has(fd)) {
      const f = this.due('sync');
      if (f !== null) throw sysError(f === 'short' ? 'EIO' : f, 'write');
    }
    return n;
  }

  private async writevOnly(fd: number, bufs: Buffer[], pos: number): Promise<number> {
    if (this.shortPending) {
      this.shortPending = false;
      this.calls.write++;
      throw sysError('ENOSPC', 'write');
    }
    const f = this.due('write');
    if (f === null) return realFileOps.writev(fd, bufs, pos);
    if (f !== 'short') throw sysError(f, 'write');
    const all = Buffer.concat(bufs);
    const half = Math.max(1, all.length >> 1);
    this.shortPending = true;
    return realFileOps.writev(fd, [all.subarray(0, half)], pos);
  }

  writevSync(fd: number, bufs: Buffer[], pos: number): number {
    if (this.shortPending) {
      this.shortPending = false;
      this.calls.write++;
      throw sysError('ENOSPC', 'write');
    }
    const f = this.due('write');
    let n: number;
    if (f === null) n = realFileOps.writevSync(fd, bufs, pos);
    else if (f !== 'short') throw sysError(f, 'write');
    else {
      const all = Buffer.concat(bufs);
      this.shortPending = true;
      n = realFileOps.writevSync(fd, [all.subarray(0, Math.max(1, all.length >> 1))], pos);
    }
    if (this.dsyncFds.has(fd)) {
      const g = this.due('sync');
      if (g !== null) throw sysError(g === 'short' ? 'EIO' : g, 'write');
    }
    return n;
  }

  writeSync(fd: number, buf: Buffer, pos: number): number {
    const f = this.due('write');
    if (f === null) return realFileOps.writeSync(fd, buf, pos);
    if (f !== 'short') throw sysError(f, 'write');
    return realFileOps.writeSync(fd, buf.subarray(0, Math.max(1, buf.length >> 1)), pos);
  }

  async sync(fd: number, dataOnly: boolean): Promise<void> {
    const f = this.due('sync');
    if (f !== null) throw sysError(f === 'short' ? 'EIO' : f, dataOnly ? 'fdatasync' : 'fsync');
    if (this.realSync) await realFileOps.sync(fd, dataOnly);
  }

  syncSync(fd: number, dataOnly: boolean): void {
    const f = this.due('sync');
    if (f !== null) throw sysError(f === 'short' ? 'EIO' : f, dataOnly ? 'fdatasync' : 'fsync');
    if (this.realSync) realFileOps.syncSync(fd, dataOnly);
  }

  async ftruncate(fd: number, len: number): Promise<void> {
    const f = this.due('truncate');
    if (f !== null) throw sysError(f === 'short' ? 'EIO' : f, 'ftruncate');
    await realFileOps.ftruncate(fd, len);
  }

  async unlink(path: string): Promise<void> {
    const f = this.due('unlink');
    if (f !== null) throw sysError(f === 'short' ? 'EIO' : f, 'unlink');
    await realFileOps.unlink(path);
  }

  close(fd: number): void {
    this.dsyncFds.delete(fd);
    realFileOps.close(fd);
  }

  openSync(path: string, flags: DsyncFlags, dsync = false): number {
    const fd = realFileOps.openSync(path, flags, dsync && this.realSync);
    if (dsync) this.dsyncFds.add(fd);
    return fd;
  }
}
