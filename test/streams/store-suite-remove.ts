/**
 * The StreamStore contract, part two: remove and purge (by subject,
 * wildcard, sequence and keep), and what they leave of firstSeq and
 * lastSeq. Run by store-suite.ts.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
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

export function removeTests(it: It): void {
  describe('remove', () => {
    const subjects = ['a', 'b', 'a', 'c', 'a'];

    it('is true once, then false; the message is gone', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.remove(3), true);
      assert.equal(await s.remove(3), false);
      assert.equal(await s.get(3), null);
      assert.deepEqual(counts(s), {
        messages: 4,
        bytes: filled(subjects, [1, 2, 4, 5]),
        firstSeq: 1,
        lastSeq: 5,
        subjects: 3,
      });
      assert.equal(await s.remove(0), false);
      assert.equal(await s.remove(6), false);
      assert.equal(await s.remove(-1), false);
      assert.equal(counts(s).messages, 4);
    });

    it('of the first moves firstSeq past every hole', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.remove(2), true);
      assert.equal(await s.remove(1), true);
      assert.deepEqual(counts(s), {
        messages: 3,
        bytes: filled(subjects, [3, 4, 5]),
        firstSeq: 3,
        lastSeq: 5,
        subjects: 2,
      });
      assert.equal(s.state().firstTime, T0 + 3);
    });

    it('of the last keeps lastSeq, and the next append follows it', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.remove(5), true);
      assert.equal(await s.remove(4), true);
      assert.deepEqual(counts(s), {
        messages: 3,
        bytes: filled(subjects, [1, 2, 3]),
        firstSeq: 1,
        lastSeq: 5,
        subjects: 2,
      });
      const m = await s.append('d', null, Buffer.from('d'), T0 + 6);
      assert.equal(m.seq, 6);
    });

    it('of every message leaves an empty store with lastSeq kept', async ({ store: s }) => {
      await fill(s, subjects);
      for (const seq of [3, 1, 5, 2, 4]) assert.equal(await s.remove(seq), true, `remove(${seq})`);
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 6,
        lastSeq: 5,
        subjects: 0,
      });
      assert.equal(await s.next(0), null);
      assert.equal(s.seqForTime(0), 6);
      assert.equal((await s.append('e', null, Buffer.from('e'), T0 + 6)).seq, 6);
      assert.deepEqual(counts(s), {
        messages: 1,
        bytes: sizeOf('e', null, 'e'),
        firstSeq: 6,
        lastSeq: 6,
        subjects: 1,
      });
    });
  });
}

export function purgeTests(it: It): void {
  describe('purge', () => {
    // Sequences:  1    2      3      4    5      6      7    8    9
    const subjects = ['a', 'b.1', 'b.2', 'a', 'b.1', 'c.x.y', 'a', 'd', 'b.2'];

    it('with no options removes everything; lastSeq stays and appends follow it', async ({
      store: s,
    }) => {
      await fill(s, subjects);
      assert.equal(await s.purge(), 9);
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 10,
        lastSeq: 9,
        subjects: 0,
      });
      for (const seq of range(1, 9)) assert.equal(await s.get(seq), null);
      assert.equal(await s.next(0), null);
      assert.equal(await s.lastBySubject('a'), null);
      assert.deepEqual(s.subjectSeqs('a'), []);
      assert.equal(s.seqForTime(0), 10);
      assert.equal(await s.purge(), 0);
      const m = await s.append('a', null, Buffer.from('new'), T0 + 10);
      assert.deepEqual(view(m), v(10, 'a', 'new', T0 + 10));
      assert.deepEqual(counts(s), {
        messages: 1,
        bytes: sizeOf('a', null, 'new'),
        firstSeq: 10,
        lastSeq: 10,
        subjects: 1,
      });
      assert.equal(s.state().firstTime, T0 + 10);
      assert.equal(s.state().lastTime, T0 + 10);
    });

    it('by literal subject', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.purge({ subject: 'a' }), 3);
      assert.deepEqual(await walk(s), [2, 3, 5, 6, 8, 9]);
      assert.deepEqual(counts(s), {
        messages: 6,
        bytes: filled(subjects, [2, 3, 5, 6, 8, 9]),
        firstSeq: 2,
        lastSeq: 9,
        subjects: 4,
      });
      assert.equal(await s.purge({ subject: 'a' }), 0);
      assert.equal(await s.purge({ subject: 'nope' }), 0);
      assert.equal(await s.purge({ subject: 'b' }), 0);
      assert.deepEqual(await walk(s), [2, 3, 5, 6, 8, 9]);
    });

    it('by wildcard subject', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.purge({ subject: 'b.*' }), 4);
      assert.deepEqual(await walk(s), [1, 4, 6, 7, 8]);
      assert.equal(await s.purge({ subject: 'c.>' }), 1);
      assert.deepEqual(await walk(s), [1, 4, 7, 8]);
      assert.equal(await s.purge({ subject: '*' }), 4);
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 10,
        lastSeq: 9,
        subjects: 0,
      });
    });

    it('with > removes everything', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.purge({ subject: '>' }), 9);
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 10,
        lastSeq: 9,
        subjects: 0,
      });
    });

    it('up to a sequence removes those below it', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.purge({ upToSeq: 1 }), 0);
      assert.equal(await s.purge({ upToSeq: 4 }), 3);
      assert.deepEqual(await walk(s), [4, 5, 6, 7, 8, 9]);
      assert.deepEqual(counts(s), {
        messages: 6,
        bytes: filled(subjects, [4, 5, 6, 7, 8, 9]),
        firstSeq: 4,
        lastSeq: 9,
        subjects: 5,
      });
      assert.equal(s.state().firstTime, T0 + 4);
      assert.equal(await s.remove(5), true);
      assert.equal(await s.remove(6), true);
      // Holes are not counted, and firstSeq lands on a held message.
      assert.equal(await s.purge({ upToSeq: 7 }), 1);
      assert.equal(counts(s).firstSeq, 7);
      assert.equal(await s.purge({ upToSeq: 100 }), 3);
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 10,
        lastSeq: 9,
        subjects: 0,
      });
      assert.equal((await s.append('z', null, Buffer.alloc(0), T0 + 10)).seq, 10);
    });

    it('keeping the newest N', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.purge({ keep: 9 }), 0);
      assert.equal(await s.purge({ keep: 100 }), 0);
      assert.equal(await s.purge({ keep: 3 }), 6);
      assert.deepEqual(await walk(s), [7, 8, 9]);
      assert.deepEqual(counts(s), {
        messages: 3,
        bytes: filled(subjects, [7, 8, 9]),
        firstSeq: 7,
        lastSeq: 9,
        subjects: 3,
      });
      // "Keep this many": keeping 0 keeps none.
      assert.equal(await s.purge({ keep: 0 }), 3);
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 10,
        lastSeq: 9,
        subjects: 0,
      });
    });

    it('by subject, keeping the newest N of that subject', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.purge({ subject: 'a', keep: 1 }), 2);
      assert.deepEqual(await walk(s), [2, 3, 5, 6, 7, 8, 9]);
      assert.deepEqual(s.subjectSeqs('a'), [7]);
      assert.equal(await s.purge({ subject: 'b.*', keep: 2 }), 2);
      assert.deepEqual(await walk(s), [5, 6, 7, 8, 9]);
      assert.deepEqual(counts(s), {
        messages: 5,
        bytes: filled(subjects, [5, 6, 7, 8, 9]),
        firstSeq: 5,
        lastSeq: 9,
        subjects: 5,
      });
    });

    it('by subject, up to a sequence', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.purge({ subject: 'a', upToSeq: 7 }), 2);
      assert.deepEqual(await walk(s), [2, 3, 5, 6, 7, 8, 9]);
      assert.equal(await s.purge({ subject: 'b.>', upToSeq: 9 }), 3);
      assert.deepEqual(await walk(s), [6, 7, 8, 9]);
      assert.deepEqual(counts(s), {
        messages: 4,
        bytes: filled(subjects, [6, 7, 8, 9]),
        firstSeq: 6,
        lastSeq: 9,
        subjects: 4,
      });
      assert.deepEqual(s.subjectSeqs('b.2'), [9]);
      assert.equal(await s.lastBySubject('b.1'), null);
    });
  });
}
