/**
 * A MSG record's CRC worked out from the last record like it, with no
 * change to the record format. The Redis face's pipelined XADDs write runs
 * of records that match byte for byte up to the ID's sequence digits in
 * their header block, except for the 8-byte sequence at offset 16: same
 * type, flags and lengths, same time (one per run), same subject, same
 * header prefix `NATS/1.0\r\nRedis-Stream-Id: <ms>-`.
 *
 * CRC-32 is affine: for two ranges of equal length, the CRC registers at
 * their ends differ by the register of their bytes' XOR run through a zero
 * register. Up to the header block's k-th byte (the boundary) the two
 * records differ only in the sequence's 8 bytes, so the new record's
 * register at the boundary is the last one's XOR `crcRaw8(seq words' XOR)`
 * advanced over the zero bytes from offset 24 to the boundary (a table per
 * gap length: file-crc32.ts `zeroTable`). The CRC runs on from there over
 * the rest of the header block and the payload as usual. A table step or
 * two instead of the ~90 bytes before the boundary (subject ~30 B, prefix
 * 27 B, ms 13 B): the record's CRC was 7 % of an XADD's main thread
 * (bench/PROFILE.md, "Issue 16 — xadd4 (round 13)").
 *
 * The caller vouches for the header block's first k bytes with a stamp:
 * `gen * STAMP_K + k`, where every header block given the same `gen` has
 * the same first k bytes (XaddHead takes a new gen whenever it writes one
 * of them). The rest is checked here: the same stamp, header block length,
 * subject and time words as the remembered record. Anything else (or no
 * stamp) computes the CRC whole; the result is always the CRC of the
 * record's bytes as written (test/streams/file-crc-run.test.ts).
 */
import {
  CRC_JS_MAX,
  crc32,
  crc32After,
  crc32Table,
  crcBytes,
  crcRaw8,
  crcZeros,
  zeroTable,
} from './file-crc32.js';

/**
 * A stamp is `(gen * STAMP_K + t) * STAMP_K + k`: k < STAMP_K the header
 * block's first bytes vouched for, t < STAMP_K its last ones (XADD's field
 * line and the block's end, after the sequence's digits).
 */
export const STAMP_K = 128;

/**
 * Zero tables kept, by gap length (4 KiB each; one per subject length and
 * ms text length in use); all dropped when a new one would pass this.
 */
export const ZERO_TABLES_MAX = 16;
const zeroTables = new Map<number, Int32Array>();

/** Records whose CRC came from the last one (`hits`), zero tables built (`tables`). */
export const crcRunStats = { hits: 0, tables: 0 };

function zerosFor(n: number): Int32Array {
  let t = zeroTables.get(n);
  if (t === undefined) {
    if (zeroTables.size >= ZERO_TABLES_MAX) zeroTables.clear();
    t = zeroTable(n);
    zeroTables.set(n, t);
    crcRunStats.tables++;
  }
  return t;
}

/** The last stamped record: what its bytes before the boundary were, and its register there. */
class LastRecord {
  stamp = -1;
  subject = '';
  subjLen = -1;
  hdrLen = -1;
  tLo = 0;
  tHi = 0;
  sLo = 0;
  sHi = 0;
  /** The CRC register at the boundary. */
  reg = 0;
  /** The zero bytes from offset 24 to the boundary. */
  zeros: Int32Array | null = null;
  /** The register of the block's last t bytes run through a zero register, and the table of t zero bytes. */
  tailRaw = 0;
  tailZeros: Int32Array | null = null;
}

const last = new LastRecord();

/** Forgets the remembered record: its stamp may be given out again (XaddHead's gens wrapped). */
export function forgetLastRecord(): void {
  last.stamp = -1;
}

/**
 * The CRC-32 of `buf[off + 8, end)`, of the MSG record at `off` whose
 * header block (`hdrLen` bytes) starts at `hdrAt`, whose subject is
 * `subject` (`subjLen` bytes) and whose sequence and time are the words
 * `sLo, sHi` and `tLo, tHi` (as written at offsets 16 and 24). `stamp`:
 * see the file's comment; -1 for none.
 */
export function recordCrc(
  buf: Buffer,
  off: number,
  hdrAt: number,
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
  const k = stamp % STAMP_K;
  const t = ((stamp / STAMP_K) | 0) % STAMP_K;
  if (stamp < 0 || k + t > hdrLen) return crc32(buf, off + 8, end);
  const b = hdrAt + k;
  const m = last;
  let reg: number;
  // From here the register runs on over the block's middle (the sequence's
  // digits), then its last t bytes, then the payload.
  let from = b;
  if (
    stamp === m.stamp &&
    hdrLen === m.hdrLen &&
    tLo === m.tLo &&
    tHi === m.tHi &&
    subjLen === m.subjLen &&
    subject === m.subject
  ) {
    reg = m.reg ^ crcZeros(m.zeros!, crcRaw8(sLo ^ m.sLo, sHi ^ m.sHi));
    crcRunStats.hits++;
    m.sLo = sLo;
    m.sHi = sHi;
    m.reg = reg;
    if (t > 0) {
      // The last t bytes are the last record's: the register a byte a step
      // over the digits, then moved over t zero bytes and XORed with theirs
      // (a table step where the bytes took ~2.5 slice-by-8 steps).
      const tailAt = hdrAt + hdrLen - t;
      const r = crcZeros(m.tailZeros!, crcBytes(buf, b, tailAt, reg)) ^ m.tailRaw;
      from = hdrAt + hdrLen;
      reg = r;
    }
  } else {
    reg = crc32Table(buf, off + 8, b) ^ -1;
    m.stamp = stamp;
    m.subject = subject;
    m.subjLen = subjLen;
    m.hdrLen = hdrLen;
    m.tLo = tLo;
    m.tHi = tHi;
    m.zeros = zerosFor(b - off - 24);
    m.sLo = sLo;
    m.sHi = sHi;
    m.reg = reg;
    if (t > 0) {
      const tailAt = hdrAt + hdrLen - t;
      m.tailRaw = crc32Table(buf, tailAt, tailAt + t, 0xffffffff) ^ -1;
      m.tailZeros = zerosFor(t);
    }
  }
  const crc = (reg ^ -1) >>> 0;
  return end - from > CRC_JS_MAX
    ? crc32After(crc, buf.subarray(from, end))
    : crc32Table(buf, from, end, crc);
}
