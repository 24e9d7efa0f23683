/**
 * Redis requests off the wire (RESP, https://redis.io/docs/reference/protocol-spec/):
 * what a client sends is either an array of bulk strings
 * (`*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n`, RESP2 and RESP3 alike) or an inline
 * command (`PING\r\n`, as typed into telnet), split on spaces with Redis's
 * quoting rules. Pure: bytes in, commands out, no I/O — the first piece of
 * the Redis face (issue 15), to be wired to a listener.
 *
 * Bad input gets Redis's own error texts, which clients match on; after
 * one, the connection is to be answered that error and closed, as Redis
 * does. The bounds: 1,048,576 arguments per command (Redis 6's bound;
 * Redis 7 takes up to 2^31 − 1 — Weft keeps the smaller one, with the same
 * error text), a bulk string of at most `maxBulk` bytes (Redis:
 * proto-max-bulk-len, 512 MiB; a node passes its max_payload), and 64 KiB
 * for an inline command or a length line, as Redis.
 */

import { bulkIn, isName4At, plainLengthAt, scanned } from './resp-scan.js';
import { peekXackAt, XackRanges } from './xack-peek.js';
import { peekXreadgroupAt, XreadgroupRanges } from './xreadgroup-peek.js';

/** The most arguments one command may have (Redis 6: 1024*1024; Redis 7: INT_MAX). */
export const MAX_ARGS = 1024 * 1024;
/** The longest inline command, or length line, before it is refused (Redis: PROTO_INLINE_MAX_SIZE). */
export const INLINE_MAX = 64 * 1024;
/** Redis's default proto-max-bulk-len. */
export const DEFAULT_MAX_BULK = 512 * 1024 * 1024;

/** Longest command name kept to be shared by the next command (see RespReader.name). */
const NAME_MAX = 32;
const NO_ARGS: Buffer[] = [];
/** Longest argument a transient read copies by a loop (see RespReader.arg). */
const ARG_LOOP_MAX = 48;
const EMPTY = Buffer.alloc(0);

/** A protocol error: the text is Redis's, to be sent as `-ERR <text>` before the close. */
export class RespProtocolError extends Error {}

const CR = 0x0d;
const LF = 0x0a;

/**
 * Reads commands from a connection's bytes: `push` what arrives, then take
 * commands with `next` until it returns null (a command is not complete
 * yet). Bytes held between reads are bounded: at most one incomplete
 * command, itself bounded by MAX_ARGS, `maxBulk` and INLINE_MAX.
 */
export class RespReader {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** `buf` is valid only until `release` (see `push`). */
  private transient = false;
  /** The command being read: its arguments so far, and how many it has. */
  private args: Buffer[] = [];
  private want = 0;
  private failed: RespProtocolError | null = null;
  /** Arguments of the command being read so far. */
  private argc = 0;
  /** The last two command names read, the latest first (see `name`). */
  private lastName: Buffer | null = null;
  private prevName: Buffer | null = null;
  /** The ranges of the PUBLISH `nextPublish` took, in `buffer`: channel, then payload. */
  chanStart = 0;
  chanEnd = 0;
  payloadStart = 0;
  payloadEnd = 0;

  constructor(private readonly maxBulk = DEFAULT_MAX_BULK) {}

  /** Bytes held that no command has taken yet. */
  get pending(): number {
    return this.buf.length - this.pos;
  }

  /**
   * Takes a read's bytes. `transient`: they are valid only until `release`
   * (a read of the shared read buffer): arguments `next` returns are then
   * copies, and `release` copies what is left unread.
   */
  push(chunk: Buffer, transient = false): void {
    this.peekEnd = -1;
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
      this.transient = transient;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
      this.transient = false;
    }
  }

  /** The bytes pushed are about to be reused: keeps a copy of those not taken yet. */
  release(): void {
    if (!this.transient) return;
    this.transient = false;
    this.buf = this.pos >= this.buf.length ? EMPTY : Buffer.from(this.buf.subarray(this.pos));
    this.pos = 0;
    this.peekEnd = -1;
  }

  /** `buf[from, from+len)`, a copy when `buf` is transient. */
  private arg(from: number, len: number): Buffer {
    if (!this.transient) return this.buf.subarray(from, from + len);
    const out = Buffer.allocUnsafe(len);
    const b = this.buf;
    // A short argument (a key, a name, an ID) by a loop: Buffer#copy of a
    // range makes a view of it and a native call.
    if (len <= ARG_LOOP_MAX) for (let i = 0; i < len; i++) out[i] = b[from + i]!;
    else b.copy(out, 0, from, from + len);
    return out;
  }

  /** The bytes `nextPublish`'s ranges are in (valid until the next `push`). */
  get buffer(): Buffer {
    return this.buf;
  }

  /**
   * The fast path for the command a publisher pipelines: when the bytes at
   * hand start with a whole, plainly written
   * `*3\r\n$7\r\nPUBLISH\r\n$<n>\r\n<channel>\r\n$<n>\r\n<payload>\r\n`
   * (the name in any case), takes it and sets the channel's and the
   * payload's ranges (`chanStart` …) instead of making an argument array
   * and a Buffer per argument; true then. Anything else (another command,
   * a command not complete yet, a length written otherwise, bad input) is
   * left where it is, false, for `next` to read as it always does: what
   * this takes, `next` would have read as the same three arguments
   * (test/fuzz/redis-parser.fuzz.test.ts compares the two).
   */
  nextPublish(): boolean {
    if (this.want !== 0 || this.failed !== null) return false;
    const b = this.buf;
    let at = this.pos;
    // `*3\r\n$7\r\n`, the name and its CRLF (17 bytes), then two bulks of 6 at least.
    if (b.length - at < 29) return false;
    // The frame `*3\r\n$7\r\n` in one test: each of its bytes is read on every
    // call, so a command that differs only at byte 2 or later (redis-benchmark's
    // `*3` CONFIG GET) does not reach a compare that had no type feedback and
    // throw away the optimised `drain` (bench/PROFILE.md, "xadd5 (round 13)").
    if (
      (b[at]! ^ 0x2a) |
        (b[at + 1]! ^ 0x33) |
        (b[at + 2]! ^ CR) |
        (b[at + 3]! ^ LF) |
        (b[at + 4]! ^ 0x24) |
        (b[at + 5]! ^ 0x37) |
        (b[at + 6]! ^ CR) |
        (b[at + 7]! ^ LF) ||
      (b[at + 8]! | 0x20) !== 0x70 || // p
      (b[at + 9]! | 0x20) !== 0x75 || // u
      (b[at + 10]! | 0x20) !== 0x62 || // b
      (b[at + 11]! | 0x20) !== 0x6c || // l
      (b[at + 12]! | 0x20) !== 0x69 || // i
      (b[at + 13]! | 0x20) !== 0x73 || // s
      (b[at + 14]! | 0x20) !== 0x68 || // h
      b[at + 15] !== CR ||
      b[at + 16] !== LF
    ) {
      return false;
    }
    at = this.bulkAt(at + 17);
    if (at < 0) return false;
    const cs = this.bulkStart;
    const ce = this.bulkEnd;
    at = this.bulkAt(at);
    if (at < 0) return false;
    this.chanStart = cs;
    this.chanEnd = ce;
    this.payloadStart = this.bulkStart;
    this.payloadEnd = this.bulkEnd;
    this.pos = at;
    return true;
  }

  /** The ranges of the XADD `peekXadd` found, in `buffer`: key, field, value; and where it ends. */
  keyStart = 0;
  keyEnd = 0;
  fieldStart = 0;
  fieldEnd = 0;
  valueStart = 0;
  valueEnd = 0;
  private peekEnd = -1;

  /**
   * The fast path for the XADD a producer pipelines: when the bytes at
   * hand start with a whole, plainly written
   * `*5\r\n$4\r\nXADD\r\n$<n>\r\n<key>\r\n$1\r\n*\r\n$<n>\r\n<field>\r\n$<n>\r\n<value>\r\n`
   * (the name in any case), sets the key's, field's and value's ranges
   * (`keyStart` …) and returns true, without taking it: `skipPeeked` takes
   * it once run, else `next` reads it as it always does, as the same five
   * arguments (test/fuzz/redis-parser.fuzz.test.ts compares the two).
   * Anything else (another command or shape, a command not complete yet,
   * a length written otherwise, bad input): false.
   */
  peekXadd(): boolean {
    this.peekEnd = -1;
    if (this.want !== 0 || this.failed !== null) return false;
    const b = this.buf;
    let at = this.pos;
    // `*5\r\n$4\r\nXADD\r\n` (14 bytes), then a key of 6 at least and `$1\r\n*\r\n`.
    if (b.length - at < 27) return false;
    if (
      b[at] !== 0x2a ||
      b[at + 1] !== 0x35 ||
      b[at + 2] !== CR ||
      b[at + 3] !== LF ||
      !isName4At(b, at + 4, 0x78, 0x61, 0x64, 0x64) // xadd
    ) {
      return false;
    }
    at = this.bulkAt(at + 14);
    if (at < 0) return false;
    const ks = this.bulkStart;
    const ke = this.bulkEnd;
    // The ID: `$1\r\n*\r\n`.
    if (
      at + 7 > b.length ||
      b[at] !== 0x24 ||
      b[at + 1] !== 0x31 ||
      b[at + 2] !== CR ||
      b[at + 3] !== LF ||
      b[at + 4] !== 0x2a ||
      b[at + 5] !== CR ||
      b[at + 6] !== LF
    ) {
      return false;
    }
    at = this.bulkAt(at + 7);
    if (at < 0) return false;
    const fs = this.bulkStart;
    const fe = this.bulkEnd;
    at = this.bulkAt(at);
    if (at < 0) return false;
    this.keyStart = ks;
    this.keyEnd = ke;
    this.fieldStart = fs;
    this.fieldEnd = fe;
    this.valueStart = this.bulkStart;
    this.valueEnd = this.bulkEnd;
    this.peekEnd = at;
    return true;
  }

  /** Where the arguments of the XACK `peekXack` found are (xack-peek.ts). */
  readonly xack = new XackRanges();

  /**
   * `peekXadd` for `XACK <key> <group> <id>…` (1 to XACK_FAST_IDS IDs):
   * true when the bytes at hand start with it, whole and plainly written,
   * its ranges then in `xack`; not taken (`skipPeeked` takes it).
   */
  peekXack(): boolean {
    this.peekEnd = -1;
    if (this.want !== 0 || this.failed !== null) return false;
    const end = peekXackAt(this.buf, this.pos, this.maxBulk, this.xack);
    if (end < 0) return false;
    this.peekEnd = end;
    return true;
  }

  /** Where the arguments of the XREADGROUP `peekXreadgroup` found are (xreadgroup-peek.ts). */
  readonly xreadgroup = new XreadgroupRanges();

  /**
   * `peekXadd` for a group consumer's `XREADGROUP GROUP <g> <c> [COUNT n]
   * [NOACK] STREAMS <key> >`: true when the bytes at hand start with it,
   * whole and plainly written, its ranges then in `xreadgroup`; not taken.
   */
  peekXreadgroup(): boolean {
    this.peekEnd = -1;
    if (this.want !== 0 || this.failed !== null) return false;
    const end = peekXreadgroupAt(this.buf, this.pos, this.maxBulk, this.xreadgroup);
    if (end < 0) return false;
    this.peekEnd = end;
    return true;
  }

  /** Takes the XADD `peekXadd` (or the XACK, XREADGROUP peeked) found (nothing read since). */
  skipPeeked(): void {
    if (this.peekEnd < 0) throw new Error('nothing peeked');
    this.pos = this.peekEnd;
    this.peekEnd = -1;
  }

  /** Where `bulkAt` found its bulk string. */
  private bulkStart = 0;
  private bulkEnd = 0;

  /**
   * A whole `$<n>\r\n<n bytes>\r\n` at `at` — one to 10 digits, n within
   * maxBulk (as `quickLength` takes them) — its range in bulkStart/bulkEnd
   * and the offset after it; -1 for anything else.
   */
  private bulkAt(at: number): number {
    const after = bulkIn(this.buf, at, this.maxBulk);
    if (after < 0) return -1;
    this.bulkStart = scanned.start;
    this.bulkEnd = scanned.end;
    return after;
  }

  /**
   * The next complete command (its arguments; never empty), or null when
   * more bytes are needed. Throws RespProtocolError at bad input, and
   * again on every later call: the connection is done.
   */
  next(): Buffer[] | null {
    this.peekEnd = -1;
    if (this.failed !== null) throw this.failed;
    try {
      for (;;) {
        if (this.pos >= this.buf.length) return null;
        const cmd =
          this.want === 0 && this.buf[this.pos] !== 0x2a ? this.inline() : this.multibulk();
        if (cmd === null) return null;
        // An empty line, or `*0` / `*-1`: nothing to run; read on.
        if (cmd.length > 0) return cmd;
      }
    } catch (err) {
      if (err instanceof RespProtocolError) this.failed = err;
      throw err;
    }
  }

  /**
   * The index of the LF ending the line at `from`, or -1. A length line is
   * a few bytes: a JS loop finds its end sooner than a native call.
   */
  private lineEnd(from: number): number {
    const b = this.buf;
    const n = Math.min(b.length, from + 32);
    for (let i = from; i < n; i++) if (b[i] === LF) return i;
    return n === b.length ? -1 : b.indexOf(LF, n);
  }

  private inline(): Buffer[] | null {
    const lf = this.lineEnd(this.pos);
    if (lf < 0) {
      if (this.pending > INLINE_MAX)
        throw new RespProtocolError('Protocol error: too big inline request');
      return null;
    }
    if (lf - this.pos > INLINE_MAX)
      throw new RespProtocolError('Protocol error: too big inline request');
    const end = lf > this.pos && this.buf[lf - 1] === CR ? lf - 1 : lf;
    const line = this.buf.subarray(this.pos, end);
    this.pos = lf + 1;
    const args = splitArgs(line);
    if (args === null) throw new RespProtocolError('Protocol error: unbalanced quotes in request');
    return args;
  }

  /** A length line (`*3`, `$5`) at pos: the number, or null when the line is not complete. */
  private lengthLine(what: 'mbulk' | 'bulk'): number | null {
    const lf = this.lineEnd(this.pos);
    if (lf < 0) {
      if (this.pending > INLINE_MAX) {
        throw new RespProtocolError(`Protocol error: too big ${what} count string`);
      }
      return null;
    }
    const end = lf > this.pos && this.buf[lf - 1] === CR ? lf - 1 : lf;
    const n = parseLength(this.buf, this.pos + 1, end);
    this.pos = lf + 1;
    return n;
  }

  private multibulk(): Buffer[] | null {
    if (this.want === 0) {
      const start = this.pos;
      const n = this.lengthLine('mbulk');
      if (n === null) return null;
      if (Number.isNaN(n) || n > MAX_ARGS) {
        this.pos = start;
        throw new RespProtocolError('Protocol error: invalid multibulk length');
      }
      if (n <= 0) return [];
      this.want = n;
      // Made at its length (a command has few arguments; a huge count fills as it comes).
      this.args = n <= 64 ? new Array<Buffer>(n) : [];
      this.argc = 0;
    }
    while (this.argc < this.want) {
      if (this.pos >= this.buf.length) return null;
      const c = this.buf[this.pos]!;
      if (c !== 0x24) {
        throw new RespProtocolError(
          `Protocol error: expected '$', got '${String.fromCharCode(c)}'`,
        );
      }
      const start = this.pos;
      // The common case read at once: `$<digits>\r\n`; anything else by lengthLine.
      let len = this.quickLength();
      if (len < 0) {
        const n = this.lengthLine('bulk');
        if (n === null) return null;
        if (Number.isNaN(n) || n < 0 || n > this.maxBulk) {
          throw new RespProtocolError('Protocol error: invalid bulk length');
        }
        len = n;
      }
      // The bulk and its CRLF, whole, or wait (the length line is read again then).
      if (this.buf.length - this.pos < len + 2) {
        this.pos = start;
        return null;
      }
      this.args[this.argc] = this.argc === 0 ? this.name(len) : this.arg(this.pos, len);
      this.argc++;
      this.pos += len + 2;
    }
    const cmd = this.args;
    this.args = NO_ARGS;
    this.want = 0;
    return cmd;
  }

  /**
   * A length line at pos that is plainly well formed — one to 10 digits,
   * then CR LF, within maxBulk — read and passed; else -1, pos unmoved,
   * for lengthLine to read it (and say what is wrong).
   */
  private quickLength(): number {
    const after = plainLengthAt(this.buf, this.pos + 1, this.maxBulk);
    if (after < 0) return -1;
    this.pos = after;
    return scanned.length;
  }

  /**
   * The command name at pos: the same Buffer as one of the last two
   * commands' when the bytes are the same (a pipeline repeats its command,
   * a group consumer alternates XREADGROUP and XACK: one Buffer less to
   * make per command). A copy, never a view of the read buffer.
   */
  private name(len: number): Buffer {
    const b = this.buf;
    const at = this.pos;
    const last = this.lastName;
    if (last !== null && sameBytes(last, b, at, len)) return last;
    const prev = this.prevName;
    if (prev !== null && sameBytes(prev, b, at, len)) {
      this.prevName = last;
      this.lastName = prev;
      return prev;
    }
    if (len > NAME_MAX) return this.arg(at, len);
    const copy = Buffer.from(b.subarray(at, at + len));
    this.prevName = last;
    this.lastName = copy;
    return copy;
  }
}

/** Whether `b[at, at + len)` holds the bytes of `name`. */
function sameBytes(name: Buffer, b: Buffer, at: number, len: number): boolean {
  if (name.length !== len) return false;
  for (let i = 0; i < len; i++) if (name[i] !== b[at + i]) return false;
  return true;
}

/** A decimal length (optionally negative); NaN when the bytes are not one. */
function parseLength(b: Buffer, from: number, to: number): number {
  if (to <= from || to - from > 20) return Number.NaN;
  let i = from;
  let neg = false;
  if (b[i] === 0x2d) {
    neg = true;
    i++;
    if (i === to) return Number.NaN;
  }
  let n = 0;
  for (; i < to; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return Number.isSafeInteger(n) ? (neg ? -n : n) : Number.NaN;
}

const HEX = /^[0-9a-fA-F]{2}$/;
const ESCAPES: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, b: 0x08, a: 0x07 };

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

/**
 * An inline command's arguments, split as Redis's sdssplitargs does:
 * spaces separate; "double quotes" take escapes (\n \r \t \b \a \\ \" \xHH);
 * 'single quotes' take \' only; a closing quote must be followed by a
 * space or the end. Null for unbalanced quotes.
 */
export function splitArgs(line: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && isSpace(line[i]!)) i++;
    if (i >= n) return out;
    const arg: number[] = [];
    let inDq = false;
    let inSq = false;
    for (;;) {
      if (i >= n) {
        if (inDq || inSq) return null;
        break;
      }
      const c = line[i]!;
      if (inDq) {
        if (c === 0x5c && i + 3 < n && line[i + 1] === 0x78) {
          const hex = line.toString('latin1', i + 2, i + 4);
          if (HEX.test(hex)) {
            arg.push(Number.parseInt(hex, 16));
            i += 4;
            continue;
          }
        }
        if (c === 0x5c && i + 1 < n) {
          const e = String.fromCharCode(line[i + 1]!);
          arg.push(ESCAPES[e] ?? line[i + 1]!);
          i += 2;
          continue;
        }
        if (c === 0x22) {
          // A closing quote must be followed by a space, or end the line.
          if (i + 1 < n && !isSpace(line[i + 1]!)) return null;
          i++;
          break;
        }
        arg.push(c);
        i++;
        continue;
      }
      if (inSq) {
        if (c === 0x5c && i + 1 < n && line[i + 1] === 0x27) {
          arg.push(0x27);
          i += 2;
          continue;
        }
        if (c === 0x27) {
          if (i + 1 < n && !isSpace(line[i + 1]!)) return null;
          i++;
          break;
        }
        arg.push(c);
        i++;
        continue;
      }
      if (isSpace(c)) break;
      if (c === 0x22) inDq = true;
      else if (c === 0x27) inSq = true;
      else arg.push(c);
      i++;
    }
    out.push(Buffer.from(arg));
  }
}
