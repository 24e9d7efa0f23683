/**
 * The NATS parser as a pure byte machine: every valid frame gives the same
 * events whether it arrives whole, one byte at a time, or in random pieces;
 * bad input gives the exact wire error and then nothing more; a whole PUB's
 * payload is a view of the fed bytes.
 *
 * Random splits use a seeded PRNG: set WEFT_FUZZ_SEED to replay a failure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloseReason, WireError } from '../../src/errors.js';
import {
  MAX_CONNECT_LINE,
  NatsParser,
  type ParserLimits,
} from '../../src/protocols/nats/parser.js';
import {
  bytes,
  bytewise,
  CORPUS,
  DEFAULT_LIMITS,
  describeSplits,
  type Frame,
  feedChunks,
  makeRng,
  type Outcome,
  type ParserEvent,
  randomSplits,
  recorder,
  seedFromEnv,
  stream,
  subSeed,
  whole,
  withContext,
} from '../fuzz/nats-frames.js';

const SEED = seedFromEnv();
const RANDOM_RUNS = 200;
/** A CONNECT line one byte longer than MAX_CONNECT_LINE. */
const CONNECT_OVER = `CONNECT {"x":"${'y'.repeat(MAX_CONNECT_LINE - 15)}"}`;

/** Feeds `input` whole, byte by byte and in random splits; all must equal `expected`. */
function assertAllSplits(
  input: Buffer,
  expected: Outcome,
  limits: ParserLimits,
  seed: number,
  runs = 40,
): void {
  withContext('fed whole', () => assert.deepEqual(feedChunks(whole(input), limits), expected));
  withContext('fed one byte at a time', () =>
    assert.deepEqual(feedChunks(bytewise(input), limits), expected),
  );
  const rng = makeRng(seed);
  for (let i = 0; i < runs; i++) {
    const chunks = randomSplits(input, rng);
    withContext(
      `random split #${i} differs (WEFT_FUZZ_SEED=${SEED}; chunks ${describeSplits(chunks)})`,
      () => assert.deepEqual(feedChunks(chunks, limits), expected),
    );
  }
}

function ok(events: ParserEvent[]): Outcome {
  return { events, error: null, afterError: 0 };
}

function failed(events: ParserEvent[], wire: string, reason: string): Outcome {
  return { events, error: { wire, reason }, afterError: 0 };
}

describe('NatsParser: valid frames', () => {
  for (const [i, f] of CORPUS.entries()) {
    test(`${f.name}: whole, byte by byte, random splits`, () => {
      assertAllSplits(f.wire, ok(f.events), DEFAULT_LIMITS, subSeed(SEED, i));
    });
  }

  test('the whole corpus back to back, shuffled, in random splits', (t) => {
    t.diagnostic(`WEFT_FUZZ_SEED=${SEED}`);
    const rng = makeRng(subSeed(SEED, 1000));
    const all = stream(CORPUS);
    assertAllSplits(all.wire, ok(all.events), DEFAULT_LIMITS, subSeed(SEED, 1001), 0);
    for (let run = 0; run < RANDOM_RUNS; run++) {
      const frames: Frame[] = [];
      const n = rng.range(1, CORPUS.length * 2);
      for (let k = 0; k < n; k++) frames.push(rng.pick(CORPUS));
      const s = stream(frames);
      const chunks = randomSplits(s.wire, rng);
      withContext(
        `run ${run} (WEFT_FUZZ_SEED=${SEED}): frames [${frames.map((f) => f.name).join(' | ')}], ` +
          `chunks ${describeSplits(chunks)}`,
        () => assert.deepEqual(feedChunks(chunks), ok(s.events)),
      );
    }
  });

  test('PUB subjects that differ in one byte, or repeat, are each reported as sent', () => {
    const long = 'x'.repeat(300);
    const subjects = [
      'a.b1',
      'a.b2',
      'a.b2',
      'b.b2',
      'a.b2',
      'a.b',
      'a.b22',
      'größe',
      'größf',
      `${long}.1`,
      `${long}.2`,
      `${long}.2`,
      'a.b2',
      // Ack subjects (not remembered for the next PUB) between repeats.
      '$JS.ACK.s.c.1.2.2.0.9',
      'a.b2',
      '$JS.ACK.s.c.1.3.3.0.8',
      '$JS.ACK.s.c.1.3.3.0.8',
      '$JS.ACK.s.c.1.4.4.0.7',
      '$JS.ACKS.c.1.4.4.0.7',
      '$JS.ACKS.c.1.4.4.0.7',
      '$JS.ACK.',
      '$JS.ACK',
      'a.b2',
    ];
    const events = subjects.map((s) => ({
      op: 'pub' as const,
      subject: s,
      reply: '',
      headers: null,
      payload: 'x',
    }));
    const input = Buffer.from(subjects.map((s) => `PUB ${s} 1\r\nx\r\n`).join(''), 'utf8');
    assertAllSplits(input, ok(events), DEFAULT_LIMITS, subSeed(SEED, 2004), 10);
  });

  test('a zero-length feed changes nothing', () => {
    const { handler, events } = recorder();
    const p = new NatsParser(handler, DEFAULT_LIMITS);
    assert.equal(p.feed(Buffer.alloc(0)), null);
    assert.equal(p.feed(bytes('PUB foo 2\r\nh')), null);
    assert.equal(p.feed(Buffer.alloc(0)), null);
    assert.equal(p.feed(bytes('i\r\n')), null);
    assert.deepEqual(events, [
      { op: 'pub', subject: 'foo', reply: '', headers: null, payload: 'hi' },
    ]);
  });

  test('a payload of exactly maxPayload is accepted, whole and split', () => {
    const limits = { maxPayload: 16, maxControlLine: 64 };
    const body = 'x'.repeat(16);
    assertAllSplits(
      bytes(`PUB foo 16\r\n${body}\r\n`),
      ok([{ op: 'pub', subject: 'foo', reply: '', headers: null, payload: body }]),
      limits,
      subSeed(SEED, 2000),
    );
  });

  test('a control line of exactly maxControlLine is accepted (CRLF and bare LF)', () => {
    const limits = { maxPayload: 1024, maxControlLine: 32 };
    const sid = 'x'.repeat(32 - 'SUB foo '.length);
    const line = `SUB foo ${sid}`;
    assert.equal(line.length, 32);
    const expected = ok([{ op: 'sub', subject: 'foo', queue: '', sid }]);
    assertAllSplits(bytes(`${line}\r\n`), expected, limits, subSeed(SEED, 2001));
    assertAllSplits(bytes(`${line}\n`), expected, limits, subSeed(SEED, 2002));
  });

  test('CONNECT is allowed up to MAX_CONNECT_LINE whatever maxControlLine is', () => {
    const limits = { maxPayload: 1024, maxControlLine: 64 };
    const head = 'CONNECT {"auth_token":"';
    const tail = '"}';
    const token = 'j'.repeat(MAX_CONNECT_LINE - head.length - tail.length);
    const json = `{"auth_token":"${token}"}`;
    const line = head + token + tail;
    assert.equal(line.length, MAX_CONNECT_LINE);
    assertAllSplits(
      bytes(`${line}\r\nPING\r\n`),
      ok([{ op: 'connect', json }, { op: 'ping' }]),
      limits,
      subSeed(SEED, 2003),
      5,
    );
  });
});

describe('NatsParser: errors', () => {
  const small: ParserLimits = { maxPayload: 16, maxControlLine: 32 };
  const UNKNOWN = WireError.UnknownOperation;
  const PARSE = CloseReason.ParseError;
  const cases: { name: string; input: string; limits?: ParserLimits; expect: Outcome }[] = [
    { name: 'unknown verb', input: 'FOO bar\r\n', expect: failed([], UNKNOWN, PARSE) },
    {
      name: 'unknown verb between good ones',
      input: 'PING\r\nFOO\r\nPING\r\n',
      expect: failed([{ op: 'ping' }], UNKNOWN, PARSE),
    },
    { name: 'verb with a suffix', input: 'PINGX\r\n', expect: failed([], UNKNOWN, PARSE) },
    { name: 'PUB missing its size', input: 'PUB foo\r\n', expect: failed([], UNKNOWN, PARSE) },
    { name: 'PUB with no arguments', input: 'PUB\r\n', expect: failed([], UNKNOWN, PARSE) },
    {
      name: 'PUB with a non-numeric size',
      input: 'PUB foo abc\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'PUB with a negative size',
      input: 'PUB foo -1\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'PUB with an exponent size',
      input: 'PUB foo 1e3\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'PUB with too many arguments',
      input: 'PUB a b c d\r\nxxxx\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'PUB with far too many arguments',
      input: 'PUB a b c d e f g\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'SUB with too many arguments',
      input: 'SUB a b c d\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    { name: 'SUB without a sid', input: 'SUB foo\r\n', expect: failed([], UNKNOWN, PARSE) },
    { name: 'UNSUB without a sid', input: 'UNSUB\r\n', expect: failed([], UNKNOWN, PARSE) },
    {
      name: 'UNSUB with a non-numeric max',
      input: 'UNSUB 1 x\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    { name: 'PING with an argument', input: 'PING now\r\n', expect: failed([], UNKNOWN, PARSE) },
    { name: 'CONNECT without JSON', input: 'CONNECT\r\n', expect: failed([], UNKNOWN, PARSE) },
    {
      name: 'payload longer than its size',
      input: 'PUB foo 3\r\nhello\r\nPING\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'payload shorter than its size',
      input: 'PUB foo 10\r\nhello\r\nPING\r\nPING\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'payload ended by a bare LF',
      input: 'PUB foo 2\r\nhi\nPING\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'HPUB header size larger than the total',
      input: 'HPUB foo 10 5\r\n0123456789\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'HPUB with a non-numeric header size',
      input: 'HPUB foo x 5\r\nhello\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'HPUB with one size only',
      input: 'HPUB foo 5\r\nhello\r\n',
      expect: failed([], UNKNOWN, PARSE),
    },
    {
      name: 'PUB over maxPayload',
      input: `PUB foo 17\r\n${'x'.repeat(17)}\r\n`,
      limits: small,
      expect: failed([], WireError.MaxPayload, CloseReason.MaxPayload),
    },
    {
      name: 'PUB far over maxPayload',
      input: 'PUB foo 999999999999999\r\n',
      limits: small,
      expect: failed([], WireError.MaxPayload, CloseReason.MaxPayload),
    },
    {
      name: 'HPUB whose total is over maxPayload',
      input: `HPUB foo 12 17\r\nNATS/1.0\r\n\r\nhello\r\n`,
      limits: small,
      expect: failed([], WireError.MaxPayload, CloseReason.MaxPayload),
    },
    {
      name: 'control line one byte over maxControlLine',
      input: `PING\r\nSUB foo ${'x'.repeat(32 - 7)}\r\nPING\r\n`,
      limits: small,
      expect: failed([{ op: 'ping' }], WireError.MaxControlLine, CloseReason.MaxControlLine),
    },
    {
      name: 'control line over maxControlLine ended by a bare LF',
      input: `SUB foo ${'x'.repeat(32 - 7)}\nPING\r\n`,
      limits: small,
      expect: failed([], WireError.MaxControlLine, CloseReason.MaxControlLine),
    },
    {
      name: 'control line over maxControlLine with no line end yet',
      input: `SUB foo ${'x'.repeat(100)}`,
      limits: small,
      expect: failed([], WireError.MaxControlLine, CloseReason.MaxControlLine),
    },
    {
      name: 'CONNECT one byte over MAX_CONNECT_LINE',
      input: `${CONNECT_OVER}\r\n`,
      limits: small,
      expect: failed([], WireError.MaxControlLine, CloseReason.MaxControlLine),
    },
  ];

  for (const [i, c] of cases.entries()) {
    test(`${c.name}: same error whole, byte by byte, random splits; then nothing`, () => {
      assertAllSplits(
        bytes(c.input),
        c.expect,
        c.limits ?? DEFAULT_LIMITS,
        subSeed(SEED, 3000 + i),
      );
    });
  }

  test('CONNECT over the limit really is one byte over', () => {
    assert.equal(CONNECT_OVER.length, MAX_CONNECT_LINE + 1);
  });

  test('after an error the parser emits nothing and returns null', () => {
    const { handler, events } = recorder();
    const p = new NatsParser(handler, DEFAULT_LIMITS);
    const err = p.feed(bytes('PING\r\nBOGUS\r\nPING\r\n'));
    assert.ok(err !== null);
    assert.equal(err.wire, 'Unknown Protocol Operation');
    assert.deepEqual(events, [{ op: 'ping' }]);
    assert.equal(p.feed(bytes('PING\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\n')), null);
    assert.deepEqual(events, [{ op: 'ping' }]);
  });

  test('an error inside a split payload also ends the parser', () => {
    const { handler, events } = recorder();
    const p = new NatsParser(handler, DEFAULT_LIMITS);
    assert.equal(p.feed(bytes('PUB foo 3\r\nab')), null);
    const err = p.feed(bytes('cdPING\r\n'));
    assert.ok(err !== null);
    assert.equal(err.wire, WireError.UnknownOperation);
    assert.equal(p.feed(bytes('PING\r\n')), null);
    assert.deepEqual(events, []);
  });

  // Clients match on these; current nats-server sends the control-line one in
  // lower case (ErrMaxControlLine), the others as written here.
  test("the wire texts are nats-server's exactly", () => {
    const small2 = { maxPayload: 4, maxControlLine: 16 };
    const run = (input: string) => new NatsParser(recorder().handler, small2).feed(bytes(input));
    assert.equal(run('PUB foo 5\r\n')?.wire, 'Maximum Payload Violation');
    assert.equal(run(`SUB ${'a'.repeat(20)} 1\r\n`)?.wire, 'maximum control line exceeded');
    assert.equal(run('NOPE\r\n')?.wire, 'Unknown Protocol Operation');
  });

  test('a control line over the limit is refused across feeds before its end arrives', () => {
    const limits = { maxPayload: 1024, maxControlLine: 32 };
    for (const step of [1, 3, 10, 33]) {
      const p = new NatsParser(recorder().handler, limits);
      const piece = bytes('a'.repeat(step));
      let fed = 0;
      let err = null;
      while (err === null && fed < 1000) {
        err = p.feed(piece);
        fed += step;
      }
      assert.ok(err !== null, `step ${step}: no error after ${fed} bytes without a line end`);
      assert.equal(err.wire, WireError.MaxControlLine);
      // The line may still end in CRLF: allow limit + 2 bytes, no more.
      assert.ok(fed <= 32 + 2 + step, `step ${step}: buffered ${fed} bytes before refusing`);
    }
  });

  test('a long CONNECT is refused across feeds once over MAX_CONNECT_LINE', () => {
    const limits = { maxPayload: 1024, maxControlLine: 32 };
    const p = new NatsParser(recorder().handler, limits);
    let err = p.feed(bytes('CONNECT {"x":"'));
    let fed = 14;
    const piece = bytes('y'.repeat(1000));
    while (err === null && fed < 4 * MAX_CONNECT_LINE) {
      err = p.feed(piece);
      fed += piece.length;
    }
    assert.ok(err !== null, 'never refused');
    assert.equal(err.wire, WireError.MaxControlLine);
    assert.ok(fed > MAX_CONNECT_LINE, `refused at ${fed} bytes, below MAX_CONNECT_LINE`);
    assert.ok(fed <= MAX_CONNECT_LINE + 2 + piece.length, `buffered ${fed} bytes`);
  });
});

describe('NatsParser: zero copy', () => {
  test('a whole PUB payload is a view of the fed buffer', () => {
    const input = Buffer.from('PING\r\nPUB foo 5\r\nhello\r\n');
    const seen: Buffer[] = [];
    const { events } = feedInto(input, (payload) => seen.push(payload));
    assert.equal(events.length, 2);
    assert.equal(seen.length, 1);
    const payload = seen[0];
    assert.equal(payload.buffer, input.buffer, 'same ArrayBuffer');
    assert.equal(payload.byteOffset, input.byteOffset + input.indexOf('hello'));
    assert.equal(payload.length, 5);
  });

  test('a whole HPUB gives views for headers and payload', () => {
    const input = Buffer.from('HPUB foo 12 17\r\nNATS/1.0\r\n\r\nhello\r\n');
    const views: (Buffer | null)[] = [];
    const { handler } = recorder((_e, pub) => {
      views.push(pub!.headers, pub!.payload);
    });
    assert.equal(new NatsParser(handler, DEFAULT_LIMITS).feed(input), null);
    const [headers, payload] = views;
    assert.ok(headers !== null && payload !== null);
    assert.equal(headers.buffer, input.buffer);
    assert.equal(payload.buffer, input.buffer);
    assert.equal(headers.byteOffset, input.byteOffset + 16);
    assert.equal(payload.byteOffset, input.byteOffset + 28);
  });

  test('a payload whole in the next feed after a split control line is a view of that feed', () => {
    const seen: Buffer[] = [];
    const { handler, events } = recorder((_e, pub) => seen.push(pub!.payload));
    const p = new NatsParser(handler, DEFAULT_LIMITS);
    assert.equal(p.feed(Buffer.from('PUB fo')), null);
    const second = Buffer.from('o 3\r\nabc\r\n');
    assert.equal(p.feed(second), null);
    assert.equal(events.length, 1);
    assert.equal(seen[0].buffer, second.buffer);
    assert.equal(seen[0].toString(), 'abc');
  });

  test('a payload split across feeds is assembled into a buffer of its own', () => {
    const seen: Buffer[] = [];
    const { handler } = recorder((_e, pub) => seen.push(pub!.payload));
    const p = new NatsParser(handler, DEFAULT_LIMITS);
    const first = Buffer.from('PUB foo 6\r\nabc');
    const second = Buffer.from('def\r\n');
    assert.equal(p.feed(first), null);
    first.fill(0);
    assert.equal(p.feed(second), null);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].length, 6);
    assert.equal(seen[0].toString(), 'abcdef');
    second.fill(0);
    assert.equal(seen[0].toString(), 'abcdef', 'not a view of a fed buffer');
  });
});

function feedInto(input: Buffer, onPayload: (payload: Buffer) => void) {
  const { handler, events } = recorder((_e, pub) => {
    if (pub !== undefined) onPayload(pub.payload);
  });
  assert.equal(new NatsParser(handler, DEFAULT_LIMITS).feed(input), null);
  return { events };
}

describe('NatsParser: arguments that are not valid UTF-8', () => {
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  const refused = (what: string): ParserEvent => ({
    op: 'refused',
    wire: `Invalid ${what}: not valid UTF-8`,
  });

  test('each is refused by name, a PUB payload is consumed, and parsing goes on', () => {
    const input = latin1(
      [
        'SUB a.\xff 1',
        'SUB a q\xfe 2',
        'SUB a 3\xff',
        'UNSUB 3\xfe',
        'PUB a.\xfe 2\r\nhi',
        'PUB a b.\xc3 2\r\nhi', // truncated sequence
        'HPUB a.\xc0\xaf 12 14\r\nNATS/1.0\r\n\r\nhi', // overlong '/'
        'SUB a.\xed\xa0\x80 4', // an encoded surrogate
        'PUB a.ok 2\r\nok',
        'PING',
        '',
      ].join('\r\n'),
    );
    assertAllSplits(
      input,
      ok([
        refused('Subject'),
        refused('Queue Group'),
        refused('Subscription ID'),
        refused('Subscription ID'),
        refused('Publish Subject'),
        refused('Reply Subject'),
        refused('Publish Subject'),
        refused('Subject'),
        { op: 'pub', subject: 'a.ok', reply: '', headers: null, payload: 'ok' },
        { op: 'ping' },
      ]),
      DEFAULT_LIMITS,
      subSeed(SEED, 3001),
    );
  });

  test('valid UTF-8 passes, decoded exactly', () => {
    const input = Buffer.from(
      'SUB caf\u00e9.\u65e5\u672c.\u{1f600} q\u00e9 s\u00e9\r\nPUB caf\u00e9.x r.\u00e8 1\r\nz\r\n',
    );
    assertAllSplits(
      input,
      ok([
        {
          op: 'sub',
          subject: 'caf\u00e9.\u65e5\u672c.\u{1f600}',
          queue: 'q\u00e9',
          sid: 's\u00e9',
        },
        { op: 'pub', subject: 'caf\u00e9.x', reply: 'r.\u00e8', headers: null, payload: 'z' },
      ]),
      DEFAULT_LIMITS,
      subSeed(SEED, 3002),
    );
  });

  test('bytes >= 0x80 in a payload or its sizes line are not checked', () => {
    const input = latin1('PUB a 2\r\n\xff\xfe\r\n');
    assertAllSplits(
      input,
      ok([{ op: 'pub', subject: 'a', reply: '', headers: null, payload: '\xff\xfe' }]),
      DEFAULT_LIMITS,
      subSeed(SEED, 3003),
    );
  });
});
