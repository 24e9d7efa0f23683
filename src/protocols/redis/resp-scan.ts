/**
 * Byte scans the reader's fast paths share (parser.ts, xack-peek.ts): a
 * plainly written length line, a whole bulk string, a four-letter command
 * name. Each reads a buffer passed in and answers the offset after what it
 * found, or -1 for anything else (incomplete too), leaving what it read in
 * `scanned` (module state: a scan's result is read before the next scan).
 * Pure.
 */

const CR = 0x0d;
const LF = 0x0a;

/** What the last `plainLengthAt` / `bulkIn` found. */
export const scanned = {
  /** The number a length line said. */
  length: 0,
  /** The bulk string's bytes: `[start, end)`. */
  start: 0,
  end: 0,
};

/**
 * The digits of a length line from `from` when plainly well formed: one to
 * 10 digits, then CR LF, the number within `maxBulk`. The number goes in
 * `scanned.length`; answers the offset after the CR LF.
 */
export function plainLengthAt(b: Buffer, from: number, maxBulk: number): number {
  const stop = Math.min(b.length, from + 10);
  let i = from;
  let n = 0;
  for (; i < stop; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  if (i === from || i + 1 >= b.length || b[i] !== CR || b[i + 1] !== LF || n > maxBulk) return -1;
  scanned.length = n;
  return i + 2;
}

/**
 * A whole `$<n>\r\n<n bytes>\r\n` at `at`, its length as `plainLengthAt`
 * takes it: the range in `scanned.start` / `scanned.end`.
 */
export function bulkIn(b: Buffer, at: number, maxBulk: number): number {
  if (b[at] !== 0x24) return -1;
  const start = plainLengthAt(b, at + 1, maxBulk);
  if (start < 0) return -1;
  const end = start + scanned.length;
  if (end + 2 > b.length || b[end] !== CR || b[end + 1] !== LF) return -1;
  scanned.start = start;
  scanned.end = end;
  return end + 2;
}

/**
 * Whether `b[p]` starts `$4\r\n<name>\r\n`, a four-letter command name in
 * any case; `c0`–`c3` are its lowercase letters. Bytes past the buffer read
 * as no match.
 */
export function isName4At(
  b: Buffer,
  p: number,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
): boolean {
  return (
    b[p] === 0x24 &&
    b[p + 1] === 0x34 &&
    b[p + 2] === CR &&
    b[p + 3] === LF &&
    (b[p + 4]! | 0x20) === c0 &&
    (b[p + 5]! | 0x20) === c1 &&
    (b[p + 6]! | 0x20) === c2 &&
    (b[p + 7]! | 0x20) === c3 &&
    b[p + 8] === CR &&
    b[p + 9] === LF
  );
}
