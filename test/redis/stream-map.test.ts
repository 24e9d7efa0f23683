/**
 * The Redis stream ⇄ Weft stream mapping (src/protocols/redis/stream-map.ts):
 * keys ⇄ names, IDs (parse, order, XADD's rules), fields ⇄ payload and
 * headers (lossless), and the ID → sequence search.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  compareIds,
  encodeEntry,
  entryOf,
  firstSeqAtOrAfter,
  formatId,
  ID_MAX,
  IdErr,
  keyOfStream,
  nextXaddId,
  parseId,
  parseRangeBound,
  parseXaddId,
  type StoredLike,
  type StreamId,
  streamNameOf,
  xaddSubject,
} from '../../src/protocols/redis/stream-map.js';
import type { StreamConfig } from '../../src/streams/stream-config.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const id = (ms: number, seq: number): StreamId => ({ ms: BigInt(ms), seq: BigInt(seq) });

describe('Redis stream map', () => {
  test('keys map to stream names and back', () => {
    const cases: [Buffer, string][] = [
      [b('orders'), 'orders'],
      [b('orders:eu'), 'orders:eu'],
      [b('a.b'), 'a%2Eb'],
      [b('x y/z*>'), 'x%20y%2Fz%2A%3E'],
      [b('50%'), '50%25'],
      [Buffer.from('héllo', 'utf8'), 'héllo'],
      [Buffer.from([0xff, 0x41]), '%FFA'],
      // The ASCII fast path stops at the first escaped byte: what follows is still judged whole.
      [Buffer.from([0x2e, 0xff]), '%2E%FF'],
      [Buffer.concat([b('.'), Buffer.from('é', 'utf8')]), '%2Eé'],
      [Buffer.concat([Buffer.from('é', 'utf8'), b('.')]), 'é%2E'],
      [Buffer.from([0x41, 0xc3]), 'A%C3'],
    ];
    for (const [key, name] of cases) {
      assert.deepEqual(streamNameOf(key), { name });
      assert.deepEqual(keyOfStream(name), key);
    }
    assert.ok('error' in streamNameOf(b('')));
    assert.ok('error' in streamNameOf(b('.'.repeat(100))));
    // A name made elsewhere that is not in the escaped form is its own key.
    assert.deepEqual(keyOfStream('100%sure'), b('100%sure'));
  });

  test('IDs parse as Redis reads them', () => {
    assert.deepEqual(parseId(b('5'), 0n), id(5, 0));
    assert.deepEqual(parseId(b('5-3'), 0n), id(5, 3));
    assert.deepEqual(parseId(b(' +07-01'), 0n), id(7, 1));
    assert.deepEqual(parseId(b('-'), 0n), id(0, 0));
    assert.deepEqual(parseId(b('+'), 0n), ID_MAX);
    assert.equal(parseId(b('+'), 0n, true), null);
    // A sequence after the first `-` goes through strtoull when Redis's
    // strict parse refuses it: a `-` there negates modulo 2^64.
    const wrap = (n: bigint) => 2n ** 64n - n;
    assert.deepEqual(parseId(b('3--18446744073709551615'), 0n), id(3, 1));
    assert.deepEqual(parseId(b('3--05'), 0n), { ms: 3n, seq: wrap(5n) });
    assert.deepEqual(parseId(b('3- -5'), 0n), { ms: 3n, seq: wrap(5n) });
    assert.deepEqual(parseId(b('3--0'), 0n), id(3, 0));
    assert.deepEqual(parseId(b('3--9223372036854775809'), 0n), {
      ms: 3n,
      seq: 9223372036854775807n,
    });
    for (const bad of [
      '3--1',
      '3--9223372036854775808',
      '3--18446744073709551616',
      '3--',
      '3- -',
      '',
      '6-',
      '-7',
      '7 ',
      '1e3',
      '0x10',
      '1-18446744073709551616',
      '1.5',
      '1-2-3',
    ]) {
      assert.equal(parseId(b(bad), 0n), null, bad);
    }
    assert.deepEqual(parseRangeBound(b('(1-1'), false), id(1, 2));
    assert.deepEqual(parseRangeBound(b('(1'), true), { ms: 1n, seq: 0xffff_ffff_ffff_fffen });
    assert.equal(parseRangeBound(b('(+'), false), IdErr.invalid);
    assert.equal(
      parseRangeBound(b('(18446744073709551615-18446744073709551615'), false),
      IdErr.badStart,
    );
    assert.equal(parseRangeBound(b('(0-0'), true), IdErr.badEnd);
  });

  test("XADD's ID rules", () => {
    const x = (s: string, last: StreamId, now = 100) =>
      nextXaddId(parseXaddId(b(s))!, last, BigInt(now));
    assert.deepEqual(x('*', id(0, 0)), id(100, 0));
    assert.deepEqual(x('*', id(100, 4)), id(100, 5));
    assert.deepEqual(x('*', id(200, 4)), id(200, 5));
    assert.deepEqual(x('5-*', id(5, 3)), id(5, 4));
    assert.deepEqual(x('0-*', id(0, 0)), id(0, 1));
    assert.equal(x('4-*', id(5, 3)), IdErr.notGreater);
    assert.equal(x('5-3', id(5, 3)), IdErr.notGreater);
    assert.equal(x('0-0', id(0, 0)), IdErr.zero);
    assert.equal(x('*', ID_MAX), IdErr.exhausted);
    assert.equal(x('18446744073709551615-*', ID_MAX), IdErr.exhausted);
    assert.equal(x('5-*', { ms: 5n, seq: 0xffff_ffff_ffff_ffffn }), IdErr.notGreater);
    assert.equal(parseXaddId(b('-')), null);
    assert.equal(compareIds(id(1, 2), id(1, 3)), -1);
    assert.equal(formatId(ID_MAX), '18446744073709551615-18446744073709551615');
  });

  test('fields survive the trip through payload and headers', () => {
    const cases: Buffer[][] = [
      [b('payload'), b('hello')],
      [b('temp'), b('21.5')],
      [b('a'), b('1'), b('b'), b('2')],
      [b('a'), b('1'), b('a'), b('2')],
      [b('1'), b('x'), b('b'), b('y')],
      [Buffer.from([0, 1, 2]), Buffer.from([0xff, 0xfe])],
      [b(' spaced '), b('v')],
      [b('k'), Buffer.alloc(0)],
      // Field names around the printable-ASCII fast path of the one-field entry.
      [b('~!'), b('v')],
      [Buffer.from('é', 'utf8'), b('v')],
      [b('a\tb'), b('v')],
      [b('x\x7f'), b('v')],
      [b('a'.repeat(1024)), b('v')],
      [b('a'.repeat(1025)), b('v')],
    ];
    for (const fields of cases) {
      const e = encodeEntry(id(9, 1), fields);
      const m: StoredLike = { seq: 3, time: 5, headers: e.headers, payload: e.payload };
      const back = entryOf(m);
      assert.deepEqual(back.id, id(9, 1));
      assert.deepEqual(back.fields, fields);
      // From an offset of the command's arguments, with the ID's text given: the same bytes.
      const at = encodeEntry(id(9, 1), [b('XADD'), b('k'), b('*'), ...fields], 3, '9-1');
      assert.deepEqual(at.headers, e.headers);
      assert.deepEqual(at.payload, e.payload);
    }
    // `payload` only by its exact bytes; a UTF-8 field name keeps its bytes in the header.
    for (const name of ['payloaD', 'payloa', 'payloads', 'größe']) {
      const e = encodeEntry(id(4, 2), [Buffer.from(name, 'utf8'), b('v')]);
      assert.deepEqual(
        e.headers,
        Buffer.from(`NATS/1.0\r\nRedis-Stream-Id: 4-2\r\nRedis-Field: ${name}\r\n\r\n`, 'utf8'),
      );
    }
    const one = encodeEntry(id(1, 1), [b('payload'), b('hi')]);
    assert.equal(one.payload.toString(), 'hi');
    assert.equal(one.headers.toString(), 'NATS/1.0\r\nRedis-Stream-Id: 1-1\r\n\r\n');
    const named = encodeEntry(id(2, 3), [b('temp'), b('21')]);
    assert.equal(
      named.headers.toString(),
      'NATS/1.0\r\nRedis-Stream-Id: 2-3\r\nRedis-Field: temp\r\n\r\n',
    );
    const json = encodeEntry(id(1, 1), [b('a'), b('1'), b('b'), b('2')]);
    assert.equal(json.payload.toString(), '{"a":"1","b":"2"}');
    // A message from another face: the field `payload`, the ID from time and sequence.
    const foreign = entryOf({ seq: 7, time: 1234, headers: null, payload: b('raw') });
    assert.deepEqual(foreign, { id: id(1234, 7), fields: [b('payload'), b('raw')] });
  });

  test('XADD subjects', () => {
    const cfg = (name: string, subjects: string[]) =>
      ({ name, subjects }) as unknown as StreamConfig;
    assert.deepEqual(xaddSubject(cfg('s', ['redis.stream.s'])), { subject: 'redis.stream.s' });
    assert.deepEqual(xaddSubject(cfg('s', ['a.*', 'b.c'])), { subject: 'b.c' });
    assert.ok('error' in xaddSubject(cfg('s', ['a.>'])));
    assert.ok('error' in xaddSubject(cfg('s', [])));
  });

  test('ID to sequence, with gaps', async () => {
    // seq 1..50, every third deleted; ID = seq*10 - 0.
    const held = new Map<number, StoredLike>();
    for (let s = 1; s <= 50; s++) {
      if (s % 3 === 0) continue;
      held.set(s, { seq: s, time: s * 10, headers: null, payload: b('') });
    }
    const reader = {
      firstSeq: 1,
      lastSeq: 50,
      async next(seq: number) {
        for (let s = Math.max(seq, 1); s <= 50; s++) if (held.has(s)) return held.get(s)!;
        return null;
      },
    };
    for (let ms = 0; ms <= 520; ms += 7) {
      const at = await firstSeqAtOrAfter(reader, id(ms, 0));
      const m = await reader.next(at);
      const want = [...held.values()].find((x) => compareIds(id(x.time, x.seq), id(ms, 0)) >= 0);
      assert.equal(m?.seq, want?.seq, `ms ${ms}`);
    }
  });

  test('fuzz: any bytes parse to an ID that prints and reads back, or to nothing, never a throw', () => {
    const parts = [
      '0',
      '1',
      '9',
      '-',
      '+',
      '(',
      '*',
      ' ',
      '\t',
      'x',
      '\0',
      '18446744073709551615',
      '18446744073709551616',
    ];
    for (let i = 0; i < 5000; i++) {
      const raw = randomBytes(1 + (i % 8));
      const text = [...raw].map((v) => parts[v % parts.length]).join('');
      for (const arg of [raw, b(text)]) {
        for (const strict of [false, true]) {
          const id = parseId(arg, 0n, strict);
          if (id === null) continue;
          assert.ok(id.ms >= 0n && id.ms <= ID_MAX.ms && id.seq >= 0n && id.seq <= ID_MAX.seq);
          assert.deepEqual(parseId(b(formatId(id)), 0n, true), id);
        }
        const bound = parseRangeBound(arg, i % 2 === 0);
        assert.ok(typeof bound === 'string' || compareIds(bound, ID_MAX) <= 0);
        parseXaddId(arg);
      }
    }
  });
});
