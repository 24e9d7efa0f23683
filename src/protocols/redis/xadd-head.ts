/**
 * The header block of XADD's common entry — one field whose name is
 * printable ASCII — written into one reused buffer instead of a string
 * made and encoded per XADD (`Buffer.from` of the block was 8.7 % of a
 * node under `XADD s * f v`, bench/PROFILE.md, "Issue 16 — rface"):
 * `NATS/1.0\r\nRedis-Stream-Id: <id>\r\nRedis-Field: <field>\r\n\r\n`
 * (no field line for `payload`, the default field), the bytes
 * `encodeEntry` (stream-map.ts) makes for the same entry.
 *
 * The block returned is valid until the next call: whoever keeps it
 * copies it (the stream's store copies what it keeps; the router's copy
 * for other listeners is made in stream-store-here.ts).
 */
import { forgetLastRecord, STAMP_K } from '../../streams/file-crc-run.js';
import { HDR_FIELD, HDR_ID } from './stream-map.js';

/**
 * The last generation given out, and how many times they wrapped: within
 * an epoch every XaddHead's gens are distinct. They wrap at GEN_MAX so a
 * stamp stays a small integer (`(gen * STAMP_K + t) * STAMP_K + k` < 2^29: no float
 * modulo, no boxed number per XADD); at a wrap the store forgets the record
 * it remembers, and each XaddHead takes a new gen before its next stamp
 * (2^15: a wrap about every half minute of XADDs at a new ms each, one
 * record's CRC worked out whole then).
 */
let GEN = 0;
let EPOCH = 0;
const GEN_MAX = (1 << 15) - 1;

function newGen(): number {
  if (GEN >= GEN_MAX) {
    GEN = 0;
    EPOCH++;
    forgetLastRecord();
  }
  return ++GEN;
}

/** Tests: the next gen given out is the last before the wrap. */
export function genNearWrapForTest(): void {
  GEN = GEN_MAX - 1;
}
const PREFIX = Buffer.from(`NATS/1.0\r\n${HDR_ID}: `, 'latin1');
const FIELD_LINE = Buffer.from(`\r\n${HDR_FIELD}: `, 'latin1');
/** Longest field name written here (longer ones: encodeEntry). */
export const HEAD_FIELD_MAX = 64;
/** Longest ID text: two 20-digit numbers and the dash. */
const ID_MAX = 41;

export class XaddHead {
  private readonly buf = Buffer.allocUnsafeSlow(
    PREFIX.length + ID_MAX + FIELD_LINE.length + HEAD_FIELD_MAX + 4,
  );
  /** The last block: an exact view of `buf` (null: none yet). */
  private block: Buffer | null = null;
  /** The ID length and field of the last block (-1: none). */
  private idLen = -1;
  /** The bytes of the last block after its ID (the field line and the end): the same for a gen. */
  private tail = 0;
  private readonly field = Buffer.alloc(HEAD_FIELD_MAX);
  private fieldLen = -1;
  /** The ms part (or whole ID) now written in `buf` after the prefix. */
  private head = '';
  /** This buffer's prefix bytes' generation: a new one from GEN whenever one of them is written. */
  private gen = 0;
  private epoch = -1;
  /**
   * The last block's stamp for the store (file-crc-run.ts): `(gen *
   * STAMP_K + t) * STAMP_K + k`, where k covers the prefix, the ms part and
   * the dash, the bytes every block of this `gen` starts with, and t the
   * bytes after the ID, which every block of this `gen` ends with.
   */
  stamp = -1;

  constructor() {
    PREFIX.copy(this.buf, 0);
  }

  /**
   * The block for the ID `text` (ASCII digits and a dash) and the field
   * name `f[fs, fe)`, or null when the name is not printable ASCII of at
   * most HEAD_FIELD_MAX bytes (encodeEntry writes those).
   */
  of(text: string, f: Buffer, fs: number, fe: number): Buffer | null {
    return this.ofParts(text, -1, f, fs, fe);
  }

  /**
   * `of` for the ID `<head>-<seq>` (`seq` ≥ 0, a safe integer; `head` the
   * ms part's digits), or `head` alone when `seq` is negative: no string
   * of the whole ID is made.
   */
  ofParts(head: string, seq: number, f: Buffer, fs: number, fe: number): Buffer | null {
    const n = fe - fs;
    const seqLen = seq < 0 ? 0 : digits(seq);
    const idLen = head.length + (seq < 0 ? 0 : 1 + seqLen);
    if (n === 0 || n > HEAD_FIELD_MAX || idLen > ID_MAX) return null;
    const buf = this.buf;
    let block = this.block;
    if (block === null || idLen !== this.idLen || !this.sameField(f, fs, n)) {
      for (let i = fs; i < fe; i++) {
        const c = f[i]!;
        if (c <= 0x20 || c >= 0x7f) return null;
      }
      let at = PREFIX.length + idLen;
      if (!isPayload(f, fs, n)) {
        FIELD_LINE.copy(buf, at);
        at += FIELD_LINE.length;
        f.copy(buf, at, fs, fe);
        at += n;
      }
      buf[at++] = 13;
      buf[at++] = 10;
      buf[at++] = 13;
      buf[at++] = 10;
      f.copy(this.field, 0, fs, fe);
      this.fieldLen = n;
      this.idLen = idLen;
      this.tail = at - PREFIX.length - idLen;
      block = buf.subarray(0, at);
      this.block = block;
      this.bump();
    }
    let at = PREFIX.length;
    // The ms part is the same text for every XADD of one ms: written once.
    if (head !== this.head) {
      for (let i = 0; i < head.length; i++) buf[at + i] = head.charCodeAt(i);
      this.head = head;
      this.bump();
    }
    if (this.epoch !== EPOCH) this.bump();
    this.stamp = (this.gen * STAMP_K + this.tail) * STAMP_K + at + head.length + (seq < 0 ? 0 : 1);
    at += head.length;
    if (seq >= 0) {
      buf[at] = 0x2d;
      writeDigits(buf, at + 1 + seqLen, seq);
    }
    return block;
  }

  private bump(): void {
    this.gen = newGen();
    this.epoch = EPOCH;
  }

  private sameField(f: Buffer, fs: number, n: number): boolean {
    if (n !== this.fieldLen) return false;
    const kept = this.field;
    for (let i = 0; i < n; i++) if (kept[i] !== f[fs + i]) return false;
    return true;
  }
}

/**
 * Decimal digits of `n` (a non-negative safe integer). Below 2^31 in int32
 * arithmetic, a multiply where a float division was: a division per
 * digit, twice per XADD with writeDigits, was ~2.5 % of its main thread
 * (bench/PROFILE.md, "Issue 16 — xadd4 (round 13)"). A loop, not compares
 * by size: a compare the warm-up never reached threw the optimised XADD
 * path away at the first larger seq.
 */
export function digits(n: number): number {
  let d = 1;
  if (n <= 0x7fffffff) {
    for (let q = n | 0; q >= 10; q = (q / 10) | 0) d++;
    return d;
  }
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/**
 * Writes the decimal digits of `n` (a non-negative safe integer) so that
 * the last is at `end - 1`: `digits(n)` bytes. Below 2^31 in int32
 * arithmetic (a multiply where a float division was).
 */
export function writeDigits(out: Uint8Array, end: number, n: number): void {
  let k = end;
  if (n <= 0x7fffffff) {
    let q = n | 0;
    do {
      const r = (q / 10) | 0;
      out[--k] = 0x30 + q - r * 10;
      q = r;
    } while (q !== 0);
    return;
  }
  let q = n;
  do {
    out[--k] = 0x30 + (q % 10);
    q = Math.floor(q / 10);
  } while (q !== 0);
}

/** Whether `f[fs, fs+n)` is `payload`. */
function isPayload(f: Buffer, fs: number, n: number): boolean {
  return (
    n === 7 &&
    f[fs] === 0x70 &&
    f[fs + 1] === 0x61 &&
    f[fs + 2] === 0x79 &&
    f[fs + 3] === 0x6c &&
    f[fs + 4] === 0x6f &&
    f[fs + 5] === 0x61 &&
    f[fs + 6] === 0x64
  );
}
