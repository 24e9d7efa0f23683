/**
 * The StreamStore contract, part four: `skip` (mirrors keeping the
 * origin's sequence numbers across gaps), alone, mixed with every other
 * operation against a model, and across reopen; and the size limits every
 * store refuses the same way. Run by store-suite.ts.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { MAX_SUBJECT_BYTES, StoreError, type StreamStore } from '../../src/streams/store.js';
import { prng } from './crash-messages.js';
import {
  counts,
  fill,
  filled,
  type It,
  range,
  sizeOf,
  T0,
  v,
  view,
  walk,
} from './store-suite-helpers.js';

const tooLarge = (what: RegExp) => (err: unknown) =>
  err instanceof StoreError && err.code === 'too_large' && what.test(err.message);

/** The held messages of a model store: seq → subject, payload `p<seq>`, time T0 + seq. */
type Model = Map<number, string>;

function modelCounts(model: Model, lastSeq: number) {
  const seqs = [...model.keys()].sort((a, b) => a - b);
  return {
    messages: seqs.length,
    bytes: seqs.reduce((n, q) => n + sizeOf(model.get(q)!, null, `p${q}`), 0),
    firstSeq: seqs.length === 0 ? lastSeq + 1 : seqs[0]!,
    lastSeq,
    subjects: new Set(model.values()).size,
  };
}

/** Checks every read of `s` against the model at a few probe sequences. */
async function checkAgainst(s: StreamStore, model: Model, lastSeq: number, where: string) {
  const held = [...model.keys()].sort((a, b) => a - b);
  assert.deepEqual(counts(s), modelCounts(model, lastSeq), where);
  assert.deepEqual(await walk(s), held, where);
  for (const sub of ['m.0', 'm.1', 'm.2', 'm.3']) {
    assert.deepEqual(
      s.subjectSeqs(sub),
      held.filter((q) => model.get(q) === sub),
      `${where}: ${sub}`,
    );
  }
  const probes = [0, 1, lastSeq, lastSeq + 1, ...held.slice(0, 3), ...held.slice(-3)];
  for (const q of held) if (model.has(q + 1) === false) probes.push(q + 1);
  for (const q of probes) {
    const want = held.find((h) => h >= q);
    assert.equal((await s.next(q))?.seq ?? null, want ?? null, `${where}: next(${q})`);
    assert.equal(s.seqForTime(T0 + q), want ?? lastSeq + 1, `${where}: seqForTime(${q})`);
    const m = await s.get(q);
    if (model.has(q)) assert.deepEqual(view(m), v(q, model.get(q)!, `p${q}`, T0 + q), where);
    else assert.equal(m, null, `${where}: get(${q})`);
  }
}

export function skipTests(it: It): void {
  describe('skip', () => {
    it('on an empty store: firstSeq follows, and the next append gets toSeq', async ({
      store: s,
    }) => {
      await s.skip(10);
      assert.deepEqual(counts(s), { messages: 0, bytes: 0, firstSeq: 10, lastSeq: 9, subjects: 0 });
      assert.equal(await s.next(0), null);
      assert.equal(await s.get(9), null);
      assert.equal(s.seqForTime(0), 10);
      assert.equal(await s.purge(), 0);
      assert.equal(await s.remove(9), false);
      const m = await s.append('a', null, Buffer.from('ten'), T0 + 10);
      assert.deepEqual(view(m), v(10, 'a', 'ten', T0 + 10));
      assert.deepEqual(counts(s), {
        messages: 1,
        bytes: sizeOf('a', null, 'ten'),
        firstSeq: 10,
        lastSeq: 10,
        subjects: 1,
      });
      assert.equal(s.state().firstTime, T0 + 10);
    });

    it('is a no-op when lastSeq ≥ toSeq - 1', async ({ store: s }) => {
      await s.skip(1);
      assert.deepEqual(counts(s), { messages: 0, bytes: 0, firstSeq: 1, lastSeq: 0, subjects: 0 });
      const subjects = ['a', 'b', 'a', 'c', 'b'];
      await fill(s, subjects);
      const before = s.state();
      for (const to of [6, 5, 3, 1]) {
        await s.skip(to);
        assert.deepEqual(s.state(), before, `skip(${to})`);
      }
      assert.equal((await s.append('d', null, Buffer.from('d'), T0 + 6)).seq, 6);
      assert.deepEqual(await walk(s), range(1, 6));
    });

    it('over held messages leaves a gap that no sequence fills', async ({ store: s }) => {
      const subjects = ['a', 'b', 'a'];
      await fill(s, subjects);
      await s.skip(10);
      assert.deepEqual(counts(s), {
        messages: 3,
        bytes: filled(subjects, [1, 2, 3]),
        firstSeq: 1,
        lastSeq: 9,
        subjects: 2,
      });
      assert.equal(s.state().lastTime, T0 + 3, 'lastTime is kept');
      assert.deepEqual(view(await s.append('b', null, Buffer.from('x'), T0 + 10)), {
        ...v(10, 'b', 'x', T0 + 10),
      });
      assert.deepEqual(await walk(s), [1, 2, 3, 10]);
      for (const seq of range(4, 9)) assert.equal(await s.get(seq), null, `get(${seq})`);
      assert.equal((await s.next(4))!.seq, 10);
      assert.equal((await s.next(4, 'b'))!.seq, 10);
      assert.equal((await s.next(4, '*'))!.seq, 10);
      assert.equal((await s.lastBySubject('b'))!.seq, 10);
      assert.deepEqual(s.subjectSeqs('b'), [2, 10]);
      assert.equal(s.seqForTime(T0 + 4), 10);
      assert.equal(await s.remove(9), false);
      assert.equal(await s.purge({ upToSeq: 9 }), 3);
      assert.deepEqual(counts(s), {
        messages: 1,
        bytes: sizeOf('b', null, 'x'),
        firstSeq: 10,
        lastSeq: 10,
        subjects: 1,
      });
      assert.equal(await s.remove(10), true);
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 11,
        lastSeq: 10,
        subjects: 0,
      });
    });

    it('takes effect when called, in order with appends in flight', async ({ store: s }) => {
      const p1 = s.append('a', null, Buffer.from('1'), T0 + 1);
      const p2 = s.skip(100);
      const p3 = s.append('a', null, Buffer.from('100'), T0 + 100);
      const p4 = s.skip(50);
      const p5 = s.append('b', null, Buffer.from('101'), T0 + 101);
      const [m1, , m3, , m5] = await Promise.all([p1, p2, p3, p4, p5]);
      assert.deepEqual([m1.seq, m3.seq, m5.seq], [1, 100, 101]);
      assert.deepEqual(await walk(s), [1, 100, 101]);
      assert.deepEqual(view(await s.get(100)), v(100, 'a', '100', T0 + 100));
    });

    it('a jump of 2^40 over held messages works like any other', async ({ store: s }) => {
      // A store that gave every skipped sequence a slot would need terabytes here.
      const far = 2 ** 40;
      await fill(s, ['a', 'b']);
      await s.skip(far);
      await s.append('a', null, Buffer.from('far'), T0 + far);
      await s.append('c', null, Buffer.from('far+1'), T0 + far + 1);
      await s.skip(2 ** 52);
      await s.append('a', null, Buffer.from('farther'), T0 + 2 ** 52);
      assert.deepEqual(await walk(s), [1, 2, far, far + 1, 2 ** 52]);
      assert.deepEqual(await walk(s, 'a'), [1, far, 2 ** 52]);
      assert.deepEqual(await walk(s, '*'), [1, 2, far, far + 1, 2 ** 52]);
      assert.deepEqual(view(await s.get(far + 1)), v(far + 1, 'c', 'far+1', T0 + far + 1));
      assert.equal(await s.get(far - 1), null);
      assert.equal(await s.get(2 ** 52 - 1), null);
      assert.equal((await s.next(3))!.seq, far);
      assert.equal((await s.next(far + 2))!.seq, 2 ** 52);
      assert.equal(s.seqForTime(T0 + 3), far);
      assert.equal(await s.remove(1), true);
      assert.equal(await s.remove(2), true);
      assert.equal(s.state().firstSeq, far);
      assert.equal(await s.purge({ upToSeq: far + 1 }), 1);
      assert.deepEqual(await walk(s), [far + 1, 2 ** 52]);
      assert.equal(await s.purge({ subject: 'a' }), 1);
      assert.equal(await s.purge(), 1);
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 2 ** 52 + 1,
        lastSeq: 2 ** 52,
        subjects: 0,
      });
    });

    it('a random mix with appends, removes and purges matches a model', async (c) => {
      // Gaps of every size: inline ones (a few slots), large ones, and huge
      // ones, while the front is trimmed far enough for stores to compact.
      const rand = prng(20_260_301);
      const int = (n: number): number => Math.floor(rand() * n);
      const model: Model = new Map();
      let last = 0;
      for (let round = 0; round < 60; round++) {
        const s = c.store;
        const ops: Promise<unknown>[] = [];
        const want: unknown[] = [];
        for (let k = 0; k < 60; k++) {
          const op = int(20);
          const held = [...model.keys()].sort((a, b) => a - b);
          if (op < 13) {
            const subject = `m.${int(4)}`;
            last++;
            model.set(last, subject);
            ops.push(
              s.append(subject, null, Buffer.from(`p${last}`), T0 + last).then((m) => m.seq),
            );
            want.push(last);
          } else if (op < 15) {
            const to = last + 1 + [-3, 0, 2, 255, 257, 3000, 2 ** 33][int(7)]!;
            ops.push(s.skip(Math.max(1, to)));
            want.push(undefined);
            last = Math.max(last, to - 1);
          } else if (op < 18) {
            const pick = int(4);
            const seq =
              pick < 2
                ? (held[0] ?? 1)
                : pick === 2
                  ? (held[int(held.length)] ?? 1)
                  : last - int(5);
            ops.push(s.remove(seq));
            want.push(model.delete(seq));
          } else {
            const kind = int(4);
            const upTo = held.length === 0 ? last : held[int(held.length)]! + int(2);
            const opts =
              kind === 0
                ? { upToSeq: upTo }
                : kind === 1
                  ? { subject: `m.${int(4)}`, keep: int(3) }
                  : kind === 2
                    ? { subject: 'm.*', upToSeq: upTo }
                    : int(10) === 0
                      ? {}
                      : { subject: `m.${int(4)}`, upToSeq: upTo };
            const victims = held.filter(
              (q) =>
                (opts.subject === undefined ||
                  opts.subject === 'm.*' ||
                  opts.subject === model.get(q)) &&
                (opts.upToSeq === undefined || q < opts.upToSeq),
            );
            const n = Math.max(0, victims.length - (opts.keep ?? 0));
            for (const q of victims.slice(0, n)) model.delete(q);
            ops.push(s.purge(opts));
            want.push(n);
          }
        }
        assert.deepEqual(await Promise.all(ops), want, `round ${round}`);
        await checkAgainst(s, model, last, `round ${round}`);
        if (c.persists && round % 15 === 14) {
          const before = s.state();
          const again = await c.reopen();
          assert.deepEqual(again.state(), before, `round ${round}, reopened`);
          await checkAgainst(again, model, last, `round ${round}, reopened`);
        }
      }
    });

    it('rejects a toSeq that is not an integer from 1 to 2^53 - 1', async ({ store: s }) => {
      await fill(s, ['a']);
      const before = s.state();
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        await assert.rejects(s.skip(bad), RangeError, `skip(${bad})`);
      }
      assert.deepEqual(s.state(), before);
      await s.skip(Number.MAX_SAFE_INTEGER);
      assert.equal(s.state().lastSeq, Number.MAX_SAFE_INTEGER - 1);
      const m = await s.append('z', null, Buffer.from('last'), T0);
      assert.equal(m.seq, Number.MAX_SAFE_INTEGER);
      assert.deepEqual(view(await s.get(m.seq)), v(m.seq, 'z', 'last', T0));
    });

    it('a closed store rejects skip with StoreError "closed"', async (c) => {
      await c.close();
      await assert.rejects(
        c.store.skip(5),
        (err: unknown) => err instanceof StoreError && err.code === 'closed',
      );
    });

    it(
      'survives reopen, on an empty store and over held messages',
      async (c) => {
        await c.store.skip(10);
        let s = await c.reopen();
        assert.deepEqual(counts(s), {
          messages: 0,
          bytes: 0,
          firstSeq: 10,
          lastSeq: 9,
          subjects: 0,
        });
        assert.equal((await s.append('a', null, Buffer.from('a'), T0 + 10)).seq, 10);
        await s.skip(20);
        s = await c.reopen();
        assert.deepEqual(counts(s), {
          messages: 1,
          bytes: sizeOf('a', null, 'a'),
          firstSeq: 10,
          lastSeq: 19,
          subjects: 1,
        });
        assert.equal(s.state().lastTime, T0 + 10);
        assert.equal((await s.append('b', null, Buffer.from('b'), T0 + 20)).seq, 20);
        assert.equal(await s.remove(20), true);
        s = await c.reopen();
        assert.deepEqual(await walk(s), [10]);
        assert.equal(s.state().lastSeq, 20);
        await s.skip(1000);
        assert.equal(await s.purge(), 1);
        s = await c.reopen();
        assert.deepEqual(counts(s), {
          messages: 0,
          bytes: 0,
          firstSeq: 1000,
          lastSeq: 999,
          subjects: 0,
        });
        assert.equal((await s.append('c', null, Buffer.alloc(0), T0 + 1000)).seq, 1000);
      },
      true,
    );

    it(
      'a jump of 2^40 over held messages survives reopen',
      async (c) => {
        const far = 2 ** 40;
        await fill(c.store, ['a', 'b']);
        await c.store.skip(far);
        await c.store.append('a', null, Buffer.from('far'), T0 + far);
        const before = c.store.state();
        const s = await c.reopen();
        assert.deepEqual(s.state(), before);
        assert.deepEqual(await walk(s), [1, 2, far]);
        assert.deepEqual(view(await s.get(far)), v(far, 'a', 'far', T0 + far));
        assert.equal((await s.append('b', null, Buffer.from('next'), T0 + far + 1)).seq, far + 1);
      },
      true,
    );
  });
}

export function limitTests(it: It): void {
  describe('size limits', () => {
    it(`a subject over ${MAX_SUBJECT_BYTES} UTF-8 bytes is refused with "too_large"`, async ({
      store: s,
    }) => {
      await fill(s, ['a']);
      const before = s.state();
      // 21,846 three-byte characters: fewer UTF-16 units than the limit, more bytes.
      for (const subject of ['x'.repeat(MAX_SUBJECT_BYTES + 1), '日'.repeat(21_846)]) {
        await assert.rejects(
          s.append(subject, null, Buffer.from('p'), T0),
          tooLarge(
            new RegExp(`subject of ${Buffer.byteLength(subject)} bytes .*${MAX_SUBJECT_BYTES}`),
          ),
        );
      }
      assert.deepEqual(s.state(), before);
      // The limit itself is fine, and no sequence was used by the refusals.
      const longest = '日'.repeat(MAX_SUBJECT_BYTES / 3);
      assert.equal(Buffer.byteLength(longest), MAX_SUBJECT_BYTES);
      const m = await s.append(longest, null, Buffer.from('p'), T0 + 2);
      assert.equal(m.seq, 2);
      assert.deepEqual(view(await s.get(2)), v(2, longest, 'p', T0 + 2));
      assert.deepEqual(s.subjectSeqs(longest), [2]);
    });

    it(`a purge filter over ${MAX_SUBJECT_BYTES} bytes is refused with "too_large"`, async ({
      store: s,
    }) => {
      // 32,769 '*' tokens (65,537 bytes) match a subject of 32,768 empty
      // tokens (32,768 bytes), which a store holds.
      const subject = '.'.repeat(32_768);
      const filter = Array.from({ length: 32_769 }, () => '*').join('.');
      await s.append(subject, null, Buffer.from('p'), T0);
      await assert.rejects(s.purge({ subject: filter }), tooLarge(/purge filter of 65537 bytes/));
      assert.deepEqual(await walk(s), [1]);
      assert.equal(await s.purge({ subject: filter.slice(2) }), 0);
      assert.equal(await s.purge({ subject }), 1);
    });
  });
}
