/**
 * The publish path without a promise per message: the file writer's queue
 * (records encoded in place into reused arenas, chunks per segment),
 * `FileStore.appendNotify` (callbacks once durable, in sequence order; a
 * failed write fails every one queued and leaves none of them on disk),
 * `UnsyncedSeqs` (one entry per batch and segment), `Stream.storeNotify`
 * (the same outcome as `store`, never in the same turn) and the pub ack's
 * bytes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pubAckBytes, pubAckHead, writePubAck } from '../../src/jetstream/captured-stream.js';
import { pubAck } from '../../src/jetstream/shapes.js';
import type { Segment } from '../../src/streams/file-index.js';
import { encodeControl, recSeq, recType, T_DELETE, T_MSG } from '../../src/streams/file-record.js';
import { type FileStore, openFileStore } from '../../src/streams/file-store.js';
import { UnsyncedSeqs } from '../../src/streams/file-synced-mark.js';
import {
  ARENA_BYTES,
  settleAll,
  type WriteBatch,
  WriteQueue,
} from '../../src/streams/file-write-queue.js';
import { StoreError } from '../../src/streams/store.js';
import { type StoreDone, type StoreNotice, Stream } from '../../src/streams/stream.js';
import { normalizeConfig } from '../../src/streams/stream-config.js';
import { StreamApiError } from '../../src/streams/stream-errors.js';
import { checkFor } from '../helpers/poll.js';
import { FaultOps } from './fault-ops.js';

const root = mkdtempSync(join(tmpdir(), 'weft-notify-'));
let nextDir = 0;
const newDir = (): string => join(root, String(nextDir++));
after(() => rmSync(root, { recursive: true, force: true }));

const seg = (name: number): Segment => ({
  id: name,
  name,
  path: '',
  fd: -1,
  size: 0,
  written: 0,
  filled: 0,
  live: 0,
  lastMsgSeq: 0,
  tombMin: Infinity,
});

/** A record of `len` bytes (≥ 32) of type `type` with sequence `seq`, filler `fill`. */
function rec(type: number, seq: number, len: number, fill: number): Buffer {
  const b = Buffer.alloc(len, fill);
  b.writeUInt32LE(len, 0);
  b[8] = type;
  b.writeDoubleLE(seq, 16);
  return b;
}

function claimRec(q: WriteQueue, r: Buffer, s: Segment): void {
  q.claim(r.length, s);
  r.copy(q.buf, q.at);
}

/** Appends through `appendNotify`, as a promise of [err, seq] (for the test only). */
function notify(s: FileStore, subject: string, payload: Buffer): Promise<[Error | null, number]> {
  return new Promise((resolve, reject) => {
    const refused = s.appendNotify(subject, null, payload, Date.now(), (err, seq) =>
      resolve([err, seq]),
    );
    if (refused !== null) reject(refused);
  });
}

describe('file writer queue', () => {
  test('records fill arenas in order; a segment run is one chunk; big records stand alone', () => {
    const q = new WriteQueue();
    const a = seg(1);
    const b = seg(2);
    const recs: { r: Buffer; s: Segment }[] = [];
    let seq = 0;
    // Enough for three arenas, a big record in the middle, a segment change.
    for (let i = 0; i < 3000; i++) {
      const s = i < 2500 ? a : b;
      const len = i === 1234 ? (ARENA_BYTES >> 2) + 1 : 200 + (i % 7);
      const r = rec(T_MSG, ++seq, len, i & 0xff);
      claimRec(q, r, s);
      recs.push({ r, s });
    }
    assert.equal(q.length, 3000);
    const batch = q.take();
    assert.equal(q.length, 0);
    assert.equal(batch.records, 3000);
    assert.ok(batch.bufs.length <= 8, `${batch.bufs.length} chunks`);
    for (const s of [a, b]) {
      const want = Buffer.concat(recs.filter((x) => x.s === s).map((x) => x.r));
      const got = Buffer.concat(batch.bufs.filter((_, i) => batch.segs[i] === s));
      assert.ok(got.equals(want), `segment ${s.name}: the chunks are the records in order`);
      assert.equal(s.size, want.length);
    }
  });

  test('an arena is reused only once full and written, never while a chunk waits', () => {
    const q = new WriteQueue();
    const s = seg(1);
    const per = Math.floor(ARENA_BYTES / 1000);
    const batches: { batch: WriteBatch; copy: Buffer[] }[] = [];
    let seq = 0;
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < per; i++) claimRec(q, rec(T_MSG, ++seq, 1000, round), s);
      const batch = q.take();
      batches.push({ batch, copy: batch.bufs.map((x) => Buffer.from(x)) });
      // The two oldest batches stay unwritten: their bytes must never change.
      if (round >= 2) q.written(batches[round]!.batch);
    }
    for (const k of [0, 1]) {
      const { batch, copy } = batches[k]!;
      for (const [i, x] of batch.bufs.entries()) assert.ok(x.equals(copy[i]!), `batch ${k} intact`);
    }
    // Arenas of written batches were reused: the newest chunks share buffers with old ones.
    const buffers = new Set(batches.flatMap((x) => x.batch.bufs.map((b) => b.buffer)));
    assert.ok(buffers.size < 12, `${buffers.size} arenas for 12 arenas' worth`);
    assert.equal(q.allocated, buffers.size, 'counted');
  });

  test("a settled batch's waiter arrays serve the next batch; each settles only its own", () => {
    const q = new WriteQueue();
    const s = seg(1);
    const calls: string[] = [];
    const done =
      (tag: string) =>
      (_e: Error | null, arg: number): void => {
        calls.push(`${tag}${arg}`);
      };
    for (let i = 1; i <= 3; i++) {
      claimRec(q, rec(T_MSG, i, 40, i), s);
      q.wait(done('a'), i);
    }
    const b1 = q.take();
    settleAll(b1, null);
    claimRec(q, rec(T_MSG, 4, 40, 4), s);
    q.wait(done('b'), 4);
    const b2 = q.take();
    assert.notEqual(b2.done, b1.done, 'taken before b1 was settled');
    claimRec(q, rec(T_MSG, 5, 40, 5), s);
    q.wait(done('c'), 5);
    const b3 = q.take();
    assert.equal(b3.done, b1.done, 'arrays of the settled batch are reused');
    assert.equal(b3.n, 1);
    claimRec(q, rec(T_MSG, 6, 40, 6), s);
    q.wait(done('d'), 6);
    const b4 = q.take();
    assert.notEqual(b4.done, b2.done, 'b2 was not settled when b3 was taken: not reused');
    settleAll(b2, null);
    settleAll(b3, null);
    settleAll(b4, null);
    assert.deepEqual(calls, ['a1', 'a2', 'a3', 'b4', 'c5', 'd6']);
    // Longer than it holds now: what follows `n` is cleared, never called again.
    assert.ok(b3.done.length >= 3 && b3.done.every((d) => d === undefined));
  });

  test('after a failure: messages dropped, other records kept in order, waiters returned', () => {
    const q = new WriteQueue();
    const s = seg(1);
    const order: number[] = [];
    const done = (_e: Error | null, arg: number): void => {
      order.push(arg);
    };
    claimRec(q, rec(T_MSG, 1, 100, 1), s);
    q.wait(done, 1);
    q.pushOwn(encodeControl(T_DELETE, 1, 0), s);
    q.wait(done, 2);
    claimRec(q, rec(T_MSG, 2, 100, 2), s);
    q.wait(done, 3);
    const batch = q.take();
    claimRec(q, rec(T_MSG, 3, 100, 3), s);
    q.push(encodeControl(T_DELETE, 3, 0), s);
    q.putBack(batch);
    assert.deepEqual(q.tail(), { type: T_DELETE, seq: 3 });
    s.size = 0;
    const dropped: number[] = [];
    const w = q.dropMessages((seq) => dropped.push(seq));
    assert.deepEqual(dropped, [1, 2, 3]);
    assert.deepEqual(w.args.slice(0, w.n), [1, 2, 3]);
    assert.equal(w.n, 3);
    assert.equal(q.length, 2);
    assert.equal(s.size, 64, 'the kept records count in the segment');
    const kept = q.take();
    const all = Buffer.concat(kept.bufs);
    assert.deepEqual(
      [recType(all, 0), recSeq(all, 0), recType(all, 32), recSeq(all, 32)],
      [T_DELETE, 1, T_DELETE, 3],
    );
  });

  test('UnsyncedSeqs: one entry per batch and segment; fsyncs at batch ends', () => {
    const u = new UnsyncedSeqs();
    u.reset(0);
    // Batch 1: seqs 1-3 in segment 1, ending at 100, 200, 300; batch 2: 4-5 to 500.
    u.push(1, 100, 1, 1);
    u.push(1, 200, 2, 1);
    u.push(1, 300, 3, 1);
    u.push(1, 400, 4, 2);
    u.push(1, 500, 5, 2);
    // Batch 3 rolls to segment 2 half way.
    u.push(1, 600, 6, 3);
    u.push(2, 100, 7, 3);
    assert.equal(u.synced(1, 300), 3);
    assert.equal(u.synced(1, 500), 5);
    assert.equal(u.synced(1, 600), 6);
    assert.equal(u.synced(2, 100), 7);
    assert.equal(u.synced(2, 100), 7, 'nothing new');
    u.push(2, 200, 8, 3);
    assert.equal(u.synced(2, 200), 8, 'a batch pushed to after its entry drained');
  });
});

describe('FileStore.appendNotify', () => {
  test('calls back once durable, in order; records read back byte for byte after reopen', async () => {
    const dir = newDir();
    const s = await openFileStore(dir, { sync: { kind: 'always' }, segmentBytes: 256 * 1024 });
    const n = 2000;
    const payloads = Array.from({ length: n }, (_, i) =>
      Buffer.alloc(i % 500 === 7 ? 100_000 : 100 + (i % 13), i & 0xff),
    );
    const seen: number[] = [];
    const all = payloads.map((p, i) => {
      const r = notify(s, `s.${i}`, p);
      void r.then(([, seq]) => seen.push(seq));
      if (i === 1000) void s.remove(10);
      return r;
    });
    const results = await Promise.all(all);
    for (const [i, [err, seq]] of results.entries()) {
      assert.equal(err, null);
      assert.equal(seq, i + 1);
    }
    assert.deepEqual(
      seen,
      results.map((r) => r[1]),
      'callbacks in sequence order',
    );
    await s.close();
    const r = await openFileStore(dir, { sync: { kind: 'always' } });
    try {
      assert.equal(r.state().messages, n - 1);
      assert.equal(await r.get(10), null, 'the remove among them is kept');
      for (let i = 0; i < n; i++) {
        if (i === 9) continue;
        const m = await r.get(i + 1);
        assert.equal(m?.subject, `s.${i}`);
        assert.ok(m.payload.equals(payloads[i]!), `message ${i + 1}`);
      }
    } finally {
      await r.close();
    }
  });

  test('a failed write fails every append queued with it; none is on disk; deletes stay', async () => {
    const dir = newDir();
    const ops = new FaultOps();
    const s = await openFileStore(dir, {
      sync: { kind: 'always' },
      fileOps: ops,
      writeRetry: { minMs: 5, maxMs: 20 },
    });
    const first = await Promise.all(
      Array.from({ length: 20 }, (_, i) => notify(s, 'a', Buffer.from(`ok ${i}`))),
    );
    assert.ok(first.every(([e]) => e === null));
    ops.inject('write', 1, 'short', 1);
    const failing = Array.from({ length: 300 }, (_, i) => {
      if (i === 5) void s.remove(3).catch(() => {});
      return notify(s, 'a', Buffer.alloc(900, i));
    });
    const outcomes = await Promise.all(failing);
    for (const [err] of outcomes) {
      assert.ok(err instanceof StoreError && err.code === 'unwritable', String(err));
    }
    assert.throws(() => {
      const e = s.appendNotify('a', null, Buffer.from('x'), Date.now(), () => {});
      if (e !== null) throw e;
    }, StoreError);
    ops.heal();
    await checkFor(() => s.writeError === null);
    const [err, seq] = await notify(s, 'a', Buffer.from('after'));
    assert.equal(err, null);
    assert.ok(seq > 320, `seq ${seq} is past the failed ones`);
    await s.close();
    const r = await openFileStore(dir, { sync: { kind: 'always' } });
    try {
      const held: number[] = [];
      for (let m = await r.next(0); m !== null; m = await r.next(m.seq + 1)) held.push(m.seq);
      assert.deepEqual(
        held,
        [...Array.from({ length: 20 }, (_, i) => i + 1).filter((x) => x !== 3), seq],
        'the acknowledged ones and nothing else; the remove queued among the failed is kept',
      );
    } finally {
      await r.close();
    }
  });
});

describe('Stream.storeNotify', () => {
  const cfg = (extra: Record<string, unknown> = {}) =>
    normalizeConfig({ name: 'S', subjects: ['s.>'], ...extra }, 'S');

  async function withStream(
    extra: Record<string, unknown>,
    fn: (s: Stream) => Promise<void>,
  ): Promise<void> {
    const store = await openFileStore(newDir(), { sync: { kind: 'always' } });
    const s = new Stream(cfg(extra), store, new Date());
    await s.open();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  }

  let calls = 0;

  /**
   * storeNotify as a promise; checks the callback does not come in this
   * turn. Every other call passes a `StoreNotice` object, not a function,
   * so each outcome below is told through both.
   */
  function stored(
    s: Stream,
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
  ): Promise<[unknown, number, boolean]> {
    let sameTurn = true;
    const p = new Promise<[unknown, number, boolean]>((resolve) => {
      const done: StoreDone = (err, seq, dup) => {
        assert.equal(sameTurn, false, 'never called back in the same turn');
        resolve([err, seq, dup]);
      };
      const notice: StoreNotice = { stored: done };
      s.storeNotify(subject, headers, payload, calls++ % 2 === 0 ? done : notice);
    });
    sameTurn = false;
    return p;
  }

  const code = (e: unknown): number => (e instanceof StreamApiError ? e.errCode : -1);

  test('the same outcomes as store: plain, duplicate, too large, refused, limits', async () => {
    await withStream({ max_msg_size: 100 }, async (s) => {
      assert.deepEqual(await stored(s, 's.a', null, Buffer.from('one')), [null, 1, false]);
      const id = Buffer.from('NATS/1.0\r\nNats-Msg-Id: x\r\n\r\n');
      assert.deepEqual(await stored(s, 's.a', id, Buffer.from('two')), [null, 2, false]);
      assert.deepEqual(await stored(s, 's.a', id, Buffer.from('two')), [null, 2, true]);
      const [big] = await stored(s, 's.a', null, Buffer.alloc(101));
      let want: unknown = null;
      await s.store('s.a', null, Buffer.alloc(101)).catch((e: unknown) => {
        want = e;
      });
      assert.equal(code(big), code(want));
      assert.notEqual(code(big), -1);
      let asked = 0;
      s.admit = {
        admitPublish: () => {
          asked++;
          return new StreamApiError(400, 10999, 'refused');
        },
      };
      const [refused] = await stored(s, 's.b', null, Buffer.from('x'));
      assert.equal(code(refused), 10999);
      assert.equal(asked, 1, 'asked once');
      s.admit = null;
      const [tooLong] = await stored(s, `s.${'x'.repeat(70_000)}`, null, Buffer.from('x'));
      assert.ok(tooLong instanceof StreamApiError, String(tooLong));
      assert.deepEqual(await stored(s, 's.c', null, Buffer.from('three')), [null, 3, false]);
      assert.equal(s.state().lastSeq, 3, 'refusals used no sequence');
    });
    await withStream({ max_msgs: 2 }, async (s) => {
      for (let i = 1; i <= 5; i++) {
        assert.deepEqual(await stored(s, 's.a', null, Buffer.from(String(i))), [null, i, false]);
      }
      assert.deepEqual([s.state().firstSeq, s.state().messages], [4, 2], 'limits applied');
    });
  });

  test('concurrent publishes are numbered in arrival order and acked in order', async () => {
    await withStream({}, async (s) => {
      const seqs: number[] = [];
      const all = Array.from({ length: 500 }, (_, i) =>
        stored(s, `s.${i}`, null, Buffer.from(String(i))).then((r) => {
          seqs.push(r[1]);
          return r;
        }),
      );
      await Promise.all(all);
      assert.deepEqual(
        seqs,
        Array.from({ length: 500 }, (_, i) => i + 1),
      );
      assert.equal((await s.messages.get(17))!.subject, 's.16');
    });
  });

  /** `storeNotifyRange` as a promise: the payload is `buf[start, end)`. */
  function storedRange(
    s: Stream,
    subject: string,
    buf: Buffer,
    start: number,
    end: number,
  ): Promise<[unknown, number, boolean]> {
    return new Promise((resolve) => {
      s.storeNotifyRange(subject, buf, start, end, (err, seq, dup) => resolve([err, seq, dup]));
    });
  }

  test('storeNotifyRange stores exactly the range, short (copied a byte at a time) or long', async () => {
    // Payload lengths either side of RANGE_JS_MAX (64) and over an arena quarter, at odd offsets.
    const lens = [0, 1, 5, 63, 64, 65, 1000, 70_000];
    for (const extra of [{}, { max_msgs: 1000 }]) {
      // {}: the plain path (appendNotify from the range); max_msgs: through `store`, from a view.
      await withStream(extra, async (s) => {
        const want: Buffer[] = [];
        const all = lens.map((len, i) => {
          const buf = Buffer.alloc(len + 7 + i, 0xee); // bytes around the range must not be stored
          const payload = Buffer.from(Array.from({ length: len }, (_, k) => (k * 31 + i) & 0xff));
          payload.copy(buf, 3 + i);
          want.push(payload);
          return storedRange(s, `s.r${i}`, buf, 3 + i, 3 + i + len);
        });
        const got = await Promise.all(all);
        assert.deepEqual(
          got,
          lens.map((_, i) => [null, i + 1, false]),
        );
        for (let i = 0; i < lens.length; i++) {
          const m = (await s.messages.get(i + 1))!;
          assert.equal(m.subject, `s.r${i}`);
          assert.equal(m.headers, null);
          assert.ok(m.payload.equals(want[i]!), `payload of ${lens[i]} bytes`);
        }
      });
    }
  });

  test('storeNotifyRange: the same refusals as storeNotify (size limit, admit)', async () => {
    await withStream({ max_msg_size: 10 }, async (s) => {
      const buf = Buffer.alloc(40, 0x61);
      assert.deepEqual(await storedRange(s, 's.a', buf, 30, 40), [null, 1, false]);
      const [big] = await storedRange(s, 's.a', buf, 5, 16);
      assert.equal(code(big), 10054);
      s.admit = {
        admitPublish: (_subject, size) =>
          size === 3 ? new StreamApiError(400, 10999, 'no') : null,
      };
      const [refused] = await storedRange(s, 's.b', buf, 0, 3);
      assert.equal(code(refused), 10999);
      assert.deepEqual(await storedRange(s, 's.c', buf, 0, 4), [null, 2, false]);
    });
  });

  test('each publish is told its own outcome across refusals, the store path and a failed write', async () => {
    // The plain publishes' callbacks wait in one queue (stream.ts, `appended`):
    // a refusal or a publish through `store` must not shift who hears what.
    const ops = new FaultOps();
    const store = await openFileStore(newDir(), {
      sync: { kind: 'always' },
      fileOps: ops,
      writeRetry: { minMs: 5, maxMs: 20 },
    });
    const s = new Stream(cfg({ max_msg_size: 100 }), store, new Date());
    await s.open();
    try {
      const id = Buffer.from('NATS/1.0\r\nNats-Msg-Id: y\r\n\r\n');
      const first = await Promise.all([
        stored(s, 's.a', null, Buffer.from('1')),
        stored(s, 's.a', null, Buffer.alloc(101)),
        stored(s, 's.b', id, Buffer.from('2')),
        stored(s, 's.c', null, Buffer.from('3')),
      ]);
      assert.deepEqual(
        first.map(([err, seq]) => [err === null, seq]),
        [
          [true, 1],
          [false, 0],
          [true, 2],
          [true, 3],
        ],
      );
      // The next round's write fails: both of its publishes hear it, none is stored.
      ops.inject('write', 1, 'EIO');
      const failed = await Promise.all([
        stored(s, 's.a', null, Buffer.from('4')),
        stored(s, 's.a', null, Buffer.from('5')),
      ]);
      for (const [err, seq] of failed) {
        assert.ok(err instanceof StreamApiError, String(err));
        assert.equal(seq, 0);
      }
      await checkFor(() => store.writeError === null, 5000);
      // Writing again: each publish pairs with its own sequence (4 and 5 stay unused).
      const later = await Promise.all(
        ['6', '7', '8'].map((p) => stored(s, 's.d', null, Buffer.from(p))),
      );
      assert.deepEqual(
        later.map(([err, seq]) => [err, seq]),
        [
          [null, 6],
          [null, 7],
          [null, 8],
        ],
      );
      for (const n of [6, 7, 8]) {
        assert.equal((await s.messages.get(n))!.payload.toString(), String(n));
      }
      assert.equal(await s.messages.get(4), null);
    } finally {
      await s.close();
    }
  });
});

describe('pub ack bytes', () => {
  test('writePubAck: acks one after another in one buffer, each the bytes of pubAck', () => {
    const head = pubAckHead('ORDERS');
    const buf = Buffer.alloc(64 * (head.length + 17), 0xff);
    const seqs = [1, 9, 10, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, 42, 100];
    let at = 3;
    for (const seq of seqs) {
      const end = writePubAck(buf, at, head, seq);
      assert.equal(buf.toString('utf8', at, end), pubAck('ORDERS', seq, false), `seq ${seq}`);
      assert.ok(end - at <= head.length + 17, 'within the room asked for');
      at = end;
    }
    // Each is still whole after those written after it.
    at = 3;
    for (const seq of seqs) {
      const want = pubAck('ORDERS', seq, false);
      assert.equal(buf.toString('utf8', at, at + want.length), want);
      at += want.length;
    }
    assert.equal(buf[at], 0xff, 'nothing written past the last');
  });

  test('the same bytes as pubAck, across digit counts', () => {
    for (const name of ['S', 'ORDERS', 'ünï "q"']) {
      const head = pubAckHead(name);
      const seqs = [1, 9, 10, 99, 100, 12345, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 2 ** 53 - 1];
      for (let p = 1; p < 1e15; p *= 10) seqs.push(p - 1 || 1, p, p + 1);
      for (const seq of seqs) {
        const got = pubAckBytes(head, seq).toString();
        assert.equal(got, pubAck(name, seq, false), `seq ${seq}`);
        assert.deepEqual(JSON.parse(got), { stream: name, seq });
      }
    }
  });
});
