/**
 * The MSG record encoder (file-record.ts) writes the bytes the format
 * says, whatever records came before: the sequence and time as the
 * little-endian doubles `writeDoubleLE` writes (they are written as words),
 * the subject as its UTF-8 whether it is the kept one (two records in a
 * row with it), a new one, non-ASCII or longer than the loop's limit, and
 * the header block and payload in place; every record checks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import {
  checkRecord,
  encodeMsgAt,
  HEADER,
  msgLength,
  recBody,
  recSeq,
  recSubject,
  recTime,
} from '../../src/streams/file-record.js';

/** The record as the format describes it, built field by field. */
function reference(
  seq: number,
  time: number,
  subject: string,
  headers: Buffer | null,
  payload: Buffer,
): Buffer {
  const s = Buffer.from(subject, 'utf8');
  const h = headers ?? Buffer.alloc(0);
  const head = Buffer.alloc(HEADER);
  head.writeUInt32LE(HEADER + s.length + h.length + payload.length, 0);
  head[8] = 1;
  head[9] = headers === null ? 0 : 1;
  head.writeUInt16LE(s.length, 10);
  head.writeUInt32LE(h.length, 12);
  head.writeDoubleLE(seq, 16);
  head.writeDoubleLE(time, 24);
  const rec = Buffer.concat([head, s, h, payload]);
  rec.writeUInt32LE(zlib.crc32(rec.subarray(8)) >>> 0, 4);
  return rec;
}

test("records are the format's bytes whatever subjects came before", () => {
  const subjects = [
    'a.b',
    'a.b',
    'a.b',
    'orders.eu.ü',
    'orders.eu.ü',
    'orders.eu.ü',
    `long.${'x'.repeat(90)}`,
    `long.${'x'.repeat(90)}`,
    `long.${'x'.repeat(90)}`,
    'a.b',
    'a.c',
    'a.b',
    'a.b',
    `${'a.'.slice(0, 1)}.b`, // equal text, another string object
    'redis.stream.k',
  ];
  const seqs = [0, 1, 255, 256, 65_537, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
  const buf = Buffer.alloc(4096);
  let n = 0;
  for (const subject of [...subjects, ...subjects.reverse()]) {
    const seq = seqs[n % seqs.length]!;
    const time = 1_765_080_000_000 + n * 7;
    const headers = n % 3 === 0 ? null : Buffer.from(`NATS/1.0\r\nX: ${n}\r\n\r\n`);
    const payload = Buffer.alloc(n % 5 === 0 ? 100 : n % 7, 0x41 + n);
    const subjLen = Buffer.byteLength(subject);
    const len = msgLength(subjLen, headers, payload);
    const off = 17 + ((n * 131) % 1000);
    buf.fill(0xee);
    encodeMsgAt(buf, off, len, seq, time, subject, subjLen, headers, payload);
    const rec = buf.subarray(off, off + len);
    assert.ok(
      rec.equals(reference(seq, time, subject, headers, payload)),
      `record ${n}: ${subject}`,
    );
    assert.equal(checkRecord(buf, off, len), null);
    assert.equal(recSeq(buf, off), seq);
    assert.equal(recTime(buf, off), time);
    assert.equal(recSubject(buf, off), subject);
    assert.ok(recBody(buf, off).payload.equals(payload));
    n++;
  }
});

test("records in arena-sized buffers (header words through a DataView) are the format's bytes", () => {
  // Two buffers of an arena's size (the DataView path, kept for the last
  // one) and a small one (a byte at a time), taken in turn: each record
  // lands in the buffer it was given, at odd and even offsets, with and
  // without headers, subject lengths past 255 (both bytes of subjLen).
  const big = [Buffer.alloc(256 * 1024), Buffer.alloc(64 * 1024)];
  const small = Buffer.alloc(4096);
  const bufs = [big[0]!, big[0]!, big[1]!, small, big[1]!, big[0]!, small, small, big[1]!];
  const subjects = ['a.b', `s.${'y'.repeat(300)}`, 'orders.eu.ü', 'redis.stream.bench:k'];
  for (let n = 0; n < 90; n++) {
    const buf = bufs[n % bufs.length]!;
    const subject = subjects[n % subjects.length]!;
    const subjLen = Buffer.byteLength(subject);
    const seq = n % 4 === 3 ? Number.MAX_SAFE_INTEGER - n : n * 977;
    const time = 1_765_080_000_000 + n * 13;
    const headers = n % 3 === 0 ? null : Buffer.from(`NATS/1.0\r\nX: ${n}\r\n\r\n`);
    const payload = Buffer.alloc(n % 5 === 0 ? 200 : n % 9, 0x30 + n);
    const len = msgLength(subjLen, headers, payload);
    const off = 1 + ((n * 389) % (buf.length - len - 1));
    buf.fill(0xee, off - 1, off + len + 1);
    encodeMsgAt(buf, off, len, seq, time, subject, subjLen, headers, payload);
    assert.ok(
      buf.subarray(off, off + len).equals(reference(seq, time, subject, headers, payload)),
      `record ${n} in a buffer of ${buf.length} B at ${off}`,
    );
    assert.equal(buf[off - 1], 0xee);
    assert.equal(buf[off + len], 0xee);
    assert.equal(checkRecord(buf, off, len), null);
  }
});

test('a payload given as a range of a larger buffer is copied whole, every length to past the JS limit', () => {
  // XADD's value is a range of the read buffer: copied four bytes a step
  // and by its last four (lengths 0-3 a byte a step), longer ones by `set`.
  const arena = Buffer.alloc(64 * 1024);
  const small = Buffer.alloc(1024);
  for (let n = 0; n <= 80; n++) {
    const payload = Buffer.alloc(n);
    for (let i = 0; i < n; i++) payload[i] = (i * 31 + n) & 0xff;
    const read = Buffer.concat([Buffer.from(`$${n}\r\n`), payload, Buffer.from('\r\n*5')]);
    const ps = String(n).length + 3;
    for (const buf of [arena, small]) {
      const len = msgLength(7, null, payload);
      const off = 3 + n * 5;
      buf.fill(0xee, off - 1, off + len + 1);
      encodeMsgAt(buf, off, len, n, 1_765_080_000_000, 'a.b.cde', 7, null, read, ps, ps + n);
      assert.ok(
        buf
          .subarray(off, off + len)
          .equals(reference(n, 1_765_080_000_000, 'a.b.cde', null, payload)),
        `payload of ${n} B in a buffer of ${buf.length} B`,
      );
      assert.equal(buf[off + len], 0xee);
    }
  }
});
