/**
 * A time-bounded fuzz of the mesh FrameParser. Inputs are random bytes,
 * mutated valid frames (bit flips, inserted and deleted bytes, splices,
 * rewritten lengths and string lengths) and generated valid frames, each fed
 * in random pieces; valid streams include runs of MSG frames that share
 * fields (the decoder caches heads, strings and destinations). It checks:
 *   - `feed` never throws: it returns null or a FrameError, and nothing
 *     happens after an error;
 *   - bounded memory: a pending (split) frame never holds more than maxFrame;
 *   - the split feed gives exactly what the whole feed gives (differential),
 *     and for valid frames that is the events they were generated with.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 5, shared by the parts);
 * WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameType } from '../../src/mesh/frames.js';
import {
  concatFrames,
  feedMesh,
  type GenFrame,
  type MeshOutcome,
  randomFrame,
  randomRun,
} from './mesh-frames.js';
import {
  describeSplits,
  makeRng,
  type Rng,
  randomSplits,
  seedFromEnv,
  subSeed,
  withContext,
} from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '5');
const SEED = seedFromEnv();
const MAX_FRAMES = [1, 5, 16, 64, 1024, 64 * 1024];
const PARTS = 3;
/** Each part runs at least this many cases, however short the time. */
const MIN_CASES = 50;

/** The deadline of one part, from when it starts. */
function deadline(): number {
  return performance.now() + (SECONDS * 1000) / PARTS;
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** Random bytes, sometimes behind a plausible length prefix and type. */
function garbage(rng: Rng): Buffer {
  const body = randomBytes(rng, rng.int(rng.chance(0.1) ? 4000 : 64));
  if (rng.chance(0.5)) return body;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(rng.chance(0.7) ? body.length + 1 : rng.u32() >>> rng.int(32), 0);
  head[4] = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 255, rng.int(256)]);
  return Buffer.concat([head, body]);
}

/** A valid frame stream with some damage. */
function mutate(rng: Rng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const edits = rng.range(1, 4);
  for (let i = 0; i < edits && b.length > 0; i++) {
    const at = rng.int(b.length);
    switch (rng.int(7)) {
      case 0:
        b[at] ^= 1 << rng.int(8);
        break;
      case 1:
        b[at] = rng.pick([0, 1, 0x7f, 0x80, 0xff, rng.int(256)]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), randomBytes(rng, rng.range(1, 8)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([
          b.subarray(0, at),
          b.subarray(Math.min(b.length, at + rng.range(1, 8))),
        ]);
        break;
      case 4: {
        const from = rng.int(b.length);
        const piece = b.subarray(from, from + rng.range(1, 32));
        b = Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
        break;
      }
      case 5:
        // A frame length or a u16 string length rewritten.
        if (at + 4 <= b.length) b.writeUInt32BE(rng.pick([0, 1, 2, 0xffff, 0xffffffff]), at);
        break;
      default:
        b = b.subarray(0, at);
    }
  }
  return b;
}

function validStream(rng: Rng): { wire: Buffer; frames: GenFrame[] } {
  const frames: GenFrame[] = [];
  const n = rng.range(1, 8);
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.3)) frames.push(...randomRun(rng));
    else frames.push(randomFrame(rng));
  }
  return { wire: concatFrames(frames).wire, frames };
}

/** Feeds whole and in `splits` random splits; checks the invariants; returns the whole outcome. */
function check(
  rng: Rng,
  input: Buffer,
  maxFrame: number,
  splits: number,
  ctx: string,
): MeshOutcome {
  let maxPending = 0;
  const hooks = {
    afterFeed: (p: unknown): void => {
      const pending = (p as { pending: Buffer }).pending.length;
      if (pending > maxPending) maxPending = pending;
    },
  };
  const wholeOut = withValue(`${ctx}: fed whole`, () => {
    const out = feedMesh([input], maxFrame, hooks);
    assert.equal(out.afterError, 0);
    return out;
  });
  for (let i = 0; i < splits; i++) {
    const chunks = randomSplits(input, rng);
    withContext(
      () => `${ctx}: split ${describeSplits(chunks)}`,
      () => assert.deepEqual(feedMesh(chunks, maxFrame, hooks), wholeOut),
    );
  }
  assert.ok(maxPending <= maxFrame, `${ctx}: pending ${maxPending} over maxFrame ${maxFrame}`);
  return wholeOut;
}

/** withContext that passes a value through. */
function withValue<T>(ctx: string, f: () => T): T {
  let v: T | undefined;
  withContext(ctx, () => {
    v = f();
  });
  return v as T;
}

describe(`mesh frame parser fuzz (${SECONDS}s, seed ${SEED})`, () => {
  test('random bytes: never throws, bounded, split = whole', (t) => {
    const rng = makeRng(subSeed(SEED, 1));
    const end = deadline();
    let cases = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const input = Buffer.concat([garbage(rng), rng.chance(0.3) ? garbage(rng) : Buffer.alloc(0)]);
      const maxFrame = rng.pick(MAX_FRAMES);
      withValue(`seed ${SEED} random case ${cases}`, () =>
        check(rng, input, maxFrame, 3, `random case ${cases}, maxFrame ${maxFrame}`),
      );
    }
    t.diagnostic(`${cases} cases, WEFT_FUZZ_SEED=${SEED}`);
  });

  test('mutated valid frames: never throws, bounded, split = whole', (t) => {
    const rng = makeRng(subSeed(SEED, 2));
    const end = deadline();
    let errors = 0;
    let cases = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const { wire } = validStream(rng);
      const input = mutate(rng, wire);
      const maxFrame = rng.chance(0.7) ? 64 * 1024 : rng.pick(MAX_FRAMES);
      const out = check(rng, input, maxFrame, 3, `seed ${SEED} mutated case ${cases}`);
      if (out.error !== null) errors++;
    }
    t.diagnostic(`${cases} cases (${errors} errors), WEFT_FUZZ_SEED=${SEED}`);
    assert.ok(errors > 0, 'mutations found errors');
  });

  test('valid frames: the events they were made with, whole and split', (t) => {
    const rng = makeRng(subSeed(SEED, 3));
    const end = deadline();
    let cases = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const { wire, frames } = validStream(rng);
      const out = check(rng, wire, 64 * 1024, 4, `seed ${SEED} valid case ${cases}`);
      withContext(`seed ${SEED} valid case ${cases}`, () => {
        assert.deepEqual(out, { events: frames.map((f) => f.event), error: null, afterError: 0 });
      });
    }
    t.diagnostic(`${cases} cases, WEFT_FUZZ_SEED=${SEED}`);
    // A sanity check that the generator makes every type.
    const types = new Set<number>();
    const r2 = makeRng(subSeed(SEED, 4));
    for (let i = 0; i < 500; i++) {
      const f = randomFrame(r2);
      types.add(f.wire[4]);
    }
    for (const t of Object.values(FrameType)) assert.ok(types.has(t), `type ${t} generated`);
  });
});
