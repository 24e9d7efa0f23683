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
import { bulkIn, isName4At, scanned } from './resp-scan.js';

/** The most IDs one XACK may name and be read as ranges (more: read as arguments). */
export const XACK_FAST_IDS = 64;

const CR = 0x0d;
const LF = 0x0a;

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
  p = bulkIn(b, p + 10, maxBulk);
  if (p < 0) return -1;
  x.keyStart = scanned.start;
  x.keyEnd = scanned.end;
  p = bulkIn(b, p, maxBulk);
  if (p < 0) return -1;
  x.groupStart = scanned.start;
  x.groupEnd = scanned.end;
  const starts = x.starts;
  const ends = x.ends;
  for (let i = 0; i < ids; i++) {
    p = bulkIn(b, p, maxBulk);
    if (p < 0) return -1;
    starts[i] = scanned.start;
    ends[i] = scanned.end;
  }
  x.count = ids;
  return p;
}
