/**
 * A MSG (or MSG_TO) frame as it is read (the format: frames.ts, docs/mesh.md),
 * decoded without allocating on the common path. Each link's parser owns
 * one `MsgFrame` and fills it for every data frame: its fields are offsets
 * into the bytes read and strings decoded once, so a node that only passes
 * a message on (`Link.relayMsg`) copies its bytes and creates nothing, and a
 * node that delivers it asks for a `Message` of its own (`message()`).
 *
 * Three caches make a run of frames with the same fields cheap (profile:
 * bench/PROFILE.md, "Issue 16 — mesh"): the head (account through
 * destinations) of the last frame, compared as bytes and reused whole; each
 * string field's last bytes and string (`FieldStrings`); and the last
 * destination list. Reused values are shared between frames and never
 * modified by their readers.
 */
import { isUtf8 } from 'node:buffer';
import { type Message, RangeMessage } from '../core/message.js';
import { utf8Slice } from '../util/bytes.js';

/** Destination flag: deliver to the node's plain subscribers. */
export const DEST_PLAIN = 1;

export interface Dest {
  node: string;
  plain: boolean;
  queues: string[];
}

export class FrameError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'FrameError';
  }
}

const EMPTY = Buffer.alloc(0);
/** Shared by decoded destinations without queue groups; never modified. */
const NO_QUEUES: string[] = Object.freeze([]) as unknown as string[];
const NO_DESTS: readonly Dest[] = Object.freeze([]) as readonly Dest[];

/**
 * Bytes of a head (account through destinations) the decoder keeps to
 * compare the next frame's with; a longer head is decoded field by field.
 */
export const HEAD_CACHE_BYTES = 512;
/** Bytes of a destination list kept to compare the next frame's with. */
export const DEST_CACHE_BYTES = 256;
/** Bytes of one string field kept per slot by `FieldStrings`. */
export const FIELD_CACHE_BYTES = 256;

/**
 * One MSG frame: valid until the parser reads the next one (the object and
 * the bytes it points into are reused). Receivers that keep anything take
 * `message()` (whose payload is a view of the bytes read: the core's
 * contract, core/message.ts).
 */
export class MsgFrame implements Message {
  /** The bytes the frame is in; its body (from the TTL) is buf[start, end). */
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  ttl = 0;
  account = '';
  subject = '';
  reply = '';
  /** Where it is delivered, when not `subject` (MSG_TO); '' for MSG. */
  to = '';
  dests: readonly Dest[] = NO_DESTS;
  /** Offset of the headers in `buf`; the payload follows them. */
  hstart = 0;
  hlen = 0;
  /**
   * Set when something was given a reference into `buf` (a message, a
   * view, a relayed run queued by reference): the link's reader must not
   * read into those bytes again (slab-reader.ts). The link clears it.
   */
  lent = false;
  /** Which head (account through destinations) this is: changes whenever the decoder decodes one. */
  head = 0;

  get headers(): Buffer | null {
    if (this.hlen === 0) return null;
    this.lent = true;
    return this.buf.subarray(this.hstart, this.hstart + this.hlen);
  }

  get payload(): Buffer {
    this.lent = true;
    return this.buf.subarray(this.hstart + this.hlen, this.end);
  }

  /** Bytes of headers and payload. */
  get size(): number {
    return this.end - this.hstart;
  }

  /** The body as received (for tests; relaying copies buf[start, end)). */
  get raw(): Buffer {
    this.lent = true;
    return this.buf.subarray(this.start, this.end);
  }

  /** A message of its own for the router (the same shape as a client's publish). */
  message(): Message {
    // Views of headers and payload are made only if a receiver asks (a
    // client session copies from the range).
    const hlen = this.hlen === 0 ? -1 : this.hlen;
    this.lent = true;
    return new RangeMessage(
      this.subject,
      this.reply,
      this.buf,
      this.hstart,
      hlen,
      this.end,
      this.to,
    );
  }
}

/** Field slots of `FieldStrings`: queues and nodes past these share the last slots. */
const SLOT_ACCOUNT = 0;
const SLOT_SUBJECT = 1;
const SLOT_REPLY = 2;
const SLOT_NODE = 3;
const SLOT_QUEUE = 8;
const SLOT_TO = 13;
const SLOTS = 14;

/**
 * Repeated strings of MSG frames (account, subject, node and queue names)
 * decoded once: a field whose bytes equal its previous value gets the same
 * string back, so decoding allocates nothing and later Map lookups hit
 * strings V8 has hashed already. The last bytes of each slot are kept in
 * one buffer allocated with the parser.
 */
export class FieldStrings {
  private readonly bytes = Buffer.allocUnsafe(SLOTS * FIELD_CACHE_BYTES);
  private readonly lens = new Int32Array(SLOTS).fill(-1);
  private readonly strings: string[] = new Array<string>(SLOTS).fill('');

  /** The string of b[start, end) for field slot `slot`. */
  get(slot: number, b: Buffer, start: number, end: number): string {
    const n = end - start;
    if (n === 0) return '';
    const base = slot * FIELD_CACHE_BYTES;
    const last = this.bytes;
    if (this.lens[slot] === n) {
      let i = 0;
      while (i < n && b[start + i] === last[base + i]) i++;
      if (i === n) return this.strings[slot];
    }
    if (!isUtf8(b.subarray(start, end))) {
      throw new FrameError('MSG frame has a string that is not valid UTF-8');
    }
    const s = utf8Slice(b, start, end);
    if (n <= FIELD_CACHE_BYTES) {
      for (let i = 0; i < n; i++) last[base + i] = b[start + i];
      this.lens[slot] = n;
      this.strings[slot] = s;
    } else this.lens[slot] = -1;
    return s;
  }
}

/** The length that says a u32 length follows. */
export const LONG_STR = 0xffff;

// The read position and end of a decode: decoding is synchronous, so one
// module cursor serves every parser, without a closure per frame.
let rd = 0;
let lim = 0;

function need(n: number): void {
  if (rd + n > lim) throw new FrameError('MSG frame is truncated');
}

/** A `str`: u16 length, or 0xFFFF and a u32 length; then the bytes. */
function readStr(b: Buffer, strings: FieldStrings, slot: number): string {
  need(2);
  let n = (b[rd] << 8) | b[rd + 1];
  rd += 2;
  if (n === LONG_STR) {
    need(4);
    n = b.readUInt32BE(rd);
    rd += 4;
  }
  need(n);
  const s = strings.get(slot, b, rd, rd + n);
  rd += n;
  return s;
}

/** Whether b[at, at + n) equals cache[0, n). */
function sameBytes(b: Buffer, at: number, cache: Buffer, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[at + i] !== cache[i]) return false;
  return true;
}

/** Decodes the MSG frames of one parser into its one reused `MsgFrame`. */
export class MsgDecoder {
  readonly frame = new MsgFrame();
  private readonly strings = new FieldStrings();
  /** The last head's bytes (after the TTL, through the destinations); 0: none. */
  private readonly head = Buffer.allocUnsafe(HEAD_CACHE_BYTES);
  private headLen = 0;
  private headTo = false;
  /** The last destination list's bytes (from its count) and the list. */
  private readonly destBytes = Buffer.allocUnsafe(DEST_CACHE_BYTES);
  private destLen = 0;
  private dests: readonly Dest[] = NO_DESTS;

  /**
   * Decodes the body b[start, end) of a MSG (or, `withTo`, MSG_TO) frame
   * into `frame`; throws FrameError when it does not hold together.
   */
  decode(b: Buffer, start: number, end: number, withTo: boolean): MsgFrame {
    const f = this.frame;
    // The common path reads with a local offset (the module cursor is for
    // `decodeHead`), and the kept head is compared four bytes at a time
    // (parse + decode of a 16 B frame in process: 82 → 38 ns, bench/PROFILE.md).
    if (end - start < 5) throw new FrameError('MSG frame is truncated');
    const ttl = b[start];
    let at = start + 1;
    const hl = this.headLen;
    if (hl > 0 && withTo === this.headTo && at + hl + 4 <= end && this.sameHead(b, at, hl)) {
      // The same account, subject, reply, destination and destinations as the last frame.
      at += hl;
    } else {
      rd = at;
      lim = end;
      this.decodeHead(b, withTo);
      at = rd;
      if (at + 4 > end) throw new FrameError('MSG frame is truncated');
    }
    const hlen = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
    at += 4;
    if (hlen > end - at) throw new FrameError('MSG frame is truncated');
    f.buf = b;
    f.start = start;
    f.end = end;
    f.ttl = ttl;
    f.hstart = at;
    f.hlen = hlen;
    return f;
  }

  /**
   * A DataView of the whole memory of the last buffer decoded from: one per
   * slab a link reads into, not one per read (~60 B per read, bench/PROFILE.md,
   * "Issue 16 — meshmid (round 12)").
   */
  private view: DataView = new DataView(new ArrayBuffer(0));
  private viewOf: ArrayBufferLike = EMPTY.buffer;
  /** The last buffer compared in, and its offset in the view (checked per frame: `.buffer` is not cheap). */
  private lastBuf: Buffer = EMPTY;
  private lastBase = 0;
  /** The kept head as big-endian 32-bit words (its last `headLen % 4` bytes: in `head`). */
  private readonly headWords = new Uint32Array(HEAD_CACHE_BYTES / 4);

  /** Whether b[at, at + n) is the kept head: four bytes at a time. */
  private sameHead(b: Buffer, at: number, n: number): boolean {
    if (b !== this.lastBuf) {
      if (b.buffer !== this.viewOf) {
        this.view = new DataView(b.buffer);
        this.viewOf = b.buffer;
      }
      this.lastBuf = b;
      this.lastBase = b.byteOffset;
    }
    const v = this.view;
    const w = this.headWords;
    const words = n >>> 2;
    const o = this.lastBase + at;
    for (let i = 0; i < words; i++) if (v.getUint32(o + 4 * i) !== w[i]) return false;
    const head = this.head;
    for (let i = words * 4; i < n; i++) if (b[at + i] !== head[i]) return false;
    return true;
  }

  private decodeHead(b: Buffer, withTo: boolean): void {
    const f = this.frame;
    const strings = this.strings;
    const from = rd;
    this.headLen = 0;
    f.account = readStr(b, strings, SLOT_ACCOUNT);
    f.subject = readStr(b, strings, SLOT_SUBJECT);
    if (f.subject === '') throw new FrameError('MSG frame has an empty subject');
    f.reply = readStr(b, strings, SLOT_REPLY);
    f.to = '';
    if (withTo) {
      f.to = readStr(b, strings, SLOT_TO);
      if (f.to === '') throw new FrameError('MSG_TO frame has an empty destination subject');
    }
    const dl = this.destLen;
    if (dl > 0 && rd + dl <= lim && sameBytes(b, rd, this.destBytes, dl)) rd += dl;
    else this.decodeDests(b);
    f.dests = this.dests;
    f.head++;
    const n = rd - from;
    if (n <= HEAD_CACHE_BYTES) {
      b.copy(this.head, 0, from, rd);
      for (let i = 0; i + 4 <= n; i += 4) this.headWords[i >>> 2] = this.head.readUInt32BE(i);
      this.headLen = n;
      this.headTo = withTo;
    }
  }

  private decodeDests(b: Buffer): void {
    const strings = this.strings;
    const from = rd;
    this.destLen = 0;
    need(1);
    const count = b[rd++];
    const dests: Dest[] = [];
    for (let i = 0; i < count; i++) {
      const node = readStr(b, strings, SLOT_NODE + Math.min(i, 4));
      need(2);
      const flags = b[rd++];
      const nq = b[rd++];
      const queues: string[] = nq === 0 ? NO_QUEUES : [];
      for (let q = 0; q < nq; q++) queues.push(readStr(b, strings, SLOT_QUEUE + Math.min(q, 4)));
      dests.push({ node, plain: (flags & DEST_PLAIN) !== 0, queues });
    }
    this.dests = dests;
    const n = rd - from;
    if (n <= DEST_CACHE_BYTES) {
      b.copy(this.destBytes, 0, from, rd);
      this.destLen = n;
    }
  }
}

/**
 * Reads a MSG (or, `withTo`, MSG_TO) body on its own (tests); throws
 * FrameError when it does not hold together.
 */
export function decodeMsg(b: Buffer, withTo = false): MsgFrame {
  return new MsgDecoder().decode(b, 0, b.length, withTo);
}
