/**
 * Redis replies (src/protocols/redis/encoder.ts) byte for byte as the RESP
 * specification writes them, in RESP2 and RESP3, and the RESP2 form Redis
 * sends for each RESP3-only type.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encode,
  encodeAt,
  encodedSize,
  type Protocol,
  R,
  type Reply,
} from '../../src/protocols/redis/encoder.js';
import { RespReader } from '../../src/protocols/redis/parser.js';

const both = (r: Reply) => [2, 3].map((p) => encode(r, p as Protocol).toString('latin1'));

test('simple strings, errors, integers, bulk strings: the same in both', () => {
  assert.deepEqual(both(R.ok), ['+OK\r\n', '+OK\r\n']);
  assert.deepEqual(both(R.error("ERR unknown command 'FOO'")), [
    "-ERR unknown command 'FOO'\r\n",
    "-ERR unknown command 'FOO'\r\n",
  ]);
  assert.deepEqual(both(R.int(-42)), [':-42\r\n', ':-42\r\n']);
  assert.deepEqual(both(R.int(2n ** 62n)), [`:${2n ** 62n}\r\n`, `:${2n ** 62n}\r\n`]);
  assert.deepEqual(both(R.bulk('hello')), ['$5\r\nhello\r\n', '$5\r\nhello\r\n']);
  assert.deepEqual(both(R.bulk('')), ['$0\r\n\r\n', '$0\r\n\r\n']);
  assert.equal(encode(R.bulk('grüß'), 2).toString('latin1'), '$6\r\ngrÃ¼Ã\x9F\r\n');
  assert.deepEqual(
    encode(R.bulk(Buffer.from([0, 13, 10, 255])), 2),
    Buffer.from('$4\r\n\x00\r\n\xff\r\n', 'latin1'),
  );
});

test('a line type never carries CR or LF (they would end the reply early)', () => {
  assert.equal(encode(R.error('ERR a\r\nb'), 2).toString(), '-ERR a b\r\n');
  assert.equal(encode(R.simple('x\ny'), 3).toString(), '+x y\r\n');
});

test('null: $-1 and *-1 in RESP2, _ in RESP3', () => {
  assert.deepEqual(both(R.null), ['$-1\r\n', '_\r\n']);
  assert.deepEqual(both({ t: 'nullArray' }), ['*-1\r\n', '_\r\n']);
});

test('arrays nest; a map is % in RESP3 and a flat array in RESP2 (the spec example)', () => {
  const map = R.map([
    [R.simple('first'), R.int(1)],
    [R.simple('second'), R.int(2)],
  ]);
  assert.deepEqual(both(map), [
    '*4\r\n+first\r\n:1\r\n+second\r\n:2\r\n',
    '%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n',
  ]);
  assert.deepEqual(both(R.array([R.int(1), R.array([R.bulk('a'), R.null])])), [
    '*2\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n',
    '*2\r\n:1\r\n*2\r\n$1\r\na\r\n_\r\n',
  ]);
  assert.deepEqual(both(R.array([])), ['*0\r\n', '*0\r\n']);
});

test('sets, pushes, doubles, booleans, verbatim strings in RESP3, and their RESP2 forms', () => {
  assert.deepEqual(both({ t: 'set', v: [R.bulk('a')] }), [
    '*1\r\n$1\r\na\r\n',
    '~1\r\n$1\r\na\r\n',
  ]);
  assert.deepEqual(both({ t: 'push', v: [R.bulk('message'), R.bulk('ch'), R.bulk('x')] }), [
    '*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n',
    '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n',
  ]);
  assert.deepEqual(both({ t: 'double', v: 1.23 }), ['$4\r\n1.23\r\n', ',1.23\r\n']);
  assert.equal(encode({ t: 'double', v: Number.POSITIVE_INFINITY }, 3).toString(), ',inf\r\n');
  assert.equal(encode({ t: 'double', v: Number.NEGATIVE_INFINITY }, 3).toString(), ',-inf\r\n');
  assert.equal(encode({ t: 'double', v: Number.NaN }, 3).toString(), ',nan\r\n');
  assert.deepEqual(both({ t: 'bool', v: true }), [':1\r\n', '#t\r\n']);
  assert.deepEqual(both({ t: 'bool', v: false }), [':0\r\n', '#f\r\n']);
  assert.deepEqual(both({ t: 'verbatim', format: 'txt', v: 'Some string' }), [
    '$11\r\nSome string\r\n',
    '=15\r\ntxt:Some string\r\n',
  ]);
});

test('an array of bulk strings reads back as a request (the shape both directions share)', () => {
  const args = [Buffer.from('XADD'), Buffer.from('s'), Buffer.from('*'), Buffer.from([0, 1, 2])];
  const r = new RespReader();
  r.push(encode(R.array(args.map(R.bulk)), 2));
  assert.deepEqual(r.next(), args);
});

test('encodeAt writes what encode makes, in encodedSize bytes, at any offset', () => {
  const long = 'é'.repeat(40) + 'x'.repeat(100);
  const entry = (id: string, f: string, v: Buffer | string): Reply =>
    R.array([R.bulk(id), R.array([R.bulk(f), R.bulk(v)])]);
  const replies: Reply[] = [
    R.ok,
    R.simple('line\r\nbreak'),
    R.error("ERR unknown command 'FOO'"),
    R.int(0),
    R.int(9),
    R.int(10),
    R.int(999),
    R.int(1000),
    R.int(123456789012),
    R.int(-42),
    R.int(2n ** 70n),
    { t: 'int', v: 1.5 },
    { t: 'int', v: 2 ** 60 },
    R.bulk(''),
    R.bulk('1733500000123-7'),
    R.bulk('naïve ✓'),
    R.bulk(long),
    R.bulk(Buffer.from([0, 255, 13, 10])),
    R.null,
    { t: 'nullArray' },
    R.array([]),
    R.array(Array.from({ length: 120 }, (_, i) => entry(`${i}-0`, 'f', 'x'.repeat(i)))),
    R.array([R.array([R.bulk('s'), R.array([entry('1-1', 'k', Buffer.from('v'))])]), R.null]),
    { t: 'set', v: [R.bulk('a'), R.int(1)] },
    { t: 'push', v: [R.bulk('message'), R.bulk('ch'), R.bulk('payload')] },
    R.map([
      [R.bulk('name'), R.bulk('g')],
      [R.bulk('pending'), R.int(3)],
    ]),
    { t: 'double', v: 1.25 },
    { t: 'double', v: Number.NaN },
    { t: 'double', v: Number.NEGATIVE_INFINITY },
    { t: 'bool', v: true },
    { t: 'bool', v: false },
    { t: 'verbatim', format: 'txt', v: 'some text ✓' },
    { t: 'verbatim', format: 'm', v: '' },
  ];
  for (const p of [2, 3] as Protocol[]) {
    for (const r of replies) {
      const want = encode(r, p);
      const n = encodedSize(r, p);
      assert.equal(n, want.length, `${p} ${r.t}`);
      const buf = Buffer.alloc(n + 10, 0xee);
      const end = encodeAt(r, p, buf, 7);
      assert.equal(end, 7 + n);
      assert.deepEqual(buf.subarray(7, end), want);
      assert.equal(buf[6], 0xee);
      assert.equal(buf[end], 0xee);
    }
  }
});

test('encodeAt = encode for random nested replies', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const str = () => {
    const alphabet = ['a', '1', '-', ' ', 'é', '✓', '\r', '\n', '😀'];
    let s = '';
    for (let i = rnd(80); i > 0; i--) s += alphabet[rnd(alphabet.length)];
    return s;
  };
  const make = (depth: number): Reply => {
    switch (rnd(depth > 3 ? 7 : 10)) {
      case 0:
        return R.simple(str());
      case 1:
        return R.error(str());
      case 2:
        return R.int(rnd(3) === 0 ? -rnd(1e6) : rnd(3) === 0 ? BigInt(rnd(1e9)) ** 3n : rnd(1e7));
      case 3:
        return R.bulk(str());
      case 4:
        return R.bulk(Buffer.from(str()));
      case 5:
        return rnd(2) === 0 ? R.null : { t: 'nullArray' };
      case 6:
        return { t: 'double', v: rnd(2) === 0 ? rnd(1000) / 7 : rnd(1000) };
      case 7:
        return R.array(Array.from({ length: rnd(12) }, () => make(depth + 1)));
      case 8:
        return R.map(
          Array.from({ length: rnd(5) }, () => [make(depth + 1), make(depth + 1)] as const),
        );
      default:
        return rnd(2) === 0
          ? { t: 'set', v: Array.from({ length: rnd(5) }, () => make(depth + 1)) }
          : { t: 'verbatim', format: 'txt', v: str() };
    }
  };
  for (let i = 0; i < 500; i++) {
    const r = make(0);
    for (const p of [2, 3] as Protocol[]) {
      const want = encode(r, p);
      assert.equal(encodedSize(r, p), want.length);
      const buf = Buffer.alloc(want.length);
      assert.equal(encodeAt(r, p, buf, 0), want.length);
      assert.deepEqual(buf, want);
    }
  }
});
