/**
 * XADDs pipelined to one stream in one read are a run (xadd-run.ts): one
 * notice in the store's queue for the run, no notice per entry, the same
 * replies in the same order — with other commands and another stream
 * between them, each of which ends the run; a run's failure answers each
 * of its XADDs with the error; the connection's line counts a run as its
 * replies (PENDING_REPLIES_MAX).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encode } from '../../src/protocols/redis/encoder.js';
import { LaterReply, ReplyLine } from '../../src/protocols/redis/reply-line.js';
import { XaddHead } from '../../src/protocols/redis/xadd-head.js';
import { XADD_RUN_MAX, XaddRun } from '../../src/protocols/redis/xadd-run.js';
import { FileStore } from '../../src/streams/file-store.js';
import { RawRedis, type RedisNode, resp, startRedisNode } from './helpers.js';

/** Counts the file stores' notices: appends with one of their own, and `notifyQueued`. */
function countNotices(): { own: number; queued: number; restore: () => void } {
  const proto = FileStore.prototype;
  const append = proto.appendNotify;
  const queued = proto.notifyQueued;
  const n = {
    own: 0,
    queued: 0,
    restore: () => {
      proto.appendNotify = append;
      proto.notifyQueued = queued;
    },
  };
  proto.appendNotify = function (this: FileStore, ...a: Parameters<FileStore['appendNotify']>) {
    if (a[4] !== null) n.own++;
    return append.apply(this, a);
  };
  proto.notifyQueued = function (this: FileStore, done) {
    n.queued++;
    queued.call(this, done);
  };
  return n;
}

/** The RESP replies in `text`, one string each (bulk strings as their value). */
function replies(text: string): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < text.length) {
    const eol = text.indexOf('\r\n', at);
    const line = text.slice(at, eol);
    at = eol + 2;
    if (line[0] === '$') {
      const n = Number(line.slice(1));
      out.push(text.slice(at, at + n));
      at += n + 2;
    } else out.push(line);
  }
  return out;
}

describe('XADD runs', () => {
  let dir: string;
  let node: RedisNode;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-redis-xadd-run-'));
    node = await startRedisNode({ jetstream: true, dataDir: dir });
  });
  after(async () => {
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a pipeline of XADDs to one stream: one notice per run, replies in order', async () => {
    const c = await RawRedis.connect(node.port);
    try {
      // The streams made first (the general path), then the pipeline in one write.
      c.write(
        Buffer.concat([resp('XADD', 'ra', '*', 'f', 'v'), resp('XADD', 'rb', '*', 'f', 'v')]),
      );
      await c.read(2);
      const n = countNotices();
      const cmds: Buffer[] = [];
      for (let i = 0; i < 100; i++) cmds.push(resp('XADD', 'ra', '*', 'f', `a${i}`));
      cmds.push(resp('PING'));
      for (let i = 100; i < 120; i++) cmds.push(resp('XADD', 'ra', '*', 'f', `a${i}`));
      for (let i = 0; i < 10; i++) {
        cmds.push(resp('XADD', 'rb', '*', 'f', `b${i}`));
        cmds.push(resp('XADD', 'ra', '*', 'f', `a${120 + i}`));
      }
      cmds.push(resp('XADD', 'ra', '*', 'payload', 'p'), resp('XADD', 'ra', '*', 'g', 'q'));
      c.write(Buffer.concat(cmds));
      const got = replies(await c.read(cmds.length, 10_000));
      n.restore();
      assert.equal(got.length, cmds.length);
      assert.equal(got[100], '+PONG');
      const ids = got.filter((r) => r !== '+PONG');
      for (const id of ids) assert.match(id, /^\d+-\d+$/);
      // Each write of the pipeline is stored as it was sent.
      c.write(Buffer.concat([resp('XLEN', 'ra'), resp('XLEN', 'rb')]));
      assert.equal(await c.read(2), ':133\r\n:11\r\n');
      // An XADD with nothing read after it, and no run to join, has a notice of its own.
      assert.ok(n.own <= 3, `own notices ${n.own}`);
      // 100 (two runs of XADD_RUN_MAX at most) + 20 + 20 one-entry runs + 2: far below one per XADD.
      assert.ok(n.queued >= 3 && n.queued <= 30, `notices ${n.queued}`);
      c.write(resp('XRANGE', 'ra', '-', '+', 'COUNT', '101'));
      const range = await c.read(1);
      for (let i = 0; i < 100; i++) assert.ok(range.includes(`$${`a${i}`.length}\r\na${i}\r\n`));
      assert.ok(range.indexOf('a99\r\n') > range.indexOf('a98\r\n'));
    } finally {
      c.sock.destroy();
    }
  });

  test('a run reads the clock once: its entries share their first one’s time', async () => {
    const c = await RawRedis.connect(node.port);
    const now = Date.now;
    try {
      c.write(resp('XADD', 'rt', '*', 'f', 'v'));
      await c.read(1);
      const cmds: Buffer[] = [];
      for (let i = 0; i < 20; i++) cmds.push(resp('XADD', 'rt', '*', 'f', `t${i}`));
      // A clock a millisecond on at each read: one read per XADD would give each its own ms.
      let t = now() + 1000;
      Date.now = () => t++;
      c.write(Buffer.concat(cmds));
      const ids = replies(await c.read(cmds.length)).map((id) => id.split('-').map(Number));
      Date.now = now;
      // One run per read of the pipeline (a write of 700 B is read at once here): a few ms at most.
      const ms = new Set(ids.map(([m]) => m));
      assert.ok(ms.size <= 3, `${ms.size} ms parts`);
      for (let i = 1; i < ids.length; i++) {
        const [m, q] = ids[i]!;
        const [pm, pq] = ids[i - 1]!;
        assert.ok(m === pm ? q === pq! + 1 : m! > pm! && q === 0, `${m}-${q} after ${pm}-${pq}`);
      }
    } finally {
      Date.now = now;
      c.sock.destroy();
    }
  });

  test('every stream asks the account through one method (no closure per stream)', async () => {
    const c = await RawRedis.connect(node.port);
    try {
      c.write(
        Buffer.concat([resp('XADD', 'ma', '*', 'f', 'v'), resp('XADD', 'mb', '*', 'f', 'v')]),
      );
      await c.read(2);
      const js = node.srv.node.jetstream!.account('$G')!;
      const a = js.streams.get('ma')!;
      const b = js.streams.get('mb')!;
      // One call target in every stream's publish path: a closure per stream
      // deoptimised it at each process's second stream (bench/PROFILE.md, xadd3).
      assert.equal(a.stream.admit, a);
      assert.equal(b.stream.admit, b);
      assert.equal(a.stream.admit!.admitPublish, b.stream.admit!.admitPublish);
    } finally {
      c.sock.destroy();
    }
  });
});

describe('XaddRun', () => {
  /** A run over a fake stream taking every append, telling nobody else. */
  function fakeRun() {
    const told: number[] = [];
    const counters = { appended: 0, appendErrors: 0 };
    let last = 0;
    const stream = {
      openRun: null as unknown,
      appendInRun(
        _s: string,
        _h: Buffer,
        _p: Buffer,
        _ps: number,
        _pe: number,
        _t: number,
        r: unknown,
      ) {
        stream.openRun = r;
        return ++last;
      },
    };
    const cs = { stream, consumers: { stored: (seq: number) => told.push(seq) } };
    const owner = {
      counters,
      failed: () => 'ERR the stream refused the entry: broken',
      heard: () => null,
      deliverTo: () => {},
    };
    // biome-ignore lint/suspicious/noExplicitAny: a stand-in for the view and account
    const run = new XaddRun(owner, { cs } as any, {} as any, 's');
    return { run, told, counters };
  }

  test('the replies written as appended: the bytes R.bulk of each ID makes', () => {
    const { run, told, counters } = fakeRun();
    const ids: [string, number][] = [
      ['1700000000000', 0],
      ['1700000000000', 9],
      ['1700000000000', 10],
      ['18446744073709551615', 9007199254740991],
      ['18446744073709551615-18446744073709551615', -1],
      ['0', 1],
    ];
    const p = Buffer.from('v');
    for (const [h, s] of ids) assert.equal(run.append(Buffer.from('h'), p, 0, 1, h, s, 1), true);
    assert.equal(run.count, ids.length);
    run.stored(null);
    const want = Buffer.concat(
      ids.map(([h, s]) => encode({ t: 'bulk', v: s < 0 ? h : `${h}-${s}` }, 2)),
    );
    assert.deepEqual(run.reply, { t: 'raw', v: want });
    assert.deepEqual(told, [1, 2, 3, 4, 5, 6], 'consumers told of each, in order');
    assert.equal(counters.appended, ids.length);
  });

  test('a stamped block’s ID is copied into the reply: the same bytes, long IDs grow the buffer', () => {
    for (const [head, from] of [
      ['1700000000000', 0],
      ['1700000000000', 90],
      ['18446744073709551615', 9007199254740900],
    ] as const) {
      const { run } = fakeRun();
      const xh = new XaddHead();
      const f = Buffer.from('f');
      const p = Buffer.from('v');
      const want: Buffer[] = [];
      for (let i = 0; i < XADD_RUN_MAX; i++) {
        const seq = from + i;
        const block = xh.ofParts(head, seq, f, 0, 1)!;
        // Another ID's digits left after the block's: the reply copies this ID's alone.
        assert.equal(run.append(block, p, 0, 1, head, seq, 1, xh.stamp), true);
        want.push(encode({ t: 'bulk', v: `${head}-${seq}` }, 2));
      }
      run.stored(null);
      assert.deepEqual(run.reply, { t: 'raw', v: Buffer.concat(want) }, `${head}-${from}…`);
    }
  });

  test('replies of consecutive IDs written a group at a time: the same bytes across digit counts, heads and whole IDs', () => {
    // [head, first seq, entries] in one run; -1: the ID is `head` alone.
    const cases: [string, number, number][][] = [
      [['1700000000000', 0, 64]],
      [
        ['1700000000000', 95, 10],
        ['1700000000001', 0, 12],
        ['1700000000001', 50, 3],
      ],
      [
        ['1700000000000-4', -1, 1],
        ['1700000000000', 5, 40],
        ['9', 9, 23],
      ],
      [['18446744073709551615', 9007199254740985, 6]],
      [
        ['1', 999999, 2],
        ['1', 1000001, 1],
        ['1', 9999999999, 61],
      ],
    ];
    for (const parts of cases) {
      const { run } = fakeRun();
      const p = Buffer.from('v');
      const want: Buffer[] = [];
      for (const [head, from, n] of parts) {
        for (let i = 0; i < n; i++) {
          const seq = from < 0 ? -1 : from + i;
          assert.equal(run.append(p, p, 0, 1, head, seq, 1), true);
          want.push(encode({ t: 'bulk', v: seq < 0 ? head : `${head}-${seq}` }, 2));
        }
      }
      run.stored(null);
      assert.deepEqual(run.reply, { t: 'raw', v: Buffer.concat(want) }, JSON.stringify(parts));
    }
  });

  test('full at XADD_RUN_MAX; a failure answers each XADD with the error', () => {
    const { run, counters } = fakeRun();
    const p = Buffer.from('v');
    for (let i = 0; i < XADD_RUN_MAX; i++) assert.equal(run.append(p, p, 0, 1, '5', i, 1), true);
    assert.equal(run.open, false);
    assert.equal(run.append(p, p, 0, 1, '5', 99, 1), false);
    run.stored(new Error('EIO'));
    const line = '-ERR the stream refused the entry: broken\r\n';
    assert.deepEqual(run.reply, { t: 'raw', v: Buffer.from(line.repeat(XADD_RUN_MAX)) });
    // failed() counts one; the run the rest.
    assert.equal(counters.appendErrors, XADD_RUN_MAX - 1);
  });

  test("the line counts a run as its replies, and lets them go once it's written", () => {
    const line = new ReplyLine();
    const { run } = fakeRun();
    const p = Buffer.from('v');
    const first = new LaterReply();
    line.wait(first, () => {});
    run.append(p, p, 0, 1, '5', 0, 1);
    line.wait(run, () => {});
    assert.equal(line.tail, run);
    for (let i = 1; i < 10; i++) {
      run.append(p, p, 0, 1, '5', i, 1);
      line.joined();
    }
    assert.equal(line.waiting, 11);
    run.stored(null);
    const out: unknown[] = [];
    line.writeReady((r) => out.push(r));
    assert.equal(out.length, 0, 'the first still holds the line');
    first.fill({ t: 'simple', v: 'OK' });
    line.writeReady((r) => out.push(r));
    assert.equal(out.length, 2);
    assert.equal(line.waiting, 0);
    assert.equal(line.tail, null);
  });
});
