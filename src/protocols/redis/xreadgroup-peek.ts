/**
 * The reader's fast path for the read a group consumer sends in its loop
 * (parser.ts `peekXreadgroup`): a whole, plainly written
 * `XREADGROUP GROUP <group> <consumer> [COUNT <n>] [NOACK] STREAMS <key> >`
 * (COUNT and NOACK at most once each, in either order; names in any case),
 * found as ranges of the bytes read, so no Buffer is made per argument (9
 * for the row's read) and no option word is compared as a string
 * (bench/PROFILE.md, "Issue 16 — rgroup9 (round 14)"). COUNT is taken as
 * written `0` or 1 to 9 digits without a leading zero (what `integer`
 * reads as that number). What it finds, `next` would read as the same
 * arguments (test/fuzz/redis-parser.fuzz.test.ts compares the two);
 * anything else (BLOCK, several keys, an ID other than `>`, GROUP not
 * first, a command not complete yet, a length written otherwise, bad
 * input) is left to `next`. Pure.
 */
import { bulkIn, plainLengthAt, scanned } from './resp-scan.js';

const CR = 0x0d;
const LF = 0x0a;

/** Where the arguments of the XREADGROUP `peekXreadgroupAt` found are, and its options. */
export class XreadgroupRanges {
  groupStart = 0;
  groupEnd = 0;
  consumerStart = 0;
  consumerEnd = 0;
  keyStart = 0;
  keyEnd = 0;
  /** COUNT's value, 0 when not given (as the command reads it: no limit but the read's bound). */
  count = 0;
  noack = false;
}

/** `$<len>\r\n<word>\r\n` at `b[p]`, the word in any case; `word` its lowercase bytes. */
function wordAt(b: Buffer, p: number, word: Uint8Array): boolean {
  const n = word.length;
  // `$` and one length digit: every word here is shorter than 10.
  if (b[p] !== 0x24 || b[p + 1] !== 0x30 + n || b[p + 2] !== CR || b[p + 3] !== LF) return false;
  p += 4;
  for (let i = 0; i < n; i++) if ((b[p + i]! | 0x20) !== word[i]) return false;
  return b[p + n] === CR && b[p + n + 1] === LF;
}

const XREADGROUP = Buffer.from('xreadgroup');
const GROUP = Buffer.from('group');
const COUNT = Buffer.from('count');
const NOACK = Buffer.from('noack');
const STREAMS = Buffer.from('streams');

/** The most digits of a COUNT taken here (below 10^9, the command's own cap). */
const COUNT_DIGITS = 9;

/**
 * The XREADGROUP at `b[at]` as ranges in `x`: the offset after it, or -1
 * (and `x` not to be read). Lengths as the reader's fast paths take them:
 * one to 10 digits, then CR LF, within `maxBulk`.
 */
export function peekXreadgroupAt(
  b: Buffer,
  at: number,
  maxBulk: number,
  x: XreadgroupRanges,
): number {
  // `*7\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n` (30 bytes) and more.
  if (b.length - at < 60 || b[at] !== 0x2a) return -1;
  let p = plainLengthAt(b, at + 1, 99);
  if (p < 0) return -1;
  const n = scanned.length;
  if (n < 7 || n > 10) return -1;
  // `$10\r\n` then the name.
  if (b[p] !== 0x24 || b[p + 1] !== 0x31 || b[p + 2] !== 0x30 || b[p + 3] !== CR) return -1;
  if (b[p + 4] !== LF) return -1;
  p += 5;
  for (let i = 0; i < 10; i++) if ((b[p + i]! | 0x20) !== XREADGROUP[i]) return -1;
  p += 10;
  if (b[p] !== CR || b[p + 1] !== LF || !wordAt(b, p + 2, GROUP)) return -1;
  p = bulkIn(b, p + 13, maxBulk);
  if (p < 0) return -1;
  x.groupStart = scanned.start;
  x.groupEnd = scanned.end;
  p = bulkIn(b, p, maxBulk);
  if (p < 0) return -1;
  x.consumerStart = scanned.start;
  x.consumerEnd = scanned.end;
  let args = 4;
  let count = -1;
  let noack = false;
  for (;;) {
    if (wordAt(b, p, STREAMS)) break;
    if (count < 0 && wordAt(b, p, COUNT)) {
      p = bulkIn(b, p + 11, maxBulk);
      if (p < 0) return -1;
      count = countOf(b, scanned.start, scanned.end);
      if (count < 0) return -1;
      args += 2;
    } else if (!noack && wordAt(b, p, NOACK)) {
      p += 11;
      noack = true;
      args++;
    } else return -1;
  }
  // STREAMS, the key and `>`.
  if (args + 3 !== n) return -1;
  p = bulkIn(b, p + 13, maxBulk);
  if (p < 0) return -1;
  x.keyStart = scanned.start;
  x.keyEnd = scanned.end;
  if (
    p + 7 > b.length ||
    b[p] !== 0x24 ||
    b[p + 1] !== 0x31 ||
    b[p + 2] !== CR ||
    b[p + 3] !== LF ||
    b[p + 4] !== 0x3e ||
    b[p + 5] !== CR ||
    b[p + 6] !== LF
  ) {
    return -1;
  }
  x.count = Math.max(count, 0);
  x.noack = noack;
  return p + 7;
}

/** `b[s, e)` as COUNT's number when written `0` or 1–9 digits without a leading zero; else -1. */
function countOf(b: Buffer, s: number, e: number): number {
  const len = e - s;
  if (len < 1 || len > COUNT_DIGITS || (b[s] === 0x30 && len > 1)) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
