/**
 * The mesh link protocol (see docs/mesh.md): length-prefixed frames, JSON
 * control frames and binary data frames. `FrameParser` is pure: bytes in,
 * handler calls out; frames may be split anywhere across `feed` calls. The
 * encoders write into a caller's buffer so links batch like client sessions.
 *
 *   frame   := u32 length (of type + body) | u8 type | body
 *   MSG body := u8 ttl | str account | str subject | str reply
 *              | u8 count × (str node | u8 flags | u8 count × str queue)
 *              | u32 header length | headers | payload
 *   MSG_TO body := u8 ttl | str account | str subject | str reply | str to
 *              | (the rest as MSG)
 *   str     := u16 length | UTF-8 bytes, or 0xFFFF | u32 length | bytes
 * MSG_TO is a message for the subscribers of `to` that they see as sent on
 * `subject` (a JetStream consumer's delivery to a client's inbox).
 * Integers are big-endian. Any string a client, a config or a stream can
 * produce fits a `str`; destinations and queue groups beyond one frame's
 * counts are split over several frames (`splitDests`). A string that is
 * not valid UTF-8 is a protocol error: two subjects must never alias.
 */
import { isUtf8 } from 'node:buffer';
import { copyInto, utf8Slice, utf8Write } from '../util/bytes.js';

/**
 * 2: MSG_TO frames. 3: authenticated handshake (HELLO + AUTH), `str` lengths.
 * 4: each end announces its account list in AUTH. A node refuses every other
 * version (an older peer is refused with `refused.version`, as v3 refused v2).
 */
export const LINK_PROTOCOL_VERSION = 4;

export const FrameType = {
  Hello: 1,
  Err: 2,
  Ping: 3,
  Pong: 4,
  Lsa: 5,
  Interest: 6,
  Sync: 7,
  Auth: 8,
  Msg: 16,
  MsgTo: 17,
} as const;

/** Destination flag: deliver to the node's plain subscribers. */
export const DEST_PLAIN = 1;

/** Destinations one MSG frame can name (a u8 count); more go in more frames. */
export const MAX_DESTS = 255;
/** Queue groups one destination of one frame can name (a u8 count). */
export const MAX_QUEUES = 255;
/**
 * Bytes of node and queue names `splitDests` puts in one frame (beyond it
 * they go in the next frame; one name longer than this gets a frame alone).
 */
export const DEST_BYTES_PER_FRAME = 64 * 1024;
/** The largest frame before a link is authenticated (HELLO, AUTH, ERR). */
export const HANDSHAKE_MAX_FRAME = 4096;
/**
 * The largest frame an authenticated peer may send: max_payload's own limit
 * (64 MiB) and room for long subjects. Held only as its bytes arrive.
 */
export const LINK_MAX_FRAME = 128 * 1024 * 1024;
/** A split frame's buffer starts at most this large and doubles as bytes arrive. */
export const FRAME_GROW_START = 64 * 1024;

/** Hop limit of a new message: ends any loop while routes converge. */
export const MSG_TTL = 32;

export interface Dest {
  node: string;
  plain: boolean;
  queues: string[];
}

export interface MsgFrame {
  /** The frame's body as received (for relaying it unchanged but for the TTL). */
  raw: Buffer;
  ttl: number;
  account: string;
  subject: string;
  reply: string;
  /** Where it is delivered, when not `subject` (MSG_TO); '' for MSG. */
  to: string;
  dests: Dest[];
  headers: Buffer | null;
  payload: Buffer;
}

export interface FrameHandler {
  /** A control frame; `body` is the parsed JSON (HELLO, LSA, INTEREST), text (ERR) or null. */
  onControl(type: number, body: unknown): void;
  onMsg(frame: MsgFrame): void;
}

export class FrameError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'FrameError';
  }
}

/** A message the link format cannot carry (a string that is not well-formed UTF-16). */
export class EncodeError extends Error {
  constructor(
    /** A short reason for counting: 'malformed', 'too_large'. */
    readonly reason: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'EncodeError';
  }
}

const EMPTY = Buffer.alloc(0);
const LEN = 4;

export class FrameParser {
  /**
   * Bytes of a frame that did not arrive whole, assembled here: a buffer
   * that grows (doubling) as the bytes arrive, up to the frame's `want`, so
   * a peer that announces a large frame holds only what it sent.
   */
  private pending: Buffer = EMPTY;
  private fill = 0;
  /** The size of the frame being assembled (0: none). */
  private want = 0;
  /** The 4-byte length prefix when it is itself split. */
  private readonly head = Buffer.alloc(LEN);
  private headFill = 0;
  private dead = false;
  private readonly strings = new FieldStrings();

  constructor(
    private readonly handler: FrameHandler,
    /** The largest frame accepted (type + body), bytes; raised once a link is authenticated. */
    public maxFrame: number,
  ) {}

  /** Parses `buf`; returns the first error (then the parser is dead), or null. */
  feed(buf: Buffer): FrameError | null {
    if (this.dead) return null;
    try {
      this.run(buf);
      return null;
    } catch (err) {
      this.dead = true;
      if (err instanceof FrameError) return err;
      return new FrameError(`malformed frame: ${(err as Error).message}`);
    }
  }

  stop(): void {
    this.dead = true;
  }

  private run(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length && !this.dead) {
      if (this.want > 0) {
        // Continue a frame split across reads.
        const n = Math.min(this.want - this.fill, buf.length - pos);
        if (this.fill + n > this.pending.length) this.grow(this.fill + n);
        buf.copy(this.pending, this.fill, pos, pos + n);
        this.fill += n;
        pos += n;
        if (this.fill < this.want) return;
        const frame = this.pending;
        this.pending = EMPTY;
        this.fill = 0;
        this.want = 0;
        this.frame(frame, 0, frame.length);
        continue;
      }
      let size: number;
      if (this.headFill > 0 || buf.length - pos < LEN) {
        const n = Math.min(LEN - this.headFill, buf.length - pos);
        buf.copy(this.head, this.headFill, pos, pos + n);
        this.headFill += n;
        pos += n;
        if (this.headFill < LEN) return;
        this.headFill = 0;
        size = this.head.readUInt32BE(0);
      } else {
        size = buf.readUInt32BE(pos);
        pos += LEN;
      }
      if (size < 1) throw new FrameError('empty frame');
      if (size > this.maxFrame) {
        throw new FrameError(`frame of ${size} bytes exceeds the limit of ${this.maxFrame}`);
      }
      if (buf.length - pos >= size) {
        this.frame(buf, pos, pos + size);
        pos += size;
      } else {
        this.want = size;
        this.fill = 0;
        this.pending = Buffer.allocUnsafe(
          Math.min(size, Math.max(FRAME_GROW_START, buf.length - pos)),
        );
      }
    }
  }

  /** Room for `n` bytes of the frame being assembled: doubles, never past `want`. */
  private grow(n: number): void {
    let size = this.pending.length;
    while (size < n) size *= 2;
    const next = Buffer.allocUnsafe(Math.min(this.want, size));
    this.pending.copy(next, 0, 0, this.fill);
    this.pending = next;
  }

  /** One whole frame in buf[start, end). */
  private frame(buf: Buffer, start: number, end: number): void {
    const type = buf[start];
    const body = buf.subarray(start + 1, end);
    switch (type) {
      case FrameType.Msg:
        this.handler.onMsg(decodeMsg(body, this.strings));
        return;
      case FrameType.MsgTo:
        this.handler.onMsg(decodeMsg(body, this.strings, true));
        return;
      case FrameType.Ping:
      case FrameType.Pong:
      case FrameType.Sync:
        if (body.length !== 0) throw new FrameError(`frame type ${type} takes no body`);
        this.handler.onControl(type, null);
        return;
      case FrameType.Err:
        this.handler.onControl(type, body.toString('utf8'));
        return;
      case FrameType.Hello:
      case FrameType.Auth:
      case FrameType.Lsa:
      case FrameType.Interest: {
        if (!isUtf8(body)) throw new FrameError(`frame type ${type}: body is not valid UTF-8`);
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          throw new FrameError(`frame type ${type}: body is not valid JSON`);
        }
        if (json === null || typeof json !== 'object' || Array.isArray(json)) {
          throw new FrameError(`frame type ${type}: body is not a JSON object`);
        }
        this.handler.onControl(type, json);
        return;
      }
      default:
        throw new FrameError(`unknown frame type ${type}`);
    }
  }
}

/**
 * Repeated strings of MSG frames (account, subject, node and queue names)
 * decoded once: a field whose bytes equal its previous value gets the same
 * string back, so decoding allocates nothing and later Map lookups hit
 * strings V8 has hashed already.
 */
export class FieldStrings {
  private readonly bytes: Buffer[] = [];
  private readonly strings: string[] = [];

  /** The string of b[start, end) for field slot `slot`. */
  get(slot: number, b: Buffer, start: number, end: number): string {
    const n = end - start;
    if (n === 0) return '';
    const last = this.bytes[slot];
    if (last !== undefined && last.length === n) {
      let i = 0;
      while (i < n && b[start + i] === last[i]) i++;
      if (i === n) return this.strings[slot];
    }
    if (!isUtf8(b.subarray(start, end))) {
      throw new FrameError('MSG frame has a string that is not valid UTF-8');
    }
    const s = utf8Slice(b, start, end);
    if (n <= 256) {
      this.bytes[slot] = Buffer.from(b.subarray(start, end));
      this.strings[slot] = s;
    }
    return s;
  }
}

// Field slots for FieldStrings: queues and nodes past these share the last slots.
const SLOT_ACCOUNT = 0;
const SLOT_SUBJECT = 1;
const SLOT_REPLY = 2;
const SLOT_NODE = 3;
const SLOT_QUEUE = 8;
const SLOT_TO = 13;

// The read position of decodeMsg: decoding is synchronous, so one module
// cursor serves every parser, without a closure per frame.
let rd = 0;

function need(b: Buffer, n: number): void {
  if (rd + n > b.length) throw new FrameError('MSG frame is truncated');
}

/** A `str`: u16 length, or 0xFFFF and a u32 length; then the bytes. */
function readStr(b: Buffer, strings: FieldStrings, slot: number): string {
  need(b, 2);
  let n = (b[rd] << 8) | b[rd + 1];
  rd += 2;
  if (n === LONG_STR) {
    need(b, 4);
    n = b.readUInt32BE(rd);
    rd += 4;
  }
  need(b, n);
  const s = strings.get(slot, b, rd, rd + n);
  rd += n;
  return s;
}

/** Reads a MSG (or, `withTo`, MSG_TO) body; throws FrameError when it does not hold together. */
export function decodeMsg(
  b: Buffer,
  strings: FieldStrings = new FieldStrings(),
  withTo = false,
): MsgFrame {
  rd = 0;
  need(b, 1);
  const ttl = b[rd++];
  const account = readStr(b, strings, SLOT_ACCOUNT);
  const subject = readStr(b, strings, SLOT_SUBJECT);
  if (subject === '') throw new FrameError('MSG frame has an empty subject');
  const reply = readStr(b, strings, SLOT_REPLY);
  let to = '';
  if (withTo) {
    to = readStr(b, strings, SLOT_TO);
    if (to === '') throw new FrameError('MSG_TO frame has an empty destination subject');
  }
  need(b, 1);
  const count = b[rd++];
  const dests: Dest[] = [];
  for (let i = 0; i < count; i++) {
    const node = readStr(b, strings, SLOT_NODE + Math.min(i, 4));
    need(b, 2);
    const flags = b[rd++];
    const nq = b[rd++];
    const queues: string[] = nq === 0 ? NO_QUEUES : [];
    for (let q = 0; q < nq; q++) queues.push(readStr(b, strings, SLOT_QUEUE + Math.min(q, 4)));
    dests.push({ node, plain: (flags & DEST_PLAIN) !== 0, queues });
  }
  need(b, 4);
  const hlen = b.readUInt32BE(rd);
  rd += 4;
  need(b, hlen);
  const headers = hlen === 0 ? null : b.subarray(rd, rd + hlen);
  rd += hlen;
  return { raw: b, ttl, account, subject, reply, to, dests, headers, payload: b.subarray(rd) };
}

/** Shared by decoded destinations without queue groups; never modified. */
const NO_QUEUES: string[] = Object.freeze([]) as unknown as string[];

/** A control frame as bytes. */
export function encodeControl(type: number, body?: unknown): Buffer {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const bytes = Buffer.byteLength(text);
  const out = Buffer.allocUnsafe(LEN + 1 + bytes);
  out.writeUInt32BE(1 + bytes, 0);
  out[LEN] = type;
  out.write(text, LEN + 1, 'utf8');
  return out;
}

/** The length that says a u32 length follows. */
const LONG_STR = 0xffff;

/** Room a `str` of `s` may need (3 bytes per UTF-16 unit, and the long prefix). */
function strMax(s: string): number {
  const n = s.length * 3;
  return n < LONG_STR ? 2 + n : 6 + n;
}

/** Room `writeMsgHead` may need (strings counted at 3 bytes per UTF-16 unit). */
export function msgHeadMax(
  account: string,
  subject: string,
  reply: string,
  dests: readonly Dest[],
  to = '',
): number {
  let n = LEN + 1 + 1 + strMax(account) + strMax(subject) + strMax(reply) + 1 + 4;
  if (to !== '') n += strMax(to);
  for (const d of dests) {
    n += strMax(d.node) + 2;
    for (const q of d.queues) n += strMax(q);
  }
  return n;
}

/**
 * Destinations as the frames that carry them, or null when one frame
 * holds them all (the usual case, without allocating). Each frame names at
 * most MAX_DESTS nodes, MAX_QUEUES groups per node and about
 * DEST_BYTES_PER_FRAME bytes of names; a node split over several frames
 * has its plain flag in the first only, so its plain subscribers get the
 * message once and each of its groups is served once.
 */
export function splitDests(dests: readonly Dest[]): Dest[][] | null {
  if (dests.length <= MAX_DESTS) {
    let bytes = 0;
    let fits = true;
    for (let i = 0; i < dests.length && fits; i++) {
      const d = dests[i];
      if (d.queues.length > MAX_QUEUES) fits = false;
      bytes += strMax(d.node);
      for (let q = 0; q < d.queues.length && fits; q++) bytes += strMax(d.queues[q]);
      if (bytes > DEST_BYTES_PER_FRAME) fits = false;
    }
    if (fits) return null;
  }
  const frames: Dest[][] = [];
  let cur: Dest[] = [];
  let bytes = 0;
  const next = (): void => {
    if (cur.length > 0) frames.push(cur);
    cur = [];
    bytes = 0;
  };
  for (const d of dests) {
    const nb = strMax(d.node) + 2;
    if (cur.length === MAX_DESTS || (cur.length > 0 && bytes + nb > DEST_BYTES_PER_FRAME)) next();
    let part: Dest = { node: d.node, plain: d.plain, queues: [] };
    cur.push(part);
    bytes += nb;
    for (const q of d.queues) {
      const qb = strMax(q);
      const full = part.queues.length === MAX_QUEUES || bytes + qb > DEST_BYTES_PER_FRAME;
      if (full && (part.queues.length > 0 || part.plain)) {
        if (cur.length === MAX_DESTS || bytes + nb + qb > DEST_BYTES_PER_FRAME) next();
        part = { node: d.node, plain: false, queues: [] };
        cur.push(part);
        bytes += nb;
      }
      part.queues.push(q);
      bytes += qb;
    }
  }
  next();
  return frames;
}

/**
 * Writes a MSG frame's length, type and fields up to and including the
 * header length into `dst` at `at`; the caller appends headers and payload
 * (`bodyLen` = their total) right after. Returns the offset after the head.
 */
export function writeMsgHead(
  dst: Buffer,
  at: number,
  ttl: number,
  account: string,
  subject: string,
  reply: string,
  dests: readonly Dest[],
  headerLen: number,
  bodyLen: number,
  to = '',
): number {
  const start = at;
  at += LEN;
  dst[at++] = to === '' ? FrameType.Msg : FrameType.MsgTo;
  dst[at++] = ttl;
  at = str(dst, at, account);
  at = str(dst, at, subject);
  at = str(dst, at, reply);
  if (to !== '') at = str(dst, at, to);
  if (dests.length > MAX_DESTS)
    throw new FrameError(`more than ${MAX_DESTS} destinations in one frame`);
  dst[at++] = dests.length;
  for (const d of dests) {
    at = str(dst, at, d.node);
    dst[at++] = d.plain ? DEST_PLAIN : 0;
    if (d.queues.length > MAX_QUEUES)
      throw new FrameError(`more than ${MAX_QUEUES} queue groups for one node`);
    dst[at++] = d.queues.length;
    for (const q of d.queues) at = str(dst, at, q);
  }
  dst.writeUInt32BE(headerLen, at);
  at += 4;
  dst.writeUInt32BE(at - start - LEN + bodyLen, start);
  return at;
}

/** Encoded bytes of short strings that repeat (accounts, subjects, names). */
const encoded = new Map<string, Buffer>();
/** Bound on `encoded`; cleared when reached (counted in `encodedResets`). */
export const ENCODED_MAX = 1024;
export let encodedResets = 0;

/** A JS string with a lone surrogate has no UTF-8 form: it would arrive as U+FFFD, another string. */
function wellFormed(s: string): void {
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    throw new EncodeError('malformed', `"${s.slice(0, 32)}" is not well-formed UTF-16`);
  }
}

function bytesOf(s: string): Buffer {
  let b = encoded.get(s);
  if (b === undefined) {
    wellFormed(s);
    if (encoded.size >= ENCODED_MAX) {
      encoded.clear();
      encodedResets++;
    }
    b = Buffer.from(s);
    encoded.set(s, b);
  }
  return b;
}

/** Writes a `str` at `at` (room: strMax); returns the offset after it. */
function str(dst: Buffer, at: number, s: string): number {
  if (s.length === 0) {
    dst[at] = 0;
    dst[at + 1] = 0;
    return at + 2;
  }
  if (s.length <= 64) {
    const b = bytesOf(s);
    dst[at] = b.length >> 8;
    dst[at + 1] = b.length & 0xff;
    return copyInto(b, dst, at + 2);
  }
  wellFormed(s);
  if (s.length * 3 < LONG_STR) {
    const n = utf8Write(dst, s, at + 2);
    dst.writeUInt16BE(n, at);
    return at + 2 + n;
  }
  // Possibly long: written after room for the long prefix, moved back if short.
  const n = utf8Write(dst, s, at + 6);
  if (n < LONG_STR) {
    dst.copyWithin(at + 2, at + 6, at + 6 + n);
    dst.writeUInt16BE(n, at);
    return at + 2 + n;
  }
  dst.writeUInt16BE(LONG_STR, at);
  dst.writeUInt32BE(n, at + 2);
  return at + 6 + n;
}
