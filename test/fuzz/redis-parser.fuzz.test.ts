/**
 * A time-bounded fuzz of the Redis request reader
 * (src/protocols/redis/parser.ts): random and mutated RESP arrays and
 * inline lines, cut at random places. It checks:
 *   - only RespProtocolError is ever thrown, with a `Protocol error:` text;
 *   - generated commands come back exactly, whatever the cuts;
 *   - the bytes held never exceed one incomplete command's bound.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 3); WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { integer } from '../../src/protocols/redis/commands/define.js';
import { INLINE_MAX, RespProtocolError, RespReader } from '../../src/protocols/redis/parser.js';
import { makeRng, type Rng, seedFromEnv, withContext } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '3');
const SEED = seedFromEnv();
const MAX_BULK = 4096;

function randomArg(rng: Rng): Buffer {
  const b = Buffer.alloc(rng.int(40));
  for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
  return b;
}

function encode(cmd: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${cmd.length}\r\n`)];
  for (const a of cmd) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

function feed(wire: Buffer, cuts: number[]): { cmds: Buffer[][]; maxPending: number } {
  const r = new RespReader(MAX_BULK);
  const cmds: Buffer[][] = [];
  let maxPending = 0;
  let at = 0;
  for (const cut of [...cuts, wire.length]) {
    r.push(wire.subarray(at, cut));
    at = cut;
    for (let c = r.next(); c !== null; c = r.next()) cmds.push(c.map((a) => Buffer.from(a)));
    maxPending = Math.max(maxPending, r.pending);
  }
  return { cmds, maxPending };
}

function cutsOf(rng: Rng, n: number): number[] {
  const cuts: number[] = [];
  for (let i = 0; i < rng.int(6); i++) cuts.push(rng.int(n + 1));
  return cuts.sort((a, b) => a - b);
}

test('redis request reader: round trips, and nothing but protocol errors', () => {
  const rng = makeRng(SEED);
  const until = Date.now() + SECONDS * 1000;
  let cases = 0;
  while (Date.now() < until) {
    cases++;
    const cmds: Buffer[][] = [];
    for (let i = 0; i < 1 + rng.int(4); i++) {
      cmds.push(Array.from({ length: 1 + rng.int(5) }, () => randomArg(rng)));
    }
    const wire = Buffer.concat(cmds.map(encode));
    withContext(`seed ${SEED}, case ${cases}`, () => {
      const { cmds: got, maxPending } = feed(wire, cutsOf(rng, wire.length));
      assert.deepEqual(got, cmds);
      assert.ok(maxPending <= wire.length);
    });
    // Mutated: a few bytes changed, inserted or removed; only protocol errors may come out.
    const bad = Buffer.from(wire);
    for (let i = 0; i < 1 + rng.int(3); i++) bad[rng.int(bad.length)] = rng.int(256);
    const mutated = rng.int(2) === 0 ? bad : Buffer.concat([bad, randomArg(rng)]);
    withContext(`seed ${SEED}, case ${cases} (mutated)`, () => {
      try {
        const { maxPending } = feed(mutated, cutsOf(rng, mutated.length));
        assert.ok(maxPending <= mutated.length);
      } catch (err) {
        assert.ok(err instanceof RespProtocolError, String(err));
        assert.match(err.message, /^Protocol error: /);
      }
    });
    // Random bytes, inline or not.
    const junk = randomArg(rng);
    withContext(`seed ${SEED}, case ${cases} (junk)`, () => {
      try {
        const { maxPending } = feed(junk, cutsOf(rng, junk.length));
        assert.ok(maxPending <= INLINE_MAX + 64);
      } catch (err) {
        assert.ok(err instanceof RespProtocolError, String(err));
      }
    });
  }
  assert.ok(cases > 100, `only ${cases} cases ran`);
});

/**
 * What a reader gives for `wire` cut at `cuts`: each command (its name
 * lower case, so the paths compare), the bytes pending after each cut, then
 * the protocol error that ended it, if any. `fast`, when given, is tried
 * before `next` at each command, as the session reads: it returns the
 * command it took, or null to leave it to `next`.
 */
function readEvents(
  wire: Buffer,
  cuts: number[],
  fast: ((r: RespReader) => Buffer[] | null) | null,
  /** What `next`'s commands mean, when the fast path gives that instead of the arguments. */
  meaning: (cmd: Buffer[]) => Buffer[] = (cmd) => cmd,
): string[] {
  const r = new RespReader(MAX_BULK);
  const out: string[] = [];
  let at = 0;
  const show = (cmd: Buffer[]): string =>
    JSON.stringify([
      cmd[0]!.toString('latin1').toLowerCase(),
      ...cmd.slice(1).map((a) => a.toString('hex')),
    ]);
  try {
    for (const cut of [...cuts, wire.length]) {
      r.push(wire.subarray(at, cut));
      at = cut;
      for (;;) {
        const took = fast === null ? null : fast(r);
        if (took !== null) {
          out.push(show(took));
          continue;
        }
        const c = r.next();
        if (c === null) break;
        out.push(show(meaning(c)));
      }
      out.push(`pending ${r.pending}`);
    }
  } catch (err) {
    assert.ok(err instanceof RespProtocolError, String(err));
    out.push(`error ${err.message}`);
  }
  return out;
}

/** A copy of `b`'s bytes from `start` to `end`. */
const copyOf = (b: Buffer, start: number, end: number): Buffer =>
  Buffer.from(b.subarray(start, end));

/** PUBLISH's fast path: `nextPublish` takes it, or nothing. */
function publishFast(r: RespReader): Buffer[] | null {
  if (!r.nextPublish()) return null;
  const b = r.buffer;
  return [
    Buffer.from('publish'),
    copyOf(b, r.chanStart, r.chanEnd),
    copyOf(b, r.payloadStart, r.payloadEnd),
  ];
}

function events(wire: Buffer, cuts: number[], fast: boolean): string[] {
  return readEvents(wire, cuts, fast ? publishFast : null);
}

/** The shape of a command a fast path reads, for `commandLike`. */
interface FastShape {
  /** The name as the fast path expects it, and near misses of it. */
  name: string;
  names: string[];
  /** Its argument count (name included), and the bound of the other counts tried. */
  arity: number;
  arities: number;
  /** Changes the arguments drawn (e.g. XADD's ID), before the bulk bound is tried. */
  shape?: (rng: Rng, args: Buffer[]) => void;
  /** More ways of writing it otherwise: [what, with what] in the encoded text. */
  variants?: [string, string][];
}

/**
 * A command like `f`: mostly the fast path's shape, sometimes another name
 * or count, now and then its last argument at the bulk bound (one byte
 * under, at, one over), sometimes written otherwise (a leading zero, a LF
 * alone, a sign, a bulk too long, a bad end, and `f.variants`).
 */
function commandLike(rng: Rng, f: FastShape): Buffer {
  const name = rng.chance(0.7) ? f.name : rng.pick(f.names);
  const n = rng.chance(0.85) ? f.arity : rng.int(f.arities);
  const args = [
    Buffer.from(name),
    ...Array.from({ length: Math.max(0, n - 1) }, () => randomArg(rng)),
  ];
  f.shape?.(rng, args);
  if (args.length === f.arity && rng.chance(0.05))
    args[f.arity - 1] = Buffer.alloc(MAX_BULK - 1 + rng.int(3), 0x61);
  let wire = encode(args);
  if (rng.chance(0.15)) {
    const text = wire.toString('latin1');
    const variants = [
      text.replace(/\$(\d+)\r\n/, '$0$1\r\n'),
      text.replace(`*${f.arity}\r\n`, `*${f.arity}\n`),
      ...(f.variants ?? []).map(([what, with_]) => text.replace(what, with_)),
      text.replace(/\$(\d+)\r\n/, '$+$1\r\n'),
      text.replace(/\$(\d+)\r\n/, `$${MAX_BULK + 1}\r\n`),
      text.replace(/\r\n$/, 'xy'),
    ];
    wire = Buffer.from(rng.pick(variants), 'latin1');
  }
  return wire;
}

const PUBLISH_SHAPE: FastShape = {
  name: 'PUBLISH',
  names: ['PUBLISH', 'publish', 'PubLish', 'PUBLISX', 'PUBLIS', 'SPUBLISH', 'ECHO'],
  arity: 3,
  arities: 5,
};

/** A PUBLISH-like command (`nextPublish`'s shape, mostly). */
const publishLike = (rng: Rng): Buffer => commandLike(rng, PUBLISH_SHAPE);

test('redis request reader: the PUBLISH fast path reads as `next` does', () => {
  const rng = makeRng(SEED ^ 0x5eed);
  const until = Date.now() + SECONDS * 1000;
  let cases = 0;
  let fastTaken = 0;
  while (Date.now() < until) {
    cases++;
    const parts: Buffer[] = [];
    for (let i = 0; i < 1 + rng.int(6); i++) {
      parts.push(
        rng.chance(0.7) ? publishLike(rng) : encode([Buffer.from('PING'), randomArg(rng)]),
      );
    }
    let wire = Buffer.concat(parts);
    if (rng.chance(0.3)) {
      wire = Buffer.from(wire);
      for (let i = 0; i < 1 + rng.int(3); i++) wire[rng.int(wire.length)] = rng.int(256);
    }
    const cuts = cutsOf(rng, wire.length);
    withContext(`seed ${SEED}, case ${cases}, wire ${wire.toString('hex')}, cuts ${cuts}`, () => {
      const slow = events(wire, cuts, false);
      const fast = events(wire, cuts, true);
      assert.deepEqual(fast, slow);
    });
    const r = new RespReader(MAX_BULK);
    r.push(wire);
    if (r.nextPublish()) fastTaken++;
  }
  assert.ok(cases > 100, `only ${cases} cases ran`);
  assert.ok(fastTaken > cases / 10, `the fast path took only ${fastTaken} of ${cases}`);
});

/**
 * What a reader gives for `wire` cut at `cuts` with XADD's fast path:
 * `peekXadd` first, as the session reads, then the XADD it found either
 * taken (`skipPeeked`, as when the stream is here) or declined (left to
 * `next`, as when it is not), at random.
 */
function xaddEvents(wire: Buffer, cuts: number[], rng: Rng | null): string[] {
  if (rng === null) return readEvents(wire, cuts, null);
  return readEvents(wire, cuts, (r) => {
    if (!r.peekXadd() || !rng.chance(0.7)) return null;
    const b = r.buffer;
    const cmd = [
      Buffer.from('xadd'),
      copyOf(b, r.keyStart, r.keyEnd),
      Buffer.from('*'),
      copyOf(b, r.fieldStart, r.fieldEnd),
      copyOf(b, r.valueStart, r.valueEnd),
    ];
    r.skipPeeked();
    return cmd;
  });
}

const XADD_SHAPE: FastShape = {
  name: 'XADD',
  names: ['XADD', 'xadd', 'XaDd', 'XADX', 'XAD', 'XADDS', 'PUBLISH'],
  arity: 5,
  arities: 8,
  shape: (rng, args) => {
    if (args.length > 2 && rng.chance(0.8))
      args[2] = Buffer.from(rng.pick(['*', '*', '*', '**', '1-*', '0-1', '']));
  },
  variants: [
    ['$1\r\n*\r\n', '$01\r\n*\r\n'],
    ['$1\r\n*\r\n', '$1\r\n*\n\r'],
  ],
};

/** An XADD-like command (`peekXadd`'s shape, mostly). */
const xaddLike = (rng: Rng): Buffer => commandLike(rng, XADD_SHAPE);

/**
 * A peek fast path (`peek` on a reader), taken or declined at random by
 * `events`, reads as `next` does: commands shaped by `like` mixed with
 * PINGs, some bytes damaged, cut at random.
 */
function fuzzPeekPath(
  seed: number,
  like: (rng: Rng) => Buffer,
  events: (wire: Buffer, cuts: number[], rng: Rng | null) => string[],
  peek: (r: RespReader) => boolean,
): void {
  const rng = makeRng(SEED ^ seed);
  const until = Date.now() + SECONDS * 1000;
  let cases = 0;
  let fastSeen = 0;
  while (Date.now() < until) {
    cases++;
    const parts: Buffer[] = [];
    for (let i = 0; i < 1 + rng.int(6); i++) {
      parts.push(rng.chance(0.7) ? like(rng) : encode([Buffer.from('PING'), randomArg(rng)]));
    }
    let wire = Buffer.concat(parts);
    if (rng.chance(0.3)) {
      wire = Buffer.from(wire);
      for (let i = 0; i < 1 + rng.int(3); i++) wire[rng.int(wire.length)] = rng.int(256);
    }
    const cuts = cutsOf(rng, wire.length);
    withContext(`seed ${SEED}, case ${cases}, wire ${wire.toString('hex')}, cuts ${cuts}`, () => {
      const slow = events(wire, cuts, null);
      const fast = events(wire, cuts, makeRng(cases));
      assert.deepEqual(fast, slow);
    });
    const r = new RespReader(MAX_BULK);
    r.push(wire);
    if (peek(r)) fastSeen++;
  }
  assert.ok(cases > 100, `only ${cases} cases ran`);
  assert.ok(fastSeen > cases / 10, `the fast path found only ${fastSeen} of ${cases}`);
}

test('redis request reader: the XADD fast path, taken or declined, reads as `next` does', () => {
  fuzzPeekPath(0xadd, xaddLike, xaddEvents, (r) => r.peekXadd());
});

/**
 * What a reader gives for `wire` cut at `cuts` with XACK's fast path:
 * `peekXack` first, as the session reads, then the XACK it found either
 * taken (`skipPeeked`, as when it is answered in the turn) or declined
 * (left to `next`, as when it is not), at random.
 */
function xackEvents(wire: Buffer, cuts: number[], rng: Rng | null): string[] {
  if (rng === null) return readEvents(wire, cuts, null);
  return readEvents(wire, cuts, (r) => {
    if (!r.peekXack() || !rng.chance(0.7)) return null;
    const b = r.buffer;
    const x = r.xack;
    const cmd = [Buffer.from('xack'), copyOf(b, x.keyStart, x.keyEnd)];
    cmd.push(copyOf(b, x.groupStart, x.groupEnd));
    for (let i = 0; i < x.count; i++) cmd.push(copyOf(b, x.starts[i]!, x.ends[i]!));
    r.skipPeeked();
    return cmd;
  });
}

const XACK_SHAPE: FastShape = {
  name: 'XACK',
  names: ['XACK', 'xack', 'XaCk', 'XACX', 'XAC', 'XACKS', 'XADD'],
  arity: 13,
  arities: 70,
  shape: (rng, args) => {
    // 1 to 10 IDs mostly; now and then none, or XACK_FAST_IDS and around it.
    if (args.length === 13 && rng.chance(0.5)) args.length = 4 + rng.int(10);
    else if (args.length === 13 && rng.chance(0.1)) {
      for (let i = 13; i < 66 + rng.int(3); i++) args.push(randomArg(rng));
    }
    for (let i = 3; i < args.length; i++) {
      if (rng.chance(0.7)) args[i] = Buffer.from(`${rng.int(1e6)}-${rng.int(20)}`);
    }
  },
  variants: [
    ['$4\r\nXACK\r\n', '$04\r\nXACK\r\n'],
    ['\r\n$4\r\n', '\r\n$4\n'],
  ],
};

/** An XACK-like command (`peekXack`'s shape, mostly). */
const xackLike = (rng: Rng): Buffer => commandLike(rng, XACK_SHAPE);

test('redis request reader: the XACK fast path, taken or declined, reads as `next` does', () => {
  fuzzPeekPath(0xac4, xackLike, xackEvents, (r) => r.peekXack());
});

/**
 * What an XREADGROUP means as the command reads it (groups-read.ts
 * `xreadgroup`'s option loop): for one key read at `>` without BLOCK,
 * `[xreadgroup, group, consumer, count, noack or empty, key]` — the form
 * the fast path gives; any other command as it is.
 */
function xreadgroupMeaning(cmd: Buffer[]): Buffer[] {
  if (cmd[0]!.toString('latin1').toLowerCase() !== 'xreadgroup') return cmd;
  const word = (b: Buffer) => b.toString('latin1').toLowerCase();
  let count = 0;
  let noack = false;
  let group: Buffer | null = null;
  let consumer: Buffer | null = null;
  let streamsAt = 0;
  for (let i = 1; i < cmd.length; i++) {
    const more = cmd.length - i - 1;
    const a = word(cmd[i]!);
    if (a === 'block' && more > 0) return cmd;
    if (a === 'count' && more > 0) {
      const v = integer(cmd[++i]!);
      if (v === null) return cmd;
      count = v < 0n ? 0 : Number(v > 1_000_000_000n ? 1_000_000_000n : v);
    } else if (a === 'streams' && more > 0) {
      streamsAt = i + 1;
      break;
    } else if (a === 'group' && more >= 2) {
      group = cmd[i + 1]!;
      consumer = cmd[i + 2]!;
      i += 2;
    } else if (a === 'noack') noack = true;
    else return cmd;
  }
  const id = cmd[streamsAt + 1];
  if (streamsAt === 0 || group === null || cmd.length - streamsAt !== 2) return cmd;
  if (id === undefined || id.length !== 1 || id[0] !== 0x3e) return cmd;
  const flag = Buffer.from(noack ? 'noack' : '');
  return [
    Buffer.from('xreadgroup'),
    group,
    consumer!,
    Buffer.from(String(count)),
    flag,
    cmd[streamsAt]!,
  ];
}

/**
 * XREADGROUP's fast path as the session reads: `peekXreadgroup`, then the
 * read it found taken (its meaning from the ranges) or declined (left to
 * `next`), at random; `next`'s commands compared by their meaning.
 */
function xreadgroupEvents(wire: Buffer, cuts: number[], rng: Rng | null): string[] {
  if (rng === null) return readEvents(wire, cuts, null, xreadgroupMeaning);
  const fast = (r: RespReader): Buffer[] | null => {
    if (!r.peekXreadgroup() || !rng.chance(0.7)) return null;
    const b = r.buffer;
    const x = r.xreadgroup;
    const cmd = [
      Buffer.from('xreadgroup'),
      copyOf(b, x.groupStart, x.groupEnd),
      copyOf(b, x.consumerStart, x.consumerEnd),
      Buffer.from(String(x.count)),
      Buffer.from(x.noack ? 'noack' : ''),
      copyOf(b, x.keyStart, x.keyEnd),
    ];
    r.skipPeeked();
    return cmd;
  };
  return readEvents(wire, cuts, fast, xreadgroupMeaning);
}

const COUNTS = ['10', '0', '1', '999999999', '1000000000', '007', '-1', '-0', '+1', 'abc', ''];
const OPTIONS = [
  'COUNT',
  'count',
  'CoUnT',
  'NOACK',
  'noack',
  'BLOCK',
  'GROUP',
  'STREAMS',
  'COUNTS',
];

const XREADGROUP_SHAPE: FastShape = {
  name: 'XREADGROUP',
  names: [
    'XREADGROUP',
    'xreadgroup',
    'XReadGroup',
    'XREADGROUX',
    'XREADGROU',
    'XREADGROUPS',
    'XREAD',
  ],
  arity: 9,
  arities: 13,
  shape: (rng, args) => {
    // GROUP g c COUNT n STREAMS key > mostly; options moved, dropped, doubled or odd now and then.
    if (args.length !== 9) return;
    args[1] = Buffer.from(rng.chance(0.9) ? 'GROUP' : rng.pick(['group', 'GROUPS', 'COUNT']));
    args[4] = Buffer.from(rng.chance(0.8) ? 'COUNT' : rng.pick(OPTIONS));
    args[5] = Buffer.from(rng.chance(0.6) ? String(rng.int(100)) : rng.pick(COUNTS));
    args[6] = Buffer.from(rng.chance(0.9) ? 'STREAMS' : rng.pick(OPTIONS));
    args[8] = Buffer.from(rng.chance(0.9) ? '>' : rng.pick(['$', '0', '>>', '']));
    if (rng.chance(0.2)) args.splice(4, 2);
    if (rng.chance(0.2)) args.splice(4 + rng.int(3), 0, Buffer.from(rng.pick(['NOACK', 'noack'])));
    if (rng.chance(0.05)) args.splice(1, 0, Buffer.from('COUNT'), Buffer.from('1'));
  },
  variants: [
    ['$10\r\nXREADGROUP\r\n', '$010\r\nXREADGROUP\r\n'],
    ['$5\r\nCOUNT\r\n', '$5\r\nCOUNT\n'],
    ['$7\r\nSTREAMS\r\n', '$07\r\nSTREAMS\r\n'],
    // A count that says more (or fewer) arguments than the shape has.
    ['*9\r\n', '*10\r\n$1\r\n>\r\n'],
    ['*9\r\n', '*8\r\n'],
    ['*7\r\n', '*8\r\n'],
  ],
};

/** An XREADGROUP-like command (`peekXreadgroup`'s shape, mostly). */
const xreadgroupLike = (rng: Rng): Buffer => commandLike(rng, XREADGROUP_SHAPE);

test('redis request reader: the XREADGROUP fast path, taken or declined, means what `next` reads', () => {
  fuzzPeekPath(0x7ead, xreadgroupLike, xreadgroupEvents, (r) => r.peekXreadgroup());
});
