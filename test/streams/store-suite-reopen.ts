/**
 * The StreamStore contract, part three: close and reopen, for stores that
 * persist (others skip these): messages, removals, purges and lastSeq
 * survive. Run by store-suite.ts.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  ALL_BYTES,
  contents,
  counts,
  fill,
  filled,
  HDR,
  type It,
  range,
  sizeOf,
  T0,
  UTF8_SUBJECT,
  v,
  view,
  walk,
} from './store-suite-helpers.js';

export function reopenTests(it: It): void {
  describe('close and reopen', () => {
    it(
      'messages survive, byte for byte',
      async (c) => {
        const big = Buffer.alloc(1024 * 1024, 0x5a);
        big.write('start', 0);
        big.write('end', big.length - 3);
        const cases: Array<[string, Buffer | null, Buffer]> = [
          ['plain', null, Buffer.from('hello')],
          ['with.headers', HDR, Buffer.from('hello')],
          ['empty', null, Buffer.alloc(0)],
          ['empty.headers', HDR, Buffer.alloc(0)],
          ['binary', HDR, ALL_BYTES],
          [UTF8_SUBJECT, null, Buffer.from('ü')],
          ['big', null, big],
          ['after.big', null, Buffer.from('tail')],
        ];
        let seq = 0;
        for (const [subject, headers, payload] of cases) {
          await c.store.append(subject, headers, payload, T0 + ++seq);
        }
        const before = c.store.state();
        const want = await contents(c.store);
        assert.equal(want.length, cases.length);
        const s = await c.reopen();
        assert.deepEqual(s.state(), before);
        assert.deepEqual(await contents(s), want);
        seq = 0;
        for (const [subject, headers, payload] of cases) {
          seq++;
          assert.deepEqual(view(await s.get(seq)), v(seq, subject, payload, T0 + seq, headers));
        }
      },
      true,
    );

    it(
      'an empty store reopens empty',
      async (c) => {
        const s = await c.reopen();
        assert.deepEqual(counts(s), {
          messages: 0,
          bytes: 0,
          firstSeq: 1,
          lastSeq: 0,
          subjects: 0,
        });
        assert.equal((await s.append('a', null, Buffer.from('x'), T0)).seq, 1);
        const s2 = await c.reopen();
        assert.deepEqual(view(await s2.get(1)), v(1, 'a', 'x', T0));
      },
      true,
    );

    it(
      'removals survive, and so does lastSeq when the newest is removed',
      async (c) => {
        const subjects = ['a', 'b', 'a', 'c', 'a', 'b'];
        await fill(c.store, subjects);
        for (const seq of [1, 3, 6]) assert.equal(await c.store.remove(seq), true);
        const s = await c.reopen();
        assert.deepEqual(counts(s), {
          messages: 3,
          bytes: filled(subjects, [2, 4, 5]),
          firstSeq: 2,
          lastSeq: 6,
          subjects: 3,
        });
        for (const seq of [1, 3, 6]) assert.equal(await s.get(seq), null, `get(${seq})`);
        assert.equal(await s.remove(3), false);
        assert.deepEqual(await walk(s), [2, 4, 5]);
        assert.deepEqual(s.subjectSeqs('a'), [5]);
        assert.deepEqual(s.subjectSeqs('b'), [2]);
        assert.deepEqual(view(await s.lastBySubject('b')), v(2, 'b', 'b#2', T0 + 2));
        assert.equal((await s.append('d', null, Buffer.from('d'), T0 + 7)).seq, 7);
        const s2 = await c.reopen();
        assert.deepEqual(await walk(s2), [2, 4, 5, 7]);
        assert.equal(s2.state().lastSeq, 7);
      },
      true,
    );

    it(
      'purges survive',
      async (c) => {
        const subjects = ['a', 'b.1', 'b.2', 'a', 'b.1', 'c', 'a', 'd', 'b.2', 'a'];
        await fill(c.store, subjects);
        assert.equal(await c.store.purge({ upToSeq: 3 }), 2);
        assert.equal(await c.store.purge({ subject: 'b.*', keep: 1 }), 2);
        assert.equal(await c.store.purge({ subject: 'a', keep: 2 }), 1);
        const held = [6, 7, 8, 9, 10];
        let s = await c.reopen();
        assert.deepEqual(await walk(s), held);
        assert.deepEqual(counts(s), {
          messages: 5,
          bytes: filled(subjects, held),
          firstSeq: 6,
          lastSeq: 10,
          subjects: 4,
        });
        assert.deepEqual(s.subjectSeqs('a'), [7, 10]);
        assert.equal(s.seqForTime(0), 6);
        assert.equal(await s.purge({ subject: 'c' }), 1);
        s = await c.reopen();
        assert.deepEqual(await walk(s), [7, 8, 9, 10]);
        assert.equal(counts(s).firstSeq, 7);
      },
      true,
    );

    it(
      'lastSeq survives purging everything',
      async (c) => {
        await fill(c.store, ['a', 'b', 'c', 'd', 'e']);
        assert.equal(await c.store.purge(), 5);
        let s = await c.reopen();
        assert.deepEqual(counts(s), {
          messages: 0,
          bytes: 0,
          firstSeq: 6,
          lastSeq: 5,
          subjects: 0,
        });
        assert.equal(s.seqForTime(0), 6);
        assert.deepEqual(
          view(await s.append('f', null, Buffer.from('f'), T0 + 6)),
          v(6, 'f', 'f', T0 + 6),
        );
        s = await c.reopen();
        assert.deepEqual(counts(s), {
          messages: 1,
          bytes: sizeOf('f', null, 'f'),
          firstSeq: 6,
          lastSeq: 6,
          subjects: 1,
        });
        assert.equal(await s.remove(6), true);
        s = await c.reopen();
        assert.deepEqual(counts(s), {
          messages: 0,
          bytes: 0,
          firstSeq: 7,
          lastSeq: 6,
          subjects: 0,
        });
        assert.equal((await s.append('g', null, Buffer.alloc(0), T0 + 7)).seq, 7);
      },
      true,
    );

    it(
      'a long history of removes and purges survives',
      async (c) => {
        // ~40 KiB: many segments for stores that use small ones.
        const subject = (i: number) => `h.${i % 5}.${i % 3 === 0 ? 'x' : 'y'}`;
        const payload = (i: number) => Buffer.alloc(150 + (i % 50), i & 0xff);
        const held = new Set(range(1, 240));
        for (let i = 1; i <= 240; i++) {
          await c.store.append(subject(i), i % 4 === 0 ? HDR : null, payload(i), T0 + i);
          if (i % 40 === 0) {
            const s = c.store;
            // Remove some, purge by subject keeping a few, trim from the front.
            assert.equal(await s.remove(i - 3), true);
            held.delete(i - 3);
            const victims = [...held].filter((q) => q <= i && subject(q) === `h.${i % 5}.y`);
            const n = await s.purge({ subject: `h.${i % 5}.y`, keep: 2 });
            assert.equal(n, Math.max(0, victims.length - 2));
            for (const q of victims.slice(0, n)) held.delete(q);
            const below = [...held].filter((q) => q < i - 100);
            assert.equal(await s.purge({ upToSeq: i - 100 }), below.length);
            for (const q of below) held.delete(q);
          }
        }
        const want = [...held]
          .sort((a, b) => a - b)
          .map((i) => v(i, subject(i), payload(i), T0 + i, i % 4 === 0 ? HDR : null));
        assert.deepEqual(await contents(c.store), want);
        const before = c.store.state();
        let s = await c.reopen();
        assert.deepEqual(s.state(), before);
        assert.deepEqual(await contents(s), want);
        for (let k = 0; k < 5; k++) {
          assert.deepEqual(
            s.subjectSeqs(`h.${k}.x`),
            want.filter((m) => m.subject === `h.${k}.x`).map((m) => m.seq),
          );
        }
        assert.equal(await s.purge(), want.length);
        s = await c.reopen();
        assert.deepEqual(counts(s), {
          messages: 0,
          bytes: 0,
          firstSeq: 241,
          lastSeq: 240,
          subjects: 0,
        });
        assert.equal((await s.append('h', null, Buffer.alloc(0), T0 + 241)).seq, 241);
      },
      true,
    );

    it(
      '1000 concurrent appends survive',
      async (c) => {
        const all = await Promise.all(
          range(1, 1000).map((i) =>
            c.store.append(`c.${i % 5}`, i % 2 === 0 ? HDR : null, Buffer.from(`m${i}`), T0 + i),
          ),
        );
        assert.deepEqual(
          all.map((m) => m.seq),
          range(1, 1000),
        );
        const before = c.store.state();
        const s = await c.reopen();
        assert.deepEqual(s.state(), before);
        const got = await contents(s);
        assert.deepEqual(
          got,
          range(1, 1000).map((i) => v(i, `c.${i % 5}`, `m${i}`, T0 + i, i % 2 === 0 ? HDR : null)),
        );
        assert.deepEqual(
          s.subjectSeqs('c.0'),
          range(1, 200).map((i) => i * 5),
        );
        assert.equal(s.seqForTime(T0 + 500), 500);
      },
      true,
    );
  });
}
