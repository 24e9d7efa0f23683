/**
 * The reader's fast path for the XACK a group consumer sends after each
 * read (parser.ts `peekXack`): a whole, plainly written
 * `*<n>\r\n$4\r\nXACK\r\n$<k>\r\n<key>\r\n$<g>\r\n<group>\r\n` followed
 * by n − 3 bulk strings, found as ranges of the bytes read, so no Buffer
 * is made per argument (13 per XACK of 10 IDs; bench/PROFILE.md, "Issue
 * 16 — rgroup8 (round 13)"). What it finds, `next` would read as the same
 * arguments (test/fuzz/redis-parser.fuzz.test.ts compares the two);
 * anything else (another command, fewer than one ID or more than
 * XACK_FAST_IDS, a command not complete yet, a length written otherwise,
 * bad input) is left to `next`. Pure.
 */

/** The most IDs one XACK may name and be read as ranges (more: read as arguments). */
export const XACK_FAST_IDS = 64;

const CR = 0x0d;
const LF = 0x0a;

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

/** Where the arguments of the XACK `peekXackAt` found are, in the reader's buffer. */
export class XackRanges {
  keyStart = 0;
  keyEnd = 0;
  groupStart = 0;
  groupEnd = 0;
  /** How many IDs; the i-th is `[starts[i], ends[i])`. */
  count = 0;
  readonly starts = new Uint32Array(XACK_FAST_IDS);
  readonly ends = new Uint32Array(XACK_FAST_IDS);
}

/**
 * The XACK at `b[at]` as ranges in `x`: the offset after it, or -1 (and
 * `x` not to be read). Lengths as the reader's fast paths take them: one to
 * 10 digits, then CR LF, within `maxBulk`.
 */
export function peekXackAt(b: Buffer, at: number, maxBulk: number, x: XackRanges): number {
  // `*4\r\n$4\r\nXACK\r\n` (14 bytes) and three bulks of 5 at least.
  if (b.length - at < 29 || b[at] !== 0x2a) return -1;
  let p = at + 1;
  let n = 0;
  for (; p < at + 3; p++) {
    const d = b[p]! - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  const ids = n - 3;
  if (p === at + 1 || ids < 1 || ids > XACK_FAST_IDS || b[p] !== CR || b[p + 1] !== LF) return -1;
  p += 2;
  if (!isName4At(b, p, 0x78, 0x61, 0x63, 0x6b)) return -1; // xack
  p = bulk(b, p + 10, maxBulk);
  if (p < 0) return -1;
  x.keyStart = start;
  x.keyEnd = end;
  p = bulk(b, p, maxBulk);
  if (p < 0) return -1;
  x.groupStart = start;
  x.groupEnd = end;
  const starts = x.starts;
  const ends = x.ends;
  for (let i = 0; i < ids; i++) {
    p = bulk(b, p, maxBulk);
    if (p < 0) return -1;
    starts[i] = start;
    ends[i] = end;
  }
  x.count = ids;
  return p;
}

/** The range `bulk` found. */
let start = 0;
let end = 0;

/**
 * A whole `$<len>\r\n<len bytes>\r\n` at `at` (one to 10 digits, len
 * within `maxBulk`): its range in `start`/`end` and the offset after it;
 * -1 for anything else. The reader's `bulkAt`, for a buffer passed in.
 */
function bulk(b: Buffer, at: number, maxBulk: number): number {
  if (b[at] !== 0x24) return -1;
  const from = at + 1;
  const stop = Math.min(b.length, from + 10);
  let i = from;
  let n = 0;
  for (; i < stop; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  if (i === from || i + 1 >= b.length || b[i] !== CR || b[i + 1] !== LF || n > maxBulk) return -1;
  const s = i + 2;
  const e = s + n;
  if (e + 2 > b.length || b[e] !== CR || b[e + 1] !== LF) return -1;
  start = s;
  end = e;
  return e + 2;
}
