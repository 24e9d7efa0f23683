/**
 * Kafka's primitive types on the wire (protocol guide, "Protocol Primitive
 * Types"): a bounded Reader over one frame and a chunked Writer. No I/O.
 *
 * The Reader never reads past its end: every read checks the bytes left and
 * throws KafkaCodecError('TRUNCATED'); lengths are checked against the bytes
 * left before anything is allocated. Byte fields come back as views of the
 * frame (subarray, no copy).
 *
 * The Writer fills one growing scratch buffer and can place a large Buffer
 * by reference (`ref`), so a Fetch response's record batches go to writev
 * as they are instead of being copied into one blob.
 */

export type CodecErrorCode =
  /** The input ends before the value does. */
  | 'TRUNCATED'
  /** A length or count that cannot be right (negative, or more than the bytes left). */
  | 'BAD_LENGTH'
  /** A varint longer than its type allows. */
  | 'BAD_VARINT'
  /** A frame over the size limit. */
  | 'TOO_LARGE'
  /** An API key or version this codec does not serve. */
  | 'UNSUPPORTED_VERSION'
  /** A value the encoder cannot write (null where the version has no null, a bad uuid). */
  | 'BAD_VALUE'
  /** Record batch checks (records.ts): bad CRC, magic, attributes, compression. */
  | 'CORRUPT_RECORDS';

/** Every decoding failure is one of these; anything else thrown by the codec is a bug. */
export class KafkaCodecError extends Error {
  constructor(
    readonly code: CodecErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KafkaCodecError';
  }
}

export const ZERO_UUID = '00000000000000000000000000000000';

export class Reader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    pos = 0,
    end = buf.length,
  ) {
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new KafkaCodecError(
        'TRUNCATED',
        `${what}: needs ${n} bytes, ${this.end - this.pos} left`,
      );
    }
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8, 'int64');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned varint of at most 5 bytes (a uint32). */
  uvarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    // A multiplier, not 2 ** shift: Math.pow per byte was 1.7 % of a 1 KiB
    // produce's main thread (bench/PROFILE.md, "Issue 16 — kafka1k").
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      if (pos >= this.end) {
        this.pos = pos;
        throw new KafkaCodecError('TRUNCATED', 'varint: input ends inside it');
      }
      const b = buf[pos++]!;
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        this.pos = pos;
        if (v > 0xffffffff) throw new KafkaCodecError('BAD_VARINT', 'varint: over 32 bits');
        return v;
      }
      mul *= 128;
    }
    this.pos = pos;
    throw new KafkaCodecError('BAD_VARINT', 'varint: longer than 5 bytes');
  }

  /** Zigzag varint (int32). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zigzag varlong (int64), at most 10 bytes. */
  varlong(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end)
        throw new KafkaCodecError('TRUNCATED', 'varlong: input ends inside it');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (v > 0xffff_ffff_ffff_ffffn)
          throw new KafkaCodecError('BAD_VARINT', 'varlong: over 64 bits');
        return (v >> 1n) ^ -(v & 1n);
      }
    }
    throw new KafkaCodecError('BAD_VARINT', 'varlong: longer than 10 bytes');
  }

  /**
   * A zigzag varlong as a number, for the small deltas inside records; the
   * fast path reads up to 7 bytes (49 bits) without bigint.
   */
  varlongNumber(): number {
    const start = this.pos;
    let u = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end)
        throw new KafkaCodecError('TRUNCATED', 'varlong: input ends inside it');
      const b = this.buf[this.pos++]!;
      u += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      mul *= 128;
    }
    this.pos = start;
    const big = this.varlong();
    if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new KafkaCodecError(
        'BAD_VARINT',
        'varlong: beyond 2^53 where a small delta was expected',
      );
    }
    return Number(big);
  }

  /** A view of the next n bytes (no copy). */
  bytes(n: number, what: string): Buffer {
    if (n < 0) throw new KafkaCodecError('BAD_LENGTH', `${what}: negative length ${n}`);
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  utf8(n: number, what: string): string {
    if (n < 0) throw new KafkaCodecError('BAD_LENGTH', `${what}: negative length ${n}`);
    this.need(n, what);
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  uuid(): string {
    this.need(16, 'uuid');
    const v = this.buf.toString('hex', this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  /** Checks an element count against the bytes left: no allocation for a lying count. */
  count(n: number, what: string): number {
    if (n < 0 || n > this.end - this.pos) {
      throw new KafkaCodecError(
        'BAD_LENGTH',
        `${what}: count ${n} with ${this.end - this.pos} bytes left`,
      );
    }
    return n;
  }
}

/**
 * The last short string read at one place of the protocol (a client id, a
 * topic name), kept with its bytes: the same bytes again give the same
 * string, not a new one (and its hash, kept by V8, is not computed again
 * for a map lookup). Strings over MEMO_MAX bytes are not kept.
 */
export class StringMemo {
  private bytes: Buffer = Buffer.alloc(0);
  private str = '';

  /** The UTF-8 string of `buf[at, at + n)` (the caller checked the bounds). */
  utf8(buf: Buffer, at: number, n: number): string {
    const b = this.bytes;
    if (n === b.length) {
      let i = 0;
      while (i < n && buf[at + i] === b[i]) i++;
      if (i === n) return this.str;
    }
    const s = buf.toString('utf8', at, at + n);
    if (n <= MEMO_MAX) {
      this.bytes = Buffer.from(buf.subarray(at, at + n));
      this.str = s;
    }
    return s;
  }
}

/** The longest string a StringMemo keeps, in bytes. */
export const MEMO_MAX = 255;

/** Buffers at least this long are placed by reference, not copied. */
export const REF_MIN_BYTES = 2048;
const FIRST_CHUNK = 1024;

export class Writer {
  private cur: Buffer;
  private pos = 0;
  private segStart = 0;
  private readonly chunks: Buffer[] = [];
  private done = 0;

  constructor(sizeHint = FIRST_CHUNK) {
    this.cur = Buffer.allocUnsafe(Math.max(64, sizeHint));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.done + this.pos - this.segStart;
  }

  private room(n: number): void {
    if (this.cur.length - this.pos >= n) return;
    this.seal();
    this.cur = Buffer.allocUnsafe(Math.max(this.cur.length * 2, n, FIRST_CHUNK));
    this.pos = 0;
    this.segStart = 0;
  }

  private seal(): void {
    if (this.pos > this.segStart) {
      this.chunks.push(this.cur.subarray(this.segStart, this.pos));
      this.done += this.pos - this.segStart;
    }
    this.segStart = this.pos;
  }

  int8(v: number): void {
    this.room(1);
    this.cur.writeInt8(v, this.pos++);
  }

  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }

  int16(v: number): void {
    this.room(2);
    this.pos = this.cur.writeInt16BE(v, this.pos);
  }

  uint16(v: number): void {
    this.room(2);
    this.pos = this.cur.writeUInt16BE(v, this.pos);
  }

  int32(v: number): void {
    this.room(4);
    this.pos = this.cur.writeInt32BE(v, this.pos);
  }

  uint32(v: number): void {
    this.room(4);
    this.pos = this.cur.writeUInt32BE(v, this.pos);
  }

  int64(v: bigint): void {
    this.room(8);
    this.pos = this.cur.writeBigInt64BE(v, this.pos);
  }

  float64(v: number): void {
    this.room(8);
    this.pos = this.cur.writeDoubleBE(v, this.pos);
  }

  uvarint(v: number): void {
    this.room(5);
    let u = v >>> 0;
    while (u >= 0x80) {
      this.cur[this.pos++] = (u & 0x7f) | 0x80;
      u >>>= 7;
    }
    this.cur[this.pos++] = u;
  }

  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  varlong(v: bigint | number): void {
    const big = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
    if (big < 0x80000000n) {
      this.uvarint(Number(big));
      return;
    }
    this.room(10);
    let u = big;
    while (u >= 0x80n) {
      this.cur[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.cur[this.pos++] = Number(u);
  }

  /** Copies small buffers, places large ones by reference. */
  raw(b: Buffer): void {
    if (b.length >= REF_MIN_BYTES) {
      this.seal();
      this.chunks.push(b);
      this.done += b.length;
      return;
    }
    this.room(b.length);
    this.pos += b.copy(this.cur, this.pos);
  }

  utf8(s: string, byteLength: number): void {
    this.room(byteLength);
    this.pos += this.cur.write(s, this.pos, byteLength, 'utf8');
  }

  uuid(hex: string): void {
    if (!/^[0-9a-fA-F]{32}$/.test(hex))
      throw new KafkaCodecError('BAD_VALUE', `uuid: ${JSON.stringify(hex)} is not 32 hex digits`);
    this.room(16);
    this.pos += this.cur.write(hex, this.pos, 16, 'hex');
  }

  /** Reserves 4 bytes and returns a function that writes an int32 there later. */
  reserveInt32(): (v: number) => void {
    this.room(4);
    const buf = this.cur;
    const at = this.pos;
    this.pos += 4;
    return (v) => {
      buf.writeInt32BE(v, at);
    };
  }

  /** The bytes written, as a list for writev (large buffers by reference). */
  chunksOut(): Buffer[] {
    this.seal();
    return this.chunks;
  }

  /** The bytes written as one buffer (a copy only when there are several chunks). */
  toBuffer(): Buffer {
    const list = this.chunksOut();
    return list.length === 1 ? list[0] : Buffer.concat(list, this.done);
  }
}
