/**
 * The four compression codecs of Kafka record batches, through npm
 * libraries (no hand-written codecs): gzip (node:zlib), snappy (`snappy`),
 * lz4 (`lz4-napi`, the LZ4 frame format Kafka uses for magic 2), zstd
 * (`@bokuweb/zstd-wasm`; call initCompression() once before using it).
 *
 * Decompression is bounded by `maxBytes` (the face's max message bytes)
 * BEFORE the output is allocated, so a zip bomb costs nothing: gzip through
 * zlib's maxOutputLength; snappy, lz4 and zstd by reading the sizes their
 * containers declare (snappy's length preamble per block, lz4's block sizes
 * times its worst ratio, zstd's frame content size) and refusing when they
 * exceed it. Every failure is a KafkaCodecError('CORRUPT_RECORDS').
 *
 * Snappy: the Java client writes xerial's framing ("\x82SNAPPY\0", version,
 * then length-prefixed raw blocks); librdkafka writes raw snappy (and reads
 * both), kafkajs's snappy plug-ins read both. We read both and write the
 * xerial framing, which every client reads.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type * as Zstd from '@bokuweb/zstd-wasm';
import type * as Lz4 from 'lz4-napi';
import type * as Snappy from 'snappy';
import { lazyModule } from '../../util/lazy-module.js';
import { KafkaCodecError } from './wire.js';

// Loaded on first use (src/util/lazy-module.ts): a node without Kafka
// traffic does not map these native and wasm libraries.
const snappyLib = lazyModule<typeof Snappy>('snappy');
const lz4Lib = lazyModule<typeof Lz4>('lz4-napi');
const zstdLib = lazyModule<typeof Zstd>('@bokuweb/zstd-wasm');

/** The codec bits (0-2) of a batch's attributes. */
export const Compression = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
export type CompressionCodec = (typeof Compression)[keyof typeof Compression];

export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

let zstdReady: Promise<void> | null = null;
let zstdInitialised = false;

/** Loads the zstd wasm module; call (and await) once before the face serves. */
export function initCompression(): Promise<void> {
  zstdReady ??= zstdLib()
    .init()
    .then(() => {
      zstdInitialised = true;
    });
  return zstdReady;
}

function corrupt(message: string): never {
  throw new KafkaCodecError('CORRUPT_RECORDS', message);
}

function tooBig(codec: string, size: number, maxBytes: number): never {
  corrupt(`${codec}: decompresses to ${size} bytes or more, over the limit of ${maxBytes}`);
}

export function compress(codec: CompressionCodec, data: Buffer): Buffer {
  switch (codec) {
    case Compression.None:
      return data;
    case Compression.Gzip:
      return gzipSync(data);
    case Compression.Snappy:
      return xerialFrame(data);
    case Compression.Lz4:
      return lz4Lib().compressFrameSync(data);
    case Compression.Zstd:
      requireZstd();
      return Buffer.from(zstdLib().compress(data, 3));
    default:
      return corrupt(`compression codec ${codec} is unknown`);
  }
}

export function decompress(codec: number, data: Buffer, maxBytes: number): Buffer {
  switch (codec) {
    case Compression.None:
      return data;
    case Compression.Gzip:
      return gunzip(data, maxBytes);
    case Compression.Snappy:
      return unsnappy(data, maxBytes);
    case Compression.Lz4:
      return unlz4(data, maxBytes);
    case Compression.Zstd:
      return unzstd(data, maxBytes);
    default:
      return corrupt(`compression codec ${codec} is unknown`);
  }
}

function gunzip(data: Buffer, maxBytes: number): Buffer {
  try {
    return gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      tooBig('gzip', maxBytes + 1, maxBytes);
    return corrupt(`gzip: ${(err as Error).message}`);
  }
}

// --- snappy ----------------------------------------------------------------------

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** xerial's block size: the Java client compresses in 32 KiB blocks. */
const XERIAL_BLOCK = 32 * 1024;

function xerialFrame(data: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])];
  for (let at = 0; at < data.length || at === 0; at += XERIAL_BLOCK) {
    const block = snappyLib().compressSync(data.subarray(at, at + XERIAL_BLOCK));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

/** The uncompressed length a raw snappy block declares (its varint preamble). */
function snappyLength(block: Buffer): number {
  let v = 0;
  for (let i = 0, shift = 0; i < Math.min(block.length, 5); i++, shift += 7) {
    v += (block[i] & 0x7f) * 2 ** shift;
    if ((block[i] & 0x80) === 0) return v;
  }
  return corrupt('snappy: bad length preamble');
}

function rawSnappy(block: Buffer, budget: number, maxBytes: number): Buffer {
  const n = snappyLength(block);
  if (n > budget) tooBig('snappy', maxBytes - budget + n, maxBytes);
  try {
    return snappyLib().uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (err) {
    return corrupt(`snappy: ${(err as Error).message}`);
  }
}

function unsnappy(data: Buffer, maxBytes: number): Buffer {
  if (data.length < 16 || !data.subarray(0, 8).equals(XERIAL_MAGIC))
    return rawSnappy(data, maxBytes, maxBytes);
  const out: Buffer[] = [];
  let budget = maxBytes;
  let at = 16;
  while (at < data.length) {
    if (at + 4 > data.length) corrupt('snappy: xerial block length cut short');
    const len = data.readInt32BE(at);
    at += 4;
    if (len < 0 || at + len > data.length)
      corrupt(`snappy: xerial block of ${len} bytes with ${data.length - at} left`);
    const block = rawSnappy(data.subarray(at, at + len), budget, maxBytes);
    budget -= block.length;
    out.push(block);
    at += len;
  }
  return Buffer.concat(out);
}

// --- lz4 -------------------------------------------------------------------------

const LZ4_MAGIC = 0x184d2204;
/** LZ4's densest output is about 255 bytes per input byte. */
const LZ4_MAX_RATIO = 255;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

/**
 * An upper bound of an LZ4 frame's output, from its block sizes alone
 * (frame format spec: magic, FLG, BD, [content size], [dict id], HC, blocks
 * of uint32 LE size with the high bit meaning stored, EndMark 0).
 */
function lz4Bound(data: Buffer): number {
  let bound = 0;
  let at = 0;
  while (at < data.length) {
    if (at + 7 > data.length) corrupt('lz4: frame header cut short');
    const magic = data.readUInt32LE(at);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      at += 8 + data.readUInt32LE(at + 4);
      continue;
    }
    if (magic !== LZ4_MAGIC) corrupt(`lz4: bad frame magic 0x${magic.toString(16)}`);
    const flg = data[at + 4];
    const bd = data[at + 5];
    const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 7];
    if (blockMax === 0 || flg >> 6 !== 1) corrupt('lz4: bad frame descriptor');
    at += 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
    const blockChecksum = flg & 0x10 ? 4 : 0;
    for (;;) {
      if (at + 4 > data.length) corrupt('lz4: block size cut short');
      const word = data.readUInt32LE(at);
      at += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      const stored = word !== size;
      bound += stored ? size : Math.min(blockMax, size * LZ4_MAX_RATIO);
      at += size + blockChecksum;
      if (at > data.length) corrupt('lz4: block cut short');
    }
    at += flg & 0x04 ? 4 : 0;
  }
  return bound;
}

function unlz4(data: Buffer, maxBytes: number): Buffer {
  const bound = lz4Bound(data);
  if (bound > maxBytes) tooBig('lz4', bound, maxBytes);
  try {
    return lz4Lib().decompressFrameSync(data);
  } catch (err) {
    return corrupt(`lz4: ${(err as Error).message}`);
  }
}

// --- zstd ------------------------------------------------------------------------

function requireZstd(): void {
  if (!zstdInitialised) corrupt('zstd: initCompression() was not awaited');
}

/** Frame_Content_Size of a zstd frame (RFC 8878 3.1.1.1), or -1 when it is not given. */
function zstdContentSize(data: Buffer): number {
  if (data.length < 5 || data.readUInt32LE(0) !== 0xfd2fb528) corrupt('zstd: bad frame magic');
  const fhd = data[4];
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3];
  const fcsBytes = fcsFlag === 0 ? single : [1, 2, 4, 8][fcsFlag];
  const at = 5 + (single ? 0 : 1) + dictBytes;
  if (fcsBytes === 0) return -1;
  if (at + fcsBytes > data.length) corrupt('zstd: frame header cut short');
  switch (fcsBytes) {
    case 1:
      return data[at];
    case 2:
      return data.readUInt16LE(at) + 256;
    case 4:
      return data.readUInt32LE(at);
    default:
      return Number(data.readBigUInt64LE(at));
  }
}

/** The first output buffer tried for a zstd frame without a declared size. */
const ZSTD_FIRST_GUESS = 64 * 1024;

function unzstd(data: Buffer, maxBytes: number): Buffer {
  requireZstd();
  const size = zstdContentSize(data);
  if (size > maxBytes) tooBig('zstd', size, maxBytes);
  // Streaming writers (the Java client's zstd-jni) leave the size out. The
  // library then decompresses into `defaultHeapSize` bytes and fails when
  // the output would not fit: start small, double up to maxBytes, never past.
  let capacity =
    size >= 0 ? Math.max(1, size) : Math.min(maxBytes, Math.max(ZSTD_FIRST_GUESS, data.length * 8));
  for (;;) {
    try {
      const out = zstdLib().decompress(data, { defaultHeapSize: Math.max(1, capacity) });
      if (out.length > maxBytes) tooBig('zstd', out.length, maxBytes);
      return Buffer.from(out.buffer, out.byteOffset, out.length);
    } catch (err) {
      if (err instanceof KafkaCodecError) throw err;
      if (size >= 0 || capacity >= maxBytes) {
        const why = size < 0 ? ` (corrupt, or more than the limit of ${maxBytes} bytes)` : '';
        return corrupt(`zstd: ${(err as Error).message}${why}`);
      }
      capacity = Math.min(maxBytes, capacity * 2);
    }
  }
}
