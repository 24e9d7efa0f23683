/**
 * The file store's read-ahead: a read of a record that is not in a window
 * reads up to READ_AHEAD_BYTES from its offset into one of READ_WINDOWS
 * windows (reused round robin), so a consumer reading in order makes one
 * system call per window, not per message. Segments are append-only, so a
 * window never goes stale, except after a failed write is cut back
 * (`clear`).
 */
import * as fs from 'node:fs';
import type { Segment } from './file-index.js';

export const READ_AHEAD_BYTES = 64 * 1024;
/** Read-ahead windows kept per store (readers at different places each keep one). */
export const READ_WINDOWS = 4;

interface ReadWindow {
  seg: Segment;
  /** File offset of buf[0]. */
  off: number;
  buf: Buffer;
}

export class ReadWindows {
  private readonly windows: ReadWindow[] = [];
  private next = 0;

  clear(): void {
    this.windows.length = 0;
  }

  /** Copies the record at `off` into `out` from a window; its length, or 0. */
  copy(seg: Segment, off: number, out: Buffer): number {
    for (const w of this.windows) {
      if (w.seg !== seg || off < w.off || off + out.length > w.off + w.buf.length) continue;
      return w.buf.copy(out, 0, off - w.off, off - w.off + out.length);
    }
    return 0;
  }

  /**
   * Reads the record at `off` into `out`, and what is written after it (up
   * to READ_AHEAD_BYTES) into a window; returns the record's bytes read.
   */
  readAhead(seg: Segment, off: number, len: number, out: Buffer): number {
    const want = Math.max(len, Math.min(READ_AHEAD_BYTES, seg.written - off));
    const buf = want > len ? Buffer.allocUnsafe(want) : out;
    let got = 0;
    while (got < want) {
      const n = fs.readSync(seg.fd, buf, got, want - got, off + got);
      if (n === 0) break;
      got += n;
    }
    if (buf === out) return got;
    if (got > len) {
      this.windows[this.next] = { seg, off, buf: buf.subarray(0, got) };
      this.next = (this.next + 1) % READ_WINDOWS;
    }
    return buf.copy(out, 0, 0, Math.min(len, got));
  }
}
