/**
 * Reading a segment file back on open: every record in order, each one's
 * CRC checked. What to do with a bad record is the caller's decision (a
 * torn tail of the newest segment is cut off; anything else is corruption);
 * this file only finds them, and tells a damaged tail (nothing valid after
 * the damage) from damage in the middle (a valid record follows).
 */
import * as fs from 'node:fs';
import { checkRecord, HEADER, MAX_RECORD, plausibleHeader } from './file-record.js';

const CHUNK = 1 << 20;

/** Called with each valid record: `buf[rel, rel + len)` is the record at file offset `pos`. */
export type OnRecord = (buf: Buffer, rel: number, pos: number) => void;

export interface ScanResult {
  /** Bytes of valid records from the start of the file. */
  good: number;
  /** Why the record at `good` is bad, or null when the whole file is valid. */
  bad: string | null;
  /** Offset of a valid record after the bad one (-1: none, the damage is a tail). */
  validAfter: number;
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
export function scanSegment(fd: number, size: number, onRecord: OnRecord): ScanResult {
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
  while (pos < size) {
    const avail = size - pos;
    ensure(pos, Math.min(avail, HEADER));
    if (avail >= HEADER) {
      const len = buf.readUInt32LE(pos - bufStart);
      if (len >= HEADER && len <= avail && len <= MAX_RECORD) ensure(pos, len);
    }
    const rel = pos - bufStart;
    const why = checkRecord(buf, rel, Math.min(avail, bufLen - rel));
    if (why !== null) return { good: pos, bad: why, validAfter: findValid(fd, pos + 1, size) };
    const len = buf.readUInt32LE(rel);
    onRecord(buf, rel, pos);
    pos += len;
  }
  return { good: pos, bad: null, validAfter: -1 };
}

/**
 * The offset of the first valid record at or after `from`, or -1. Only
 * runs after damage is found, so it reads the rest of the file at once.
 */
function findValid(fd: number, from: number, size: number): number {
  if (size - from < HEADER) return -1;
  const buf = Buffer.allocUnsafe(size - from);
  const n = readFully(fd, buf, buf.length, from);
  for (let p = 0; p + HEADER <= n; p++) {
    if (plausibleHeader(buf, p, n - p) && checkRecord(buf, p, n - p) === null) return from + p;
  }
  return -1;
}
