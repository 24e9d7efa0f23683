/**
 * Produce's request body and response, read and written by hand (v3–v9).
 * No I/O.
 *
 * The schema-driven codec (codec.ts) reads and writes any message by its
 * field plan; shared by every API, its property accesses are megamorphic,
 * and per 16 KiB Produce request it cost ~4 µs to read the body and ~4.7 µs
 * to write the answer, more than the store's append of a 1 KiB record
 * (bench/PROFILE.md, "Issue 16 — kafka6 (round 12)"). These give the same
 * values and bytes. Anything they do not take on the fast path (a length
 * that does not fit, tagged fields, a varint over 4 bytes, a value the
 * schema would refuse) goes to the schema codec from the same start, so
 * every error and its message is the schema codec's.
 */
import { decodeMessage, type Message, REQUESTS } from './codec.js';
import { type Reader, StringMemo } from './wire.js';

const PRODUCE_REQUEST = REQUESTS.get(0)!;

/** The last topic name read (one producer writes one topic). */
const names = new StringMemo();

/** Where the fast reader is: a position, or -1 once it gave up. */
let pos = 0;

/** An unsigned varint of at most 4 bytes at `pos` (advances it), or -1 (pos = -1). */
function uvarint4(buf: Buffer, end: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) break;
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return v;
    mul *= 128;
  }
  pos = -1;
  return -1;
}

/**
 * A length or count: compact (unsigned varint of n + 1, 0 = null) or classic
 * (int16 for strings, int32 otherwise; -1 = null). -2 when the fast reader
 * gave up (pos = -1).
 */
function lengthAt(buf: Buffer, end: number, compact: boolean, int16: boolean): number {
  if (compact) {
    const u = uvarint4(buf, end);
    return u < 0 ? -2 : u - 1;
  }
  const w = int16 ? 2 : 4;
  if (end - pos < w) {
    pos = -1;
    return -2;
  }
  const n = int16 ? buf.readInt16BE(pos) : buf.readInt32BE(pos);
  pos += w;
  return n;
}

/** An empty tagged-field section (flexible versions); anything else gives up. */
function noTags(buf: Buffer, end: number): void {
  if (pos < end && buf[pos] === 0) pos++;
  else pos = -1;
}

function fastRequest(r: Reader, version: number): Message | null {
  const buf = r.buf;
  const end = r.end;
  const flex = version >= 9;
  pos = r.pos;
  // transactionalId: nullable string.
  let n = lengthAt(buf, end, flex, true);
  if (n < -1 || (n >= 0 && end - pos < n)) return null;
  const transactionalId = n === -1 ? null : buf.toString('utf8', pos, pos + n);
  if (n > 0) pos += n;
  if (end - pos < 6) return null;
  const acks = buf.readInt16BE(pos);
  const timeoutMs = buf.readInt32BE(pos + 2);
  pos += 6;
  const topics = lengthAt(buf, end, flex, false);
  if (topics < 0 || topics > end - pos) return null;
  const topicData = new Array<Message>(topics);
  for (let t = 0; t < topics; t++) {
    n = lengthAt(buf, end, flex, true);
    if (n < 0 || end - pos < n) return null;
    const name = names.utf8(buf, pos, n);
    pos += n;
    const parts = lengthAt(buf, end, flex, false);
    if (parts < 0 || parts > end - pos) return null;
    const partitionData = new Array<Message>(parts);
    for (let p = 0; p < parts; p++) {
      if (end - pos < 4) return null;
      const index = buf.readInt32BE(pos);
      pos += 4;
      n = lengthAt(buf, end, flex, false);
      if (n < -1 || (n >= 0 && end - pos < n)) return null;
      let records: Buffer | null = null;
      if (n >= 0) {
        records = buf.subarray(pos, pos + n);
        pos += n;
      }
      if (flex) noTags(buf, end);
      if (pos < 0) return null;
      partitionData[p] = { index, records };
    }
    if (flex) noTags(buf, end);
    if (pos < 0) return null;
    topicData[t] = { name, partitionData };
  }
  if (flex) noTags(buf, end);
  if (pos < 0) return null;
  r.pos = pos;
  return { transactionalId, acks, timeoutMs, topicData };
}

/**
 * Produce's request body at `version` (3–9) from r (which it advances): the
 * values decodeMessage gives (records are views of the frame), and its
 * errors for a body it refuses.
 */
export function decodeProduceRequest(version: number, r: Reader): Message {
  const start = r.pos;
  const m = fastRequest(r, version);
  if (m !== null) return m;
  r.pos = start;
  return decodeMessage(PRODUCE_REQUEST, version, r);
}

// --- the response ------------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function uvarintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** An int64 field as a safe integer (bigint or number), or null when the fast path does not take it. */
function int64Of(v: unknown): number | null {
  if (typeof v === 'bigint') {
    if (v < INT64_MIN || v > INT64_MAX) return null;
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : null;
  }
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
}

/** A string's size on the wire (length and bytes), or -1 when the fast path does not take it. */
function stringSize(v: unknown, nullable: boolean, flex: boolean): number {
  if (v === null) return nullable ? (flex ? 1 : 2) : -1;
  if (typeof v !== 'string') return -1;
  const n = Buffer.byteLength(v);
  if (flex) return uvarintSize(n + 1) + n;
  return n > 0x7fff ? -1 : 2 + n;
}

function arrayHead(v: unknown, flex: boolean): number {
  if (!Array.isArray(v)) return -1;
  return flex ? uvarintSize(v.length + 1) : 4;
}

/**
 * The size of Produce's response frame (size, header and body) at
 * `version`, or -1 when the body has a field the fast writer does not take
 * (left out, null, out of range, another type): encodeResponse writes those.
 */
export function produceResponseSize(version: number, body: Message): number {
  const flex = version >= 9;
  let size = 8 + (flex ? 1 : 0) + 4 + (flex ? 1 : 0);
  if (!isInt(body.throttleTimeMs, -0x80000000, 0x7fffffff)) return -1;
  const topics = body.responses;
  let k = arrayHead(topics, flex);
  if (k < 0) return -1;
  size += k;
  for (const t of topics as Message[]) {
    if (t === null || typeof t !== 'object') return -1;
    k = stringSize(t.name, false, flex);
    if (k < 0) return -1;
    size += k + (flex ? 1 : 0);
    const parts = t.partitionResponses;
    k = arrayHead(parts, flex);
    if (k < 0) return -1;
    size += k;
    for (const p of parts as Message[]) {
      if (p === null || typeof p !== 'object') return -1;
      if (!isInt(p.index, -0x80000000, 0x7fffffff) || !isInt(p.errorCode, -0x8000, 0x7fff))
        return -1;
      if (int64Of(p.baseOffset) === null || int64Of(p.logAppendTimeMs) === null) return -1;
      size += 4 + 2 + 16;
      if (version >= 5) {
        if (int64Of(p.logStartOffset) === null) return -1;
        size += 8;
      }
      if (version >= 8) {
        const errs = p.recordErrors;
        k = arrayHead(errs, flex);
        if (k < 0) return -1;
        size += k;
        for (const e of errs as Message[]) {
          if (e === null || typeof e !== 'object') return -1;
          if (!isInt(e.batchIndex, -0x80000000, 0x7fffffff)) return -1;
          k = stringSize(e.batchIndexErrorMessage, true, flex);
          if (k < 0) return -1;
          size += 4 + k + (flex ? 1 : 0);
        }
        k = stringSize(p.errorMessage, true, flex);
        if (k < 0) return -1;
        size += k;
      }
      if (flex) size++;
    }
  }
  return size;
}

function putUvarint(buf: Buffer, at: number, v: number): number {
  let u = v;
  while (u >= 0x80) {
    buf[at++] = (u & 0x7f) | 0x80;
    u = Math.floor(u / 128);
  }
  buf[at++] = u;
  return at;
}

function putInt64(buf: Buffer, at: number, n: number): number {
  const hi = Math.floor(n / 0x100000000);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(n - hi * 0x100000000, at + 4);
  return at + 8;
}

function putString(buf: Buffer, at: number, s: string | null, flex: boolean): number {
  if (s === null) {
    if (flex) buf[at++] = 0;
    else at = buf.writeInt16BE(-1, at);
    return at;
  }
  const n = Buffer.byteLength(s);
  at = flex ? putUvarint(buf, at, n + 1) : buf.writeInt16BE(n, at);
  return at + buf.write(s, at, n, 'utf8');
}

function putCount(buf: Buffer, at: number, n: number, flex: boolean): number {
  return flex ? putUvarint(buf, at, n + 1) : buf.writeInt32BE(n, at);
}

/**
 * Writes Produce's response frame at `buf[at]`, `size` bytes
 * (produceResponseSize, which must not be -1): the bytes encodeResponse
 * writes. Returns the end.
 */
export function writeProduceResponse(
  buf: Buffer,
  at: number,
  size: number,
  version: number,
  correlationId: number,
  body: Message,
): number {
  const flex = version >= 9;
  at = buf.writeInt32BE(size - 4, at);
  at = buf.writeInt32BE(correlationId, at);
  if (flex) buf[at++] = 0;
  const topics = body.responses as Message[];
  at = putCount(buf, at, topics.length, flex);
  for (const t of topics) {
    at = putString(buf, at, t.name as string, flex);
    const parts = t.partitionResponses as Message[];
    at = putCount(buf, at, parts.length, flex);
    for (const p of parts) {
      at = buf.writeInt32BE(p.index as number, at);
      at = buf.writeInt16BE(p.errorCode as number, at);
      at = putInt64(buf, at, int64Of(p.baseOffset)!);
      at = putInt64(buf, at, int64Of(p.logAppendTimeMs)!);
      if (version >= 5) at = putInt64(buf, at, int64Of(p.logStartOffset)!);
      if (version >= 8) {
        const errs = p.recordErrors as Message[];
        at = putCount(buf, at, errs.length, flex);
        for (const e of errs) {
          at = buf.writeInt32BE(e.batchIndex as number, at);
          at = putString(buf, at, e.batchIndexErrorMessage as string | null, flex);
          if (flex) buf[at++] = 0;
        }
        at = putString(buf, at, p.errorMessage as string | null, flex);
      }
      if (flex) buf[at++] = 0;
    }
    if (flex) buf[at++] = 0;
  }
  at = buf.writeInt32BE(body.throttleTimeMs as number, at);
  if (flex) buf[at++] = 0;
  return at;
}
