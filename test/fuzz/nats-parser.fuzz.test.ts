/**
 * A time-bounded fuzz of the NATS parser. Inputs are random bytes, mutated
 * valid frames (bit flips, inserted and deleted bytes, splices, tweaked
 * numbers) and generated valid frames, each fed in random pieces. It checks:
 *   - `feed` never throws: it returns null or a ProtocolError with a known
 *     wire text, promptly, and nothing happens after an error;
 *   - nothing emitted is larger than the limits allow, and an unterminated
 *     line or payload is refused within its limit (bounded buffering);
 *   - the split feed gives exactly what the whole feed gives (differential),
 *     and for valid frames that is the events they were generated with.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 5, shared by the parts);
 * WEFT_FUZZ_SEED replays a run, WEFT_FUZZ_CASE starts a part at a case.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { notUtf8, ProtocolError } from '../../src/errors.js';
import {
  MAX_CONNECT_LINE,
  NatsParser,
  type ParserLimits,
} from '../../src/protocols/nats/parser.js';
import {
  bytes,
  CORPUS,
  describeSplits,
  type FeedHooks,
  feedChunks,
  hpub,
  makeRng,
  type Outcome,
  PARSER_WIRE_ERRORS,
  type ParserEvent,
  type Rng,
  randomSplits,
  recorder,
  seedFromEnv,
  subSeed,
  withContext,
} from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '5');
const SEED = seedFromEnv();
const FIRST_CASE = Number(process.env.WEFT_FUZZ_CASE ?? '0');
/** A single feed of at most a few hundred KB must not take longer than this. */
const FEED_MS_MAX = 1000;
/** Generous: the parser retains at most ~MAX_CONNECT_LINE + maxPayload per instance. */
const HEAP_GROWTH_MAX = 256 * 1024 * 1024;

const LIMITS: readonly ParserLimits[] = [
  { maxPayload: 0, maxControlLine: 16 },
  { maxPayload: 1, maxControlLine: 32 },
  { maxPayload: 16, maxControlLine: 64 },
  { maxPayload: 1024, maxControlLine: 256 },
  { maxPayload: 64 * 1024, maxControlLine: 4096 },
];

// --- generating valid frames -------------------------------------------------

const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-$:';

function token(rng: Rng): string {
  if (rng.chance(0.02)) return rng.pick(['größe', 'ü', '😀', '日本']);
  let t = '';
  const n = rng.range(1, 8);
  for (let i = 0; i < n; i++) t += TOKEN_CHARS[rng.int(TOKEN_CHARS.length)];
  return t;
}

function subject(rng: Rng, wildcards: boolean): string {
  const n = rng.range(1, 5);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    if (wildcards && rng.chance(0.15)) parts.push(i === n - 1 && rng.chance(0.5) ? '>' : '*');
    else parts.push(token(rng));
  }
  return parts.join('.');
}

/**
 * A publish subject: often one used before or one that differs from it in a
 * single character, as publishers repeat subjects (the parser may reuse the
 * previous subject's string when the bytes are the same).
 */
function pubSubject(rng: Rng, recent: string[]): string {
  let s: string;
  const r = rng.int(10);
  if (recent.length > 0 && r < 3) s = rng.pick(recent);
  else if (recent.length > 0 && r < 6) {
    // By code point: splitting a surrogate pair would not survive UTF-8.
    const chars = [...rng.pick(recent)];
    const at = rng.chance(0.5) ? chars.length - 1 : rng.int(chars.length);
    if (chars[at] !== '.') chars[at] = TOKEN_CHARS[rng.int(TOKEN_CHARS.length)];
    s = chars.join('');
  } else if (r === 6) s = 'x'.repeat(rng.range(250, 300)) + token(rng);
  else s = subject(rng, false);
  recent.push(s);
  if (recent.length > 4) recent.shift();
  return s;
}

function sep(rng: Rng): string {
  if (rng.chance(0.8)) return ' ';
  let s = '';
  const n = rng.range(1, 3);
  for (let i = 0; i < n; i++) s += rng.chance(0.5) ? ' ' : '\t';
  return s;
}

function verb(rng: Rng, v: string): string {
  const r = rng.int(4);
  if (r === 0) return v;
  if (r === 1) return v.toLowerCase();
  let out = '';
  for (const c of v) out += rng.chance(0.5) ? c.toLowerCase() : c;
  return out;
}

function eol(rng: Rng): string {
  return rng.chance(0.9) ? '\r\n' : '\n';
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function payloadSize(rng: Rng, max: number): number {
  const pick = rng.int(5);
  if (pick === 0) return 0;
  if (pick === 1) return Math.min(max, rng.range(0, 8));
  if (pick === 2) return max;
  return rng.range(0, Math.min(max, 2048));
}

interface Generated {
  wire: Buffer;
  events: ParserEvent[];
}

/** One valid frame whose control line fits `limits`, or null if none came out. */
function validFrame(rng: Rng, limits: ParserLimits, recent: string[]): Generated | null {
  const u8 = (s: string) => Buffer.from(s, 'utf8');
  const kind = rng.int(8);
  let line: string;
  let rest: Buffer = Buffer.alloc(0);
  let event: ParserEvent;
  if (kind <= 1) {
    const subj = pubSubject(rng, recent);
    const reply = rng.chance(0.4) ? subject(rng, false) : '';
    const n = payloadSize(rng, limits.maxPayload);
    const data = randomBytes(rng, n);
    line = `${verb(rng, 'PUB')}${sep(rng)}${subj}${reply === '' ? '' : sep(rng) + reply}${sep(rng)}${n}`;
    rest = Buffer.concat([data, bytes('\r\n')]);
    event = { op: 'pub', subject: subj, reply, headers: null, payload: data.toString('latin1') };
  } else if (kind === 2) {
    const subj = pubSubject(rng, recent);
    const reply = rng.chance(0.4) ? subject(rng, false) : '';
    let hdrs = 'NATS/1.0\r\n';
    const nh = rng.int(3);
    for (let i = 0; i < nh; i++) hdrs += `${token(rng)}: ${token(rng)}\r\n`;
    hdrs += '\r\n';
    const hdrBytes = u8(hdrs);
    if (hdrBytes.length > limits.maxPayload) return null;
    const n = payloadSize(rng, limits.maxPayload - hdrBytes.length);
    const data = randomBytes(rng, n);
    const total = hdrBytes.length + n;
    line =
      `${verb(rng, 'HPUB')}${sep(rng)}${subj}${reply === '' ? '' : sep(rng) + reply}` +
      `${sep(rng)}${hdrBytes.length}${sep(rng)}${total}`;
    rest = Buffer.concat([hdrBytes, data, bytes('\r\n')]);
    event = {
      op: 'pub',
      subject: subj,
      reply,
      headers: hdrBytes.toString('latin1'),
      payload: data.toString('latin1'),
    };
  } else if (kind === 3) {
    const subj = subject(rng, true);
    const queue = rng.chance(0.4) ? token(rng) : '';
    const sid = String(rng.range(1, 100000));
    line = `${verb(rng, 'SUB')}${sep(rng)}${subj}${queue === '' ? '' : sep(rng) + queue}${sep(rng)}${sid}`;
    event = { op: 'sub', subject: subj, queue, sid };
  } else if (kind === 4) {
    const sid = String(rng.range(1, 100000));
    const max = rng.chance(0.5) ? rng.range(1, 1000) : 0;
    line = `${verb(rng, 'UNSUB')}${sep(rng)}${sid}${max === 0 ? '' : sep(rng) + max}`;
    event = { op: 'unsub', sid, max };
  } else if (kind === 5) {
    const json = JSON.stringify(
      { verbose: rng.chance(0.5), name: `${token(rng)} ${token(rng)}`, lang: 'fuzz' },
      null,
      rng.chance(0.3) ? 1 : undefined,
    ).replace(/\n/g, ' ');
    line = `${verb(rng, 'CONNECT')}${sep(rng)}${json}`;
    event = { op: 'connect', json };
  } else if (kind === 6) {
    line = verb(rng, 'PING');
    event = { op: 'ping' };
  } else {
    line = verb(rng, 'PONG');
    event = { op: 'pong' };
  }
  const lineBytes = u8(line);
  const limit = event.op === 'connect' ? MAX_CONNECT_LINE : limits.maxControlLine;
  if (lineBytes.length > limit) return null;
  return { wire: Buffer.concat([lineBytes, bytes(eol(rng)), rest]), events: [event] };
}

/** Byte sequences that are not UTF-8: a lone continuation, truncated, overlong, surrogate, > U+10FFFF. */
const NOT_UTF8 = [
  '\x80',
  '\xff',
  '\xc3',
  '\xe6\x97',
  '\xc0\xaf',
  '\xed\xa0\x80',
  '\xf4\x90\x80\x80',
];

/**
 * A frame with one argument that is not valid UTF-8: refused by name (the
 * core compares strings; decoding would make different subjects one).
 */
function notUtf8Frame(rng: Rng, limits: ParserLimits): Generated | null {
  const bad = `${token(rng)}${rng.pick(NOT_UTF8)}`;
  const n = payloadSize(rng, limits.maxPayload);
  const data = randomBytes(rng, n);
  let line: string;
  let rest = Buffer.alloc(0);
  let what: string;
  switch (rng.int(4)) {
    case 0:
      line = `PUB ${bad} ${n}`;
      rest = Buffer.concat([data, bytes('\r\n')]);
      what = 'Publish Subject';
      break;
    case 1:
      line = `PUB a ${bad} ${n}`;
      rest = Buffer.concat([data, bytes('\r\n')]);
      what = 'Reply Subject';
      break;
    case 2:
      line = `SUB a.${bad} 1`;
      what = 'Subject';
      break;
    default:
      line = `SUB a ${bad} 1`;
      what = 'Queue Group';
  }
  // token() may hold UTF-8 already: encode it so, then splice in the raw bytes.
  const lineBytes = Buffer.concat(
    line.split(/([\x80-\xff]+)/).map((part, i) => (i % 2 === 1 ? bytes(part) : Buffer.from(part))),
  );
  if (lineBytes.length > limits.maxControlLine) return null;
  return {
    wire: Buffer.concat([lineBytes, bytes('\r\n'), rest]),
    events: [{ op: 'refused', wire: notUtf8(what) }],
  };
}

function validFrames(rng: Rng, limits: ParserLimits, count: number): Generated {
  const recent: string[] = [];
  const wires: Buffer[] = [];
  const events: ParserEvent[] = [];
  for (let i = 0; i < count; i++) {
    const f = rng.chance(0.2)
      ? rng.pick(CORPUS)
      : rng.chance(0.05)
        ? notUtf8Frame(rng, limits)
        : validFrame(rng, limits, recent);
    if (f === null) continue;
    // A corpus frame may not fit small limits: keep it only if it parses alone.
    if ('name' in f && feedChunks([f.wire], limits).error !== null) continue;
    wires.push(f.wire);
    events.push(...f.events);
  }
  return { wire: Buffer.concat(wires), events };
}

// --- mutations -------------------------------------------------------------------

const INTERESTING_BYTES = [0x20, 0x09, 0x0d, 0x0a, 0x30, 0x39, 0x2a, 0x3e, 0x2e, 0x00, 0xff, 0x7f];

function interestingNumber(rng: Rng, n: number, limits: ParserLimits): string {
  return rng.pick([
    '0',
    '1',
    String(Math.max(0, n - 1)),
    String(n + 1),
    String(limits.maxPayload),
    String(limits.maxPayload + 1),
    '4294967296',
    '999999999999999',
    '9999999999999999',
    '-1',
    '',
    '00000000000000000001',
    '1e3',
  ]);
}

function mutate(rng: Rng, input: Buffer, limits: ParserLimits): Buffer {
  let b = input;
  const rounds = rng.range(1, 4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(8)) {
      case 0: {
        if (b.length === 0) break;
        const c = Buffer.from(b);
        c[Math.min(at, c.length - 1)] ^= 1 << rng.int(8);
        b = c;
        break;
      }
      case 1: {
        const n = rng.range(1, 4);
        const ins = Buffer.allocUnsafe(n);
        for (let i = 0; i < n; i++)
          ins[i] = rng.chance(0.6) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 2: {
        const n = rng.range(1, 8);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
        break;
      }
      case 3: {
        // Splice: a piece of this input (or of a corpus frame) inserted or written over.
        const src = rng.chance(0.5) ? b : rng.pick(CORPUS).wire;
        const s = rng.int(src.length + 1);
        const piece = Buffer.from(src.subarray(s, s + rng.range(1, 64)));
        b = rng.chance(0.5)
          ? Buffer.concat([b.subarray(0, at), piece, b.subarray(at)])
          : Buffer.concat([b.subarray(0, at), piece, b.subarray(at + piece.length)]);
        break;
      }
      case 4: {
        // Replace one run of digits (a size, a sid, a max) with an edge value.
        const text = b.toString('latin1');
        const runs = [...text.matchAll(/\d+/g)];
        if (runs.length === 0) break;
        const m = rng.pick(runs);
        const n = Number(m[0]);
        const start = m.index ?? 0;
        b = Buffer.concat([
          b.subarray(0, start),
          bytes(interestingNumber(rng, n, limits)),
          b.subarray(start + m[0].length),
        ]);
        break;
      }
      case 5:
        b = b.subarray(0, at);
        break;
      case 6: {
        // CRLF becomes a bare LF or a bare CR.
        const text = b.toString('latin1');
        const i = text.indexOf('\r\n', at);
        if (i < 0) break;
        const keep = rng.chance(0.5) ? '\n' : '\r';
        b = Buffer.concat([b.subarray(0, i), bytes(keep), b.subarray(i + 2)]);
        break;
      }
      default: {
        // Repeat a region: long lines and repeated frames.
        const n = rng.range(1, 128);
        const piece = b.subarray(at, at + n);
        const times = rng.range(2, 64);
        b = Buffer.concat([b.subarray(0, at), ...Array(times).fill(piece), b.subarray(at)]);
      }
    }
  }
  return b;
}

const PROTOCOL_PIECES = [
  'PUB ',
  'HPUB ',
  'SUB ',
  'UNSUB ',
  'CONNECT ',
  'PING',
  'PONG',
  '\r\n',
  '\n',
  ' ',
  '\t',
  '0',
  '5',
  '12',
  '{"a":1}',
  'foo',
  'NATS/1.0\r\n\r\n',
  'co',
];

function randomInput(rng: Rng): Buffer {
  const n = rng.range(0, 2048);
  if (rng.chance(0.5)) return randomBytes(rng, n);
  const parts: Buffer[] = [];
  let size = 0;
  while (size < n) {
    const p = rng.chance(0.8)
      ? bytes(rng.pick(PROTOCOL_PIECES))
      : randomBytes(rng, rng.range(1, 8));
    parts.push(p);
    size += p.length;
  }
  return Buffer.concat(parts);
}

// --- checking one input ----------------------------------------------------------

const REFUSALS = [
  'Subject',
  'Publish Subject',
  'Reply Subject',
  'Queue Group',
  'Subscription ID',
].map(notUtf8);
/** U+FFFD encoded: a subject may hold it legitimately. */
const REPLACEMENT = Buffer.from('\ufffd');

/** Feeds `chunks` checking every invariant that holds for any input. */
function checkedFeed(chunks: readonly Uint8Array[], limits: ParserLimits): Outcome {
  const inputHasReplacement = Buffer.concat(chunks).includes(REPLACEMENT);
  const hooks: FeedHooks = {
    onFeed(result, ms, chunk) {
      if (result !== null) {
        assert.ok(result instanceof ProtocolError, `feed returned ${String(result)}`);
        assert.ok(PARSER_WIRE_ERRORS.includes(result.wire), `unexpected wire text ${result.wire}`);
      }
      assert.ok(ms < FEED_MS_MAX, `a feed of ${chunk.length} bytes took ${ms.toFixed(0)} ms`);
    },
    onEvent(e, pub) {
      switch (e.op) {
        case 'pub': {
          const size = (pub!.headers?.length ?? 0) + pub!.payload.length;
          assert.ok(size <= limits.maxPayload, `emitted ${size} bytes > ${limits.maxPayload}`);
          assert.ok(Buffer.isBuffer(pub!.payload));
          assert.ok(pub!.headers === null || Buffer.isBuffer(pub!.headers));
          assert.ok(e.subject.length > 0 && e.subject.length <= limits.maxControlLine);
          assert.ok(e.reply.length <= limits.maxControlLine);
          break;
        }
        case 'sub':
          assert.ok(e.subject.length > 0 && e.sid.length > 0);
          assert.ok(e.subject.length + e.queue.length + e.sid.length <= limits.maxControlLine);
          break;
        case 'unsub':
          assert.ok(Number.isSafeInteger(e.max) && e.max >= 0, `UNSUB max ${e.max}`);
          assert.ok(e.sid.length > 0 && e.sid.length <= limits.maxControlLine);
          break;
        case 'connect':
          assert.ok(e.json.length > 0 && e.json.length <= MAX_CONNECT_LINE);
          break;
        case 'refused':
          assert.ok(REFUSALS.includes(e.wire), `unexpected refusal ${e.wire}`);
          break;
      }
      // Never a lossy decoding: U+FFFD only where the input held it encoded.
      if (e.op === 'pub' || e.op === 'sub' || e.op === 'unsub') {
        const fields =
          e.op === 'pub'
            ? [e.subject, e.reply]
            : e.op === 'sub'
              ? [e.subject, e.queue, e.sid]
              : [e.sid];
        if (fields.some((f) => f.includes('\ufffd'))) {
          assert.ok(inputHasReplacement, `a lossy decoding was emitted: ${JSON.stringify(fields)}`);
        }
      }
    },
  };
  const out = feedChunks(chunks, limits, hooks);
  assert.equal(out.afterError, 0, 'the parser went on after an error');
  return out;
}

function hex(b: Buffer): string {
  const shown = b.subarray(0, 512).toString('hex');
  return b.length > 512 ? `${shown}… (${b.length} bytes)` : shown;
}

/**
 * Runs `one(rng, caseNo)` for `ms` milliseconds; each case has its own seed
 * derived from the run's, so a failure names what replays it.
 */
function timeBoxed(
  part: number,
  name: string,
  ms: number,
  one: (rng: Rng, context: (detail: string) => string) => void,
): number {
  const deadline = performance.now() + ms;
  const partSeed = subSeed(SEED, part);
  let cases = 0;
  let heapMax = 0;
  const heapBase = process.memoryUsage().heapUsed;
  for (let c = FIRST_CASE; performance.now() < deadline || cases === 0; c++) {
    const rng = makeRng(subSeed(partSeed, c));
    const context = (detail: string) =>
      `${name}: WEFT_FUZZ_SEED=${SEED} WEFT_FUZZ_CASE=${c}\n${detail}`;
    one(rng, context);
    cases++;
    if ((cases & 255) === 0) {
      heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
      assert.ok(
        heapMax - heapBase < HEAP_GROWTH_MAX,
        context(`heap grew by ${((heapMax - heapBase) / 2 ** 20).toFixed(0)} MiB`),
      );
    }
  }
  return cases;
}

/** Feeds `input` whole and in random splits; both must agree and pass every check. */
function differential(
  rng: Rng,
  input: Buffer,
  limits: ParserLimits,
  context: (detail: string) => string,
): Outcome {
  const chunks = randomSplits(input, rng);
  const detail = () =>
    context(
      `limits ${JSON.stringify(limits)}\ninput ${hex(input)}\nchunks ${describeSplits(chunks)}`,
    );
  let out!: Outcome;
  withContext(detail, () => {
    const whole = checkedFeed([input], limits);
    out = checkedFeed(chunks, limits);
    assert.deepEqual(out, whole, 'split feed differs from whole feed');
    // PUB lines take a fast path when whole and plain: it must agree with
    // the general path on every input (events, errors, where they happen).
    const general = feedChunks([input], limits, {}, { fastPub: false });
    assert.deepEqual(whole, general, 'the PUB fast path differs from the general path');
  });
  return out;
}

/** Bytes that decide the PUB fast path's edges: blanks, line ends, control and high bytes, digits. */
const PUB_EDGE_BYTES = [
  0x20, 0x09, 0x0d, 0x0a, 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xff, 0x30, 0x39,
];

/** Subject heads around the `$JS.ACK.` prefix. */
const ACKISH = ['$JS.ACK.', '$JS.ACK.s.c.1.', '$JS.ACK', '$JS.ACKS.', '$JS.ACk.', '$JS.API.', '$'];

/**
 * A run of PUB frames shaped to sit on the fast path's edges: lines at and
 * around the control line bound, sizes at and around max_payload, extra or
 * missing arguments, blanks and odd bytes anywhere, payloads cut short.
 */
function pubEdges(rng: Rng, limits: ParserLimits): Buffer {
  const parts: Buffer[] = [];
  const n = rng.range(1, 6);
  for (let f = 0; f < n; f++) {
    const size = rng.pick([0, 1, 5, limits.maxPayload, limits.maxPayload + 1, rng.int(64)]);
    const subjLen = rng.chance(0.3)
      ? Math.max(1, limits.maxControlLine - rng.range(2, 12))
      : rng.range(1, 12);
    // Ack subjects are not remembered for the next PUB (parser.ts
    // `isAckSubject`): near misses of their prefix, repeated or not.
    const head = rng.chance(0.4) ? rng.pick(ACKISH) : '';
    const args = [(head + 'x'.repeat(subjLen)).slice(0, subjLen)];
    if (rng.chance(0.4)) args.push(token(rng));
    args.push(rng.chance(0.9) ? String(size) : interestingNumber(rng, size, limits));
    if (rng.chance(0.05)) args.push('7');
    let line = `${verb(rng, 'PUB')}${rng.chance(0.9) ? sep(rng) : ''}${args.join(sep(rng))}`;
    if (rng.chance(0.2)) line += sep(rng);
    let b = Buffer.concat([Buffer.from(line), bytes(eol(rng))]);
    if (rng.chance(0.3)) {
      const c = Buffer.from(b);
      c[rng.int(c.length)] = rng.pick(PUB_EDGE_BYTES);
      b = c;
    }
    const payload = randomBytes(rng, rng.chance(0.9) ? size : rng.int(size + 3));
    const end = rng.chance(0.9) ? '\r\n' : rng.pick(['\n', '\r', '', '\r\r\n']);
    parts.push(b, payload, bytes(end));
  }
  return Buffer.concat(parts);
}

// --- the parts ---------------------------------------------------------------------

const share = (fraction: number) => Math.max(200, SECONDS * 1000 * fraction);

describe(`NatsParser fuzz (${SECONDS}s, WEFT_FUZZ_SEED=${SEED})`, () => {
  test('random bytes', (t) => {
    const n = timeBoxed(1, 'random bytes', share(0.2), (rng, context) => {
      differential(rng, randomInput(rng), rng.pick(LIMITS), context);
    });
    t.diagnostic(`${n} cases, WEFT_FUZZ_SEED=${SEED}`);
  });

  test('mutated valid frames', (t) => {
    const n = timeBoxed(2, 'mutations', share(0.35), (rng, context) => {
      const limits = rng.pick(LIMITS);
      const base = validFrames(rng, limits, rng.range(1, 8));
      differential(rng, mutate(rng, base.wire, limits), limits, context);
    });
    t.diagnostic(`${n} cases, WEFT_FUZZ_SEED=${SEED}`);
  });

  test('valid frames: split feeds give the generated events', (t) => {
    const n = timeBoxed(3, 'valid frames', share(0.2), (rng, context) => {
      const limits = rng.pick(LIMITS);
      const gen = validFrames(rng, limits, rng.range(1, 12));
      const out = differential(rng, gen.wire, limits, context);
      withContext(
        () => context(`input ${hex(gen.wire)}`),
        () => assert.deepEqual(out, { events: gen.events, error: null, afterError: 0 }),
      );
    });
    t.diagnostic(`${n} cases, WEFT_FUZZ_SEED=${SEED}`);
  });

  test("PUB lines on the fast path's edges: fast and general paths agree", (t) => {
    const n = timeBoxed(5, 'pub edges', share(0.15), (rng, context) => {
      const limits = rng.pick(LIMITS);
      differential(rng, pubEdges(rng, limits), limits, context);
    });
    t.diagnostic(`${n} cases, WEFT_FUZZ_SEED=${SEED}`);
  });

  test('unterminated lines and payloads are refused within their limits', (t) => {
    const n = timeBoxed(4, 'bounded buffering', share(0.1), (rng, context) => {
      const limits = rng.pick(LIMITS);
      const { handler } = recorder();
      const parser = new NatsParser(handler, limits);
      // Either a control line that never ends, or a PUB whose payload never
      // ends in CRLF: junk without LF (or without CRLF at the right place).
      const payload = rng.chance(0.5) && limits.maxPayload > 0;
      let bound: number;
      let fed = 0;
      if (payload) {
        const size = rng.range(0, limits.maxPayload);
        const head = bytes(`PUB x ${size}\r\n`);
        if (head.length > limits.maxControlLine + 2) return;
        assert.equal(parser.feed(head), null, context('PUB head refused'));
        bound = size + 2;
      } else {
        // 'x' first: a line starting "co" may be a CONNECT and gets the larger bound.
        const co = rng.chance(0.3);
        const head = bytes(co ? 'CONNECT {' : 'x');
        assert.equal(parser.feed(head), null);
        fed = head.length;
        bound = (co ? MAX_CONNECT_LINE : limits.maxControlLine) + 2;
      }
      const junk = randomBytes(rng, 4096);
      for (let i = 0; i < junk.length; i++)
        if (junk[i] === 0x0a || junk[i] === 0x0d) junk[i] = 0x41;
      let err = null;
      let chunk = 0;
      while (err === null && fed <= bound + 4096) {
        chunk = rng.range(1, 4096);
        err = parser.feed(junk.subarray(0, chunk));
        fed += chunk;
      }
      assert.ok(err !== null, context(`never refused after ${fed} bytes (bound ${bound})`));
      assert.ok(fed <= bound + chunk, context(`refused only after ${fed} bytes (bound ${bound})`));
    });
    t.diagnostic(`${n} cases, WEFT_FUZZ_SEED=${SEED}`);
  });

  test('the fuzz helpers generate what they claim', () => {
    // A guard on the harness itself: generated frames parse to their events.
    const rng = makeRng(subSeed(SEED, 5));
    for (let i = 0; i < 200; i++) {
      const limits = rng.pick(LIMITS);
      const gen = validFrames(rng, limits, 3);
      const out = feedChunks([gen.wire], limits);
      assert.deepEqual(out.events, gen.events, `input ${hex(gen.wire)}`);
    }
    assert.equal(hpub('a', '', 'NATS/1.0\r\n\r\n', 'x'), 'HPUB a 12 13\r\nNATS/1.0\r\n\r\nx\r\n');
  });
});
