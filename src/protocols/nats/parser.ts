/**
 * The NATS client protocol, as a server reads it: a pure byte parser.
 * Bytes go in through `feed`, operations come out as handler calls; it never
 * touches a socket. Frames may be split anywhere across `feed` calls.
 *
 * Payloads are handed out as slices of the fed buffer when a frame arrives
 * whole (zero copy); a payload split across reads is assembled into one
 * buffer of exactly its size. Control lines are bounded by `maxControlLine`
 * (CONNECT by `maxConnectLine`), payloads by `maxPayload`.
 *
 * Grammar (https://docs.nats.io/reference/reference-protocols/nats-protocol):
 *   CONNECT <json>            PUB <subject> [reply] <#bytes>
 *   HPUB <subject> [reply] <#header bytes> <#total bytes>
 *   SUB <subject> [queue] <sid>   UNSUB <sid> [max]   PING   PONG
 * Verbs are case-insensitive; arguments are separated by spaces or tabs;
 * lines end in CRLF (a bare LF is accepted, as nats-server does).
 *
 * Subjects, reply subjects, queue names and sids must be valid UTF-8: the
 * core compares them as strings, and decoding invalid bytes would make two
 * different subjects one (`a.\xff` and `a.\xfe` both become `a.\ufffd`).
 * nats-server compares bytes and accepts anything; Weft refuses the
 * operation with `onRefused` (the session sends -ERR and keeps the
 * connection; a PUB's payload is consumed and dropped). Only a line with a
 * byte >= 0x80 is checked, so ASCII costs one OR per byte.
 */
import { isUtf8 } from 'node:buffer';
import { CloseReason, notUtf8, ProtocolError, WireError } from '../../errors.js';
import { utf8Slice } from '../../util/bytes.js';
import { ArgMemo } from './arg-memo.js';

export interface NatsServerHandler {
  onConnect(json: string): void;
  /**
   * A publish: its header block (HPUB) and payload are `buf[start, end)`,
   * the header block its first `hdr` bytes (-1 for PUB: none). A range, not
   * Buffer views: making a view costs an object per message, and a publish
   * nobody is subscribed to needs none. The range is valid only during the
   * call (`buf` may be reused after `feed` returns).
   */
  onPub(subject: string, reply: string, hdr: number, buf: Buffer, start: number, end: number): void;
  onSub(subject: string, queue: string, sid: string): void;
  onUnsub(sid: string, max: number): void;
  onPing(): void;
  onPong(): void;
  /** An operation refused without closing: `wire` is the -ERR text, `detail` for the log. */
  onRefused(wire: string, detail: string): void;
}

export interface ParserLimits {
  maxPayload: number;
  maxControlLine: number;
}

/** The header block of a publish `onPub` reported (null for PUB). */
export function pubHeaders(hdr: number, buf: Buffer, start: number): Buffer | null {
  return hdr < 0 ? null : buf.subarray(start, start + hdr);
}

/** The payload of a publish `onPub` reported. */
export function pubPayload(hdr: number, buf: Buffer, start: number, end: number): Buffer {
  return buf.subarray(hdr < 0 ? start : start + hdr, end);
}

/** Longest PUB subject and reply subject whose bytes the parser remembers (see ArgMemo). */
const SUBJECT_MEMO_MAX = 256;
const REPLY_MEMO_MAX = 128;

/** CONNECT may carry credentials (JWTs), so it gets a larger bound. */
export const MAX_CONNECT_LINE = 64 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;
const EMPTY = Buffer.alloc(0);

/** Parser states: reading control lines, assembling a split payload, dead after an error. */
const State = { Control: 0, Payload: 1, Dead: 2 } as const;
type State = (typeof State)[keyof typeof State];

function parseError(detail: string): ProtocolError {
  return new ProtocolError(WireError.UnknownOperation, CloseReason.ParseError, detail);
}

export class NatsParser {
  private state: State = State.Control;
  /**
   * Pieces (copies) of a control line that has not ended yet, joined once
   * when it does: appending piece by piece would copy quadratically.
   */
  private partials: Buffer[] = [];
  private partialLen = 0;
  /** CONNECT may carry credentials (JWTs), so it gets the larger bound. */
  private readonly connectLimit: number;
  // A payload being assembled across reads.
  private pbuf: Buffer = EMPTY;
  private pfill = 0;
  private pSubject = '';
  private pReply = '';
  private pHeaderSize = -1;
  /** The -ERR text when the payload being assembled belongs to a refused PUB. */
  private pRefused = '';
  /** The current control line has a byte >= 0x80 (set by `split`). */
  private nonAscii = false;
  private stopped = false;
  private pauseRequested = false;
  /** Where the last `feed` stopped at a `pause()`, or -1 when it parsed the whole buffer. */
  pausedAt = -1;
  /** The last PUB subject and reply, with their bytes (see ArgMemo). */
  private readonly subjects = new ArgMemo(SUBJECT_MEMO_MAX, false);
  private readonly replies = new ArgMemo(REPLY_MEMO_MAX, true);
  /** Where parsing resumes in the current buffer after an operation. */
  private cursor = 0;
  // Argument ranges of the current control line (start/end pairs).
  private readonly args = new Int32Array(10);

  /** PUB lines take `fastPub` (false only in tests: the fuzz compares both paths). */
  private readonly fast: boolean;

  constructor(
    private readonly handler: NatsServerHandler,
    private readonly limits: ParserLimits,
    options: { fastPub?: boolean } = {},
  ) {
    this.connectLimit = Math.max(MAX_CONNECT_LINE, limits.maxControlLine);
    this.fast = options.fastPub ?? true;
  }

  /** Makes `feed` return after the current operation (the connection is closing). */
  stop(): void {
    this.stopped = true;
    this.state = State.Dead;
  }

  /**
   * Makes `feed` return after the current operation with the rest of its
   * buffer unparsed (`pausedAt` says where): the caller feeds that later.
   */
  pause(): void {
    this.pauseRequested = true;
  }

  /** Withdraws a `pause()` that no `feed` has acted on yet. */
  unpause(): void {
    this.pauseRequested = false;
  }

  /**
   * Parses `buf`. Returns null, or the first protocol error; after an error
   * the parser is dead and ignores further input.
   */
  feed(buf: Buffer): ProtocolError | null {
    let pos = 0;
    const len = buf.length;
    this.pausedAt = -1;
    while (pos < len && !this.stopped) {
      if (this.pauseRequested) {
        this.pauseRequested = false;
        this.pausedAt = pos;
        return null;
      }
      if (this.state === State.Payload) {
        pos = this.fillPayload(buf, pos);
        if (pos < 0) return this.die(parseError('payload not followed by CRLF'));
        continue;
      }
      if (this.state === State.Dead) return null;
      if (this.fast && this.partialLen === 0 && (buf[pos] | 0x20) === 0x70) {
        const next = this.fastPub(buf, pos);
        if (next >= 0) {
          pos = next;
          continue;
        }
      }

      const nl = buf.indexOf(LF, pos);
      if (nl < 0) {
        const err = this.keepPartial(buf, pos);
        return err === null ? null : this.die(err);
      }
      let line: Buffer;
      let start: number;
      let end: number;
      if (this.partialLen > 0) {
        this.partials.push(buf.subarray(pos, nl));
        line = Buffer.concat(this.partials, this.partialLen + nl - pos);
        this.partials = [];
        this.partialLen = 0;
        start = 0;
        end = line.length;
      } else {
        line = buf;
        start = pos;
        end = nl;
      }
      if (end > start && line[end - 1] === CR) end--;
      const limit = isConnect(line[start], line[start + 1])
        ? this.connectLimit
        : this.limits.maxControlLine;
      if (end - start > limit) return this.die(controlLineError(end - start, limit));
      this.cursor = nl + 1;
      const err = this.control(line, start, end, buf, nl + 1);
      if (err !== null) return this.die(err);
      pos = this.cursor;
    }
    this.pauseRequested = false;
    return null;
  }

  private die(err: ProtocolError): ProtocolError {
    this.state = State.Dead;
    this.partials = [];
    this.partialLen = 0;
    this.pbuf = EMPTY;
    return err;
  }

  private keepPartial(buf: Buffer, pos: number): ProtocolError | null {
    const total = this.partialLen + buf.length - pos;
    // The verb's first two bytes decide the bound (CONNECT's is larger).
    const first = this.partialLen > 0 ? this.partials[0] : buf.subarray(pos);
    const b1 =
      first.length > 1 ? first[1] : this.partialLen > 0 ? (this.partials[1]?.[0] ?? buf[pos]) : -1;
    const limit = isConnect(first[0], b1) ? this.connectLimit : this.limits.maxControlLine;
    // +1 leaves room for the CR of a line exactly at the limit.
    if (total > limit + 1) return controlLineError(total, limit);
    // Copy: the caller may reuse `buf` after feed returns.
    this.partials.push(Buffer.from(buf.subarray(pos)));
    this.partialLen = total;
    return null;
  }

  /** Dispatches one control line held in line[start, end). */
  private control(
    line: Buffer,
    start: number,
    end: number,
    buf: Buffer,
    pos: number,
  ): ProtocolError | null {
    const argc = this.split(line, start, end);
    if (argc < 0) return parseError('too many arguments');
    if (argc === 0) return parseError('empty line');
    const verb = verbOf(line, this.args[0], this.args[1]);
    switch (verb) {
      case 'PUB':
        return this.pub(line, argc, false, buf, pos);
      case 'HPUB':
        return this.pub(line, argc, true, buf, pos);
      case 'SUB': {
        if (argc !== 3 && argc !== 4)
          return parseError(`SUB takes 2 or 3 arguments, got ${argc - 1}`);
        if (this.nonAscii) {
          const bad =
            this.badUtf8(line, 1, 'Subject') ??
            (argc === 4 ? this.badUtf8(line, 2, 'Queue Group') : null) ??
            this.badUtf8(line, argc - 1, 'Subscription ID');
          if (bad !== null) {
            this.handler.onRefused(bad, `SUB: ${bad}`);
            return null;
          }
        }
        const subject = this.arg(line, 1);
        const queue = argc === 4 ? this.arg(line, 2) : '';
        const sid = this.arg(line, argc - 1);
        this.handler.onSub(subject, queue, sid);
        return null;
      }
      case 'UNSUB': {
        if (argc !== 2 && argc !== 3)
          return parseError(`UNSUB takes 1 or 2 arguments, got ${argc - 1}`);
        let max = 0;
        if (argc === 3) {
          max = this.num(line, 2);
          if (max < 0) return parseError('UNSUB max is not a number');
        }
        const bad = this.nonAscii ? this.badUtf8(line, 1, 'Subscription ID') : null;
        if (bad !== null) this.handler.onRefused(bad, `UNSUB: ${bad}`);
        else this.handler.onUnsub(this.arg(line, 1), max);
        return null;
      }
      case 'PING':
        if (argc !== 1) return parseError('PING takes no arguments');
        this.handler.onPing();
        return null;
      case 'PONG':
        if (argc !== 1) return parseError('PONG takes no arguments');
        this.handler.onPong();
        return null;
      case 'CONNECT': {
        if (argc < 2) return parseError('CONNECT needs a JSON argument');
        this.handler.onConnect(line.toString('utf8', this.args[2], end));
        return null;
      }
      default:
        return parseError(
          `unknown operation '${line.toString('latin1', this.args[0], Math.min(this.args[1], this.args[0] + 16))}'`,
        );
    }
  }

  private pub(
    line: Buffer,
    argc: number,
    headers: boolean,
    buf: Buffer,
    pos: number,
  ): ProtocolError | null {
    const verb = headers ? 'HPUB' : 'PUB';
    const sizes = headers ? 2 : 1;
    if (argc !== 2 + sizes && argc !== 3 + sizes) {
      return parseError(`${verb} takes ${1 + sizes} or ${2 + sizes} arguments, got ${argc - 1}`);
    }
    const total = this.num(line, argc - 1);
    if (total < 0) return parseError(`${verb} size is not a number`);
    let hdr = -1;
    if (headers) {
      hdr = this.num(line, argc - 2);
      if (hdr < 0) return parseError('HPUB header size is not a number');
      if (hdr > total) return parseError('HPUB header size is larger than the total size');
    }
    if (total > this.limits.maxPayload) {
      return new ProtocolError(
        WireError.MaxPayload,
        CloseReason.MaxPayload,
        `payload of ${total} bytes exceeds max_payload ${this.limits.maxPayload}`,
      );
    }
    let refused = '';
    if (this.nonAscii) {
      refused =
        this.badUtf8(line, 1, 'Publish Subject') ??
        (argc === 3 + sizes ? this.badUtf8(line, 2, 'Reply Subject') : null) ??
        '';
    }
    const subject = refused === '' ? this.subjectArg(line, this.args[2], this.args[3]) : '';
    const reply =
      refused === '' && argc === 3 + sizes
        ? this.replies.decode(line, this.args[4], this.args[5])
        : '';
    const need = total + 2;
    if (buf.length - pos >= need) {
      if (buf[pos + total] !== CR || buf[pos + total + 1] !== LF) {
        return parseError(`${verb} payload is not followed by CRLF (size mismatch?)`);
      }
      this.cursor = pos + need;
      if (refused !== '') this.handler.onRefused(refused, `${verb}: ${refused}`);
      else this.handler.onPub(subject, reply, hdr, buf, pos, pos + total);
      return null;
    }
    // The payload continues in later reads: assemble it (one copy).
    this.pSubject = subject;
    this.pReply = reply;
    this.pHeaderSize = hdr;
    this.pRefused = refused;
    this.pbuf = Buffer.allocUnsafe(need);
    this.pfill = 0;
    this.state = State.Payload;
    // The rest of the current buffer is payload: feed hands it to fillPayload.
    this.cursor = pos;
    return null;
  }

  private fillPayload(buf: Buffer, pos: number): number {
    const want = this.pbuf.length - this.pfill;
    const n = Math.min(want, buf.length - pos);
    buf.copy(this.pbuf, this.pfill, pos, pos + n);
    this.pfill += n;
    pos += n;
    if (this.pfill < this.pbuf.length) return pos;
    const total = this.pbuf.length - 2;
    if (this.pbuf[total] !== CR || this.pbuf[total + 1] !== LF) return -1;
    const pbuf = this.pbuf;
    this.pbuf = EMPTY;
    this.state = State.Control;
    if (this.pRefused !== '') {
      const wire = this.pRefused;
      this.pRefused = '';
      this.handler.onRefused(wire, `${this.pHeaderSize < 0 ? 'PUB' : 'HPUB'}: ${wire}`);
    } else {
      this.handler.onPub(this.pSubject, this.pReply, this.pHeaderSize, pbuf, 0, total);
    }
    return pos;
  }

  /**
   * The common case of a PUB, in one pass over its bytes: `PUB <subject>
   * [reply] <size>` in ASCII, within the control line bound, with its whole
   * payload and CRLF in `buf`. Returns where parsing goes on, or -1 when the
   * line is anything else (non-ASCII, split, malformed, too long or too
   * large): nothing was emitted and the general path parses it (and reports
   * its errors). Saves a native `indexOf` per line and the argument table.
   */
  private fastPub(buf: Buffer, pos: number): number {
    const max = this.limits.maxControlLine;
    // Room for the longest line allowed and its CR.
    const len = Math.min(buf.length, pos + max + 1);
    if (pos + 4 >= len || (buf[pos + 1] | 0x20) !== 0x75 || (buf[pos + 2] | 0x20) !== 0x62) {
      return -1;
    }
    // Tokens stop at a blank, CR, LF, any other control byte or a byte >=
    // 0x80; what stops them is checked below (only blanks, then the end).
    const s0 = blankEnd(buf, pos + 3, len);
    // Publishers repeat subjects: when the previous one is here, followed by
    // a blank, one backward comparison both ends and decodes the subject.
    let subject = this.subjects.followedByBlank(buf, s0, len);
    const s1 = subject !== null ? s0 + this.subjects.length : tokenEnd(buf, s0, len);
    const a0 = blankEnd(buf, s1, len);
    // The same for the reply (when `a` is one: with no `b` it was the size).
    const same = this.replies.followedByBlank(buf, a0, len);
    const a1 = same !== null ? a0 + this.replies.length : tokenEnd(buf, a0, len);
    const b0 = blankEnd(buf, a1, len);
    const b1 = tokenEnd(buf, b0, len);
    const eol = blankEnd(buf, b1, len);
    if (s0 === pos + 3 || s1 === s0 || a1 === a0 || eol >= len) return -1;
    let p = eol + 1;
    const c = buf[eol];
    if (c === CR) {
      if (buf[p] !== LF) return -1;
      p++;
    } else if (c !== LF) return -1;
    // The size is the last argument: `b` when there is a reply, else `a`.
    const n0 = b1 > b0 ? b0 : a0;
    const n1 = b1 > b0 ? b1 : a1;
    if (n1 - n0 > 15) return -1;
    let total = 0;
    for (let k = n0; k < n1; k++) {
      const d = buf[k] - 0x30;
      if (d < 0 || d > 9) return -1;
      total = total * 10 + d;
    }
    if (total > this.limits.maxPayload) return -1;
    const end = p + total;
    if (end + 2 > buf.length || buf[end] !== CR || buf[end + 1] !== LF) return -1;
    subject ??= this.subjectArg(buf, s0, s1);
    const reply = b1 > b0 ? (same ?? this.replies.decode(buf, a0, a1)) : '';
    this.handler.onPub(subject, reply, -1, buf, p, end);
    return end + 2;
  }

  /**
   * Splits line[start, end) on spaces/tabs into this.args; returns the count
   * or -1. Notes in `nonAscii` whether an argument holds a byte >= 0x80.
   */
  private split(line: Buffer, start: number, end: number): number {
    const args = this.args;
    let argc = 0;
    let i = start;
    let high = 0;
    this.nonAscii = false;
    while (i < end) {
      while (i < end && (line[i] === SP || line[i] === TAB)) i++;
      if (i >= end) break;
      // CONNECT's JSON may hold spaces: everything after the verb is one argument.
      if (argc === 1 && isConnect(line[args[0]], line[args[0] + 1])) {
        args[2] = i;
        args[3] = end;
        return 2;
      }
      if (argc === 5) return -1;
      const s = i;
      for (; i < end; i++) {
        const c = line[i]!;
        if (c === SP || c === TAB) break;
        high |= c;
      }
      args[argc * 2] = s;
      args[argc * 2 + 1] = i;
      argc++;
    }
    this.nonAscii = (high & 0x80) !== 0;
    return argc;
  }

  /** The -ERR text when argument `k` is not valid UTF-8 (`what` names it), else null. */
  private badUtf8(line: Buffer, k: number, what: string): string | null {
    const s = this.args[k * 2]!;
    const e = this.args[k * 2 + 1]!;
    for (let i = s; i < e; i++) {
      if (line[i]! >= 0x80) return isUtf8(line.subarray(s, e)) ? null : notUtf8(what);
    }
    return null;
  }

  private arg(line: Buffer, k: number): string {
    return utf8Slice(line, this.args[k * 2], this.args[k * 2 + 1]);
  }

  /**
   * The subject argument of a PUB: the previous string when the bytes are
   * the same (publishers repeat subjects). An ack subject is unique per
   * delivery: remembering it would cost a copy per ack and push out a
   * subject that repeats (a pull request's).
   */
  private subjectArg(line: Buffer, s: number, e: number): string {
    return this.subjects.decode(line, s, e, !isAckSubject(line, s, e - s));
  }

  /** A non-negative decimal argument, or -1. */
  private num(line: Buffer, k: number): number {
    const s = this.args[k * 2];
    const e = this.args[k * 2 + 1];
    if (e - s > 15) return -1;
    let v = 0;
    for (let i = s; i < e; i++) {
      const d = line[i] - 0x30;
      if (d < 0 || d > 9) return -1;
      v = v * 10 + d;
    }
    return v;
  }
}

function controlLineError(size: number, limit: number): ProtocolError {
  return new ProtocolError(
    WireError.MaxControlLine,
    CloseReason.MaxControlLine,
    `control line of ${size} bytes exceeds max_control_line ${limit}`,
  );
}

/** The first index from `i` (below `len`) whose byte is not a space or tab. */
function blankEnd(buf: Buffer, i: number, len: number): number {
  while (i < len) {
    const c = buf[i];
    if (c !== SP && c !== TAB) break;
    i++;
  }
  return i;
}

/** The first index from `i` (below `len`) whose byte is a space, a control byte or >= 0x80. */
function tokenEnd(buf: Buffer, i: number, len: number): number {
  while (i < len) {
    const c = buf[i];
    if (c <= SP || c >= 0x80) break;
    i++;
  }
  return i;
}

/** `$JS.ACK.` as bytes: the prefix of JetStream ack subjects (see `subjectArg`). */
const ACK_PREFIX = Buffer.from('$JS.ACK.', 'latin1');

/** Does the `n`-byte subject at `s` start with `$JS.ACK.`? */
function isAckSubject(buf: Buffer, s: number, n: number): boolean {
  if (n <= ACK_PREFIX.length || buf[s] !== ACK_PREFIX[0]) return false;
  for (let i = 1; i < ACK_PREFIX.length; i++) if (buf[s + i] !== ACK_PREFIX[i]) return false;
  return true;
}

/** Do a line's first two bytes start CONNECT? ("co": an unknown verb is refused once its line ends.) */
function isConnect(b0: number | undefined, b1: number | undefined): boolean {
  return b0 !== undefined && b1 !== undefined && (b0 | 0x20) === 0x63 && (b1 | 0x20) === 0x6f;
}

/** The verb in upper case, for the few verbs there are; '' when unknown. */
function verbOf(line: Buffer, s: number, e: number): string {
  const n = e - s;
  const c0 = line[s] | 0x20;
  if (n === 3) {
    if (c0 === 0x70 && (line[s + 1] | 0x20) === 0x75 && (line[s + 2] | 0x20) === 0x62) return 'PUB';
    if (c0 === 0x73 && (line[s + 1] | 0x20) === 0x75 && (line[s + 2] | 0x20) === 0x62) return 'SUB';
    return '';
  }
  const word = line.toString('latin1', s, e).toUpperCase();
  switch (word) {
    case 'HPUB':
    case 'PING':
    case 'PONG':
    case 'UNSUB':
    case 'CONNECT':
      return word;
    default:
      return '';
  }
}
