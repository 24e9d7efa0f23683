/**
 * The StreamStore contract (src/streams/store.ts) as one suite that every
 * store runs, after aedes-persistence's abstract.js: conformance.test.ts
 * calls `storeSuite` once per implementation and configuration. Every
 * assertion names an exact value; a store passes only if it is
 * indistinguishable from the others through the interface.
 *
 * Stores that persist pass `reopen`; the suite then also checks that
 * messages, removals, purges and lastSeq survive close + reopen.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import {
  type StoredMessage,
  StoreError,
  type StoreState,
  type StreamStore,
} from '../../src/streams/store.js';

export interface OpenedStore {
  store: StreamStore;
  /** Opens the same store again; the suite closes the current one first. */
  reopen?: () => Promise<StreamStore>;
  /** Releases what `open` made (directories); stores are closed by then. */
  cleanup: () => Promise<void>;
}

/** A message as compared: only the contract's fields. */
interface View {
  seq: number;
  subject: string;
  time: number;
  headers: Buffer | null;
  payload: Buffer;
}

type Counts = Pick<StoreState, 'messages' | 'bytes' | 'firstSeq' | 'lastSeq' | 'subjects'>;

const T0 = 1_700_000_000_000;
const UTF8_SUBJECT = 'ünïcødé.日本語.🐟';
const HDR = Buffer.from('NATS/1.0\r\nX-Key: v\r\n\r\n');
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function view(m: StoredMessage | null): View | null {
  if (m === null) return null;
  return { seq: m.seq, subject: m.subject, time: m.time, headers: m.headers, payload: m.payload };
}

function v(
  seq: number,
  subject: string,
  payload: string | Buffer,
  time: number,
  headers: Buffer | null = null,
): View {
  return { seq, subject, time, headers, payload: Buffer.from(payload) };
}

function sizeOf(subject: string, headers: Buffer | null, payload: Buffer | string): number {
  return Buffer.byteLength(subject) + (headers?.length ?? 0) + Buffer.byteLength(payload);
}

function counts(s: StreamStore): Counts {
  const { messages, bytes, firstSeq, lastSeq, subjects } = s.state();
  return { messages, bytes, firstSeq, lastSeq, subjects };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** The sequences `next` walks from the start with `filter`. */
async function walk(s: StreamStore, filter?: string): Promise<number[]> {
  const seqs: number[] = [];
  for (let m = await s.next(0, filter); m !== null; m = await s.next(m.seq + 1, filter)) {
    seqs.push(m.seq);
  }
  return seqs;
}

/** Every message held, as views, in sequence order. */
async function contents(s: StreamStore): Promise<View[]> {
  const out: View[] = [];
  for (let m = await s.next(0); m !== null; m = await s.next(m.seq + 1)) out.push(view(m)!);
  return out;
}

/** Appends `[subject, payload]` pairs one after another at T0 + seq, for predictable times. */
async function fill(s: StreamStore, subjects: string[]): Promise<void> {
  for (const subject of subjects) {
    const seq = s.state().lastSeq + 1;
    await s.append(subject, null, Buffer.from(`${subject}#${seq}`), T0 + seq);
  }
}

/** Bytes held by the messages `fill` wrote at these sequences. */
function filled(subjects: string[], seqs: number[]): number {
  return seqs.reduce(
    (n, seq) => n + sizeOf(subjects[seq - 1]!, null, `${subjects[seq - 1]}#${seq}`),
    0,
  );
}

interface Ctx {
  readonly store: StreamStore;
  /** Whether the store persists (reopen works). */
  readonly persists: boolean;
  /** Closes the store and opens it again (stores that persist only). */
  reopen(): Promise<StreamStore>;
  /** Closes the store (the harness then does not). */
  close(): Promise<void>;
}

export function storeSuite(name: string, open: () => Promise<OpenedStore>): void {
  /** Runs `fn` against a fresh store and always releases it. */
  function it(title: string, fn: (c: Ctx, t: TestContext) => Promise<void>, persist = false) {
    test(title, async (t) => {
      const opened = await open();
      if (persist && opened.reopen === undefined) {
        await opened.store.close();
        await opened.cleanup();
        t.skip(`${name} does not persist`);
        return;
      }
      let store = opened.store;
      let isOpen = true;
      const c: Ctx = {
        get store() {
          return store;
        },
        persists: opened.reopen !== undefined,
        async reopen() {
          assert.ok(opened.reopen !== undefined, `${name} has no reopen`);
          await store.close();
          isOpen = false;
          store = await opened.reopen();
          isOpen = true;
          return store;
        },
        async close() {
          isOpen = false;
          await store.close();
        },
      };
      try {
        await fn(c, t);
      } finally {
        if (isOpen) await store.close();
        await opened.cleanup();
      }
    });
  }

  describe(`StreamStore contract: ${name}`, () => {
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
        assert.ok(
          m.time >= before && m.time <= after,
          `time ${m.time} not in [${before}, ${after}]`,
        );
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
        for (const seq of [3, 1, 5, 2, 4])
          assert.equal(await s.remove(seq), true, `remove(${seq})`);
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
            range(1, 1000).map((i) =>
              v(i, `c.${i % 5}`, `m${i}`, T0 + i, i % 2 === 0 ? HDR : null),
            ),
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
  });
}
