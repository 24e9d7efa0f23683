/**
 * FrameSplitter (src/protocols/kafka/frames.ts) as the session drives it:
 * each read copied into one reused buffer (the shared read buffer) and
 * pushed as `transient`, frames taken, then `release`, then the buffer
 * overwritten. Frames over reads are gathered into pooled buffers, lent
 * until the next `next` and overwritten when given back (poison). A frame
 * must come out exactly; one neither lent nor a view of the read buffer
 * must stay intact for good; the pool must serve a steady stream of large
 * frames without allocating.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  FrameSplitter,
  GATHER_AHEAD,
  GATHER_POOLED_MAX,
  gatherPool,
} from '../../src/protocols/kafka/frames.js';
import { makeRng, type Rng, seedFromEnv, withContext } from '../fuzz/nats-frames.js';

const READ_SIZE = 64 * 1024;
const SEED = seedFromEnv();

function framed(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Pushes `wire` in reads of at most `maxRead` bytes through one reused buffer; checks each frame as it comes. */
function drive(
  rng: Rng,
  splitter: FrameSplitter,
  wire: Buffer,
  bodies: Buffer[],
  maxRead: number,
): { kept: { frame: Buffer; want: Buffer }[]; lentSeen: number } {
  const read = Buffer.allocUnsafe(READ_SIZE);
  const kept: { frame: Buffer; want: Buffer }[] = [];
  let k = 0;
  let lentSeen = 0;
  let at = 0;
  while (at < wire.length) {
    const n = Math.min(wire.length - at, 1 + rng.int(Math.min(maxRead, READ_SIZE)));
    wire.copy(read, 0, at, at + n);
    at += n;
    splitter.push(read.subarray(0, n), true);
    for (let f = splitter.next(); f !== null; f = splitter.next()) {
      assert.ok(k < bodies.length, 'more frames than sent');
      assert.ok(f.equals(bodies[k]!), `frame ${k} of ${f.length} bytes differs`);
      if (splitter.lent(f)) lentSeen++;
      else if (f.buffer !== read.buffer) kept.push({ frame: f, want: bodies[k]! });
      k++;
    }
    splitter.release();
    read.fill(0xee);
  }
  assert.equal(k, bodies.length);
  return { kept, lentSeen };
}

describe('FrameSplitter, frames over reads', () => {
  it('random frames cut into random reads come out exactly; what is not lent stays', () => {
    const rng = makeRng(SEED);
    for (let round = 0; round < 40; round++) {
      withContext(`seed ${SEED}, round ${round}`, () => {
        const sizes = Array.from({ length: 1 + rng.int(12) }, () =>
          rng.pick([0, 1, 3, 100, 1000, 16_000, 70_000, 131_000, 300_000, GATHER_POOLED_MAX + 5]),
        ).map((s) => Math.max(0, s - rng.int(3)));
        const bodies = sizes.map((s) => randomBytes(s));
        const wire = Buffer.concat(bodies.map(framed));
        const splitter = new FrameSplitter(4 * GATHER_POOLED_MAX, {
          lend: true,
          poison: () => true,
        });
        const maxRead = rng.pick([7, 1000, 30_000, READ_SIZE]);
        const { kept } = drive(rng, splitter, wire, bodies, maxRead);
        for (const { frame, want } of kept) assert.ok(frame.equals(want), 'a kept frame changed');
        assert.equal(splitter.pending, 0);
        splitter.dispose();
      });
    }
  });

  it('without lend, every frame may be kept', () => {
    const rng = makeRng(SEED + 1);
    const bodies = [131_000, 10, 200_000, 70_000].map((s) => randomBytes(s));
    const splitter = new FrameSplitter();
    const { kept, lentSeen } = drive(
      rng,
      splitter,
      Buffer.concat(bodies.map(framed)),
      bodies,
      READ_SIZE,
    );
    assert.equal(lentSeen, 0);
    for (const { frame, want } of kept) assert.ok(frame.equals(want));
  });

  it('a steady stream of 128 KiB requests over 64 KiB reads is gathered into the pool, not allocated', () => {
    const rng = makeRng(SEED + 2);
    const bodies = Array.from({ length: 200 }, () => randomBytes(131_300));
    const wire = Buffer.concat(bodies.map(framed));
    const splitter = new FrameSplitter(undefined, { lend: true });
    const before = gatherPool.allocated;
    const { lentSeen } = drive(rng, splitter, wire, bodies, READ_SIZE);
    // Every frame spans reads; one pooled buffer serves them all (two at most
    // if another test's splitter holds one).
    assert.ok(lentSeen >= 190, `${lentSeen} of 200 lent`);
    assert.ok(gatherPool.allocated - before <= 2, `${gatherPool.allocated - before} allocated`);
    splitter.dispose();
  });

  it('a lent frame is given back (poisoned) at the next `next`, and at `dispose`', () => {
    const body = randomBytes(100_000);
    const wire = framed(body);
    for (const end of ['next', 'dispose'] as const) {
      const splitter = new FrameSplitter(undefined, { lend: true, poison: () => true });
      splitter.push(Buffer.from(wire.subarray(0, 60_000)), true);
      assert.equal(splitter.next(), null);
      splitter.release();
      splitter.push(Buffer.from(wire.subarray(60_000)));
      const f = splitter.next();
      assert.ok(f);
      assert.ok(f.equals(body) && splitter.lent(f));
      if (end === 'next') assert.equal(splitter.next(), null);
      else splitter.dispose();
      assert.ok(f.every((b) => b === 0xee));
      assert.equal(splitter.lent(f), false);
    }
  });

  it('a size alone allocates nothing; the frame is gathered once 1/GATHER_AHEAD of it is here', () => {
    const size = 8 * 1024 * 1024;
    const splitter = new FrameSplitter(16 * 1024 * 1024, { lend: true });
    const head = Buffer.alloc(4);
    head.writeInt32BE(size, 0);
    splitter.push(head);
    assert.equal(splitter.next(), null);
    const body = randomBytes(size);
    const part = size / GATHER_AHEAD - 1;
    splitter.push(body.subarray(0, part));
    assert.equal(splitter.next(), null);
    assert.equal(splitter.pending, 4 + part);
    splitter.push(body.subarray(part, part + 1));
    assert.equal(splitter.next(), null);
    // Gathered now: the size is no longer held, the frame's bytes are.
    assert.equal(splitter.pending, part + 1);
    splitter.push(body.subarray(part + 1));
    const f = splitter.next();
    assert.ok(f);
    assert.ok(f.equals(body));
    // Over GATHER_POOLED_MAX: a buffer of its own, not lent.
    assert.equal(splitter.lent(f), false);
    assert.equal(splitter.next(), null);
    assert.equal(splitter.pending, 0);
  });

  it('a size over the limit or negative still throws before anything is buffered', () => {
    const splitter = new FrameSplitter(1000, { lend: true });
    const head = Buffer.alloc(4);
    head.writeInt32BE(1001, 0);
    splitter.push(head);
    assert.throws(() => splitter.next(), /over the limit/);
    const neg = new FrameSplitter(1000, { lend: true });
    head.writeInt32BE(-1, 0);
    neg.push(head);
    assert.throws(() => neg.next(), /negative/);
  });
});
