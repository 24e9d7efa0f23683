/**
 * The file store's in-memory index (MessageIndex) and its compact parts
 * (SeqRuns: a subject's sequences as runs; NarrowUints and SlotTimes: the
 * paged, narrow slot arrays) against a plain model: a Map from sequence to what
 * was added. Random appends (with skips of every size), removals from the
 * front, the middle and at random, purges by subject and wildcard, and
 * every query the store asks, checked after each step.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { subjectMatches } from '../../src/core/subject.js';
import { MessageIndex, type Segment } from '../../src/streams/file-index.js';
import { HEADER } from '../../src/streams/file-record.js';
import { RUN_MAX, SeqRuns } from '../../src/streams/seq-runs.js';
import { NarrowUints, Pages, SlotTimes } from '../../src/streams/slot-arrays.js';
import { prng } from './crash-messages.js';

interface Held {
  subject: string;
  time: number;
  seg: number;
  off: number;
  len: number;
}

function segment(id: number): Segment {
  return {
    id,
    name: id,
    path: `/nowhere/${id}`,
    fd: -1,
    size: 0,
    filled: 0,
    written: 0,
    live: 0,
    lastMsgSeq: 0,
    tombMin: Number.POSITIVE_INFINITY,
  };
}

const SUBJECTS = ['a', 'b', 'c.x', 'c.y', 'd.e.f'];
const FILTERS = ['', 'a', 'b', 'c.x', 'c.*', '>', 'd.>', 'none'];

function check(ix: MessageIndex, model: Map<number, Held>, lastSeq: number, where: string): void {
  const held = [...model.keys()].sort((x, y) => x - y);
  assert.equal(ix.messages, held.length, `${where}: messages`);
  let bytes = 0;
  for (const h of model.values()) bytes += h.len - HEADER;
  assert.equal(ix.bytes, bytes, `${where}: bytes`);
  assert.equal(ix.lastSeq, lastSeq, `${where}: lastSeq`);
  assert.equal(ix.firstSeq, held.length > 0 ? held[0] : lastSeq + 1, `${where}: firstSeq`);
  if (held.length > 0) assert.equal(ix.firstTime, model.get(held[0]!)!.time, `${where}: firstTime`);
  assert.equal(ix.subjectCount, new Set([...model.values()].map((h) => h.subject)).size);
  for (const [seq, h] of model) {
    assert.deepEqual(
      ix.locate(seq),
      { seg: h.seg, off: h.off, len: h.len, subject: h.subject },
      `${where}: locate(${seq})`,
    );
    assert.equal(ix.timeOf(seq), h.time, `${where}: timeOf(${seq})`);
  }
  const lo = held.length > 0 ? held[0]! - 3 : lastSeq - 3;
  const near = new Set<number>();
  for (const q of [lo, ...held, lastSeq]) for (let d = -2; d <= 2; d++) near.add(q + d);
  for (const q of near) {
    if (q >= 0 && !model.has(q)) assert.equal(ix.has(q), false, `${where}: has(${q})`);
  }
  for (const s of SUBJECTS) {
    const mine = held.filter((q) => model.get(q)!.subject === s);
    const runs = ix.seqsOf(s);
    if (mine.length === 0) assert.equal(runs, undefined, `${where}: seqsOf(${s})`);
    else {
      assert.deepEqual(runs!.toArray(), mine, `${where}: seqsOf(${s})`);
      assert.equal(runs!.count, mine.length);
      assert.equal(runs!.last(), mine[mine.length - 1]);
    }
  }
  // nextSeq and purgeVictims from a few points, every filter.
  const points = [0, lo, lo + 1, ...held.slice(0, 3), ...held.slice(-3), lastSeq + 1];
  for (const f of FILTERS) {
    const literal = !f.includes('*') && !f.includes('>');
    const ok = (q: number): boolean => f === '' || subjectMatches(f, model.get(q)!.subject);
    for (const p of points) {
      const want = held.find((q) => q >= p && ok(q)) ?? 0;
      assert.equal(ix.nextSeq(p, f, literal), want, `${where}: nextSeq(${p}, '${f}')`);
      for (const keep of [0, 1]) {
        const all = held.filter((q) => q < p && ok(q));
        const v = all.slice(0, Math.max(0, all.length - keep));
        assert.deepEqual(ix.purgeVictims(f, literal, p, keep), v, `${where}: purge('${f}', ${p})`);
      }
    }
  }
}

function fuzz(seed: number, steps: number, pageBits?: number): void {
  const rnd = prng(seed);
  const segs = new Map<number, Segment>();
  const ix = new MessageIndex(segs, pageBits);
  const model = new Map<number, Held>();
  let lastSeq = 0;
  let seg = segment(1);
  segs.set(1, seg);
  let time = 1_700_000_000_000;
  let off = 0;
  for (let step = 0; step < steps; step++) {
    const r = rnd();
    if (r < 0.55) {
      // Append a burst on one subject (runs), sometimes after a skip.
      const n = 1 + Math.floor(rnd() * 6);
      const subject = SUBJECTS[Math.floor(rnd() * SUBJECTS.length)]!;
      for (let k = 0; k < n; k++) {
        const jump = rnd() < 0.05 ? [2, 50, 300, 1e9][Math.floor(rnd() * 4)]! : 1;
        const seq = lastSeq + jump;
        if (rnd() < 0.05) seg = segment(seg.id + (rnd() < 0.3 ? 300 : 1));
        segs.set(seg.id, seg);
        // Times mostly climb, sometimes step back, rarely leap 40 days.
        const t = rnd();
        time +=
          t < 0.8 ? Math.floor(rnd() * 5) : t < 0.95 ? -Math.floor(rnd() * 100) : 40 * 86_400_000;
        // Mostly small records (u8 lengths), rarely ones that widen them to u16 and u32.
        const big = rnd();
        const len = HEADER + (big < 0.02 ? 70_000 : big < 0.05 ? 300 : Math.floor(rnd() * 100));
        ix.add(seq, subject, time, seg, off, len);
        model.set(seq, { subject, time, seg: seg.id, off, len });
        off = (off + len) % 0xffff_0000;
        lastSeq = seq;
      }
    } else if (r < 0.8) {
      // Remove the oldest few (limits), or one at random.
      const held = [...model.keys()].sort((x, y) => x - y);
      if (held.length === 0) continue;
      const victims =
        rnd() < 0.5
          ? held.slice(0, 1 + Math.floor(rnd() * 4))
          : [held[Math.floor(rnd() * held.length)]!];
      for (const v of victims) {
        assert.equal(ix.drop(v), true);
        model.delete(v);
      }
      assert.equal(ix.drop(victims[0]!), false, 'dropped twice');
    } else if (r < 0.9) {
      // A purge: by filter, below a point, keeping some.
      const f = FILTERS[Math.floor(rnd() * FILTERS.length)]!;
      const literal = !f.includes('*') && !f.includes('>');
      const upTo = rnd() < 0.5 ? lastSeq + 1 : Math.floor(rnd() * (lastSeq + 2));
      for (const v of ix.purgeVictims(f, literal, upTo, Math.floor(rnd() * 3))) {
        assert.equal(ix.drop(v), true);
        model.delete(v);
      }
    } else {
      assert.equal(ix.drop(lastSeq + 1 + Math.floor(rnd() * 10)), false);
      assert.equal(ix.drop(0.5), false);
    }
    check(ix, model, lastSeq, `seed ${seed} step ${step}`);
  }
}

describe('MessageIndex', () => {
  test('matches a model through random appends, drops, purges and skips', () => {
    for (let seed = 1; seed <= 12; seed++) fuzz(seed, 250);
  });

  test('matches the model with pages of 8 slots, crossing, freeing and renumbering pages', () => {
    for (let seed = 1; seed <= 12; seed++) fuzz(seed, 250, 3);
  });

  test('a one-subject stream keeps one run, however many messages', () => {
    const segs = new Map([[1, segment(1)]]);
    const ix = new MessageIndex(segs);
    for (let s = 1; s <= 100_000; s++)
      ix.add(s, 'one', 1_700_000_000_000 + s, segs.get(1)!, s * 40, 40);
    // One run per RUN_MAX sequences.
    assert.equal(ix.seqsOf('one')!.runs, 2);
    assert.equal(ix.seqsOf('one')!.count, 100_000);
    for (let s = 1; s <= 70_000; s++) ix.drop(s);
    assert.equal(ix.seqsOf('one')!.runs, 1);
    assert.equal(ix.nextSeq(1, 'one', true), 70_001);
    ix.drop(80_000);
    assert.equal(ix.seqsOf('one')!.runs, 2);
    assert.deepEqual(ix.purgeVictims('one', true, 80_003, 0), [
      ...Array.from({ length: 9999 }, (_, k) => 70_001 + k),
      80_001,
      80_002,
    ]);
    assert.equal(ix.firstSeq, 70_001);
    assert.deepEqual(ix.locate(90_000), { seg: 1, off: 90_000 * 40, len: 40, subject: 'one' });
    // Pages: 100,000 slots took 7 pages of 16,384; the 4 wholly below 70,001 were freed.
    assert.equal(ix.capacity, 3 * 16_384);
    for (let s = 70_001; s <= 100_000; s++) ix.drop(s);
    assert.equal(ix.messages, 0);
    assert.equal(ix.capacity, 16_384, 'an emptied index keeps one page');
    ix.add(100_001, 'one', 1_700_000_000_000, segs.get(1)!, 0, 40);
    assert.deepEqual(ix.locate(100_001), { seg: 1, off: 0, len: 40, subject: 'one' });
  });

  test('refuses an offset beyond 32 bits rather than storing it wrapped', () => {
    const segs = new Map([[1, segment(1)]]);
    const ix = new MessageIndex(segs);
    assert.throws(() => ix.add(1, 'a', 1, segs.get(1)!, 2 ** 32, 40), RangeError);
  });
});

describe('SeqRuns', () => {
  test('a run holds at most RUN_MAX sequences; the rest start the next', () => {
    const runs = new SeqRuns();
    for (let q = 1; q <= RUN_MAX * 2 + 5; q++) runs.push(q);
    assert.equal(runs.runs, 3);
    assert.equal(runs.next(RUN_MAX + 1), RUN_MAX + 1);
    assert.equal(runs.remove(RUN_MAX), true);
    assert.equal(runs.next(RUN_MAX), RUN_MAX + 1);
    assert.equal(runs.count, RUN_MAX * 2 + 4);
    assert.equal(runs.last(), RUN_MAX * 2 + 5);
  });

  test('matches a sorted array through pushes and removals anywhere', () => {
    const rnd = prng(7);
    const runs = new SeqRuns();
    let model: number[] = [];
    let last = 0;
    for (let step = 0; step < 5000; step++) {
      if (rnd() < 0.6) {
        last += rnd() < 0.7 ? 1 : 2 + Math.floor(rnd() * 5);
        runs.push(last);
        model.push(last);
      } else if (model.length > 0) {
        const k = rnd() < 0.5 ? 0 : Math.floor(rnd() * model.length);
        assert.equal(runs.remove(model[k]!), true);
        assert.equal(runs.remove(model[k]!), false);
        model.splice(k, 1);
      }
      assert.equal(runs.count, model.length);
      if (step % 50 === 0) assert.deepEqual(runs.toArray(), model);
      const p = Math.floor(rnd() * (last + 3));
      assert.equal(runs.next(p), model.find((q) => q >= p) ?? 0, `next(${p})`);
      assert.deepEqual(
        runs.below(p),
        model.filter((q) => q < p),
      );
      assert.equal(runs.last(), model.length > 0 ? model[model.length - 1] : 0);
      assert.equal(runs.oldest(), model.length > 0 ? model[0] : 0);
      if (rnd() < 0.002) {
        for (const q of model) runs.remove(q);
        model = [];
        assert.equal(runs.runs, 0);
      }
    }
  });
});

describe('slot arrays', () => {
  test('NarrowUints widens one page u8 → u16 → u32 keeping every value', () => {
    const a = new NarrowUints(new Pages(3));
    a.ensure(9);
    assert.equal(a.capacity, 16);
    a.set(0, 200);
    a.set(8, 7);
    assert.equal(a.widthAt(0), 1);
    a.set(1, 60_000);
    assert.equal(a.widthAt(0), 2);
    a.set(2, 4_000_000_000);
    assert.deepEqual([a.widthAt(0), a.widthAt(8)], [4, 1], 'the second page stays u8');
    a.ensure(17);
    assert.deepEqual(
      [a.get(0), a.get(1), a.get(2), a.get(8), a.capacity],
      [200, 60_000, 4_000_000_000, 7, 24],
    );
    for (const bad of [2 ** 32, -1, 1.5, Number.NaN])
      assert.throws(() => a.set(3, bad), RangeError);
    a.dropPages(1);
    assert.deepEqual([a.get(0), a.widthAt(0), a.capacity], [7, 1, 16]);
    a.keepPages(1);
    assert.equal(a.capacity, 8);
  });

  test('SlotTimes re-bases when held times allow it, else widens to f64', () => {
    const t = new SlotTimes(new Pages(2));
    t.ensure(8);
    const now = 1_700_000_000_000;
    t.reset(now);
    t.set(0, now, 0);
    t.set(1, now - 1000, 0); // a step back fits below the base
    t.set(2, now + 30 * 86_400_000, 0); // past 24 days: re-based
    assert.equal(t.isWide, false);
    assert.deepEqual([t.get(0), t.get(1), t.get(2)], [now, now - 1000, now + 30 * 86_400_000]);
    t.set(3, now + 60 * 86_400_000, 2); // slots 0-1 no longer held: re-based again
    assert.equal(t.isWide, false);
    t.set(4, now + 200 * 86_400_000, 2); // 140 days held: f64
    assert.equal(t.isWide, true);
    t.set(5, 1.5, 0);
    // (slots 0-1 were not held when re-based: only 2.. are kept.)
    assert.deepEqual(
      [t.get(2), t.get(3), t.get(4), t.get(5)],
      [now + 30 * 86_400_000, now + 60 * 86_400_000, now + 200 * 86_400_000, 1.5],
    );
    t.reset(now);
    assert.equal(t.isWide, false);
  });
});
