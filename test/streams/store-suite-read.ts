/**
 * The StreamStore contract, part one: appending and reading back — append
 * and get, next with filters, lastBySubject and subjectSeqs, state and
 * seqForTime. Run by store-suite.ts.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { StoreError } from '../../src/streams/store.js';
import {
  ALL_BYTES,
  contents,
  counts,
  fill,
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

export function appendAndGet(it: It): void {
  describe('append and get', () => {
    it('a new store is empty', async ({ store: s }) => {
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 1,
        lastSeq: 0,
        subjects: 0,
      });
      assert.equal(await s.get(1), null);
      assert.equal(await s.next(0), null);
      assert.equal(await s.lastBySubject('a'), null);
      assert.deepEqual(s.subjectSeqs('a'), []);
      assert.equal(s.seqForTime(0), 1);
      assert.equal(await s.purge(), 0);
      assert.equal(await s.remove(1), false);
      assert.deepEqual(counts(s), {
        messages: 0,
        bytes: 0,
        firstSeq: 1,
        lastSeq: 0,
        subjects: 0,
      });
    });

    it('append assigns 1, 2, 3… and returns the stored message', async ({ store: s }) => {
      const a = await s.append('a', null, Buffer.from('one'), T0 + 1);
      const b = await s.append('b', HDR, Buffer.from('two'), T0 + 2);
      const c = await s.append('a', null, Buffer.from('three'), T0 + 3);
      assert.deepEqual(view(a), v(1, 'a', 'one', T0 + 1));
      assert.deepEqual(view(b), v(2, 'b', 'two', T0 + 2, HDR));
      assert.deepEqual(view(c), v(3, 'a', 'three', T0 + 3));
      assert.deepEqual(counts(s), {
        messages: 3,
        bytes: sizeOf('a', null, 'one') + sizeOf('b', HDR, 'two') + sizeOf('a', null, 'three'),
        firstSeq: 1,
        lastSeq: 3,
        subjects: 2,
      });
    });

    it('time defaults to now', async ({ store: s }) => {
      const before = Date.now();
      const m = await s.append('a', null, Buffer.from('x'));
      const after = Date.now();
      assert.ok(m.time >= before && m.time <= after, `time ${m.time} not in [${before}, ${after}]`);
      assert.equal((await s.get(1))!.time, m.time);
    });

    it('get returns exactly what was appended', async ({ store: s }) => {
      const crlf = Buffer.from('PUB x 5\r\nMSG\r\n\r\n+OK\r\n');
      const binHdr = Buffer.concat([
        Buffer.from('NATS/1.0\r\nBin: '),
        ALL_BYTES,
        Buffer.from('\r\n\r\n'),
      ]);
      const cases: Array<[string, Buffer | null, Buffer]> = [
        ['plain', null, Buffer.from('hello')],
        ['with.headers', HDR, Buffer.from('hello')],
        ['empty.payload', null, Buffer.alloc(0)],
        ['empty.payload.headers', HDR, Buffer.alloc(0)],
        ['binary', null, ALL_BYTES],
        ['binary.headers', binHdr, Buffer.concat([ALL_BYTES, ALL_BYTES])],
        [UTF8_SUBJECT, null, Buffer.from('日本語 ünïcødé 🐟')],
        ['wire.like', null, crlf],
        ['zeros', null, Buffer.alloc(4096)],
        ['a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p', HDR, Buffer.from([0])],
      ];
      let seq = 0;
      for (const [subject, headers, payload] of cases) {
        seq++;
        await s.append(subject, headers, payload, T0 + seq);
      }
      seq = 0;
      for (const [subject, headers, payload] of cases) {
        seq++;
        assert.deepEqual(
          view(await s.get(seq)),
          v(seq, subject, payload, T0 + seq, headers),
          subject,
        );
      }
      const bytes = cases.reduce((n, [sub, h, p]) => n + sizeOf(sub, h, p), 0);
      assert.deepEqual(counts(s), {
        messages: cases.length,
        bytes,
        firstSeq: 1,
        lastSeq: cases.length,
        subjects: cases.length,
      });
    });

    it('get of a sequence never stored is null', async ({ store: s }) => {
      await fill(s, ['a', 'b', 'c']);
      for (const seq of [0, -1, 4, 5, 1_000_000])
        assert.equal(await s.get(seq), null, `get(${seq})`);
      assert.deepEqual(view(await s.get(3)), v(3, 'c', 'c#3', T0 + 3));
    });

    it('the store keeps its own copy of the buffers appended', async ({ store: s }) => {
      // Callers pass slices of buffers they reuse (a socket's read buffer).
      const backing = Buffer.from('xxxxNATS/1.0\r\nA: b\r\n\r\npayload-bytesyyyy');
      const headers = backing.subarray(4, 22);
      const payload = backing.subarray(22, 35);
      const want = v(1, 'slice', 'payload-bytes', T0, Buffer.from('NATS/1.0\r\nA: b\r\n\r\n'));
      const returned = await s.append('slice', headers, payload, T0);
      backing.fill(0x21);
      assert.deepEqual(view(await s.get(1)), want);
      assert.equal(returned.payload.length, 13);
      assert.equal(counts(s).bytes, sizeOf('slice', want.headers, want.payload));
    });

    it('many concurrent appends resolve in order with increasing sequences', async ({
      store: s,
    }) => {
      const resolved: number[] = [];
      const all = await Promise.all(
        range(1, 1000).map((i) =>
          s
            .append(`c.${i % 7}`, i % 3 === 0 ? HDR : null, Buffer.from(`m${i}`), T0 + i)
            .then((m) => {
              resolved.push(m.seq);
              return m;
            }),
        ),
      );
      assert.deepEqual(
        all.map((m) => m.seq),
        range(1, 1000),
      );
      assert.deepEqual(resolved, range(1, 1000));
      for (const i of [1, 2, 3, 500, 999, 1000]) {
        const want = v(i, `c.${i % 7}`, `m${i}`, T0 + i, i % 3 === 0 ? HDR : null);
        assert.deepEqual(view(await s.get(i)), want);
      }
      const bytes = range(1, 1000).reduce(
        (n, i) => n + sizeOf(`c.${i % 7}`, i % 3 === 0 ? HDR : null, `m${i}`),
        0,
      );
      assert.deepEqual(counts(s), {
        messages: 1000,
        bytes,
        firstSeq: 1,
        lastSeq: 1000,
        subjects: 7,
      });
      assert.deepEqual(await walk(s), range(1, 1000));
    });

    it('a 1 MiB payload round-trips, and the messages around it too', async ({ store: s }) => {
      const big = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 8)) & 0xff;
      await s.append('small.before', null, Buffer.from('before'), T0 + 1);
      await s.append('big', null, big, T0 + 2);
      await s.append('big.headers', HDR, big.subarray(0, 512 * 1024), T0 + 3);
      await s.append('small.after', HDR, Buffer.from('after'), T0 + 4);
      assert.deepEqual(view(await s.get(1)), v(1, 'small.before', 'before', T0 + 1));
      assert.deepEqual(view(await s.get(2)), v(2, 'big', big, T0 + 2));
      assert.deepEqual(
        view(await s.get(3)),
        v(3, 'big.headers', big.subarray(0, 512 * 1024), T0 + 3, HDR),
      );
      assert.deepEqual(view(await s.get(4)), v(4, 'small.after', 'after', T0 + 4, HDR));
      assert.equal(
        counts(s).bytes,
        sizeOf('small.before', null, 'before') +
          sizeOf('big', null, big) +
          sizeOf('big.headers', HDR, big.subarray(0, 512 * 1024)) +
          sizeOf('small.after', HDR, 'after'),
      );
    });

    it('long subjects and large header blocks round-trip', async ({ store: s }) => {
      const subject = Array.from({ length: 200 }, (_, i) => `token${i}`).join('.');
      const headers = Buffer.concat([
        Buffer.from('NATS/1.0\r\nX-Big: '),
        Buffer.alloc(70_000, 0x61),
        Buffer.from('\r\n\r\n'),
      ]);
      await s.append(subject, headers, Buffer.from('p'), T0);
      await s.append('after', null, Buffer.from('q'), T0 + 1);
      assert.ok(Buffer.byteLength(subject) > 255 && headers.length > 65_535);
      assert.deepEqual(view(await s.get(1)), v(1, subject, 'p', T0, headers));
      assert.deepEqual(view(await s.get(2)), v(2, 'after', 'q', T0 + 1));
      assert.deepEqual(view(await s.lastBySubject(subject)), v(1, subject, 'p', T0, headers));
      assert.equal(counts(s).bytes, sizeOf(subject, headers, 'p') + sizeOf('after', null, 'q'));
    });

    it('close waits for appends in flight', async (c) => {
      const pending = range(1, 200).map((i) =>
        c.store.append(`f.${i % 4}`, null, Buffer.from(`m${i}`), T0 + i),
      );
      await c.close();
      const all = await Promise.all(pending);
      assert.deepEqual(
        all.map((m) => m.seq),
        range(1, 200),
      );
      if (!c.persists) return;
      const s = await c.reopen();
      assert.deepEqual(
        await contents(s),
        range(1, 200).map((i) => v(i, `f.${i % 4}`, `m${i}`, T0 + i)),
      );
    });

    it('removing a stored message while later appends are in flight', async ({ store: s }) => {
      await s.append('r', null, Buffer.from('first'), T0);
      const pending = range(2, 100).map((i) => s.append('r', null, Buffer.from(`m${i}`), T0 + i));
      assert.equal(await s.remove(1), true);
      const all = await Promise.all(pending);
      assert.deepEqual(
        all.map((m) => m.seq),
        range(2, 100),
      );
      assert.deepEqual(await walk(s), range(2, 100));
      assert.deepEqual(counts(s), {
        messages: 99,
        bytes: range(2, 100).reduce((n, i) => n + sizeOf('r', null, `m${i}`), 0),
        firstSeq: 2,
        lastSeq: 100,
        subjects: 1,
      });
    });

    it('a closed store rejects with StoreError "closed"', async (c) => {
      await c.store.append('a', null, Buffer.from('x'), T0);
      await c.close();
      const closed = (err: unknown) => err instanceof StoreError && err.code === 'closed';
      await assert.rejects(c.store.append('a', null, Buffer.from('y'), T0), closed);
      await assert.rejects(c.store.get(1), closed);
    });
  });
}

export function nextTests(it: It): void {
  describe('next', () => {
    const subjects = ['a', 'a.b', 'a.b.c', 'b', 'a.c', 'a.b', 'x.y.z', 'a'];

    it("with '' or no filter walks every message", async ({ store: s }) => {
      await fill(s, subjects);
      assert.deepEqual(await walk(s), range(1, 8));
      assert.deepEqual(await walk(s, ''), range(1, 8));
      assert.deepEqual(view(await s.next(0)), v(1, 'a', 'a#1', T0 + 1));
      assert.deepEqual(view(await s.next(5, '')), v(5, 'a.c', 'a.c#5', T0 + 5));
      assert.equal(await s.next(9), null);
      assert.equal(await s.next(100, 'a'), null);
    });

    it('with a literal subject', async ({ store: s }) => {
      await fill(s, subjects);
      assert.deepEqual(await walk(s, 'a'), [1, 8]);
      assert.deepEqual(await walk(s, 'a.b'), [2, 6]);
      assert.deepEqual(await walk(s, 'x.y.z'), [7]);
      assert.deepEqual(await walk(s, 'nope'), []);
      assert.deepEqual(view(await s.next(3, 'a.b')), v(6, 'a.b', 'a.b#6', T0 + 6));
      assert.deepEqual(view(await s.next(6, 'a.b')), v(6, 'a.b', 'a.b#6', T0 + 6));
      assert.equal(await s.next(7, 'a.b'), null);
    });

    it('with * and > wildcards', async ({ store: s }) => {
      await fill(s, subjects);
      assert.deepEqual(await walk(s, '*'), [1, 4, 8]);
      assert.deepEqual(await walk(s, 'a.*'), [2, 5, 6]);
      assert.deepEqual(await walk(s, 'a.>'), [2, 3, 5, 6]);
      assert.deepEqual(await walk(s, '>'), range(1, 8));
      assert.deepEqual(await walk(s, '*.b'), [2, 6]);
      assert.deepEqual(await walk(s, '*.*.*'), [3, 7]);
      assert.deepEqual(await walk(s, 'a.*.c'), [3]);
      assert.deepEqual(await walk(s, '*.>'), [2, 3, 5, 6, 7]);
      assert.deepEqual(await walk(s, 'b.>'), []);
      assert.deepEqual(view(await s.next(4, 'a.>')), v(5, 'a.c', 'a.c#5', T0 + 5));
    });

    it('skips removed and purged messages', async ({ store: s }) => {
      await fill(s, subjects);
      assert.equal(await s.remove(1), true);
      assert.equal(await s.remove(6), true);
      assert.equal(await s.purge({ subject: 'x.y.z' }), 1);
      assert.deepEqual(await walk(s), [2, 3, 4, 5, 8]);
      assert.deepEqual(await walk(s, 'a.b'), [2]);
      assert.deepEqual(await walk(s, 'a'), [8]);
      assert.deepEqual(await walk(s, 'a.*'), [2, 5]);
      assert.deepEqual(view(await s.next(6)), v(8, 'a', 'a#8', T0 + 8));
      assert.deepEqual(view(await s.next(0)), v(2, 'a.b', 'a.b#2', T0 + 2));
    });
  });
}

export function bySubject(it: It): void {
  describe('lastBySubject and subjectSeqs', () => {
    it('lastBySubject is the newest on exactly that subject', async ({ store: s }) => {
      await fill(s, ['a', 'b', 'a', 'a.b', 'b']);
      assert.deepEqual(view(await s.lastBySubject('a')), v(3, 'a', 'a#3', T0 + 3));
      assert.deepEqual(view(await s.lastBySubject('b')), v(5, 'b', 'b#5', T0 + 5));
      assert.deepEqual(view(await s.lastBySubject('a.b')), v(4, 'a.b', 'a.b#4', T0 + 4));
      assert.equal(await s.lastBySubject('a.*'), null);
      assert.equal(await s.lastBySubject('>'), null);
      assert.equal(await s.lastBySubject('c'), null);
      assert.equal(await s.remove(3), true);
      assert.deepEqual(view(await s.lastBySubject('a')), v(1, 'a', 'a#1', T0 + 1));
      assert.equal(await s.remove(1), true);
      assert.equal(await s.lastBySubject('a'), null);
      await s.append('a', HDR, Buffer.from('again'), T0 + 6);
      assert.deepEqual(view(await s.lastBySubject('a')), v(6, 'a', 'again', T0 + 6, HDR));
    });

    it('subjectSeqs lists sequences on exactly that subject, oldest first', async ({
      store: s,
    }) => {
      await fill(s, ['a', 'b', 'a', 'a.b', 'a', 'b', 'a']);
      assert.deepEqual(s.subjectSeqs('a'), [1, 3, 5, 7]);
      assert.deepEqual(s.subjectSeqs('b'), [2, 6]);
      assert.deepEqual(s.subjectSeqs('a.b'), [4]);
      assert.deepEqual(s.subjectSeqs('a.*'), []);
      assert.deepEqual(s.subjectSeqs('z'), []);
      assert.equal(await s.remove(3), true);
      assert.equal(await s.remove(7), true);
      assert.deepEqual(s.subjectSeqs('a'), [1, 5]);
      assert.equal(await s.purge({ subject: 'b' }), 2);
      assert.deepEqual(s.subjectSeqs('b'), []);
      await fill(s, ['b', 'a']);
      assert.deepEqual(s.subjectSeqs('b'), [8]);
      assert.deepEqual(s.subjectSeqs('a'), [1, 5, 9]);
    });
  });
}

export function stateAndTime(it: It): void {
  describe('state and time', () => {
    it('counts bytes of subjects, headers and payloads, and distinct subjects', async ({
      store: s,
    }) => {
      await s.append(UTF8_SUBJECT, HDR, ALL_BYTES, T0 + 1);
      await s.append(UTF8_SUBJECT, null, Buffer.alloc(0), T0 + 2);
      await s.append('a', HDR, Buffer.from('x'), T0 + 3);
      const b1 = sizeOf(UTF8_SUBJECT, HDR, ALL_BYTES);
      const b2 = sizeOf(UTF8_SUBJECT, null, Buffer.alloc(0));
      const b3 = sizeOf('a', HDR, 'x');
      // The subject counts in UTF-8 bytes, not UTF-16 code units.
      assert.equal(Buffer.byteLength(UTF8_SUBJECT), 26);
      assert.equal(UTF8_SUBJECT.length, 14);
      assert.deepEqual(s.state(), {
        messages: 3,
        bytes: b1 + b2 + b3,
        firstSeq: 1,
        lastSeq: 3,
        firstTime: T0 + 1,
        lastTime: T0 + 3,
        subjects: 2,
      });
      assert.equal(await s.remove(1), true);
      assert.deepEqual(s.state(), {
        messages: 2,
        bytes: b2 + b3,
        firstSeq: 2,
        lastSeq: 3,
        firstTime: T0 + 2,
        lastTime: T0 + 3,
        subjects: 2,
      });
      assert.equal(await s.remove(2), true);
      assert.deepEqual(counts(s), {
        messages: 1,
        bytes: b3,
        firstSeq: 3,
        lastSeq: 3,
        subjects: 1,
      });
    });

    it('seqForTime is the first held at or after a time', async ({ store: s }) => {
      for (const [subject, time] of [
        ['a', 1000],
        ['b', 2000],
        ['c', 2000],
        ['d', 3000],
      ] as const) {
        await s.append(subject, null, Buffer.from(subject), T0 + time);
      }
      assert.equal(s.seqForTime(0), 1);
      assert.equal(s.seqForTime(T0 + 1000), 1);
      assert.equal(s.seqForTime(T0 + 1001), 2);
      assert.equal(s.seqForTime(T0 + 2000), 2);
      assert.equal(s.seqForTime(T0 + 2001), 4);
      assert.equal(s.seqForTime(T0 + 3000), 4);
      assert.equal(s.seqForTime(T0 + 3001), 5);
      assert.equal(await s.remove(2), true);
      assert.equal(s.seqForTime(T0 + 1500), 3);
      assert.equal(await s.remove(1), true);
      assert.equal(s.seqForTime(0), 3);
      assert.equal(await s.remove(4), true);
      assert.equal(s.seqForTime(T0 + 2500), 5);
      assert.equal(await s.purge(), 1);
      assert.equal(s.seqForTime(0), 5);
    });
  });
}
