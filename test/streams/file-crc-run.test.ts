/**
 * A record's CRC from the last one like it (file-crc-run.ts): records
 * encoded with XaddHead's stamp are the same bytes as without it (the CRC
 * as zlib's), through runs, new ms texts, digit counts that change, other
 * fields, subjects, times, payload sizes on both sides of the JS/native
 * CRC limits and unstamped records in between; the fast path is taken.
 * XaddHead's stamp changes whenever the bytes it vouches for do.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { genNearWrapForTest, XaddHead } from '../../src/protocols/redis/xadd-head.js';
import { crcRunStats, STAMP_K, ZERO_TABLES_MAX } from '../../src/streams/file-crc-run.js';
import { crcRaw8, crcZeros, zeroTable } from '../../src/streams/file-crc32.js';
import { encodeMsgAt, HEADER } from '../../src/streams/file-record.js';

/** A small seeded generator: the same cases every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('file-crc-run', () => {
  test('zero tables advance a register as that many zero bytes do', () => {
    const r = rng(7);
    for (const n of [0, 1, 7, 8, 60, 91, 300]) {
      const t = zeroTable(n);
      for (let i = 0; i < 50; i++) {
        const reg = (r() * 2 ** 32) | 0;
        let c = reg;
        // The byte-at-a-time step, from the polynomial directly.
        for (let k = 0; k < n; k++) {
          for (let b = 0; b < 8; b++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        }
        assert.equal(crcZeros(t, reg) >>> 0, c >>> 0);
      }
    }
    // crcRaw8: the register of 8 bytes from zero; a CRC-32's is its bytes' with both inversions.
    const b = Buffer.from([1, 2, 3, 4, 250, 251, 252, 253]);
    const reg = crcRaw8(b.readInt32LE(0), b.readInt32LE(4));
    const zero8 = zlib.crc32(Buffer.alloc(8)) ^ 0; // the inversions' part for 8 bytes
    assert.equal((reg ^ zero8) >>> 0, zlib.crc32(b) >>> 0);
  });

  test('stamped records are the bytes the plain encoder writes', () => {
    const r = rng(16);
    const head = new XaddHead();
    const subjects = ['redis.stream.bench:redis-xadd-p64:1765080000000', 's.x', 'redis.stream.k'];
    const fields = ['f', 'payload', 'name-of-a-field'].map((f) => Buffer.from(f));
    const a = Buffer.alloc(1 << 16);
    const b = Buffer.alloc(1 << 16);
    const hits0 = crcRunStats.hits;
    let seq = 1_000;
    let ms = 1_765_080_000_000;
    let idSeq = 0;
    let subject = subjects[0]!;
    let field = fields[0]!;
    let payload = Buffer.alloc(16, 'x');
    let time = ms;
    let records = 0;
    for (let i = 0; i < 20_000; i++) {
      const p = r();
      // Mostly the next entry of a run; now and then something else changes.
      if (p < 0.02) {
        ms += 1 + Math.floor(r() * 3);
        idSeq = 0;
        time = ms;
      } else if (p < 0.025) subject = subjects[Math.floor(r() * subjects.length)]!;
      else if (p < 0.03) field = fields[Math.floor(r() * fields.length)]!;
      else if (p < 0.04) {
        const n = [0, 1, 16, 63, 64, 65, 150, 200, 400][Math.floor(r() * 9)]!;
        payload = Buffer.alloc(n);
        for (let k = 0; k < n; k++) payload[k] = Math.floor(r() * 256);
      } else if (p < 0.045) idSeq = [8, 98, 998, 9_998][Math.floor(r() * 4)]!;
      else if (p < 0.05)
        time += 1; // a time not the ID's
      else if (p < 0.06) payload[Math.floor(r() * payload.length)] ^= 0x5a;
      seq += p < 0.055 ? 2 + Math.floor(r() * 1e6) : 1; // now and then a jump (a gap, a big seq)
      const whole = p > 0.97; // now and then the ID as one text (no stamp of a run)
      const block = whole
        ? head.of(`${ms}-${idSeq}`, field, 0, field.length)!
        : head.ofParts(String(ms), idSeq, field, 0, field.length)!;
      const stamp = p > 0.96 && p <= 0.97 ? -1 : head.stamp; // unstamped ones in between
      idSeq++;
      const subjLen = Buffer.byteLength(subject);
      const len = HEADER + subjLen + block.length + payload.length;
      // A range of a bigger buffer half the time (the payload's other path).
      const ps = p < 0.5 ? 0 : 3;
      const src = ps === 0 ? payload : Buffer.concat([Buffer.alloc(3), payload, Buffer.alloc(5)]);
      const off = Math.floor(r() * 1000);
      encodeMsgAt(
        a,
        off,
        len,
        seq,
        time,
        subject,
        subjLen,
        block,
        src,
        ps,
        ps + payload.length,
        stamp,
      );
      encodeMsgAt(b, off, len, seq, time, subject, subjLen, block, src, ps, ps + payload.length);
      assert.ok(a.subarray(off, off + len).equals(b.subarray(off, off + len)), `record ${i}`);
      assert.equal(a.readUInt32LE(off + 4), zlib.crc32(a.subarray(off + 8, off + len)) >>> 0);
      records++;
    }
    // Most records took the last one's CRC (fails where every CRC is computed whole).
    assert.ok(crcRunStats.hits - hits0 > records / 2, `${crcRunStats.hits - hits0} of ${records}`);
    // The zero tables are kept: built once per gap while no more than ZERO_TABLES_MAX are in use.
    assert.ok(crcRunStats.tables < records / 20, `${crcRunStats.tables} tables`);
  });

  test("XaddHead's stamp changes with the bytes it vouches for, and only then", () => {
    const h = new XaddHead();
    const f = Buffer.from('f');
    const g = Buffer.from('g');
    h.ofParts('1000', 5, f, 0, 1);
    const s1 = h.stamp;
    const k = s1 % STAMP_K;
    assert.equal(k, 'NATS/1.0\r\nRedis-Stream-Id: 1000-'.length);
    h.ofParts('1000', 6, f, 0, 1);
    assert.equal(h.stamp, s1, 'the next seq of the same ms');
    h.ofParts('1000', 10, f, 0, 1); // one more digit: the block is rebuilt
    assert.notEqual(h.stamp, s1);
    const s2 = h.stamp;
    h.ofParts('1001', 0, f, 0, 1);
    assert.notEqual(h.stamp, s2, 'a new ms text');
    const s3 = h.stamp;
    h.ofParts('1001', 1, g, 0, 1);
    assert.notEqual(h.stamp, s3, 'another field');
    const other = new XaddHead();
    other.ofParts('1001', 1, g, 0, 1);
    assert.notEqual(other.stamp, h.stamp, 'two heads never share a stamp');
    assert.ok(ZERO_TABLES_MAX > 0);
  });

  test('gens wrap: stamps stay small, a head from before the wrap takes a new one, records as plain', () => {
    const f = Buffer.from('f');
    const subject = 'redis.stream.k';
    const a = Buffer.alloc(4096);
    const b = Buffer.alloc(4096);
    let seq = 1;
    const put = (h: XaddHead, idSeq: number, ms = '1765080000000') => {
      const block = h.ofParts(ms, idSeq, f, 0, 1)!;
      const p = Buffer.from('value');
      const len = HEADER + subject.length + block.length + p.length;
      encodeMsgAt(
        a,
        0,
        len,
        seq,
        1765080000000,
        subject,
        subject.length,
        block,
        p,
        0,
        p.length,
        h.stamp,
      );
      encodeMsgAt(b, 0, len, seq, 1765080000000, subject, subject.length, block, p);
      seq++;
      assert.ok(a.subarray(0, len).equals(b.subarray(0, len)));
      assert.ok(h.stamp >= 0 && h.stamp < 2 ** 29, `stamp ${h.stamp}`);
      return h.stamp;
    };
    const h1 = new XaddHead();
    const h2 = new XaddHead();
    put(h1, 1);
    put(h2, 1);
    genNearWrapForTest();
    const before = put(h1, 2, '1765080000001'); // a new ms text: the last gen before the wrap
    assert.equal(put(h1, 3, '1765080000001'), before);
    put(h2, 4, '1765080000002'); // a new ms text: the gens wrap
    const after = put(h1, 5, '1765080000001');
    assert.notEqual(after, before, 'a new gen after the wrap');
    assert.notEqual(after, h2.stamp);
    for (let i = 5; i < 40; i++) put(i % 3 === 0 ? h2 : h1, i);
  });
});
