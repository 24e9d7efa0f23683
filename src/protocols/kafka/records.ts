/**
 * Kafka RecordBatch v2 (magic 2), the only record format this broker takes
 * (Produce v3+ carries nothing else; magic 0/1 message sets are refused with
 * CORRUPT_RECORDS). Layout, from Kafka's protocol guide ("Record Batch"):
 *
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 |
 *   magic int8 | crc uint32 | attributes int16 | lastOffsetDelta int32 |
 *   baseTimestamp int64 | maxTimestamp int64 | producerId int64 |
 *   producerEpoch int16 | baseSequence int32 | records [count int32, ...]
 *
 * The CRC-32C covers attributes to the end, so baseOffset and
 * partitionLeaderEpoch can be rewritten in place (setBaseOffset) without
 * recomputing it. Each record: length varint, attributes int8,
 * timestampDelta varlong, offsetDelta varint, key (varint length, -1 null),
 * value, headers (varint count; key varint-length string, value bytes).
 * No I/O.
 */
import type * as Crc32 from '@node-rs/crc32';
import { lazyModule } from '../../util/lazy-module.js';
import { Compression, type CompressionCodec, compress, decompress } from './compression.js';
import { KafkaCodecError, Reader } from './wire.js';

/** CRC-32C, loaded on first use (src/util/lazy-module.ts). */
const crc32Lib = lazyModule<typeof Crc32>('@node-rs/crc32');

/** Bytes before the records in a v2 batch. */
export const BATCH_HEADER_BYTES = 61;
/** Where the CRC'd part starts (attributes). */
const CRC_FROM = 21;
const LENGTH_AT = 8;
const MAGIC_AT = 16;
const CRC_AT = 17;

export const Attr = {
  CompressionMask: 0x07,
  LogAppendTime: 0x08,
  Transactional: 0x10,
  Control: 0x20,
  DeleteHorizon: 0x40,
} as const;

export interface BatchHeader {
  baseOffset: bigint;
  /** Bytes after the batchLength field: the whole batch is batchLength + 12. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  attributes: number;
  /** Milliseconds relative to the batch's baseTimestamp. */
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface RecordBatch {
  header: BatchHeader;
  records: KafkaRecord[];
}

function corrupt(message: string): never {
  throw new KafkaCodecError('CORRUPT_RECORDS', message);
}

export const compressionOf = (attributes: number): number => attributes & Attr.CompressionMask;

/**
 * Cuts a records blob (the `records` field of a Produce partition) into
 * whole batches, as views. `allowPartialTail`: a Fetch response may end in a
 * partial batch, which is dropped; on produce it is corrupt.
 */
export function splitBatches(blob: Buffer, allowPartialTail = false): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (blob.length - at < LENGTH_AT + 4 + 5) {
      if (allowPartialTail) break;
      corrupt(`record batch cut short: ${blob.length - at} bytes left`);
    }
    const length = blob.readInt32BE(at + LENGTH_AT);
    const magic = blob.readInt8(at + MAGIC_AT);
    if (magic !== 2)
      corrupt(`record batch magic ${magic}: only magic 2 (RecordBatch v2) is accepted`);
    if (length < BATCH_HEADER_BYTES - 12)
      corrupt(`record batch length ${length} shorter than its header`);
    const end = at + 12 + length;
    if (end > blob.length) {
      if (allowPartialTail) break;
      corrupt(`record batch of ${length + 12} bytes with ${blob.length - at} left`);
    }
    out.push(blob.subarray(at, end));
    at = end;
  }
  return out;
}

/** Reads a batch's header and checks length and magic (not the CRC: verifyCrc). */
export function decodeBatchHeader(batch: Buffer): BatchHeader {
  if (batch.length < BATCH_HEADER_BYTES)
    corrupt(`record batch of ${batch.length} bytes, header needs ${BATCH_HEADER_BYTES}`);
  const r = new Reader(batch);
  const h: BatchHeader = {
    baseOffset: r.int64(),
    batchLength: r.int32(),
    partitionLeaderEpoch: r.int32(),
    magic: r.int8(),
    crc: r.uint32(),
    attributes: r.int16(),
    lastOffsetDelta: r.int32(),
    baseTimestamp: r.int64(),
    maxTimestamp: r.int64(),
    producerId: r.int64(),
    producerEpoch: r.int16(),
    baseSequence: r.int32(),
    recordCount: r.int32(),
  };
  if (h.magic !== 2) corrupt(`record batch magic ${h.magic}: only magic 2 is accepted`);
  if (h.batchLength + 12 !== batch.length)
    corrupt(`record batch length ${h.batchLength} does not match its ${batch.length} bytes`);
  if (h.recordCount < 0) corrupt(`record batch count ${h.recordCount}`);
  return h;
}

/** Whether the batch's CRC-32C matches its bytes from attributes on. */
export function crcMatches(batch: Buffer): boolean {
  return (
    batch.length >= BATCH_HEADER_BYTES &&
    crc32Lib().crc32c(batch.subarray(CRC_FROM)) >>> 0 === batch.readUInt32BE(CRC_AT)
  );
}

export function verifyCrc(batch: Buffer): void {
  if (!crcMatches(batch)) {
    corrupt(
      `record batch CRC 0x${batch.readUInt32BE(CRC_AT).toString(16)} does not match its bytes (0x${(crc32Lib().crc32c(batch.subarray(CRC_FROM)) >>> 0).toString(16)})`,
    );
  }
}

/** Rewrites baseOffset in place (outside the CRC). */
export function setBaseOffset(batch: Buffer, offset: bigint): void {
  batch.writeBigInt64BE(offset, 0);
}

/** Rewrites partitionLeaderEpoch in place (outside the CRC). */
export function setLeaderEpoch(batch: Buffer, epoch: number): void {
  batch.writeInt32BE(epoch, 12);
}

export interface DecodeOptions {
  /** Bound on the decompressed records (the face's max message bytes). */
  maxBytes: number;
  /** Check the CRC (default true). */
  checkCrc?: boolean;
}

/**
 * Decodes one whole batch (a view from splitBatches): header, CRC,
 * decompression (bounded), records. Keys, values and header values are
 * views of the batch or of its decompressed records.
 */
export function decodeBatch(batch: Buffer, opts: DecodeOptions): RecordBatch {
  const header = decodeBatchHeader(batch);
  if (opts.checkCrc !== false) verifyCrc(batch);
  const codec = compressionOf(header.attributes);
  const body = decompress(codec, batch.subarray(BATCH_HEADER_BYTES), opts.maxBytes);
  const r = new Reader(body);
  if (header.recordCount > body.length)
    corrupt(`record batch claims ${header.recordCount} records in ${body.length} bytes`);
  const records = new Array<KafkaRecord>(header.recordCount);
  try {
    const end = body.length;
    let at = 0;
    for (let i = 0; i < header.recordCount; i++) {
      // The plain record (no headers, short varints) without a Reader; any
      // other, or a bad one, is read again from its start by readRecord.
      const fast = plainRecord(body, at, end);
      if (fast !== null) {
        records[i] = fast;
        at = plainEnd;
        continue;
      }
      r.pos = at;
      records[i] = readRecord(r);
      at = r.pos;
    }
    r.pos = at;
  } catch (err) {
    if (err instanceof KafkaCodecError && err.code !== 'CORRUPT_RECORDS')
      corrupt(`record ${err.message}`);
    throw err;
  }
  if (r.remaining !== 0)
    corrupt(`record batch has ${r.remaining} bytes after its ${header.recordCount} records`);
  return { header, records };
}

function readRecord(r: Reader): KafkaRecord {
  const length = r.varint();
  if (length < 0) corrupt(`record length ${length}`);
  r.need(length, 'record');
  const rr = new Reader(r.buf, r.pos, r.pos + length);
  r.pos += length;
  const attributes = rr.int8();
  const timestampDelta = rr.varlongNumber();
  const offsetDelta = rr.varint();
  const key = nullableBytes(rr, 'key');
  const value = nullableBytes(rr, 'value');
  const count = rr.count(rr.varint(), 'record headers');
  const headers = new Array<RecordHeader>(count);
  for (let i = 0; i < count; i++) {
    const keyLength = rr.varint();
    if (keyLength < 0) corrupt(`record header key length ${keyLength}`);
    headers[i] = {
      key: rr.utf8(keyLength, 'header key'),
      value: nullableBytes(rr, 'header value'),
    };
  }
  if (rr.remaining !== 0) corrupt(`record has ${rr.remaining} bytes after its headers`);
  return { attributes, timestampDelta, offsetDelta, key, value, headers };
}

/**
 * The headers of every record that has none: one array, never written to
 * (the face only reads a record's headers).
 */
const NO_HEADERS: RecordHeader[] = Object.freeze([]) as unknown as RecordHeader[];

/** Where the last plainRecord ended (set when it returns a record). */
let plainEnd = 0;
/** Where the last shortVarint ended. */
let varEnd = 0;

/** A zigzag varint of at most 4 bytes at `at` (before `end`), or NaN (longer, or cut short). */
function shortVarint(buf: Buffer, at: number, end: number): number {
  let u = 0;
  let mul = 1;
  for (let i = 0; i < 4 && at < end; i++) {
    const b = buf[at++]!;
    u += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      varEnd = at;
      return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    mul *= 128;
  }
  return Number.NaN;
}

/**
 * A record with no headers whose varints are short (what producers send),
 * read straight off the buffer: the same fields as readRecord, or null for
 * anything else (headers, long varints, a length that does not fit) — then
 * readRecord reads it from `at` and throws what is wrong with it.
 */
function plainRecord(buf: Buffer, at: number, end: number): KafkaRecord | null {
  const length = shortVarint(buf, at, end);
  if (!(length >= 1)) return null;
  let p = varEnd;
  const stop = p + length;
  if (stop > end) return null;
  const attributes = (buf[p++]! << 24) >> 24;
  const timestampDelta = shortVarint(buf, p, stop);
  if (Number.isNaN(timestampDelta)) return null;
  const offsetDelta = shortVarint(buf, varEnd, stop);
  if (Number.isNaN(offsetDelta)) return null;
  const keyLength = shortVarint(buf, varEnd, stop);
  if (!(keyLength >= -1)) return null;
  p = varEnd;
  let key: Buffer | null = null;
  if (keyLength >= 0) {
    if (p + keyLength > stop) return null;
    key = buf.subarray(p, p + keyLength);
    p += keyLength;
  }
  const valueLength = shortVarint(buf, p, stop);
  if (!(valueLength >= -1)) return null;
  p = varEnd;
  let value: Buffer | null = null;
  if (valueLength >= 0) {
    if (p + valueLength > stop) return null;
    value = buf.subarray(p, p + valueLength);
    p += valueLength;
  }
  // No headers (count 0, one byte), and nothing after them.
  if (p + 1 !== stop || buf[p] !== 0) return null;
  plainEnd = stop;
  return { attributes, timestampDelta, offsetDelta, key, value, headers: NO_HEADERS };
}

/**
 * For tests: the plain-record reader and the general one, on one record at
 * `at`; `general` returns the record and where it ends, or throws.
 */
export const recordReaders = {
  plain(buf: Buffer, at: number, end: number): { record: KafkaRecord; end: number } | null {
    const record = plainRecord(buf, at, end);
    return record === null ? null : { record, end: plainEnd };
  },
  general(buf: Buffer, at: number, end: number): { record: KafkaRecord; end: number } {
    const r = new Reader(buf, at, end);
    const record = readRecord(r);
    return { record, end: r.pos };
  },
};

function nullableBytes(r: Reader, what: string): Buffer | null {
  const n = r.varint();
  if (n === -1) return null;
  if (n < 0) corrupt(`${what} length ${n}`);
  return r.bytes(n, what);
}

// --- encoding ----------------------------------------------------------------------

export interface EncodeRecord {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: readonly RecordHeader[];
  /** Absolute timestamp (ms); default the batch's baseTimestamp. */
  timestamp?: number | bigint;
  /** Default: the record's index in the batch. */
  offsetDelta?: number;
}

export interface EncodeBatch {
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  /** Codec bits plus LogAppendTime / Transactional / Control flags. */
  attributes?: number;
  compression?: CompressionCodec;
  baseTimestamp?: bigint | number;
  /** Default: the largest record timestamp. */
  maxTimestamp?: bigint | number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  /** Default: the last record's offsetDelta. */
  lastOffsetDelta?: number;
  records: readonly EncodeRecord[];
}

/** Bytes of an unsigned varint. */
function uvarintSize(u: number): number {
  let n = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

/** Bytes of a zigzag varint (int32). */
const varintSize = (v: number): number => uvarintSize(((v << 1) ^ (v >> 31)) >>> 0);

/** Bytes of a zigzag varlong. */
function varlongSize(v: bigint): number {
  let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

const nullableSize = (b: Buffer | null | undefined): number =>
  b == null ? 1 : varintSize(b.length) + b.length;

/** A record's timestamp delta, offset delta and header key lengths, measured once. */
interface Sized {
  tsDelta: bigint;
  offsetDelta: number;
  headerKeyBytes: number[];
  /** The record's bytes after its length varint. */
  size: number;
}

function sizeRecord(rec: EncodeRecord, index: number, base: bigint): Sized {
  const tsDelta = rec.timestamp === undefined ? 0n : BigInt(rec.timestamp) - base;
  const offsetDelta = rec.offsetDelta ?? index;
  const headers = rec.headers ?? [];
  const headerKeyBytes = new Array<number>(headers.length);
  let size =
    1 +
    varlongSize(tsDelta) +
    varintSize(offsetDelta) +
    nullableSize(rec.key) +
    nullableSize(rec.value) +
    varintSize(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const n = Buffer.byteLength(headers[i]!.key);
    headerKeyBytes[i] = n;
    size += varintSize(n) + n + nullableSize(headers[i]!.value);
  }
  return { tsDelta, offsetDelta, headerKeyBytes, size };
}

/** Writes a zigzag varint at `at`; returns the position after it. */
function putVarint(out: Buffer, at: number, v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    out[at++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  out[at++] = u;
  return at;
}

function putVarlong(out: Buffer, at: number, v: bigint): number {
  let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  if (u < 0x80000000n) {
    let n = Number(u);
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[at++] = n;
    return at;
  }
  while (u >= 0x80n) {
    out[at++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  out[at++] = Number(u);
  return at;
}

function putNullable(out: Buffer, at: number, b: Buffer | null | undefined): number {
  if (b == null) return putVarint(out, at, -1);
  at = putVarint(out, at, b.length);
  return at + b.copy(out, at);
}

/** Writes one record (its length varint first) at `at`; returns the position after it. */
function putRecord(out: Buffer, at: number, rec: EncodeRecord, s: Sized): number {
  at = putVarint(out, at, s.size);
  out[at++] = 0;
  at = putVarlong(out, at, s.tsDelta);
  at = putVarint(out, at, s.offsetDelta);
  at = putNullable(out, at, rec.key);
  at = putNullable(out, at, rec.value);
  const headers = rec.headers ?? [];
  at = putVarint(out, at, headers.length);
  for (let i = 0; i < headers.length; i++) {
    const n = s.headerKeyBytes[i]!;
    at = putVarint(out, at, n);
    at += out.write(headers[i]!.key, at, n, 'utf8');
    at = putNullable(out, at, headers[i]!.value);
  }
  return at;
}

/**
 * Encodes one RecordBatch v2, compressing its records and computing the CRC.
 * The records' sizes are measured first, so an uncompressed batch is written
 * in place into one buffer (each value copied once, as the Java client's
 * MemoryRecordsBuilder does); a compressed one gathers its records first.
 */
export function encodeBatch(b: EncodeBatch): Buffer {
  const base = BigInt(
    b.baseTimestamp ?? b.records.find((r) => r.timestamp !== undefined)?.timestamp ?? 0,
  );
  let max = base;
  const n = b.records.length;
  const sized = new Array<Sized>(n);
  let bodyBytes = 0;
  for (let i = 0; i < n; i++) {
    const rec = b.records[i]!;
    if (rec.timestamp !== undefined) {
      const ts = BigInt(rec.timestamp);
      if (ts > max) max = ts;
    }
    const s = sizeRecord(rec, i, base);
    sized[i] = s;
    bodyBytes += uvarintSize(((s.size << 1) ^ (s.size >> 31)) >>> 0) + s.size;
  }
  const codec = (b.compression ?? (b.attributes ?? 0) & Attr.CompressionMask) as CompressionCodec;
  let out: Buffer;
  if (codec === Compression.None) {
    out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + bodyBytes);
    let at = BATCH_HEADER_BYTES;
    for (let i = 0; i < n; i++) at = putRecord(out, at, b.records[i]!, sized[i]!);
  } else {
    const body = Buffer.allocUnsafe(bodyBytes);
    let at = 0;
    for (let i = 0; i < n; i++) at = putRecord(body, at, b.records[i]!, sized[i]!);
    const records = compress(codec, body);
    out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + records.length);
    records.copy(out, BATCH_HEADER_BYTES);
  }
  const attributes = ((b.attributes ?? 0) & ~Attr.CompressionMask) | codec;
  const last = n === 0 ? 0 : (b.records[n - 1]!.offsetDelta ?? n - 1);
  out.writeBigInt64BE(b.baseOffset ?? 0n, 0);
  out.writeInt32BE(out.length - 12, LENGTH_AT);
  out.writeInt32BE(b.partitionLeaderEpoch ?? -1, 12);
  out.writeInt8(2, MAGIC_AT);
  out.writeInt16BE(attributes, CRC_FROM);
  out.writeInt32BE(b.lastOffsetDelta ?? last, 23);
  out.writeBigInt64BE(base, 27);
  out.writeBigInt64BE(BigInt(b.maxTimestamp ?? max), 35);
  out.writeBigInt64BE(b.producerId ?? -1n, 43);
  out.writeInt16BE(b.producerEpoch ?? -1, 51);
  out.writeInt32BE(b.baseSequence ?? -1, 53);
  out.writeInt32BE(n, 57);
  out.writeUInt32BE(crc32Lib().crc32c(out.subarray(CRC_FROM)) >>> 0, CRC_AT);
  return out;
}

export { Compression };
