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
 * MSG bodies are decoded into a reused frame without allocating
 * (msg-frame.ts); control frames here.
 */
import { isUtf8 } from 'node:buffer';
import { copyInto, utf8Write } from '../util/bytes.js';
import {
  DEST_PLAIN,
  type Dest,
  FrameError,
  LONG_STR,
  MsgDecoder,
  type MsgFrame,
} from './msg-frame.js';

export {
  DEST_PLAIN,
  type Dest,
  decodeMsg,
  FieldStrings,
  FrameError,
  MsgFrame,
} from './msg-frame.js';

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

export interface FrameHandler {
  /** A control frame; `body` is the parsed JSON (HELLO, LSA, INTEREST), text (ERR) or null. */
  onControl(type: number, body: unknown): void;
  /** A MSG or MSG_TO frame: the parser's one `MsgFrame`, valid until the next frame. */
  onMsg(frame: MsgFrame): void;
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
  private readonly msgs = new MsgDecoder();
  /** The one MSG frame this parser fills (`MsgFrame.lent` says whether a read was kept). */
  readonly msg = this.msgs.frame;

  constructor(
    private readonly handler: FrameHandler,
    /** The largest frame accepted (type + body), bytes; raised once a link is authenticated. */
    public maxFrame: number,
  ) {}

  /** Parses buf[0, len); returns the first error (then the parser is dead), or null. */
  feed(buf: Buffer, len = buf.length): FrameError | null {
    if (this.dead) return null;
    try {
      this.run(buf, len);
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

  private run(buf: Buffer, len: number): void {
    let pos = 0;
    while (pos < len && !this.dead) {
      if (this.want > 0) {
        // Continue a frame split across reads.
        const n = Math.min(this.want - this.fill, len - pos);
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
      if (this.headFill > 0 || len - pos < LEN) {
        const n = Math.min(LEN - this.headFill, len - pos);
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
      if (len - pos >= size) {
        this.frame(buf, pos, pos + size);
        pos += size;
      } else {
        this.want = size;
        this.fill = 0;
        this.pending = Buffer.allocUnsafe(Math.min(size, Math.max(FRAME_GROW_START, len - pos)));
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
    switch (type) {
      case FrameType.Msg:
        this.handler.onMsg(this.msgs.decode(buf, start + 1, end, false));
        return;
      case FrameType.MsgTo:
        this.handler.onMsg(this.msgs.decode(buf, start + 1, end, true));
        return;
    }
    const body = buf.subarray(start + 1, end);
    switch (type) {
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

/** Bytes of a sent head (type through destinations) `SentHead` keeps. */
export const SENT_HEAD_BYTES = 256;

/**
 * The head of the last MSG frame one link wrote for one destination node
 * without queue groups (type through destinations), kept to write the next
 * frame with the same fields by copying it instead of encoding it again:
 * the usual run of a publisher on one subject (bench/PROFILE.md, "Issue 16
 * — mesh").
 */
export class SentHead {
  private readonly bytes = Buffer.allocUnsafe(SENT_HEAD_BYTES);
  /** `bytes` as big-endian 32-bit words, for `writeView`. */
  private readonly words = new Uint32Array(SENT_HEAD_BYTES / 4);
  private len = 0;
  private ttl = -1;
  private account = '';
  private subject = '';
  private reply = '';
  private to = '';
  private node = '';
  private plain = false;

  /** Bytes `write` needs, when it would write (else -1). */
  size(ttl: number, account: string, subject: string, reply: string, d: Dest, to: string): number {
    if (
      this.len === 0 ||
      subject !== this.subject ||
      reply !== this.reply ||
      ttl !== this.ttl ||
      d.node !== this.node ||
      d.plain !== this.plain ||
      account !== this.account ||
      to !== this.to
    ) {
      return -1;
    }
    return LEN + this.len + 4;
  }

  /**
   * `write` four bytes at a time through `view`, a DataView of all of
   * `dst` (the connection's, kept per chunk).
   */
  writeView(dst: Buffer, view: DataView, at: number, headerLen: number, bodyLen: number): number {
    const n = this.len;
    view.setUint32(at, n + 4 + bodyLen);
    at += LEN;
    const w = this.words;
    const words = n >>> 2;
    for (let i = 0; i < words; i++) view.setUint32(at + 4 * i, w[i]);
    const b = this.bytes;
    for (let i = words * 4; i < n; i++) dst[at + i] = b[i];
    at += n;
    view.setUint32(at, headerLen);
    return at + 4;
  }

  /** Writes the kept head (after `size` said yes) at `at`; returns the offset after it. */
  write(dst: Buffer, at: number, headerLen: number, bodyLen: number): number {
    const n = this.len;
    const b = this.bytes;
    const total = n + 4 + bodyLen;
    dst[at] = total >>> 24;
    dst[at + 1] = (total >>> 16) & 0xff;
    dst[at + 2] = (total >>> 8) & 0xff;
    dst[at + 3] = total & 0xff;
    at += LEN;
    for (let i = 0; i < n; i++) dst[at + i] = b[i];
    at += n;
    dst[at] = headerLen >>> 24;
    dst[at + 1] = (headerLen >>> 16) & 0xff;
    dst[at + 2] = (headerLen >>> 8) & 0xff;
    dst[at + 3] = headerLen & 0xff;
    return at + 4;
  }

  /** Keeps the head `writeMsgHead` wrote at src[start, end) (length through header length). */
  keep(
    src: Buffer,
    start: number,
    end: number,
    ttl: number,
    account: string,
    subject: string,
    reply: string,
    d: Dest,
    to: string,
  ): void {
    const n = end - start - LEN - 4;
    if (n > SENT_HEAD_BYTES) {
      this.len = 0;
      return;
    }
    src.copy(this.bytes, 0, start + LEN, end - 4);
    for (let i = 0; i + 4 <= n; i += 4) this.words[i >>> 2] = this.bytes.readUInt32BE(i);
    this.len = n;
    this.ttl = ttl;
    this.account = account;
    this.subject = subject;
    this.reply = reply;
    this.to = to;
    this.node = d.node;
    this.plain = d.plain;
  }
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
