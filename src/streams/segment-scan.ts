/**
 * Reading a segment file back on open: every record in order, each one's
 * CRC checked. Bad bytes do not stop the scan: from a bad record it looks
 * for the next valid one, reports the range in between and goes on from
 * there, so every valid record after damage is still found. What to do
 * with a bad range is the caller's decision (a torn tail of the newest
 * segment is cut off; anything else is damage, quarantined): this file only
 * finds them, and a range that reaches the end of the file is a tail
 * (nothing valid after it).
 */
import * as fs from 'node:fs';
import { checkRecord, HEADER, MAX_RECORD, plausibleHeader } from './file-record.js';

const CHUNK = 1 << 20;

/** Called with each valid record: `buf[rel, rel + len)` is the record at file offset `pos`. */
export type OnRecord = (buf: Buffer, rel: number, pos: number) => void;

/** Called with each bad range `[start, end)` in file order; `end` is the file's size for a tail. */
export type OnBad = (start: number, end: number, why: string) => void;

export interface ScanResult {
  /** End of the last valid record (0 when there is none). */
  good: number;
  /** Bad ranges found. */
  bad: number;
}

function readFully(fd: number, buf: Buffer, n: number, pos: number): number {
  let got = 0;
  while (got < n) {
    const r = fs.readSync(fd, buf, got, n - got, pos + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}

/** Reads the records of the open file `fd` of `size` bytes, in chunks. */
export function scanSegment(
  fd: number,
  size: number,
  onRecord: OnRecord,
  onBad: OnBad,
): ScanResult {
  let buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, HEADER)));
  let bufStart = 0;
  let bufLen = 0;
  /** Makes `buf` hold the file's bytes [pos, pos + n). */
  const ensure = (pos: number, n: number): void => {
    if (pos >= bufStart && pos + n <= bufStart + bufLen) return;
    if (n > buf.length) buf = Buffer.allocUnsafe(n);
    bufStart = pos;
    bufLen = readFully(fd, buf, Math.min(buf.length, size - pos), pos);
  };

  let pos = 0;
  let good = 0;
  let bad = 0;
  while (pos < size) {
    const avail = size - pos;
    ensure(pos, Math.min(avail, HEADER));
    if (avail >= HEADER) {
      const len = buf.readUInt32LE(pos - bufStart);
      if (len >= HEADER && len <= avail && len <= MAX_RECORD) ensure(pos, len);
    }
    const rel = pos - bufStart;
    const why = checkRecord(buf, rel, Math.min(avail, bufLen - rel));
    if (why !== null) {
      const next = findValid(fd, pos + 1, size);
      const end = next < 0 ? size : next;
      bad++;
      onBad(pos, end, why);
      pos = end;
      continue;
    }
    const len = buf.readUInt32LE(rel);
    onRecord(buf, rel, pos);
    pos += len;
    good = pos;
  }
  return { good, bad };
}

/**
 * The offset of the first valid record at or after `from`, or -1. Only
 * runs after damage is found: reads the rest of the file a chunk at a time,
 * and a whole candidate record only when its header is plausible.
 */
function findValid(fd: number, from: number, size: number): number {
  const chunk = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(0, size - from)));
  for (let start = from; start + HEADER <= size; ) {
    const n = readFully(fd, chunk, Math.min(chunk.length, size - start), start);
    // Headers wholly in this chunk; the next chunk starts where the first one left out would.
    for (let p = 0; p + HEADER <= n; p++) {
      if (!plausibleHeader(chunk, p, size - start - p)) continue;
      const len = chunk.readUInt32LE(p);
      let rec = chunk;
      let at = p;
      if (p + len > n) {
        rec = Buffer.allocUnsafe(len);
        if (readFully(fd, rec, len, start + p) < len) continue;
        at = 0;
      }
      if (checkRecord(rec, at, len) === null) return start + p;
    }
    if (n < HEADER || start + n >= size) break;
    start += n - HEADER + 1;
  }
  return -1;
}

/**
 * The end of the last non-zero byte in the file's `[from, to)`, or `from`
 * when they are all zero (a zero tail: file-fill.ts). Reads backwards.
 */
export function nonZeroEnd(fd: number, from: number, to: number): number {
  const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, Math.max(1, to - from)));
  for (let end = to; end > from; ) {
    const start = Math.max(from, end - chunk.length);
    const n = readFully(fd, chunk, end - start, start);
    // Bytes past the file's end read as nothing: treat them as zeros.
    for (let i = n - 1; i >= 0; i--) if (chunk[i] !== 0) return start + i + 1;
    end = start;
  }
  return from;
}

/**
 * Where the bytes of a bad tail `[from, to)` end when zeros follow them
 * (file-fill.ts): at the last non-zero byte, or as far as the record there
 * says it reaches (its own zero bytes count), within `to`. `from` when the
 * tail is all zeros.
 */
export function tailDataEnd(fd: number, from: number, to: number): number {
  const end = nonZeroEnd(fd, from, to);
  if (end === from) return from;
  const h = Buffer.alloc(4);
  if (readFully(fd, h, 4, from) < 4) return end;
  const len = h.readUInt32LE(0);
  return len >= HEADER && len <= MAX_RECORD ? Math.max(end, Math.min(from + len, to)) : end;
}
