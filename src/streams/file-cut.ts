/**
 * After a failed write (file-writer.ts): the segments it touched are cut
 * back to where the failed rounds began, so no record that failed is on
 * disk. The cuts are remembered until done: a cut that fails is tried
 * again by the next retry, before anything more is written to its segment.
 */
import type { Segment } from './file-index.js';
import { errnoOf, type FileOps } from './file-ops.js';
import { errText, type WriterStats } from './file-writer-types.js';
import { StoreError } from './store.js';

/** Segments to cut back to a length before anything more is written to them. */
export class CutBack {
  private readonly to = new Map<Segment, number>();

  /** `seg` must be cut back to `len` (or shorter, if asked for already). */
  note(seg: Segment, len: number): void {
    this.to.set(seg, Math.min(len, this.to.get(seg) ?? len));
  }

  /** The writer's view of each segment to cut: written no further than the cut. */
  apply(): void {
    for (const [seg, len] of this.to) if (len < seg.written) seg.written = len;
  }

  /**
   * Cuts each segment back (and fsyncs it), each one even if another
   * fails: then it throws the first error, and what failed stays noted.
   */
  async cut(ops: FileOps, stats: WriterStats): Promise<void> {
    let failed: unknown = null;
    for (const [seg, len] of this.to) {
      try {
        if (seg.fd >= 0) {
          await ops.ftruncate(seg.fd, len);
          if (seg.filled > len) seg.filled = len;
          await ops.sync(seg.fd, true);
          stats.fsyncs++;
        }
        this.to.delete(seg);
      } catch (err) {
        failed ??= err;
      }
    }
    if (failed !== null) throw failed;
  }
}

/** A failure of the store in `dir` as the StoreError its appends are rejected with. */
export function storeError(dir: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError('unwritable', `${dir}: ${errText(err)}`, errnoOf(err));
}
