/**
 * The mesh link frames (docs/mesh.md, Wire format): every frame type makes
 * the same events whether it arrives whole, one byte at a time or in random
 * pieces; a whole MSG's payload is a view of the fed bytes; bad input gives
 * one FrameError and then nothing more.
 *
 * Random splits use a seeded PRNG: set WEFT_FUZZ_SEED to replay a failure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Dest,
  decodeMsg,
  EncodeError,
  encodeControl,
  FRAME_GROW_START,
  FrameError,
  FrameParser,
  FrameType,
  LINK_MAX_FRAME,
  MAX_DESTS,
  MAX_QUEUES,
  MSG_TTL,
  type MsgFrame,
  msgHeadMax,
  splitDests,
  writeMsgHead,
} from '../../src/mesh/frames.js';
import {
  concatFrames,
  encodeMsg,
  feedMesh,
  type GenFrame,
  type MeshEvent,
  type MeshOutcome,
  type MsgSpec,
  meshRecorder,
  pendingBytes,
  randomFrame,
  rawFrame,
  specEvent,
} from '../fuzz/mesh-frames.js';
import {
  bytewise,
  describeSplits,
  makeRng,
  randomSplits,
  seedFromEnv,
  subSeed,
  whole,
  withContext,
} from '../fuzz/nats-frames.js';

const SEED = seedFromEnv();
const MAX = 1024 * 1024;

/** Feeds `input` whole, byte by byte and in random splits; all must equal `expected`. */
function assertAllSplits(input: Buffer, expected: MeshOutcome, seed: number, runs = 30): void {
  withContext('fed whole', () => assert.deepEqual(feedMesh(whole(input), MAX), expected));
  withContext('fed byte by byte', () => assert.deepEqual(feedMesh(bytewise(input), MAX), expected));
  const rng = makeRng(seed);
  for (let i = 0; i < runs; i++) {
    const chunks = randomSplits(input, rng);
    withContext(
      () => `seed ${SEED}, split ${i}: ${describeSplits(chunks)}`,
      () => assert.deepEqual(feedMesh(chunks, MAX), expected),
    );
  }
}

function ok(events: MeshEvent[]): MeshOutcome {
  return { events, error: null, afterError: 0 };
}

function control(type: number, body: unknown): MeshEvent {
  return { kind: 'control', type, body };
}

const HELLO = { proto: 1, name: 'nœud-ä', id: 'id-1', token: 's3cret', cost: 3 };
const LSA = {
  node: 'a',
  id: 'x1',
  boot: 1700000000000,
  seq: 7,
  links: [
    { node: 'b', cost: 1 },
    { node: '日本', cost: 10 },
  ],
};
const INTEREST = {
  node: 'a',
  id: 'x1',
  boot: 1,
  seq: 3,
  op: 'delta',
  add: [
    ['$G', 'foo.>', ''],
    ['acc', 'wörk.*', 'grüppe'],
  ],
  del: [['$G', 'bar', '']],
};

const MSG: MsgSpec = {
  ttl: MSG_TTL,
  account: '$G',
  subject: 'orders.eu.new',
  reply: '_INBOX.abc',
  to: '',
  dests: [
    { node: 'b', plain: true, queues: [] },
    { node: 'c', plain: false, queues: ['workers', 'audit'] },
    { node: 'd', plain: true, queues: ['workers'] },
  ],
  headers: Buffer.from('NATS/1.0\r\nX: 1\r\n\r\n'),
  payload: Buffer.from('hello world'),
};

const UTF8_MSG: MsgSpec = {
  ttl: 1,
  account: 'cuenta-ñ',
  subject: 'météo.東京.🚀',
  reply: 'réponse.ß',
  to: '_INBOX.ünïcode.1',
  dests: [
    { node: 'nœud-ä', plain: true, queues: ['grüppe', '工人'] },
    { node: '🚀'.repeat(63), plain: false, queues: ['é'.repeat(127)] },
  ],
  headers: null,
  payload: Buffer.from('¡olé!', 'utf8'),
};

/** Every frame type, each with the event it must produce. */
const ALL: GenFrame[] = [
  { wire: encodeControl(FrameType.Hello, HELLO), event: control(FrameType.Hello, HELLO) },
  {
    wire: encodeControl(FrameType.Err, 'token mismatch: ¿qué?'),
    event: control(FrameType.Err, 'token mismatch: ¿qué?'),
  },
  { wire: encodeControl(FrameType.Err, ''), event: control(FrameType.Err, '') },
  { wire: encodeControl(FrameType.Ping), event: control(FrameType.Ping, null) },
  { wire: encodeControl(FrameType.Pong), event: control(FrameType.Pong, null) },
  { wire: encodeControl(FrameType.Lsa, LSA), event: control(FrameType.Lsa, LSA) },
  {
    wire: encodeControl(FrameType.Interest, INTEREST),
    event: control(FrameType.Interest, INTEREST),
  },
  { wire: encodeControl(FrameType.Sync), event: control(FrameType.Sync, null) },
  { wire: encodeMsg(MSG), event: specEvent(MSG) },
  { wire: encodeMsg(UTF8_MSG), event: specEvent(UTF8_MSG) },
  {
    wire: encodeMsg({ ...MSG, reply: '', dests: [], headers: null, payload: Buffer.alloc(0) }),
    event: specEvent({ ...MSG, reply: '', dests: [], headers: null, payload: Buffer.alloc(0) }),
  },
];

describe('mesh frames: round trips', () => {
  ALL.forEach((f, i) => {
    test(`frame ${i} (type ${f.wire[4]}) whole, bytewise and split`, () => {
      assertAllSplits(f.wire, ok([f.event]), subSeed(SEED, i));
    });
  });

  test('all frame types back to back', () => {
    const { wire, events } = concatFrames([...ALL, ...ALL.slice().reverse()]);
    assertAllSplits(wire, ok(events), subSeed(SEED, 100), 60);
  });

  test('random valid frames in random splits', () => {
    const rng = makeRng(subSeed(SEED, 101));
    for (let run = 0; run < 40; run++) {
      const frames: GenFrame[] = [];
      const n = rng.range(1, 12);
      for (let i = 0; i < n; i++) frames.push(randomFrame(rng));
      const { wire, events } = concatFrames(frames);
      assertAllSplits(wire, ok(events), subSeed(SEED, 1000 + run), 5);
    }
  });

  test('UTF-8 subjects, accounts, nodes and queues keep their text', () => {
    const { events } = feedMesh([encodeMsg(UTF8_MSG)], MAX);
    const e = events[0];
    assert.equal(e.kind, 'msg');
    if (e.kind !== 'msg') return;
    assert.equal(e.subject, 'météo.東京.🚀');
    assert.equal(e.account, 'cuenta-ñ');
    assert.equal(e.dests[0].node, 'nœud-ä');
    assert.deepEqual(e.dests[0].queues, ['grüppe', '工人']);
    assert.equal(Buffer.byteLength(e.dests[1].node), 252);
    assert.equal(Buffer.byteLength(e.dests[1].queues[0]), 254);
  });

  test('several destinations with queues, flags as sent', () => {
    const [e] = feedMesh([encodeMsg(MSG)], MAX).events;
    assert.ok(e.kind === 'msg');
    assert.deepEqual(e.dests, MSG.dests);
    assert.equal(e.ttl, MSG_TTL);
    assert.equal(e.headers, MSG.headers?.toString('latin1'));
  });

  test('strings of any length round trip: at and past each length boundary', () => {
    // `str` is a u16 length, or 0xFFFF and a u32: 65535 bytes takes the long form.
    for (const n of [0, 1, 255, 256, 65534, 65535, 65536, 200_000]) {
      const long = 'q'.repeat(n);
      const m: MsgSpec = {
        ...MSG,
        account: n === 0 ? '' : 'é'.repeat(Math.ceil(n / 2)),
        subject: `s.${long}`,
        reply: long,
        to: n === 0 ? '' : `t.${long}`,
        dests: [{ node: `n${long}`, plain: true, queues: n === 0 ? [] : [long, `2${long}`] }],
      };
      withContext(`strings of ${n} bytes`, () =>
        assert.deepEqual(feedMesh([encodeMsg(m)], LINK_MAX_FRAME), ok([specEvent(m)])),
      );
    }
  });

  test('a string with a lone surrogate cannot be encoded: EncodeError, not a changed string', () => {
    for (const bad of ['a.\ud800', `${'x'.repeat(100)}\udc00`, `\ud83d${'y'.repeat(30_000)}`]) {
      assert.throws(() => encodeMsg({ ...MSG, subject: bad }), EncodeError);
      assert.throws(
        () => encodeMsg({ ...MSG, dests: [{ node: 'b', plain: false, queues: [bad] }] }),
        EncodeError,
      );
    }
  });

  test('more than 255 destinations (or queues) is refused by the writer, not wrapped', () => {
    // The count is a u8: 256 destinations written as a count of 0 make a
    // frame the peer reads as garbage. splitDests keeps the writer from it.
    const dests: Dest[] = [];
    for (let i = 0; i < 256; i++) dests.push({ node: `n${i}`, plain: true, queues: [] });
    const many: MsgSpec = { ...MSG, dests };
    const written = (): Buffer => encodeMsg(many);
    assert.throws(written, FrameError, 'writeMsgHead must refuse 256 destinations');
    const queues: string[] = [];
    for (let i = 0; i < 256; i++) queues.push(`q${i}`);
    const manyQ: MsgSpec = { ...MSG, dests: [{ node: 'b', plain: false, queues }] };
    assert.throws(() => encodeMsg(manyQ), FrameError, 'writeMsgHead must refuse 256 queues');
  });

  test('splitDests: one frame when it fits, else each name once and plain once', () => {
    assert.equal(splitDests(MSG.dests), null);
    const q = (n: number, len = 4): string[] =>
      Array.from({ length: n }, (_, i) => `${i}`.padStart(len, 'q'));
    const cases: Dest[][] = [
      Array.from({ length: 256 }, (_, i) => ({ node: `n${i}`, plain: true, queues: [] })),
      [{ node: 'b', plain: true, queues: q(256) }],
      [{ node: 'b', plain: false, queues: q(300) }],
      [
        { node: 'b', plain: true, queues: q(300, 300) },
        { node: 'c', plain: true, queues: [] },
        { node: 'd', plain: false, queues: q(600) },
      ],
      [{ node: 'b', plain: true, queues: [...q(3), 'x'.repeat(200_000), ...q(3, 9)] }],
      Array.from({ length: 600 }, (_, i) => ({
        node: `n${i}`,
        plain: i % 2 === 0 || i % 7 === 0,
        queues: q(i % 7),
      })),
    ];
    for (const [ci, dests] of cases.entries()) {
      const frames = splitDests(dests);
      assert.ok(frames !== null, `case ${ci} is split`);
      const plain = new Map<string, number>();
      const groups = new Map<string, string[]>();
      for (const f of frames) {
        assert.ok(f.length <= MAX_DESTS, `case ${ci}: ${f.length} destinations in a frame`);
        let bytes = 0;
        for (const d of f) {
          assert.ok(d.queues.length <= MAX_QUEUES);
          assert.ok(d.plain || d.queues.length > 0, `case ${ci}: an empty destination`);
          if (d.plain) plain.set(d.node, (plain.get(d.node) ?? 0) + 1);
          groups.set(d.node, [...(groups.get(d.node) ?? []), ...d.queues]);
          bytes += d.node.length + d.queues.reduce((n, x) => n + x.length, 0);
        }
        assert.ok(bytes <= 210_000, `case ${ci}: ${bytes} bytes of names in one frame`);
        // Each frame encodes and decodes.
        const m = { ...MSG, dests: f };
        assert.deepEqual(feedMesh([encodeMsg(m)], LINK_MAX_FRAME), ok([specEvent(m)]));
      }
      for (const d of dests) {
        assert.equal(plain.get(d.node) ?? 0, d.plain ? 1 : 0, `case ${ci}: ${d.node} plain once`);
        assert.deepEqual(
          groups.get(d.node),
          d.queues,
          `case ${ci}: ${d.node} groups, in order, once`,
        );
      }
    }
  });

  test('a large frame is held as its bytes arrive, not as announced', () => {
    const parser = new FrameParser(meshRecorder().handler, LINK_MAX_FRAME);
    const head = Buffer.alloc(5);
    head.writeUInt32BE(2 * 1024 * 1024, 0);
    head[4] = FrameType.Msg;
    assert.equal(parser.feed(Buffer.concat([head, Buffer.alloc(10)])), null);
    assert.ok(pendingBytes(parser) <= FRAME_GROW_START, `holds ${pendingBytes(parser)} bytes`);
    for (let i = 0; i < 100; i++) parser.feed(Buffer.alloc(1000));
    assert.ok(pendingBytes(parser) <= 2 * 100_010, `holds ${pendingBytes(parser)} bytes`);
    parser.feed(Buffer.alloc(300_000));
    assert.ok(pendingBytes(parser) <= 2 * 400_000, `holds ${pendingBytes(parser)} bytes`);
  });

  test('msgHeadMax leaves room for the worst case UTF-8 and the writer stays inside it', () => {
    const rng = makeRng(subSeed(SEED, 102));
    const pieces = ['a', 'é', '日', '🚀'];
    const text = (n: number): string => {
      let s = '';
      while (s.length < n) s += rng.pick(pieces);
      return s.slice(0, n).replace(/[\ud800-\udbff]$/, 'x');
    };
    for (let i = 0; i < 200; i++) {
      const dests: Dest[] = [];
      for (let d = rng.int(4); d > 0; d--) {
        dests.push({ node: text(rng.int(60)), plain: rng.chance(0.5), queues: [text(40)] });
      }
      const account = text(rng.int(60));
      const subject = text(rng.range(1, 300));
      const reply = text(rng.int(300));
      const max = msgHeadMax(account, subject, reply, dests);
      const buf = Buffer.alloc(max + 8, 0xee);
      const end = writeMsgHead(buf, 0, 5, account, subject, reply, dests, 0, 0);
      assert.ok(end <= max, `head of ${end} bytes over msgHeadMax ${max}`);
      assert.equal(buf[max], 0xee);
      const m = decodeMsg(buf.subarray(5, end));
      assert.deepEqual([m.account, m.subject, m.reply, m.dests], [account, subject, reply, dests]);
    }
  });

  test('writeMsgHead at an offset: frames batched in one buffer', () => {
    const specs = [MSG, UTF8_MSG, MSG];
    let size = 0;
    for (const m of specs) {
      size += msgHeadMax(m.account, m.subject, m.reply, m.dests) + 64;
    }
    const buf = Buffer.alloc(size);
    let at = 0;
    for (const m of specs) {
      const hlen = m.headers?.length ?? 0;
      at = writeMsgHead(buf, at, m.ttl, m.account, m.subject, m.reply, m.dests, hlen, hlen + 11);
      if (m.headers !== null) at += m.headers.copy(buf, at);
      at += Buffer.from('payload-xyz').copy(buf, at);
    }
    const out = feedMesh([buf.subarray(0, at)], MAX);
    assert.equal(out.error, null);
    assert.equal(out.events.length, 3);
    for (const e of out.events) assert.ok(e.kind === 'msg' && e.payload === 'payload-xyz');
  });
});

describe('mesh frames: zero copy', () => {
  test('a whole MSG frame: headers and payload are views of the fed buffer', () => {
    const wire = encodeMsg(MSG);
    const seen: MsgFrame[] = [];
    const { handler } = meshRecorder((f) => seen.push(f));
    const parser = new FrameParser(handler, MAX);
    assert.equal(parser.feed(wire), null);
    assert.equal(seen.length, 1);
    const f = seen[0];
    assert.equal(f.payload.buffer, wire.buffer);
    assert.equal(f.payload.byteOffset, wire.byteOffset + wire.length - MSG.payload.length);
    assert.ok(f.headers !== null);
    assert.equal(f.headers.buffer, wire.buffer);
    // Writing the fed bytes shows through: nothing was copied.
    wire[wire.length - 1] = 0x21;
    assert.equal(f.payload.toString(), 'hello worl!');
  });

  test('two whole frames in one read: both views', () => {
    const a = encodeMsg(MSG);
    const wire = Buffer.concat([a, a]);
    const seen: MsgFrame[] = [];
    const parser = new FrameParser(meshRecorder((f) => seen.push(f)).handler, MAX);
    assert.equal(parser.feed(wire), null);
    assert.equal(seen.length, 2);
    for (const f of seen) assert.equal(f.payload.buffer, wire.buffer);
    assert.equal(seen[1].payload.byteOffset, wire.byteOffset + wire.length - 11);
  });

  test('a split frame is assembled in a buffer of its own size', () => {
    const wire = encodeMsg(MSG);
    const parser = new FrameParser(meshRecorder().handler, MAX);
    assert.equal(parser.feed(wire.subarray(0, 10)), null);
    assert.equal(pendingBytes(parser), wire.length - 4);
    assert.equal(parser.feed(wire.subarray(10)), null);
    assert.equal(pendingBytes(parser), 0);
  });
});

describe('mesh frames: errors', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['unknown type 0', rawFrame(0, ''), /unknown frame type 0/],
    ['unknown type 9', rawFrame(9, '{}'), /unknown frame type 9/],
    ['unknown type 15', rawFrame(15, 'x'), /unknown frame type 15/],
    ['unknown type 18', rawFrame(18, ''), /unknown frame type 18/],
    [
      'MSG_TO without its destination',
      rawFrame(FrameType.MsgTo, Buffer.from([1, 0, 0, 0, 1, 0x61, 0, 0, 0, 0])),
      /empty destination/,
    ],
    ['unknown type 255', rawFrame(255, ''), /unknown frame type 255/],
    ['empty frame', Buffer.from([0, 0, 0, 0]), /empty frame/],
    ['HELLO not JSON', rawFrame(FrameType.Hello, 'hello'), /not valid JSON/],
    ['LSA truncated JSON', rawFrame(FrameType.Lsa, '{"node":"a"'), /not valid JSON/],
    ['INTEREST empty body', rawFrame(FrameType.Interest, ''), /not valid JSON/],
    ['HELLO bad UTF-8', rawFrame(FrameType.Hello, Buffer.from([0x7b, 0xff, 0x7d])), /UTF-8/],
    [
      'MSG subject bad UTF-8',
      rawFrame(FrameType.Msg, Buffer.from([1, 0, 0, 0, 3, 0x61, 0x2e, 0xff, 0, 0, 0, 0, 0, 0, 0])),
      /not valid UTF-8/,
    ],
    [
      'MSG queue bad UTF-8 (overlong)',
      rawFrame(
        FrameType.Msg,
        Buffer.from([1, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1, 0x62, 0, 1, 0, 2, 0xc0, 0xae, 0, 0, 0, 0]),
      ),
      /not valid UTF-8/,
    ],
    ['HELLO array', rawFrame(FrameType.Hello, '[1,2]'), /not a JSON object/],
    ['LSA null', rawFrame(FrameType.Lsa, 'null'), /not a JSON object/],
    ['INTEREST number', rawFrame(FrameType.Interest, '42'), /not a JSON object/],
    ['HELLO string', rawFrame(FrameType.Hello, '"hi"'), /not a JSON object/],
    ['LSA true', rawFrame(FrameType.Lsa, 'true'), /not a JSON object/],
    ['PING with a body', rawFrame(FrameType.Ping, 'x'), /takes no body/],
    ['PONG with a body', rawFrame(FrameType.Pong, '\0'), /takes no body/],
    ['SYNC with a body', rawFrame(FrameType.Sync, '{}'), /takes no body/],
    ['MSG with no body', rawFrame(FrameType.Msg, ''), /truncated/],
  ];
  cases.forEach(([name, wire, re], i) => {
    test(`${name}: one error, nothing emitted, in any split`, () => {
      const whole1 = feedMesh([wire], MAX);
      assert.match(whole1.error ?? '', re);
      assertAllSplits(wire, { events: [], error: whole1.error, afterError: 0 }, subSeed(SEED, i));
    });
  });

  test('frames before the bad one are emitted; nothing after it, even valid frames', () => {
    const good = encodeControl(FrameType.Ping);
    const msg = encodeMsg(MSG);
    const wire = Buffer.concat([good, msg, rawFrame(9, ''), good, msg, good]);
    const expected: MeshOutcome = {
      events: [control(FrameType.Ping, null), specEvent(MSG)],
      error: 'unknown frame type 9',
      afterError: 0,
    };
    assertAllSplits(wire, expected, subSeed(SEED, 200), 40);
    // Feeding more valid frames afterwards changes nothing either.
    const out = feedMesh([wire, good, msg, good], MAX);
    assert.deepEqual(out, expected);
  });

  test('a frame over maxFrame is refused as soon as its length is read', () => {
    const max = 64;
    const { handler, events } = meshRecorder();
    const parser = new FrameParser(handler, max);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(max + 1, 0);
    assert.equal(parser.feed(len.subarray(0, 3)), null);
    const err = parser.feed(len.subarray(3));
    assert.ok(err instanceof FrameError);
    assert.match(err.message, /65 bytes exceeds the limit of 64/);
    assert.equal(pendingBytes(parser), 0, 'nothing allocated for the refused frame');
    assert.equal(parser.feed(encodeControl(FrameType.Ping)), null);
    assert.deepEqual(events, []);
  });

  test('a 4 GiB length is refused at once, whole or bytewise, with no allocation', () => {
    const wire = Buffer.from([0xff, 0xff, 0xff, 0xff, FrameType.Msg]);
    for (const chunks of [whole(wire), bytewise(wire)]) {
      let maxPending = 0;
      const out = feedMesh(chunks, MAX, {
        afterFeed: (p) => {
          maxPending = Math.max(maxPending, pendingBytes(p));
        },
      });
      assert.match(out.error ?? '', /4294967295 bytes exceeds the limit/);
      assert.equal(maxPending, 0);
      assert.equal(out.afterError, 0);
    }
  });

  test('a frame of exactly maxFrame is accepted', () => {
    const body = JSON.stringify({ k: 'v'.repeat(50) });
    const wire = rawFrame(FrameType.Hello, body);
    const out = feedMesh(bytewise(wire), body.length + 1);
    assert.equal(out.error, null);
    assert.deepEqual(out.events, [control(FrameType.Hello, { k: 'v'.repeat(50) })]);
    assert.match(feedMesh([wire], body.length).error ?? '', /exceeds the limit/);
  });

  test('a MSG cut anywhere inside its fields is truncated, never misread', () => {
    const full = encodeMsg(MSG);
    const body = full.subarray(5);
    const fieldsEnd = body.length - MSG.payload.length - (MSG.headers?.length ?? 0);
    const headersEnd = body.length - MSG.payload.length;
    for (let cut = 0; cut < headersEnd; cut++) {
      const wire = rawFrame(FrameType.Msg, body.subarray(0, cut));
      withContext(`cut at ${cut} of ${fieldsEnd} (headers end ${headersEnd})`, () => {
        const out = feedMesh([wire], MAX);
        assert.equal(out.error, 'MSG frame is truncated');
        assert.deepEqual(out.events, []);
        assert.throws(() => decodeMsg(body.subarray(0, cut)), FrameError);
      });
    }
    // Cut inside the payload: a valid, shorter message.
    const short = feedMesh([rawFrame(FrameType.Msg, body.subarray(0, headersEnd + 5))], MAX);
    assert.equal(short.error, null);
    assert.ok(short.events[0].kind === 'msg' && short.events[0].payload === 'hello');
  });

  test('a MSG whose string lengths overrun the frame is truncated', () => {
    const full = encodeMsg({ ...MSG, dests: [], headers: null, payload: Buffer.alloc(0) });
    const body = Buffer.from(full.subarray(5));
    // body: ttl, u8 account length at 1.
    body[1] = 200;
    assert.equal(feedMesh([rawFrame(FrameType.Msg, body)], MAX).error, 'MSG frame is truncated');
    const body2 = Buffer.from(full.subarray(5));
    // Header length (the last 4 bytes, no payload) far beyond the frame.
    body2.writeUInt32BE(0xffffffff, body2.length - 4);
    assert.equal(feedMesh([rawFrame(FrameType.Msg, body2)], MAX).error, 'MSG frame is truncated');
  });

  test('a MSG with an empty subject is refused', () => {
    const body = Buffer.from([5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.match(feedMesh([rawFrame(FrameType.Msg, body)], MAX).error ?? '', /empty subject/);
  });

  test('a dead parser ignores everything, and stop() kills it', () => {
    const { handler, events } = meshRecorder();
    const parser = new FrameParser(handler, MAX);
    parser.stop();
    assert.equal(parser.feed(encodeControl(FrameType.Ping)), null);
    assert.deepEqual(events, []);
  });

  test('a handler that throws kills the parser with a FrameError', () => {
    let calls = 0;
    const parser = new FrameParser(
      {
        onControl: () => {
          calls++;
          throw new Error('boom');
        },
        onMsg: () => {},
      },
      MAX,
    );
    const ping = encodeControl(FrameType.Ping);
    const err = parser.feed(Buffer.concat([ping, ping]));
    assert.ok(err instanceof FrameError);
    assert.match(err.message, /boom/);
    assert.equal(calls, 1);
    assert.equal(parser.feed(ping), null);
    assert.equal(calls, 1);
  });
});
