/**
 * The Reader's unsigned varint and small varlong (the record fields of every
 * produced record) read exactly what the 2 ** shift forms they replaced
 * read: the same value, the same position after, the same error code, over
 * random byte strings (1–12 bytes, continuation bits likely), every value
 * the Writer writes at the edges (0, 127, 128, 2^32 − 1, ±2^53), cut short
 * and overlong inputs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaCodecError, Reader, Writer } from '../../src/protocols/kafka/wire.js';

/** The reference: the readers as they were (bench/PROFILE.md, "Issue 16 — kafka1k"). */
function refUvarint(buf: Buffer, pos: number, end: number): { v: number; pos: number } | string {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) return 'TRUNCATED';
    const b = buf[pos++]!;
    v += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return v > 0xffffffff ? 'BAD_VARINT' : { v, pos };
  }
  return 'BAD_VARINT';
}

function refVarlongSmall(buf: Buffer, pos: number, end: number): { v: number; pos: number } | null {
  let u = 0;
  for (let shift = 0; shift < 49; shift += 7) {
    if (pos >= end) return null;
    const b = buf[pos++]!;
    u += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { v: u % 2 === 0 ? u / 2 : -(u + 1) / 2, pos };
  }
  return null;
}

function read<T>(f: () => T): { v: T } | string {
  try {
    return { v: f() };
  } catch (err) {
    assert.ok(err instanceof KafkaCodecError, String(err));
    return err.code;
  }
}

function inputs(): Buffer[] {
  const out: Buffer[] = [];
  let seed = 0x9e3779b9;
  const rnd = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  for (let i = 0; i < 20_000; i++) {
    const n = 1 + Math.floor(rnd() * 12);
    const b = Buffer.alloc(n);
    // Continuation bits more often than not, so long varints are common.
    for (let j = 0; j < n; j++) b[j] = Math.floor(rnd() * 256) | (rnd() < 0.6 ? 0x80 : 0);
    out.push(b);
  }
  const w = new Writer();
  for (const v of [0, 1, 63, 64, 127, 128, 255, 16_383, 16_384, 2 ** 31 - 1, 2 ** 32 - 1]) {
    w.uvarint(v);
  }
  for (const v of [0, -1, 1, -64, 64, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER]) w.varlong(v);
  const written = w.toBuffer();
  for (let at = 0; at < written.length; at++) out.push(written.subarray(at));
  out.push(Buffer.alloc(0), Buffer.from([0x80]), Buffer.alloc(11, 0xff));
  return out;
}

test('uvarint reads what the 2 ** shift form read (value, position, error)', () => {
  for (const b of inputs()) {
    const r = new Reader(b);
    const got = read(() => r.uvarint());
    const want = refUvarint(b, 0, b.length);
    if (typeof want === 'string') assert.equal(got, want, b.toString('hex'));
    else {
      assert.deepEqual(got, { v: want.v }, b.toString('hex'));
      assert.equal(r.pos, want.pos, b.toString('hex'));
    }
  }
});

test('varlongNumber reads what the 2 ** shift form read (value, position, error)', () => {
  for (const b of inputs()) {
    const r = new Reader(b);
    const got = read(() => r.varlongNumber());
    const small = refVarlongSmall(b, 0, b.length);
    if (small !== null) {
      assert.deepEqual(got, { v: small.v }, b.toString('hex'));
      assert.equal(r.pos, small.pos, b.toString('hex'));
      continue;
    }
    // Longer than 7 bytes or cut short: the BigInt reader decides, as before.
    const r2 = new Reader(b);
    const big = read(() => r2.varlong());
    if (typeof big === 'string') assert.equal(got, big, b.toString('hex'));
    else if (big.v > BigInt(Number.MAX_SAFE_INTEGER) || big.v < BigInt(Number.MIN_SAFE_INTEGER))
      assert.equal(got, 'BAD_VARINT', b.toString('hex'));
    else assert.deepEqual(got, { v: Number(big.v) }, b.toString('hex'));
  }
});
