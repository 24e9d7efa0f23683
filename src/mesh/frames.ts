/**
 * The mesh link protocol (see docs/mesh.md): length-prefixed frames, JSON
 * control frames and binary data frames. `FrameParser` is pure: bytes in,
 * handler calls out; frames may be split anywhere across `feed` calls. The
 * encoders write into a caller's buffer so links batch like client sessions.
 *
 *   frame   := u32 length (of type + body) | u8 type | body
 *   MSG body := u8 ttl | u8+account | u16+subject | u16+reply
 *              | u8 count × (u8+node | u8 flags | u8 count × u8+queue)
 *              | u32 header length | headers | payload
 *   MSG_TO body := u8 ttl | u8+account | u16+subject | u16+reply | u16+to
 *              | (the rest as MSG)
 * MSG_TO is a message for the subscribers of `to` that they see as sent on
 * `subject` (a JetStream consumer's delivery to a client's inbox).
 * (`u8+x` is x in UTF-8 after its one-byte length; integers are big-endian.)
 */
import { copyInto, utf8Slice, utf8Write } from '../util/bytes.js';

/** 2: MSG_TO frames. */
export const LINK_PROTOCOL_VERSION = 2;

export const FrameType = {
  Hello: 1,
  Err: 2,
  Ping: 3,
  Pong: 4,
  Lsa: 5,
  Interest: 6,
  Sync: 7,
  Msg: 16,
  MsgTo: 17,
} as const;

/** Destination flag: deliver to the node's plain subscribers. */
export const DEST_PLAIN = 1;

/** Destinations (and queue groups per destination) one MSG frame can name. */
export const MAX_DESTS = 255;

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

const EMPTY = Buffer.alloc(0);
const LEN = 4;

export class FrameParser {
  /** Bytes of a frame that did not arrive whole, assembled here. */
  private pending: Buffer = EMPTY;
  private fill = 0;
  /** The 4-byte length prefix when it is itself split. */
  private readonly head = Buffer.alloc(LEN);
  private headFill = 0;
  private dead = false;
  private readonly strings = new FieldStrings();

  constructor(
    private readonly handler: FrameHandler,
    /** The largest frame accepted (type + body), bytes. */
    private readonly maxFrame: number,
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
      if (this.pending.length > 0) {
        // Continue a frame split across reads.
        const n = Math.min(this.pending.length - this.fill, buf.length - pos);
        buf.copy(this.pending, this.fill, pos, pos + n);
        this.fill += n;
        pos += n;
        if (this.fill < this.pending.length) return;
        const frame = this.pending;
        this.pending = EMPTY;
        this.fill = 0;
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
        this.pending = Buffer.allocUnsafe(size);
        this.fill = 0;
      }
    }
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
      case FrameType.Lsa:
      case FrameType.Interest: {
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

function readStr8(b: Buffer, strings: FieldStrings, slot: number): string {
  need(b, 1);
  const n = b[rd++];
  need(b, n);
  const s = strings.get(slot, b, rd, rd + n);
  rd += n;
  return s;
}

function readStr16(b: Buffer, strings: FieldStrings, slot: number): string {
  need(b, 2);
  const n = (b[rd] << 8) | b[rd + 1];
  rd += 2;
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
  const account = readStr8(b, strings, SLOT_ACCOUNT);
  const subject = readStr16(b, strings, SLOT_SUBJECT);
  if (subject === '') throw new FrameError('MSG frame has an empty subject');
  const reply = readStr16(b, strings, SLOT_REPLY);
  let to = '';
  if (withTo) {
    to = readStr16(b, strings, SLOT_TO);
    if (to === '') throw new FrameError('MSG_TO frame has an empty destination subject');
  }
  need(b, 1);
  const count = b[rd++];
  const dests: Dest[] = [];
  for (let i = 0; i < count; i++) {
    const node = readStr8(b, strings, SLOT_NODE + Math.min(i, 4));
    need(b, 2);
    const flags = b[rd++];
    const nq = b[rd++];
    const queues: string[] = nq === 0 ? NO_QUEUES : [];
    for (let q = 0; q < nq; q++) queues.push(readStr8(b, strings, SLOT_QUEUE + Math.min(q, 4)));
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

/** Room `writeMsgHead` may need (strings counted at 3 bytes per UTF-16 unit). */
export function msgHeadMax(
  account: string,
  subject: string,
  reply: string,
  dests: readonly Dest[],
  to = '',
): number {
  let n =
    LEN + 1 + 1 + 1 + account.length * 3 + 2 + subject.length * 3 + 2 + reply.length * 3 + 1 + 4;
  if (to !== '') n += 2 + to.length * 3;
  for (const d of dests) {
    n += 1 + d.node.length * 3 + 2;
    for (const q of d.queues) n += 1 + q.length * 3;
  }
  return n;
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
  at = str8(dst, at, account);
  at = str16(dst, at, subject);
  at = str16(dst, at, reply);
  if (to !== '') at = str16(dst, at, to);
  if (dests.length > MAX_DESTS)
    throw new FrameError(`more than ${MAX_DESTS} destinations in one frame`);
  dst[at++] = dests.length;
  for (const d of dests) {
    at = str8(dst, at, d.node);
    dst[at++] = d.plain ? DEST_PLAIN : 0;
    if (d.queues.length > MAX_DESTS)
      throw new FrameError(`more than ${MAX_DESTS} queue groups for one node`);
    dst[at++] = d.queues.length;
    for (const q of d.queues) at = str8(dst, at, q);
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

function bytesOf(s: string): Buffer {
  let b = encoded.get(s);
  if (b === undefined) {
    if (encoded.size >= ENCODED_MAX) {
      encoded.clear();
      encodedResets++;
    }
    b = Buffer.from(s);
    encoded.set(s, b);
  }
  return b;
}

function str8(dst: Buffer, at: number, s: string): number {
  if (s.length <= 64) {
    const b = bytesOf(s);
    if (b.length > 255) throw new FrameError(`"${s.slice(0, 32)}…" is longer than 255 bytes`);
    dst[at] = b.length;
    return copyInto(b, dst, at + 1);
  }
  const n = utf8Write(dst, s, at + 1);
  if (n > 255) throw new FrameError(`"${s.slice(0, 32)}…" is longer than 255 bytes`);
  dst[at] = n;
  return at + 1 + n;
}

function str16(dst: Buffer, at: number, s: string): number {
  if (s.length === 0) {
    dst[at] = 0;
    dst[at + 1] = 0;
    return at + 2;
  }
  if (s.length <= 64) {
    const b = bytesOf(s);
    dst.writeUInt16BE(b.length, at);
    return copyInto(b, dst, at + 2);
  }
  const n = utf8Write(dst, s, at + 2);
  if (n > 65535) throw new FrameError('subject longer than 65535 bytes');
  dst.writeUInt16BE(n, at);
  return at + 2 + n;
}
