/**
 * The file store's record format. A segment file is a sequence of records,
 * each a 32-byte header and a body, all little-endian:
 *
 * ```
 *  0 u32 length    whole record, header included
 *  4 u32 crc       CRC-32 of bytes [8, length)
 *  8 u8  type      MSG | DELETE | PURGE | META
 *  9 u8  flags     bit 0: the message has a header block (possibly empty)
 * 10 u16 subjLen   bytes of the UTF-8 subject
 * 12 u32 hdrLen    bytes of the header block
 * 16 f64 seq       MSG: its sequence; DELETE: the removed one; PURGE: upTo; META: lastSeq
 * 24 f64 time      MSG: its time; META: lastTime
 * 32 subject, headers, payload
 * ```
 *
 * A PURGE record holds its filter as the subject ('' = all) and removes the
 * held messages matching it with a sequence below `seq`. The store turns a
 * purge's `keep` into that bound before writing it, so replaying a purge
 * removes the same messages whatever else is on disk: a record's effect on
 * a message depends on that message alone. Compaction relies on this.
 *
 * Every segment starts with a META record carrying the last sequence and
 * time at its creation, so they survive when every message is gone. A
 * META record may also stand anywhere else in a segment: `skip` writes one
 * to move lastSeq on. Replay raises lastSeq (and lastTime) to a META's
 * whenever it is higher, wherever the record is, so files with such
 * records read the same in versions that predate `skip`.
 */
import { recordCrc } from './file-crc-run.js';
import { crc32, crc32After } from './file-crc32.js';
import type { StoredMessage } from './store.js';

export const HEADER = 32;
export const T_MSG = 1;
export const T_DELETE = 2;
export const T_PURGE = 3;
export const T_META = 4;
const F_HEADERS = 1;
/** No record is longer than this, whatever `maxMsgSize` said when it was written. */
export const MAX_RECORD = 0x7fff_ffff;

/** Seals a record whose header fields and body are in place: writes the length and CRC. */
function seal(buf: Buffer, off = 0, len = buf.length): Buffer {
  u32(buf, off, len);
  u32(buf, off + 4, crc32(buf, off + 8, off + len));
  return buf;
}

function head(
  buf: Buffer,
  off: number,
  type: number,
  flags: number,
  subjLen: number,
  hdrLen: number,
): void {
  buf[off + 8] = type;
  buf[off + 9] = flags;
  buf[off + 10] = subjLen;
  buf[off + 11] = subjLen >>> 8;
  u32(buf, off + 12, hdrLen);
}

/**
 * `buf.writeUInt32LE(v, at)` for a `v` known to be a u32 and `at` within
 * `buf` (the record's room is claimed first): four stores, where Node's
 * checks of value and offset were ~3 % of an XADD's main thread
 * (bench/PROFILE.md, "Issue 16 — xadd3 (round 12)").
 */
function u32(buf: Buffer, at: number, v: number): void {
  buf[at] = v;
  buf[at + 1] = v >>> 8;
  buf[at + 2] = v >>> 16;
  buf[at + 3] = v >>> 24;
}

/** The length of a MSG record. */
export function msgLength(subjLen: number, headers: Buffer | null, payload: Buffer): number {
  return HEADER + subjLen + (headers === null ? 0 : headers.length) + payload.length;
}

/**
 * Writes a MSG record of `len` bytes (`msgLength`) into `buf` at `off`.
 * `subjLen` is `Buffer.byteLength(subject)`, known to the caller. The
 * payload is `payload[pStart, pEnd)`: a caller holding a range of a read
 * buffer passes it without making a view of it. `stamp` (-1: none)
 * vouches for the header block's first bytes, for a CRC worked out from
 * the last record like this one (file-crc-run.ts); the bytes are the same.
 */
export function encodeMsgAt(
  buf: Buffer,
  off: number,
  len: number,
  seq: number,
  time: number,
  subject: string,
  subjLen: number,
  headers: Buffer | null,
  payload: Buffer,
  pStart = 0,
  pEnd = payload.length,
  stamp = -1,
): void {
  const hdrLen = headers === null ? 0 : headers.length;
  const flags = headers === null ? 0 : F_HEADERS;
  // The sequence and time as words: written, and kept for recordCrc.
  let sLo = 0;
  let sHi = 0;
  let tLo = 0;
  let tHi = 0;
  // A record in an arena (the writer's, file-write-queue.ts): its header's
  // words through the arena's DataView, not a byte at a time.
  const dv = LE && buf.length >= VIEW_MIN ? viewOf(buf) : null;
  if (LE) {
    F64[0] = seq;
    sLo = W32[0]!;
    sHi = W32[1]!;
    F64[0] = time;
    tLo = W32[0]!;
    tHi = W32[1]!;
  }
  if (dv !== null) {
    dv.setUint32(off + 8, T_MSG | (flags << 8) | (subjLen << 16), true);
    dv.setUint32(off + 12, hdrLen, true);
    dv.setInt32(off + 16, sLo, true);
    dv.setInt32(off + 20, sHi, true);
    dv.setInt32(off + 24, tLo, true);
    dv.setInt32(off + 28, tHi, true);
  } else if (LE) {
    head(buf, off, T_MSG, flags, subjLen, hdrLen);
    u32(buf, off + 16, sLo);
    u32(buf, off + 20, sHi);
    u32(buf, off + 24, tLo);
    u32(buf, off + 28, tHi);
  } else {
    head(buf, off, T_MSG, flags, subjLen, hdrLen);
    buf.writeDoubleLE(seq, off + 16);
    buf.writeDoubleLE(time, off + 24);
    stamp = -1;
  }
  writeSubject(buf, off + HEADER, subject, subjLen);
  // `set`, not `copy`: the same copy without Buffer#copy's argument checks.
  if (headers !== null) SET.call(buf, headers, off + HEADER + subjLen);
  const at = off + HEADER + subjLen + hdrLen;
  const whole = pStart === 0 && pEnd === payload.length;
  if (pEnd - pStart <= PAYLOAD_JS_MAX) {
    if (whole) SET.call(buf, payload, at);
    else copyRange(buf, at, payload, pStart, pEnd);
    const crc = headCrc(buf, off, off + len, subject, subjLen, hdrLen, stamp, sLo, sHi, tLo, tHi);
    if (dv !== null) {
      dv.setUint32(off, len, true);
      dv.setUint32(off + 4, crc, true);
    } else {
      u32(buf, off, len);
      u32(buf, off + 4, crc);
    }
    return;
  }
  // A longer payload: one view of it (none when it is all of `payload`),
  // copied from and checked where it is; the CRC runs on from the bytes
  // before it. (`copy` of a range, and a CRC of the record's range, would
  // each make a view.)
  const view = whole ? payload : payload.subarray(pStart, pEnd);
  buf.set(view, at);
  u32(buf, off, len);
  const before = headCrc(buf, off, at, subject, subjLen, hdrLen, stamp, sLo, sHi, tLo, tHi);
  u32(buf, off + 4, crc32After(before, view));
}

/**
 * `Uint8Array.prototype.set`, called as `SET.call(buf, src, at)`: a call of
 * a known function, where `buf.set` was a property load that optimised
 * code left to the generic LoadIC (~1 % of an XADD's main thread; bench/PROFILE.md,
 * "Issue 16 — xadd6 (round 14)").
 */
const SET = Uint8Array.prototype.set;

/**
 * The CRC of the record at `off` up to `end`: over the bytes (stamp < 0),
 * or with the header block's stamp (recordCrc, the XADD path). recordCrc
 * also takes stamp < 0, but through it a plain record (NATS, Kafka) paid
 * one more call, not inlined: 3–5 ns a record (record-ab.mjs, 2 runs each
 * shape), so the no-stamp case is decided here.
 */
function headCrc(
  buf: Buffer,
  off: number,
  end: number,
  subject: string,
  subjLen: number,
  hdrLen: number,
  stamp: number,
  sLo: number,
  sHi: number,
  tLo: number,
  tHi: number,
): number {
  if (stamp < 0) return crc32(buf, off + 8, end);
  const hdrAt = off + HEADER + subjLen;
  return recordCrc(buf, off, hdrAt, end, subject, subjLen, hdrLen, stamp, sLo, sHi, tLo, tHi);
}

/**
 * Buffers this long or longer (the writer's arenas, 256 KiB) get their
 * header words written through a DataView, kept for the last such buffer
 * (one: bounded): 7 word stores where 28 byte stores and their shifts
 * were ~17 ns a record (bench/PROFILE.md, "Issue 16 — xadd7 (round 15)").
 * A record in a buffer of its own is written a byte at a time (a DataView
 * per record would cost more than it saves).
 */
const VIEW_MIN = 16 * 1024;
let viewBuf: Uint8Array | null = null;
let arenaView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** The DataView of `buf`'s bytes, made when `buf` is not the last one asked for. */
function viewOf(buf: Buffer): DataView {
  if (buf !== viewBuf) {
    arenaView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    viewBuf = buf;
  }
  return arenaView;
}

/** A scratch double and its two words: a record's sequence and time are written word by word. */
const F64 = new Float64Array(1);
const W32 = new Int32Array(F64.buffer);
/**
 * Whether this machine's words are little-endian (the records' order; on
 * others the doubles go through `writeDoubleLE`). Two `writeDoubleLE` per
 * record, with their checks, were ~3.5 % of an XADD's main thread.
 */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A payload up to this long is copied a byte at a time when it is a range
 * of a buffer (`copy` of a range makes a view of it first, an allocation
 * costing more than the copy) and checked with the record.
 */
const PAYLOAD_JS_MAX = 64;

/**
 * `src[s, e)` copied to `buf[at…]` (distinct buffers): four bytes a step,
 * then the last four whatever the length (overlapping the loop's last
 * step), so every payload of four bytes or more takes the same steps. The
 * byte loop was the largest line of `encodeMsgAt` with XADD's 16-byte
 * values, a range of the read buffer (bench/PROFILE.md, "Issue 16 — xadd7
 * (round 15)").
 */
function copyRange(buf: Buffer, at: number, src: Buffer, s: number, e: number): void {
  const n = e - s;
  if (n < 4) {
    for (let i = 0; i < n; i++) buf[at + i] = src[s + i]!;
    return;
  }
  const end = n - 4;
  for (let i = 0; i < end; i += 4) {
    buf[at + i] = src[s + i]!;
    buf[at + i + 1] = src[s + i + 1]!;
    buf[at + i + 2] = src[s + i + 2]!;
    buf[at + i + 3] = src[s + i + 3]!;
  }
  buf[at + end] = src[s + end]!;
  buf[at + end + 1] = src[s + end + 1]!;
  buf[at + end + 2] = src[s + end + 2]!;
  buf[at + end + 3] = src[s + end + 3]!;
}

/** Subjects up to this long, and ASCII, are copied in JavaScript (no call into C++). */
const SUBJECT_JS_MAX = 64;

/**
 * The subject of the last KEEP_AFTER records when they all had the same
 * one, and its bytes: a stream's records mostly share one (every XADD to
 * a Redis stream does), then copied with one `set` — ~16 ns for 48 bytes,
 * where the loop by character took 75–95 (bench/PROFILE.md, "Issue 16 —
 * xadd4 (round 13)"). One subject kept: bounded.
 */
let keptSubject = '';
let keptBytes = new Uint8Array(0);
/** The subject written last, and how many records in a row had it. */
let lastSubject = '';
let lastRun = 0;
/**
 * Records in a row with one subject before it is kept. Not 2: V8 gathers
 * type feedback for a function from about its 8th call, and a path taken
 * only before that deoptimises when first taken in optimised code — here
 * at a process's second subject (the Redis XADD row's new stream). 16:
 * the path that keeps a subject is taken with feedback.
 */
const KEEP_AFTER = 16;

/**
 * Writes `subject` (`subjLen` UTF-8 bytes) at `buf[at…]`: the kept bytes
 * when it is the kept subject; else an ASCII subject (its UTF-8 length is
 * its UTF-16 length: any other code unit takes 2 or 3 bytes) of up to
 * SUBJECT_JS_MAX is copied a character a byte, and any other encoded.
 */
function writeSubject(buf: Buffer, at: number, subject: string, subjLen: number): void {
  if (subject === keptSubject) {
    SET.call(buf, keptBytes, at);
    return;
  }
  if (subjLen === subject.length && subjLen <= SUBJECT_JS_MAX) {
    for (let k = 0; k < subjLen; k++) buf[at + k] = subject.charCodeAt(k);
  } else buf.write(subject, at, subjLen, 'utf8');
  lastRun = subject === lastSubject ? lastRun + 1 : 1;
  lastSubject = subject;
  if (lastRun >= KEEP_AFTER) {
    keptBytes = new Uint8Array(subjLen);
    keptBytes.set(buf.subarray(at, at + subjLen));
    keptSubject = subject;
  }
}

/** A MSG record in a buffer of its own. */
export function encodeMsg(
  seq: number,
  time: number,
  subject: string,
  subjLen: number,
  headers: Buffer | null,
  payload: Buffer,
): Buffer {
  const len = msgLength(subjLen, headers, payload);
  const buf = Buffer.allocUnsafe(len);
  encodeMsgAt(buf, 0, len, seq, time, subject, subjLen, headers, payload);
  return buf;
}

/** A DELETE, PURGE or META record (no headers, no payload). */
export function encodeControl(type: number, seq: number, time: number, subject = ''): Buffer {
  const subjLen = Buffer.byteLength(subject);
  const buf = Buffer.allocUnsafe(HEADER + subjLen);
  head(buf, 0, type, 0, subjLen, 0);
  buf.writeDoubleLE(seq, 16);
  buf.writeDoubleLE(time, 24);
  if (subjLen > 0) buf.write(subject, HEADER, subjLen, 'utf8');
  return seal(buf);
}

/**
 * Why the record at `buf[off…]` is not valid, or null when it is. `avail`
 * is how many bytes of it exist (the rest of the file). The whole record
 * must be in `buf` when its length fits in `avail`.
 */
export function checkRecord(buf: Buffer, off: number, avail: number): string | null {
  if (avail < HEADER) return `short header (${avail} bytes)`;
  const len = buf.readUInt32LE(off);
  if (len < HEADER || len > MAX_RECORD) return `bad length ${len}`;
  if (len > avail) return `short record (${len} bytes, ${avail} present)`;
  const type = buf[off + 8]!;
  if (type < T_MSG || type > T_META) return `bad type ${type}`;
  if (buf.readUInt16LE(off + 10) + buf.readUInt32LE(off + 12) > len - HEADER) {
    return 'bad field lengths';
  }
  if (crc32(buf, off + 8, off + len) !== buf.readUInt32LE(off + 4)) return 'checksum mismatch';
  const seq = buf.readDoubleLE(off + 16);
  if (!Number.isSafeInteger(seq) || seq < 0) return `bad sequence ${seq}`;
  return null;
}

/** Cheap checks on a header alone, before paying for a CRC (used to look past damage). */
export function plausibleHeader(buf: Buffer, off: number, avail: number): boolean {
  if (avail < HEADER) return false;
  const len = buf.readUInt32LE(off);
  if (len < HEADER || len > avail) return false;
  const type = buf[off + 8]!;
  if (type < T_MSG || type > T_META || buf[off + 9]! > 1) return false;
  return buf.readUInt16LE(off + 10) + buf.readUInt32LE(off + 12) <= len - HEADER;
}

export const recType = (buf: Buffer, off: number): number => buf[off + 8]!;
export const recLength = (buf: Buffer, off: number): number => buf.readUInt32LE(off);
export const recSeq = (buf: Buffer, off: number): number => buf.readDoubleLE(off + 16);
export const recTime = (buf: Buffer, off: number): number => buf.readDoubleLE(off + 24);
export const recSubjLen = (buf: Buffer, off: number): number => buf.readUInt16LE(off + 10);
export const recSubject = (buf: Buffer, off: number): string =>
  buf.toString('utf8', off + HEADER, off + HEADER + recSubjLen(buf, off));

/** The header block and payload of a MSG record, as views of `buf`. */
export function recBody(buf: Buffer, off: number): { headers: Buffer | null; payload: Buffer } {
  const len = recLength(buf, off);
  const subjEnd = off + HEADER + recSubjLen(buf, off);
  const hdrEnd = subjEnd + buf.readUInt32LE(off + 12);
  return {
    headers: buf[off + 9]! & F_HEADERS ? buf.subarray(subjEnd, hdrEnd) : null,
    payload: buf.subarray(hdrEnd, off + len),
  };
}

/**
 * What an append resolves with: headers and payload are views of the
 * record (at `off` in `buf`, which is never written again), made only
 * when asked for (most callers want the sequence alone).
 */
export class AppendedMessage implements StoredMessage {
  private body: { headers: Buffer | null; payload: Buffer } | null = null;
  constructor(
    readonly seq: number,
    readonly subject: string,
    readonly time: number,
    private readonly buf: Buffer,
    private readonly off: number,
  ) {}

  get headers(): Buffer | null {
    this.body ??= recBody(this.buf, this.off);
    return this.body.headers;
  }

  get payload(): Buffer {
    this.body ??= recBody(this.buf, this.off);
    return this.body.payload;
  }
}
