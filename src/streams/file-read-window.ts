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

  /** Where the record is in the buffer `holding` returned last. */
  at = 0;

  /**
   * The window's buffer that holds the `len` bytes at `off` (the record
   * at `this.at` in it), or null. A window's buffer is never written again
   * once read (a new read gets a new one), so views of it stay valid.
   */
  holding(seg: Segment, off: number, len: number): Buffer | null {
    for (const w of this.windows) {
      if (w.seg !== seg || off < w.off || off + len > w.off + w.buf.length) continue;
      this.at = off - w.off;
      return w.buf;
    }
    return null;
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
