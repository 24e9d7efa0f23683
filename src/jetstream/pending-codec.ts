/**
 * A durable consumer's pending entries as its state file keeps them
 * (`ConsumerState.packedPending`, consumer-state.ts): one base64 string
 * instead of an array of [stream seq, consumer seq, deliveries, time ms]
 * tuples. At max_ack_pending 20,000 the tuples were rebuilt and turned into
 * ~800 KB of JSON (then checksummed) up to 10 times a second; packed, the
 * same entries are ~5 bytes each (bench/PROFILE.md, "Issue 16 — cstate
 * (round 7)"). No I/O here.
 *
 * Bytes (before base64): a varint, the number of entries; then per entry,
 * ascending in stream sequence:
 *   varint   stream seq − the previous entry's (≥ 1; the first: from 0)
 *   zigzag   consumer seq − the previous entry's (the first: from 0)
 *   varint   deliveries (≥ 1)
 *   zigzag   time ms − the previous entry's (the first: from 0)
 * Varints are little-endian base-128 (7 bits a byte, the high bit set on
 * every byte but the last), of integers up to 2^53; zigzag maps n ≥ 0 to
 * 2n and n < 0 to −2n − 1. Anything else — bad base64, a varint cut short
 * or longer than 8 bytes, a value out of range, bytes after the last entry —
 * is a `PendingDecodeError` saying what and where.
 */

/** Bytes a varint of an integer below 2^56 takes at most. */
const MAX_VARINT = 8;
/** A consumer sequence's or a time's step from the entry before stays below this (zigzag ≤ 2^52). */
const MAX_STEP = 2 ** 51;

export class PendingDecodeError extends Error {}

/** Builds the packed form, entry by entry (ascending stream sequence). */
export class PendingPacker {
  private buf: Buffer;
  private pos = MAX_VARINT;
  private count = 0;
  private seq = 0;
  private cseq = 0;
  private time = 0;
  /** Every entry so far fits the packing (see `add`). */
  private ok = true;

  constructor(expected: number) {
    this.buf = Buffer.allocUnsafe(MAX_VARINT + Math.max(16, expected) * 4 * MAX_VARINT);
  }

  /**
   * The next entry. One that does not fit the packing (not above the one
   * before, a value that is not a safe integer, a step of 2^51 or more)
   * makes `finish` answer null: the caller keeps the tuples.
   */
  add(seq: number, cseq: number, deliveries: number, time: number): void {
    if (
      !(seq > this.seq && Number.isSafeInteger(seq)) ||
      !(cseq >= 1 && Number.isSafeInteger(cseq) && Math.abs(cseq - this.cseq) < MAX_STEP) ||
      !(deliveries >= 1 && Number.isSafeInteger(deliveries)) ||
      !(Number.isSafeInteger(time) && Math.abs(time - this.time) < MAX_STEP)
    ) {
      this.ok = false;
      return;
    }
    if (this.buf.length - this.pos < 4 * MAX_VARINT) this.grow();
    this.varint(seq - this.seq);
    this.varint(zigzag(cseq - this.cseq));
    this.varint(deliveries);
    this.varint(zigzag(time - this.time));
    this.seq = seq;
    this.cseq = cseq;
    this.time = time;
    this.count++;
  }

  /** The base64 text (the count written in front of the entries), or null (see `add`). */
  finish(): string | null {
    if (!this.ok) return null;
    const head = Buffer.allocUnsafe(MAX_VARINT);
    const n = writeVarint(head, 0, this.count);
    const start = MAX_VARINT - n;
    head.copy(this.buf, start, 0, n);
    return this.buf.toString('base64', start, this.pos);
  }

  private varint(v: number): void {
    this.pos = writeVarint(this.buf, this.pos, v);
  }

  private grow(): void {
    const b = Buffer.allocUnsafe(this.buf.length * 2);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }
}

function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Writes `v` (an integer, 0 ≤ v < 2^53) at `pos`; the position after it. */
function writeVarint(buf: Buffer, pos: number, v: number): number {
  if (v < 0x80) {
    buf[pos] = v;
    return pos + 1;
  }
  if (v <= 0xffff_ffff) {
    // Below 2^32: shifts, no division.
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Calls `entry` with each packed entry, in order; throws PendingDecodeError
 * (before calling it at all) when `text` is not a well-formed packing.
 */
export function unpackPending(
  text: unknown,
  entry: (seq: number, cseq: number, deliveries: number, time: number) => void,
): void {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new PendingDecodeError('packedPending is not base64');
  }
  const buf = Buffer.from(text, 'base64');
  let pos = 0;
  const read = (what: string, i: number): number => {
    let v = 0;
    let scale = 1;
    for (let k = 0; ; k++) {
      if (pos >= buf.length)
        throw new PendingDecodeError(`packedPending: ${what} of entry ${i} cut short`);
      if (k === MAX_VARINT)
        throw new PendingDecodeError(`packedPending: ${what} of entry ${i} too long`);
      const b = buf[pos++]!;
      v += (b & 0x7f) * scale;
      scale *= 0x80;
      if (b < 0x80) break;
    }
    if (v > Number.MAX_SAFE_INTEGER)
      throw new PendingDecodeError(`packedPending: ${what} of entry ${i} out of range`);
    return v;
  };
  const count = read('count', 0);
  // Each entry takes at least 4 bytes: a count beyond that is damage.
  if (count * 4 > buf.length - pos) {
    throw new PendingDecodeError(`packedPending: ${count} entries announced, ${buf.length} bytes`);
  }
  const out = new Float64Array(count * 4);
  let seq = 0;
  let cseq = 0;
  let time = 0;
  for (let i = 0; i < count; i++) {
    const dseq = read('stream sequence', i);
    if (dseq < 1)
      throw new PendingDecodeError(`packedPending: entry ${i} not above the one before`);
    seq += dseq;
    cseq += unzigzag(read('consumer sequence', i));
    const deliveries = read('deliveries', i);
    time += unzigzag(read('time', i));
    if (
      !Number.isSafeInteger(seq) ||
      cseq < 1 ||
      !Number.isSafeInteger(cseq) ||
      deliveries < 1 ||
      !Number.isSafeInteger(time)
    ) {
      throw new PendingDecodeError(`packedPending: entry ${i} out of range`);
    }
    out[4 * i] = seq;
    out[4 * i + 1] = cseq;
    out[4 * i + 2] = deliveries;
    out[4 * i + 3] = time;
  }
  if (pos !== buf.length) {
    throw new PendingDecodeError(`packedPending: ${buf.length - pos} bytes after entry ${count}`);
  }
  for (let i = 0; i < count; i++)
    entry(out[4 * i]!, out[4 * i + 1]!, out[4 * i + 2]!, out[4 * i + 3]!);
}
