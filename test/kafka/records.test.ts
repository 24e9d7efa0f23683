/**
 * RecordBatch v2 (src/protocols/kafka/records.ts) and its compression
 * (compression.ts), checked against kafkajs's independent batch encoder and
 * decoder in both directions, for every codec; then the failures the face
 * turns into CORRUPT_MESSAGE: CRC mismatch, bad magic, truncation, trailing
 * bytes, and decompression bombs, which must fail before allocating.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as zstd from '@bokuweb/zstd-wasm';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import snappy from 'snappy';
import {
  Compression,
  compress,
  decompress,
  initCompression,
} from '../../src/protocols/kafka/compression.js';
import {
  Attr,
  crcMatches,
  decodeBatch,
  decodeBatchHeader,
  encodeBatch,
  recordReaders,
  setBaseOffset,
  splitBatches,
} from '../../src/protocols/kafka/records.js';
import { KafkaCodecError } from '../../src/protocols/kafka/wire.js';
import {
  KafkajsDecoder,
  kafkajsCompression,
  kafkajsRecord,
  kafkajsRecordBatch,
  kafkajsRecordBatchDecoder,
} from './kafkajs.js';

const TS = 1_700_000_000_000;
const MAX = 1 << 20;
const CODECS = [
  Compression.None,
  Compression.Gzip,
  Compression.Snappy,
  Compression.Lz4,
  Compression.Zstd,
] as const;

before(async () => {
  await initCompression();
  // kafkajs ships gzip only; plug in the others as its users do (snappy raw, as librdkafka writes it).
  // biome-ignore lint/suspicious/noExplicitAny: kafkajs codec objects.
  const plug = (type: number, c: (b: Buffer) => Buffer, d: (b: Buffer) => Buffer): any => {
    kafkajsCompression.Codecs[type] = () => ({
      compress: async (enc: { buffer: Buffer }) => c(enc.buffer),
      decompress: async (b: Buffer) => d(b),
    });
  };
  plug(
    2,
    (b) => snappy.compressSync(b),
    (b) => decompress(Compression.Snappy, b, MAX),
  );
  plug(
    3,
    (b) => compressFrameSync(b),
    (b) => decompressFrameSync(b),
  );
  plug(
    4,
    (b) => Buffer.from(zstd.compress(b, 3)),
    (b) => decompress(Compression.Zstd, b, MAX),
  );
});

const sample = [
  {
    key: Buffer.from('k1'),
    value: Buffer.from('hello'),
    headers: [{ key: 'h1', value: Buffer.from('x') }],
    timestamp: TS,
  },
  { key: null, value: Buffer.alloc(3000, 7), headers: [], timestamp: TS + 10 },
  { key: Buffer.from(''), value: null, headers: [{ key: 'n', value: null }], timestamp: TS + 3 },
];

for (const codec of CODECS) {
  test(`codec ${codec}: kafkajs's batch decodes with ours`, async () => {
    const wire = await kafkajsRecordBatch.RecordBatch({
      compression: codec,
      firstTimestamp: TS,
      maxTimestamp: TS + 10,
      lastOffsetDelta: 2,
      records: sample.map((r, i) =>
        kafkajsRecord({
          key: r.key,
          value: r.value,
          // kafkajs cannot write a null header value; ours can (tested below).
          headers: Object.fromEntries(
            r.headers.filter((h) => h.value !== null).map((h) => [h.key, h.value]),
          ),
          offsetDelta: i,
          timestampDelta: r.timestamp - TS,
        }),
      ),
    });
    const [batch] = splitBatches(wire.buffer);
    assert.ok(crcMatches(batch));
    const { header, records } = decodeBatch(batch, { maxBytes: MAX });
    assert.equal(header.attributes & Attr.CompressionMask, codec);
    assert.equal(header.baseTimestamp, BigInt(TS));
    assert.equal(header.lastOffsetDelta, 2);
    assert.equal(records.length, 3);
    for (const [i, r] of records.entries()) {
      assert.equal(r.offsetDelta, i);
      assert.equal(r.timestampDelta, sample[i].timestamp - TS);
      assert.deepEqual(r.key === null ? null : Buffer.from(r.key), sample[i].key);
      assert.deepEqual(r.value === null ? null : Buffer.from(r.value), sample[i].value);
    }
    assert.equal(records[0].headers[0].key, 'h1');
    assert.equal(records[0].headers[0].value?.toString(), 'x');
  });

  test(`codec ${codec}: our batch decodes with kafkajs's`, async () => {
    const batch = encodeBatch({
      baseOffset: 40n,
      compression: codec,
      records: sample,
      producerId: 5n,
      producerEpoch: 1,
      baseSequence: 9,
    });
    const got = await kafkajsRecordBatchDecoder(new KafkajsDecoder(batch));
    assert.equal(got.firstOffset, '40');
    assert.equal(got.firstTimestamp, String(TS));
    assert.equal(got.maxTimestamp, String(TS + 10));
    assert.equal(got.producerId, '5');
    assert.equal(got.firstSequence, 9);
    assert.equal(got.records.length, 3);
    assert.equal(got.records[0].offset, '40');
    assert.equal(got.records[1].offset, '41');
    assert.equal(got.records[0].key.toString(), 'k1');
    assert.equal(got.records[0].headers.h1.toString(), 'x');
    assert.equal(got.records[1].key, null);
    assert.equal(got.records[1].value.length, 3000);
    assert.equal(got.records[1].timestamp, String(TS + 10));
    assert.equal(got.records[2].value, null);
    // And ours reads ours.
    const back = decodeBatch(batch, { maxBytes: MAX });
    assert.equal(back.header.baseOffset, 40n);
    assert.equal(back.records[2].headers[0].value, null);
  });
}

test('snappy: both xerial framing (Java) and raw (librdkafka) decode; we write xerial', () => {
  const data = Buffer.alloc(100_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 251;
  const ours = compress(Compression.Snappy, data);
  assert.equal(ours.subarray(1, 7).toString(), 'SNAPPY');
  assert.deepEqual(decompress(Compression.Snappy, ours, MAX), data);
  assert.deepEqual(decompress(Compression.Snappy, snappy.compressSync(data), MAX), data);
});

test('baseOffset and leader epoch are outside the CRC: rewriting them keeps the batch valid', () => {
  const batch = encodeBatch({ records: sample });
  setBaseOffset(batch, 1234n);
  assert.ok(crcMatches(batch));
  assert.equal(decodeBatch(batch, { maxBytes: MAX }).header.baseOffset, 1234n);
});

function corrupt(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KafkaCodecError, String(err));
    assert.equal(err.code, 'CORRUPT_RECORDS');
    assert.match(err.message, pattern);
    return true;
  });
}

test('a flipped byte fails the CRC; the check can be skipped', () => {
  const batch = encodeBatch({ records: sample });
  batch[batch.length - 2] ^= 0xff;
  corrupt(() => decodeBatch(batch, { maxBytes: MAX }), /CRC/);
  assert.equal(crcMatches(batch), false);
});

test('magic 0/1 message sets are refused', () => {
  const batch = encodeBatch({ records: sample });
  batch[16] = 1;
  corrupt(() => splitBatches(batch), /magic 1/);
  corrupt(() => decodeBatchHeader(batch), /magic 1/);
});

test('truncated batches and blobs, and bad lengths, are corrupt wherever cut', () => {
  const batch = encodeBatch({ records: sample });
  for (let cut = 0; cut < batch.length; cut += 7) {
    const part = batch.subarray(0, cut);
    if (cut > 0) corrupt(() => splitBatches(part), /cut short|bytes with|magic|shorter/);
    assert.deepEqual(splitBatches(part, true), []);
    corrupt(() => decodeBatch(part, { maxBytes: MAX }), /./);
  }
  // Records that end early inside a CRC-valid batch: re-CRC'd so only the records are wrong.
  const short = encodeBatch({ records: sample });
  short.writeInt32BE(4, 57);
  short.writeUInt32BE(0, 17);
  corrupt(() => decodeBatch(short, { maxBytes: MAX, checkCrc: false }), /claims|record|after/);
  const two = Buffer.concat([
    encodeBatch({ records: sample }),
    encodeBatch({ records: sample.slice(0, 1) }),
  ]);
  assert.equal(splitBatches(two).length, 2);
});

test('decompression bombs fail before allocating their output', () => {
  const zeros = Buffer.alloc(8 * MAX);
  const bombs: [number, Buffer][] = [
    [Compression.Gzip, gzipSync(zeros)],
    [Compression.Snappy, compress(Compression.Snappy, zeros)],
    [Compression.Snappy, snappy.compressSync(zeros)],
    [Compression.Lz4, compressFrameSync(zeros)],
    [Compression.Zstd, Buffer.from(zstd.compress(zeros, 3))],
  ];
  for (const [codec, bomb] of bombs) {
    corrupt(() => decompress(codec, bomb, MAX), /over the limit/);
    const batch = encodeBatch({ records: [{ value: Buffer.alloc(8) }] });
    const withBomb = Buffer.concat([batch.subarray(0, 61), bomb]);
    withBomb.writeInt32BE(withBomb.length - 12, 8);
    withBomb.writeInt16BE(codec, 21);
    corrupt(() => decodeBatch(withBomb, { maxBytes: MAX, checkCrc: false }), /over the limit/);
  }
  // Under the limit they decode (lz4's bound is from block sizes, a little above the output).
  const half = zeros.subarray(0, MAX / 2);
  for (const codec of [1, 2, 3, 4] as const)
    assert.equal(decompress(codec, compress(codec, half), MAX).length, MAX / 2);
});

/**
 * The same zstd frame without its content size, as streaming writers (the
 * Java client's zstd-jni) make it: FCS flag and single-segment cleared, a
 * window descriptor of 2^23 bytes in their place (RFC 8878 3.1.1.1).
 */
function withoutZstdSize(frame: Buffer): Buffer {
  const fhd = frame[4];
  const single = (fhd >> 5) & 1;
  const fcsBytes = [single, 2, 4, 8][fhd >> 6];
  assert.equal(fhd & 3, 0, 'no dictionary id');
  const rest = frame.subarray(5 + (single ? 0 : 1) + fcsBytes);
  return Buffer.concat([frame.subarray(0, 4), Buffer.from([fhd & 0x1f & ~0x20, 13 << 3]), rest]);
}

test('zstd without a declared size: decoded by growing the output up to the limit, never past it', () => {
  const data = Buffer.alloc(MAX / 2);
  for (let i = 0; i < data.length; i++) data[i] = i % 7;
  const frame = withoutZstdSize(Buffer.from(zstd.compress(data, 3)));
  assert.deepEqual(decompress(Compression.Zstd, frame, MAX), data);
  const bomb = withoutZstdSize(Buffer.from(zstd.compress(Buffer.alloc(8 * MAX), 3)));
  corrupt(() => decompress(Compression.Zstd, bomb, MAX), /more than the limit/);
});

test('garbage in any codec is a typed error', () => {
  const junk = Buffer.from('this is not compressed data at all, not even a little');
  for (const codec of [1, 2, 3, 4, 5, 6, 7]) corrupt(() => decompress(codec, junk, MAX), /./);
});

test('encodeBatch ⇄ decodeBatch over random batches: null and large values, keys, UTF-8 header names, far timestamps, explicit offset deltas', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rnd(256)));
  for (let t = 0; t < 500; t++) {
    const base = 1_700_000_000_000 + rnd(1000);
    const records = Array.from({ length: rnd(12) }, (_, i) => ({
      key: rnd(3) === 0 ? null : bytes(rnd(40)),
      // Values across the Writer's by-reference threshold (2 KiB) and empty ones.
      value: rnd(8) === 0 ? null : bytes(rnd(3) === 0 ? 2000 + rnd(3000) : rnd(100)),
      headers: Array.from({ length: rnd(3) }, () => ({
        key: rnd(2) === 0 ? `h${rnd(100)}` : `ключ-${rnd(9)}`,
        value: rnd(4) === 0 ? null : bytes(rnd(20)),
      })),
      // Deltas below zero and beyond 2^31 ms.
      timestamp: rnd(3) === 0 ? base : base + (rnd(2) === 0 ? -rnd(5000) : 2 ** 32 + rnd(5000)),
      offsetDelta: rnd(4) === 0 ? i * 3 : undefined,
    }));
    const compression = [Compression.None, Compression.None, Compression.Gzip][rnd(3)]!;
    const blob = encodeBatch({ baseTimestamp: base, records, compression });
    assert.ok(crcMatches(blob));
    const { header, records: out } = decodeBatch(blob, { maxBytes: 1 << 20 });
    assert.equal(header.recordCount, records.length);
    assert.equal(header.attributes & Attr.CompressionMask, compression);
    assert.equal(header.baseTimestamp, BigInt(base));
    records.forEach((r, i) => {
      const o = out[i]!;
      assert.deepEqual(o.key, r.key);
      assert.deepEqual(o.value, r.value);
      assert.equal(BigInt(o.timestampDelta), BigInt(r.timestamp) - BigInt(base));
      assert.equal(o.offsetDelta, r.offsetDelta ?? i);
      assert.deepEqual(
        o.headers.map((h) => [h.key, h.value]),
        r.headers.map((h) => [h.key, h.value]),
      );
    });
  }
});

test('plain records are read without a Reader, and always as the general reader reads them (random and damaged records)', () => {
  let seed = 11;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rnd(256)));
  let plain = 0;
  let general = 0;
  for (let t = 0; t < 400; t++) {
    const base = 1_700_000_000_000;
    const records = Array.from({ length: 1 + rnd(6) }, () => ({
      key: rnd(3) === 0 ? bytes(rnd(20)) : null,
      value: rnd(10) === 0 ? null : bytes(rnd(4) === 0 ? 300 + rnd(20_000) : rnd(120)),
      headers: rnd(4) === 0 ? [{ key: 'h', value: bytes(rnd(5)) }] : [],
      // Deltas of 1 to 6 varint bytes (the plain reader takes up to 4).
      timestamp: base + (rnd(2) === 0 ? rnd(100) : rnd(2) === 0 ? -rnd(1 << 20) : 2 ** 33 + rnd(9)),
    }));
    const batch = encodeBatch({ baseTimestamp: base, records });
    const body = Buffer.from(batch.subarray(61));
    // Whole records, then the same bytes damaged: one byte changed, or cut short.
    const cases: Buffer[] = [body];
    for (let k = 0; k < 6; k++) {
      const bad = Buffer.from(body);
      bad[rnd(Math.min(bad.length, 12))] = rnd(256);
      cases.push(bad, body.subarray(0, rnd(body.length)));
    }
    for (const buf of cases) {
      let at = 0;
      while (at < buf.length) {
        const fast = recordReaders.plain(buf, at, buf.length);
        let slow: ReturnType<typeof recordReaders.general> | null = null;
        try {
          slow = recordReaders.general(buf, at, buf.length);
        } catch (err) {
          assert.ok(err instanceof KafkaCodecError);
          assert.equal(fast, null, 'the plain reader takes no record the general one refuses');
          break;
        }
        if (fast === null) general++;
        else {
          plain++;
          assert.equal(fast.end, slow.end);
          assert.deepEqual(fast.record, slow.record);
          assert.ok(Object.isFrozen(fast.record.headers));
        }
        at = slow.end;
      }
    }
  }
  // Both paths were exercised.
  assert.ok(plain > 500 && general > 100, `plain ${plain}, general ${general}`);
  // decodeBatch takes the plain path for a producer's usual records.
  const { records } = decodeBatch(encodeBatch({ records: [{ value: Buffer.from('v') }] }), {
    maxBytes: MAX,
  });
  assert.ok(Object.isFrozen(records[0]!.headers));
});
