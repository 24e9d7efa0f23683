/**
 * The quarantine file of a file store: `quarantine.bin` in its directory
 * keeps, byte for byte, every range of a segment that open could not read
 * as records (damage to synced data, and torn tails cut after a crash), so
 * nothing is thrown away unseen and an operator can inspect it later
 * (`weft stream check`). It only grows, up to a bound (`maxBytes`, default
 * DEFAULT_QUARANTINE_BYTES); a range that does not fit is still reported,
 * only its bytes are not copied (`notKeptBytes`). Remove the file to start
 * over once its contents are dealt with.
 *
 * A damaged range stays in its segment (records are never moved), so every
 * open finds it again: an entry is written once per range, recognised on
 * later opens by segment, offset and length.
 *
 * Entry, little-endian: a 56-byte header then the bytes.
 * ```
 *  0 u32 magic      "WQ01"
 *  4 u32 crc        CRC-32 of header bytes [8, 56) and the bytes
 *  8 u32 length     of the bytes
 * 12 u8  kind       1 damage, 2 torn tail
 * 13 3 bytes zero
 * 16 f64 segName    the segment's file name as a number
 * 24 f64 offset     where the range starts in the segment
 * 32 f64 seqFrom    sequences that may have been in it (0, 0: none known)
 * 40 f64 seqTo
 * 48 f64 time       when it was quarantined, ms since the epoch
 * ```
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from './file-crc32.js';

export const QUARANTINE_FILE = 'quarantine.bin';
/** Bound on a store's quarantine file (bytes, headers included). */
export const DEFAULT_QUARANTINE_BYTES = 64 * 1024 * 1024;
const ENTRY_HEADER = 56;
const MAGIC = 0x31305157; // "WQ01"

export type QuarantineKind = 'damage' | 'torn';

export interface QuarantineEntry {
  kind: QuarantineKind;
  segName: number;
  offset: number;
  length: number;
  /** 0 when unknown. */
  seqFrom: number;
  seqTo: number;
  time: number;
}

export interface QuarantineContents {
  entries: QuarantineEntry[];
  /** The file's size. */
  bytes: number;
  /** Why reading stopped before the end (a damaged entry), or null. */
  problem: string | null;
}

/** Reads the entries' headers (checking each entry's CRC). A missing file is empty. */
export function readQuarantine(file: string): QuarantineContents {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { entries: [], bytes: 0, problem: null };
    }
    return { entries: [], bytes: 0, problem: (err as Error).message };
  }
  const entries: QuarantineEntry[] = [];
  let pos = 0;
  while (pos < data.length) {
    const bad = (why: string): QuarantineContents => ({
      entries,
      bytes: data.length,
      problem: `${path.basename(file)}: ${why} at offset ${pos}`,
    });
    if (data.length - pos < ENTRY_HEADER) return bad('short entry header');
    if (data.readUInt32LE(pos) !== MAGIC) return bad('bad entry magic');
    const length = data.readUInt32LE(pos + 8);
    if (pos + ENTRY_HEADER + length > data.length) return bad('short entry');
    if (crc32(data, pos + 8, pos + ENTRY_HEADER + length) !== data.readUInt32LE(pos + 4)) {
      return bad('entry checksum mismatch');
    }
    entries.push({
      kind: data[pos + 12] === 2 ? 'torn' : 'damage',
      segName: data.readDoubleLE(pos + 16),
      offset: data.readDoubleLE(pos + 24),
      length,
      seqFrom: data.readDoubleLE(pos + 32),
      seqTo: data.readDoubleLE(pos + 40),
      time: data.readDoubleLE(pos + 48),
    });
    pos += ENTRY_HEADER + length;
  }
  return { entries, bytes: data.length, problem: null };
}

/** The bytes of one entry, as `readQuarantine` listed it (for tools and tests). */
export function quarantinedBytes(file: string, index: number): Buffer | null {
  const data = fs.readFileSync(file);
  let pos = 0;
  for (let i = 0; pos + ENTRY_HEADER <= data.length; i++) {
    const length = data.readUInt32LE(pos + 8);
    if (i === index) return data.subarray(pos + ENTRY_HEADER, pos + ENTRY_HEADER + length);
    pos += ENTRY_HEADER + length;
  }
  return null;
}

const key = (segName: number, offset: number, length: number): string =>
  `${segName}:${offset}:${length}`;

/** A store's quarantine file, opened by recovery to add what it found. */
export class Quarantine {
  readonly file: string;
  private readonly known = new Set<string>();
  /** The file's size now. */
  bytes: number;
  /** Why the existing file could not be read to its end, or null. */
  readonly problem: string | null;

  constructor(
    dir: string,
    private readonly maxBytes: number,
  ) {
    this.file = path.join(dir, QUARANTINE_FILE);
    const q = readQuarantine(this.file);
    for (const e of q.entries) this.known.add(key(e.segName, e.offset, e.length));
    this.bytes = q.bytes;
    this.problem = q.problem;
  }

  /** Whether this range was kept by an earlier open. */
  has(segName: number, offset: number, length: number): boolean {
    return this.known.has(key(segName, offset, length));
  }

  /**
   * Appends an entry and fsyncs it; false (nothing written) when it would
   * take the file past its bound.
   */
  keep(e: QuarantineEntry, bytes: Buffer): boolean {
    if (this.bytes + ENTRY_HEADER + bytes.length > this.maxBytes) return false;
    const h = Buffer.alloc(ENTRY_HEADER);
    h.writeUInt32LE(MAGIC, 0);
    h.writeUInt32LE(bytes.length, 8);
    h[12] = e.kind === 'torn' ? 2 : 1;
    h.writeDoubleLE(e.segName, 16);
    h.writeDoubleLE(e.offset, 24);
    h.writeDoubleLE(e.seqFrom, 32);
    h.writeDoubleLE(e.seqTo, 40);
    h.writeDoubleLE(e.time, 48);
    const whole = Buffer.concat([h, bytes]);
    whole.writeUInt32LE(crc32(whole, 8, whole.length), 4);
    const fd = fs.openSync(this.file, 'a');
    try {
      fs.writeSync(fd, whole, 0, whole.length, this.bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.bytes += whole.length;
    this.known.add(key(e.segName, e.offset, e.length));
    return true;
  }
}
