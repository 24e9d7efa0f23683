/**
 * Shared kit for the NATS parser tests: a seeded PRNG, a recorder that turns
 * handler calls into comparable events, a feeder that splits input into
 * chunks, and a corpus of valid frames with the events they must produce.
 *
 * The feeder copies each chunk into one scratch buffer and scribbles over it
 * after `feed` returns, as a socket's read buffer may be reused: a parser that
 * kept a reference to fed bytes instead of copying them shows up as garbage.
 */
import { WireError } from '../../src/errors.js';
import {
  NatsParser,
  type NatsServerHandler,
  type ParserLimits,
  pubHeaders,
  pubPayload,
} from '../../src/protocols/nats/parser.js';

// --- seeded randomness -------------------------------------------------------

export interface Rng {
  /** A uint32. */
  u32(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/** sfc32: small, fast, and good enough to drive tests; same seed, same stream. */
export function makeRng(seed: number): Rng {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const u32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 16; i++) u32();
  const int = (n: number): number => (n <= 0 ? 0 : Math.floor((u32() / 0x1_0000_0000) * n));
  return {
    u32,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    chance: (p) => u32() / 0x1_0000_0000 < p,
    pick: (items) => items[int(items.length)],
  };
}

/** The seed from WEFT_FUZZ_SEED, or a fresh one; print it so a failure can be replayed. */
export function seedFromEnv(): number {
  const env = process.env.WEFT_FUZZ_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`WEFT_FUZZ_SEED must be an integer, got ${env}`);
    return n >>> 0;
  }
  return (Date.now() ^ Math.floor(Math.random() * 0x1_0000_0000)) >>> 0;
}

/** A seed for one part of a run, so parts do not share one stream. */
export function subSeed(seed: number, part: number): number {
  let h = (seed ^ Math.imul(part + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// --- events --------------------------------------------------------------------

/** A handler call, with byte fields as latin1 strings so any byte compares exactly. */
export type ParserEvent =
  | { op: 'connect'; json: string }
  | { op: 'pub'; subject: string; reply: string; headers: string | null; payload: string }
  | { op: 'sub'; subject: string; queue: string; sid: string }
  | { op: 'unsub'; sid: string; max: number }
  | { op: 'ping' }
  | { op: 'pong' }
  | { op: 'refused'; wire: string };

export interface RecordedPub {
  headers: Buffer | null;
  payload: Buffer;
}

/** A handler that records events; `onEvent` sees each one as it happens. */
export function recorder(onEvent?: (e: ParserEvent, pub?: RecordedPub) => void): {
  handler: NatsServerHandler;
  events: ParserEvent[];
} {
  const events: ParserEvent[] = [];
  const push = (e: ParserEvent, pub?: RecordedPub): void => {
    events.push(e);
    onEvent?.(e, pub);
  };
  const handler: NatsServerHandler = {
    onConnect: (json) => push({ op: 'connect', json }),
    onPub: (subject, reply, hdr, buf, start, end) => {
      const headers = pubHeaders(hdr, buf, start);
      const payload = pubPayload(hdr, buf, start, end);
      push(
        {
          op: 'pub',
          subject,
          reply,
          headers: headers === null ? null : headers.toString('latin1'),
          payload: payload.toString('latin1'),
        },
        { headers, payload },
      );
    },
    onSub: (subject, queue, sid) => push({ op: 'sub', subject, queue, sid }),
    onUnsub: (sid, max) => push({ op: 'unsub', sid, max }),
    onPing: () => push({ op: 'ping' }),
    onPong: () => push({ op: 'pong' }),
    onRefused: (wire) => push({ op: 'refused', wire }),
  };
  return { handler, events };
}

// --- feeding -------------------------------------------------------------------

export interface Outcome {
  events: ParserEvent[];
  /** The first error's wire text and close reason, or null. */
  error: { wire: string; reason: string } | null;
  /** Events emitted or errors returned after the first error (must be 0). */
  afterError: number;
}

export const DEFAULT_LIMITS: ParserLimits = { maxPayload: 1024 * 1024, maxControlLine: 4096 };

/** Feeds `chunks` in order to a fresh parser, reusing one scratch buffer as a socket would. */
export interface FeedHooks {
  /** Sees each event as it is emitted (payload buffers are valid only now). */
  onEvent?(e: ParserEvent, pub?: RecordedPub): void;
  /** Sees each feed's result and how long it took. */
  onFeed?(result: unknown, ms: number, chunk: Uint8Array): void;
}

export function feedChunks(
  chunks: readonly Uint8Array[],
  limits: ParserLimits = DEFAULT_LIMITS,
  hooks: FeedHooks = {},
  /** The parser's options (`fastPub: false`: the general path only). */
  options: { fastPub?: boolean } = {},
): Outcome {
  const { handler, events } = recorder(hooks.onEvent);
  const parser = new NatsParser(handler, limits, options);
  let biggest = 0;
  for (const c of chunks) biggest = Math.max(biggest, c.length);
  const scratch = Buffer.alloc(biggest);
  let error: Outcome['error'] = null;
  let eventsAtError = 0;
  let afterError = 0;
  for (const c of chunks) {
    scratch.set(c, 0);
    const t0 = hooks.onFeed === undefined ? 0 : performance.now();
    const err = parser.feed(scratch.subarray(0, c.length));
    hooks.onFeed?.(err, performance.now() - t0, c);
    scratch.fill(0x7e);
    if (error !== null) {
      if (err !== null) afterError++;
    } else if (err !== null) {
      error = { wire: err.wire, reason: err.reason };
      eventsAtError = events.length;
    }
  }
  if (error !== null) afterError += events.length - eventsAtError;
  return { events, error, afterError };
}

export function whole(input: Uint8Array): Uint8Array[] {
  return [input];
}

export function bytewise(input: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < input.length; i++) out.push(input.subarray(i, i + 1));
  return out;
}

/**
 * Random chunks: sometimes tiny pieces, sometimes a few large ones, sometimes
 * with empty chunks in between (a zero-length read must change nothing).
 */
export function randomSplits(input: Uint8Array, rng: Rng): Uint8Array[] {
  const out: Uint8Array[] = [];
  const style = rng.int(3);
  let pos = 0;
  while (pos < input.length) {
    let n: number;
    if (style === 0) n = rng.range(1, 8);
    else if (style === 1) n = rng.range(1, Math.max(1, input.length >> 2));
    else n = rng.chance(0.5) ? rng.range(1, 3) : rng.range(1, 256);
    if (rng.chance(0.05)) out.push(input.subarray(pos, pos));
    out.push(input.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

/** Readable description of chunk sizes, for failure messages. */
export function describeSplits(chunks: readonly Uint8Array[]): string {
  const sizes = chunks.map((c) => c.length);
  const text = sizes.slice(0, 64).join(',');
  return sizes.length > 64 ? `${text},… (${sizes.length} chunks)` : text;
}

/** The wire texts a parser may return. */
export const PARSER_WIRE_ERRORS: readonly string[] = [
  WireError.UnknownOperation,
  WireError.MaxPayload,
  WireError.MaxControlLine,
];

// --- frames --------------------------------------------------------------------

export function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

export interface Frame {
  name: string;
  wire: Buffer;
  events: ParserEvent[];
}

function frame(name: string, wire: string | Buffer, ...events: ParserEvent[]): Frame {
  return { name, wire: typeof wire === 'string' ? bytes(wire) : wire, events };
}

/** `HPUB` with sizes computed from the parts (all latin1). */
export function hpub(subject: string, reply: string, headers: string, payload: string): string {
  const total = headers.length + payload.length;
  const r = reply === '' ? '' : ` ${reply}`;
  return `HPUB ${subject}${r} ${headers.length} ${total}\r\n${headers}${payload}\r\n`;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const HDR = 'NATS/1.0\r\n\r\n';
const HDR2 = 'NATS/1.0\r\nTrace-Id: abc 123\r\nX: y\r\n\r\n';
const pub = (subject: string, reply: string, payload: string): ParserEvent => ({
  op: 'pub',
  subject,
  reply,
  headers: null,
  payload,
});

/** Valid frames, each with the events it must produce. */
export const CORPUS: readonly Frame[] = [
  frame(
    'CONNECT with spaces in its JSON',
    'CONNECT {"verbose":false, "name":"a b c", "lang":"node" , "echo": true}\r\n',
    { op: 'connect', json: '{"verbose":false, "name":"a b c", "lang":"node" , "echo": true}' },
  ),
  frame('CONNECT with spaces before the JSON', 'CONNECT  \t {"a":1}\r\n', {
    op: 'connect',
    json: '{"a":1}',
  }),
  frame('PUB without reply', 'PUB foo.bar 5\r\nhello\r\n', pub('foo.bar', '', 'hello')),
  frame(
    'PUB with reply',
    'PUB foo.bar _INBOX.abc.1 5\r\nhello\r\n',
    pub('foo.bar', '_INBOX.abc.1', 'hello'),
  ),
  frame('PUB with a zero-length payload', 'PUB foo 0\r\n\r\n', pub('foo', '', '')),
  frame(
    'PUB whose payload holds CRLF and a verb',
    'PUB foo 12\r\nPING\r\nPUB x\r\r\n',
    pub('foo', '', 'PING\r\nPUB x\r'),
  ),
  frame(
    'PUB with every byte value',
    Buffer.concat([bytes('PUB bin 256\r\n'), ALL_BYTES, bytes('\r\n')]),
    pub('bin', '', ALL_BYTES.toString('latin1')),
  ),
  frame('HPUB without reply', hpub('foo', '', HDR, 'hello'), {
    op: 'pub',
    subject: 'foo',
    reply: '',
    headers: HDR,
    payload: 'hello',
  }),
  frame('HPUB with reply and headers', hpub('a.b', 'r.1', HDR2, 'body'), {
    op: 'pub',
    subject: 'a.b',
    reply: 'r.1',
    headers: HDR2,
    payload: 'body',
  }),
  frame('HPUB with headers only', hpub('foo', '', HDR, ''), {
    op: 'pub',
    subject: 'foo',
    reply: '',
    headers: HDR,
    payload: '',
  }),
  frame('SUB without queue', 'SUB foo.* 1\r\n', {
    op: 'sub',
    subject: 'foo.*',
    queue: '',
    sid: '1',
  }),
  frame('SUB with queue', 'SUB foo.> workers 22\r\n', {
    op: 'sub',
    subject: 'foo.>',
    queue: 'workers',
    sid: '22',
  }),
  frame('UNSUB without max', 'UNSUB 1\r\n', { op: 'unsub', sid: '1', max: 0 }),
  frame('UNSUB with max', 'UNSUB 22 5\r\n', { op: 'unsub', sid: '22', max: 5 }),
  frame('PING', 'PING\r\n', { op: 'ping' }),
  frame('PONG', 'PONG\r\n', { op: 'pong' }),
  frame('lower-case connect', 'connect {}\r\n', { op: 'connect', json: '{}' }),
  frame('lower-case pub', 'pub foo 2\r\nhi\r\n', pub('foo', '', 'hi')),
  frame('lower-case hpub', hpub('foo', '', HDR, 'x').replace('HPUB', 'hpub'), {
    op: 'pub',
    subject: 'foo',
    reply: '',
    headers: HDR,
    payload: 'x',
  }),
  frame('lower-case sub', 'sub foo q 3\r\n', { op: 'sub', subject: 'foo', queue: 'q', sid: '3' }),
  frame('lower-case unsub', 'unsub 3 1\r\n', { op: 'unsub', sid: '3', max: 1 }),
  frame('lower-case ping and pong', 'ping\r\npong\r\n', { op: 'ping' }, { op: 'pong' }),
  frame('mixed-case verbs', 'PiNg\r\npUb foo 1\r\nx\r\n', { op: 'ping' }, pub('foo', '', 'x')),
  frame('tabs between PUB arguments', 'PUB\tfoo\t\tr\t2\r\nhi\r\n', pub('foo', 'r', 'hi')),
  frame('spaces and tabs around SUB arguments', 'SUB \t foo\t q  4 \t\r\n', {
    op: 'sub',
    subject: 'foo',
    queue: 'q',
    sid: '4',
  }),
  frame('bare LF after PING', 'PING\n', { op: 'ping' }),
  frame('bare LF after SUB', 'SUB foo 5\n', { op: 'sub', subject: 'foo', queue: '', sid: '5' }),
  frame('bare LF after a PUB line', 'PUB foo 2\nhi\r\n', pub('foo', '', 'hi')),
  frame('UTF-8 subject', Buffer.from('SUB größe.😀 6\r\n', 'utf8'), {
    op: 'sub',
    subject: 'größe.😀',
    queue: '',
    sid: '6',
  }),
  frame('PUB with leading zeros in the size', 'PUB foo 003\r\nabc\r\n', pub('foo', '', 'abc')),
];

/** All frames back to back, and the events they make. */
export function stream(frames: readonly Frame[]): { wire: Buffer; events: ParserEvent[] } {
  return {
    wire: Buffer.concat(frames.map((f) => f.wire)),
    events: frames.flatMap((f) => f.events),
  };
}

/** Runs `check`; if it throws, prefixes `context` (the seed, the splits) to its message. */
export function withContext(context: string | (() => string), check: () => void): void {
  try {
    check();
  } catch (err) {
    const text = typeof context === 'string' ? context : context();
    if (err instanceof Error) err.message = `${text}\n${err.message}`;
    throw err;
  }
}
