/**
 * Produce's hand-written request reader and response writer
 * (produce-wire.ts) against the schema codec, on random requests and
 * answers of every served version and on damaged requests: the same values
 * (records as views of the frame), the same bytes, the same errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeMessage,
  encodeRequest,
  encodeResponse,
  type Message,
  REQUESTS,
} from '../../src/protocols/kafka/codec.js';
import { plainHeaders } from '../../src/protocols/kafka/handlers/produce-append.js';
import { headersOfRecord } from '../../src/protocols/kafka/message-map.js';
import {
  decodeProduceRequest,
  produceResponseSize,
  writeProduceResponse,
} from '../../src/protocols/kafka/produce-wire.js';
import { KafkaCodecError, MEMO_MAX, Reader, StringMemo } from '../../src/protocols/kafka/wire.js';

const SPEC = REQUESTS.get(0)!;

/** A small deterministic generator (xorshift32). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

const NAMES = ['t', 'bench', 'orders.eu', 'a'.repeat(200), 'ü-topic', ''];

function randomRequest(r: ReturnType<typeof rng>): Message {
  const topics = r.int(4);
  return {
    transactionalId: r.int(3) === 0 ? null : r.int(2) === 0 ? '' : 'tx-é',
    acks: [0, 1, -1, 5][r.int(4)]!,
    timeoutMs: r.int(60000) - 5,
    topicData: Array.from({ length: topics }, () => ({
      name: NAMES[r.int(NAMES.length)]!,
      partitionData: Array.from({ length: r.int(4) }, () => ({
        index: r.int(10) - 1,
        records:
          r.int(5) === 0 ? null : Buffer.from(Array.from({ length: r.int(300) }, () => r.int(256))),
      })),
    })),
  };
}

/** The body of a request frame as the client's encoder writes it (after the header). */
function bodyBytes(version: number, m: Message): { frame: Buffer; at: number } {
  const frame = Buffer.concat(
    encodeRequest({ apiKey: 0, apiVersion: version, correlationId: 7, clientId: 'c' }, m),
  ).subarray(4);
  // Header v1 (v3–v8) / v2 (v9): key, version, correlation id, client id "c", tags in v2.
  return { frame, at: 2 + 2 + 4 + 3 + (version >= 9 ? 1 : 0) };
}

type Outcome = { value: Message; pos: number } | { error: string };

function run(f: (r: Reader) => Message, buf: Buffer, at: number, end: number): Outcome {
  const r = new Reader(buf, at, end);
  try {
    const value = f(r);
    return { value, pos: r.pos };
  } catch (err) {
    assert.ok(err instanceof KafkaCodecError, `a codec error, got ${err}`);
    return { error: `${err.code}: ${err.message}` };
  }
}

describe('Produce by hand: the request body', () => {
  it('reads every version as the schema codec does (values, views, position)', () => {
    const r = rng(0x5eed);
    for (let i = 0; i < 3000; i++) {
      const v = 3 + (i % 7);
      const m = randomRequest(r);
      const { frame, at } = bodyBytes(v, m);
      const fast = run((x) => decodeProduceRequest(v, x), frame, at, frame.length);
      const slow = run((x) => decodeMessage(SPEC, v, x), frame, at, frame.length);
      assert.deepEqual(fast, slow, `v${v} request ${i}`);
      assert.ok('value' in fast);
      assert.equal(fast.pos, frame.length);
      // Records are views of the frame, not copies.
      for (const t of fast.value.topicData as Message[]) {
        for (const p of t.partitionData as Message[]) {
          const rec = p.records as Buffer | null;
          if (rec !== null && rec.length > 0) assert.equal(rec.buffer, frame.buffer);
        }
      }
    }
  });

  it('refuses a damaged or cut body with the schema codec error, or reads it the same', () => {
    const r = rng(0xbad);
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const v = 3 + (i % 7);
      const { frame, at } = bodyBytes(v, randomRequest(r));
      const bad = Buffer.from(frame);
      const cuts = r.int(3);
      for (let k = 0; k <= cuts; k++) {
        const j = at + r.int(Math.max(1, bad.length - at));
        bad[j] = [0xff, 0x80, 0x00, 0x7f, r.int(256)][r.int(5)]!;
      }
      const end = r.int(4) === 0 ? at + r.int(bad.length - at + 1) : bad.length;
      const fast = run((x) => decodeProduceRequest(v, x), bad, at, end);
      const slow = run((x) => decodeMessage(SPEC, v, x), bad, at, end);
      assert.deepEqual(fast, slow, `v${v} damaged request ${i}`);
      if ('error' in slow) refused++;
    }
    assert.ok(refused > 300, `damaged bodies refused: ${refused}`);
  });

  it('hands a flexible body with tagged fields to the schema codec', () => {
    const { frame, at } = bodyBytes(9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 100,
      topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from('abc') }] }],
    });
    // The top-level tagged section (the last byte, 0) given one unknown tag 5 of 2 bytes.
    const tagged = Buffer.concat([
      frame.subarray(0, frame.length - 1),
      Buffer.from([1, 5, 2, 9, 9]),
    ]);
    const fast = run((x) => decodeProduceRequest(9, x), tagged, at, tagged.length);
    const slow = run((x) => decodeMessage(SPEC, 9, x), tagged, at, tagged.length);
    assert.deepEqual(fast, slow);
    assert.ok('value' in fast && fast.pos === tagged.length);
  });
});

function randomAnswer(r: ReturnType<typeof rng>): Message {
  const int64 = (): bigint | number => {
    const k = r.int(6);
    if (k === 0) return -1n;
    if (k === 1) return BigInt(Number.MAX_SAFE_INTEGER - r.int(5));
    if (k === 2) return -BigInt(r.int(1e9)) * 1000n;
    if (k === 3) return r.int(1e6);
    return BigInt(r.int(2 ** 31)) * BigInt(r.int(2 ** 20) + 1);
  };
  const str = (): string | null =>
    [null, '', 'The stream refused the batch', 'naïve — ünïcode', 'x'.repeat(130)][r.int(5)]!;
  return {
    responses: Array.from({ length: r.int(4) }, () => ({
      name: NAMES[r.int(NAMES.length)]!,
      partitionResponses: Array.from({ length: r.int(5) }, () => ({
        index: r.int(2000) - 1,
        errorCode: [0, 2, 10, 87, -1, 32767][r.int(6)]!,
        baseOffset: int64(),
        logAppendTimeMs: int64(),
        logStartOffset: int64(),
        recordErrors: Array.from({ length: r.int(3) }, () => ({
          batchIndex: r.int(100),
          batchIndexErrorMessage: str(),
        })),
        errorMessage: str(),
      })),
    })),
    throttleTimeMs: r.int(3) === 0 ? 0 : r.int(1e6),
  };
}

function written(v: number, corr: number, body: Message): Buffer | null {
  const size = produceResponseSize(v, body);
  if (size < 0) return null;
  // Written at an offset into a larger buffer, as into a connection's chunk.
  const buf = Buffer.alloc(size + 20, 0xee);
  const end = writeProduceResponse(buf, 7, size, v, corr, body);
  assert.equal(end, 7 + size);
  assert.equal(buf[6], 0xee);
  assert.equal(buf[end], 0xee);
  return buf.subarray(7, end);
}

describe('Produce by hand: the response', () => {
  it('writes the bytes encodeResponse writes, every version', () => {
    const r = rng(0xfeed);
    for (let i = 0; i < 3000; i++) {
      const v = 3 + (i % 7);
      const body = randomAnswer(r);
      const corr = r.int(2 ** 31);
      const mine = written(v, corr, body);
      assert.ok(mine !== null, `v${v} answer ${i} taken`);
      assert.deepEqual(mine, Buffer.concat(encodeResponse(0, v, corr, body)), `v${v} answer ${i}`);
    }
  });

  it('leaves to encodeResponse what it does not take (defaults, nulls, out of range)', () => {
    const part = {
      index: 0,
      errorCode: 0,
      baseOffset: 5n,
      logAppendTimeMs: -1n,
      logStartOffset: 0n,
      recordErrors: [],
      errorMessage: null,
    };
    const odd: Message[] = [
      { responses: [{ name: 't', partitionResponses: [part] }] },
      { responses: [{ name: null, partitionResponses: [part] }], throttleTimeMs: 0 },
      {
        responses: [{ name: 't', partitionResponses: [{ ...part, baseOffset: 2n ** 62n }] }],
        throttleTimeMs: 0,
      },
      {
        responses: [{ name: 't', partitionResponses: [{ ...part, errorCode: 40000 }] }],
        throttleTimeMs: 0,
      },
      {
        responses: [{ name: 't', partitionResponses: [{ ...part, errorMessage: undefined }] }],
        throttleTimeMs: 0,
      },
    ];
    for (const body of odd) assert.equal(produceResponseSize(8, body), -1);
    // What the session's answers carry is taken.
    assert.ok(
      produceResponseSize(9, {
        responses: [{ name: 't', partitionResponses: [part] }],
        throttleTimeMs: 0,
      }) > 0,
    );
  });
});

describe('Produce by hand: strings and header blocks kept', () => {
  it('StringMemo gives the same string for the same bytes, a new one for others', () => {
    const m = new StringMemo();
    const a = m.utf8(Buffer.from('xxorders.eu'), 2, 9);
    const b = m.utf8(Buffer.from('orders.eu!'), 0, 9);
    assert.equal(a, 'orders.eu');
    assert.ok(Object.is(a, b));
    assert.equal(m.utf8(Buffer.from('orders.us'), 0, 9), 'orders.us');
    assert.equal(m.utf8(Buffer.from('ü'), 0, 2), 'ü');
    const long = 'l'.repeat(MEMO_MAX + 1);
    assert.equal(m.utf8(Buffer.from(long), 0, long.length), long);
    assert.equal(m.utf8(Buffer.from('ü'), 0, 2), 'ü');
    assert.equal(m.utf8(Buffer.alloc(0), 0, 0), '');
  });

  it("a plain record's header block is built once per timestamp, with headersOfRecord's bytes", () => {
    const rec = (delta: number) => ({
      attributes: 0,
      timestampDelta: delta,
      offsetDelta: 0,
      key: null,
      value: Buffer.from('v'),
      headers: [],
    });
    const a = plainHeaders(rec(0), 1_700_000_000_000n);
    const b = plainHeaders(rec(3), 1_700_000_000_000n);
    assert.equal(a, b, 'the same block for the same timestamp');
    assert.deepEqual(a, headersOfRecord(rec(0), 1_700_000_000_000n, null));
    const c = plainHeaders(rec(0), 1_700_000_000_001n);
    assert.notEqual(c, a);
    assert.deepEqual(c, headersOfRecord(rec(0), 1_700_000_000_001n, null));
  });
});
