/**
 * The packed pending entries of a durable's state file (pending-codec.ts):
 * round trip (large sequences and times, consumer sequences out of order,
 * many deliveries), entries that do not fit fall back to the tuples, damaged
 * or fuzzed input is a PendingDecodeError saying what (never a wrong entry
 * list without one, never another exception) — and end to end: a state file
 * written by Weft before the packing (tuples) still loads, the new file
 * keeps the entries packed and they survive a restart, and a packing that
 * is damaged behind a valid checksum puts the consumer out of service with
 * a precise error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AckPolicy, connect } from 'nats';
import { startServer } from '../../src/index.js';
import { checkedJson, parseCheckedJson } from '../../src/jetstream/checked-json.js';
import { stateFile } from '../../src/jetstream/consumer-state.js';
import {
  PendingDecodeError,
  PendingPacker,
  unpackPending,
} from '../../src/jetstream/pending-codec.js';
import { checkFor } from '../helpers/poll.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

type Entry = [number, number, number, number];

function pack(entries: Entry[]): string | null {
  const p = new PendingPacker(1);
  for (const [a, b, c, d] of entries) p.add(a, b, c, d);
  return p.finish();
}

function unpack(text: unknown): Entry[] {
  const out: Entry[] = [];
  unpackPending(text, (a, b, c, d) => out.push([a, b, c, d]));
  return out;
}

function rng(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
}

describe('packed pending entries', () => {
  test('round trip', () => {
    const rnd = rng(3);
    for (let round = 0; round < 200; round++) {
      const n = rnd(round < 5 ? 3 : 300);
      const entries: Entry[] = [];
      const big = round === 7;
      let seq = big ? 2 ** 53 - 1000 : rnd(1000);
      let t = 1_765_000_000_000 + rnd(1000);
      for (let i = 0; i < n; i++) {
        seq += 1 + (!big && rnd(4) === 0 ? rnd(2 ** 30) : 0);
        // Redelivered entries have a later consumer sequence than the ones after them.
        const cseq = big ? i + 1 : rnd(3) === 0 ? seq * 2 + rnd(50) : seq + 1;
        t += rnd(5) === 0 ? -rnd(100_000) : rnd(10);
        entries.push([seq, cseq, 1 + (rnd(10) === 0 ? rnd(2 ** 40) : 0), t]);
      }
      const text = pack(entries);
      assert.ok(text !== null);
      assert.deepEqual(unpack(text), entries);
    }
    assert.deepEqual(unpack(pack([])), []);
    // ~5 bytes an entry for a consumer acking in order (base64: 4/3).
    const inOrder: Entry[] = Array.from({ length: 20_000 }, (_, i) => [
      100_000 + i,
      100_000 + i,
      1,
      1_765_000_000_000 + Math.floor(i / 7),
    ]);
    assert.ok(pack(inOrder)!.length < 20_000 * 6);
  });

  test('entries that do not fit the packing: null (the tuples are kept)', () => {
    assert.equal(pack([[1, 1, 1, 1.5]]), null, 'a fractional time');
    assert.equal(
      pack([
        [5, 1, 1, 0],
        [5, 2, 1, 0],
      ]),
      null,
      'not ascending',
    );
    assert.equal(pack([[1, 0, 1, 0]]), null, 'consumer sequence 0');
    assert.equal(pack([[1, 1, 0, 0]]), null, 'no delivery');
    assert.equal(pack([[2 ** 53, 1, 1, 0]]), null, 'not a safe integer');
    assert.equal(pack([[1, 1, 1, 2 ** 52]]), null, 'a step of 2^51 or more');
  });

  test('damaged input: a precise PendingDecodeError', () => {
    const good = pack([
      [10, 10, 1, 1000],
      [11, 11, 2, 1001],
    ])!;
    const bytes = Buffer.from(good, 'base64');
    const b64 = (b: Buffer): string => b.toString('base64');
    const cases: [unknown, RegExp][] = [
      [42, /not base64/],
      ['a!b=', /not base64/],
      ['abc', /not base64/],
      [b64(bytes.subarray(0, bytes.length - 1)), /time of entry 1 cut short/],
      [b64(Buffer.concat([bytes, Buffer.from([0])])), /1 bytes after entry 2/],
      [b64(Buffer.from([0x7f])), /127 entries announced/],
      [b64(Buffer.from([1, 0, 2, 1, 0])), /entry 0 not above the one before/],
      [b64(Buffer.from([1, 1, 0, 1, 0])), /entry 0 out of range/],
      [b64(Buffer.from([1, 1, 2, 0, 0])), /entry 0 out of range/],
      [b64(Buffer.from([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1])), /too long/],
      [
        b64(Buffer.from([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 2, 1, 0])),
        /out of range/,
      ],
    ];
    for (const [text, why] of cases) {
      assert.throws(
        () => unpack(text),
        (err: unknown) => err instanceof PendingDecodeError && why.test(err.message),
        String(text),
      );
    }
  });

  test('fuzzed input: a decode error or well-formed entries, nothing else', () => {
    const rnd = rng(11);
    const entries: Entry[] = Array.from({ length: 50 }, (_, i) => [
      1 + 3 * i,
      1 + i + (i % 5 === 0 ? 100 : 0),
      1 + (i % 3),
      1_765_000_000_000 + i,
    ]);
    const good = Buffer.from(pack(entries)!, 'base64');
    let errors = 0;
    for (let i = 0; i < 5_000; i++) {
      const b = Buffer.from(good);
      const k = rnd(3);
      let text: string;
      if (k === 0) {
        for (let j = 0; j <= rnd(3); j++) b[rnd(b.length)] = rnd(256);
        text = b.toString('base64');
      } else if (k === 1) {
        text = b.subarray(0, rnd(b.length)).toString('base64');
      } else {
        const s = b.toString('base64').split('');
        s[rnd(s.length)] = 'A+/=!'[rnd(5)]!;
        text = s.join('');
      }
      let got: Entry[];
      try {
        got = unpack(text);
      } catch (err) {
        assert.ok(err instanceof PendingDecodeError, String(err));
        errors++;
        continue;
      }
      let prev = 0;
      for (const [seq, cseq, d, t] of got) {
        assert.ok(seq > prev && Number.isSafeInteger(seq) && cseq >= 1 && d >= 1);
        assert.ok(Number.isSafeInteger(cseq) && Number.isSafeInteger(t));
        prev = seq;
      }
    }
    assert.ok(errors > 2_500, `${errors} decode errors`);
  });
});

describe('packed pending entries in the state file', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weft-packed-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const start = () =>
    startServer({
      host: '127.0.0.1',
      port: 0,
      httpPort: -1,
      meshPort: -1,
      dataDir: dir,
      logLevel: 'silent',
    });
  const file = () => stateFile(path.join(dir, 'streams', '$G', 'S', 'consumers'), 'C');

  /** A stream of 10 messages and durable C with 1–4 acked, 5–7 delivered and pending. */
  async function prepare(): Promise<void> {
    const s = await start();
    try {
      const nc = await connect({ port: s.port });
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'S', subjects: ['s.>'] });
      // Pending entries are redelivered ack_wait after a restart.
      await jsm.consumers.add('S', {
        durable_name: 'C',
        ack_policy: AckPolicy.Explicit,
        ack_wait: 3_000_000_000,
      });
      const js = nc.jetstream();
      for (let i = 1; i <= 10; i++) await js.publish('s.x', Buffer.from(`m${i}`));
      for (let i = 1; i <= 7; i++) {
        const m = await js.pull('S', 'C');
        if (i <= 4) assert.equal(await m.ackAck(), true);
      }
      await nc.close();
    } finally {
      await s.close();
    }
  }

  /** After a restart: pending 5–7 (redelivered first), then 8–10; acked stays acked. */
  async function resume(): Promise<void> {
    const s = await start();
    try {
      const nc = await connect({ port: s.port });
      const jsm = await nc.jetstreamManager();
      const info = await jsm.consumers.info('S', 'C');
      assert.equal(info.num_ack_pending, 3);
      assert.equal(info.ack_floor.stream_seq, 4);
      assert.equal(info.delivered.stream_seq, 7);
      const js = nc.jetstream();
      const seen: [number, number][] = [];
      await checkFor(async () => {
        const m = await js.pull('S', 'C', 500).catch(() => null);
        if (m !== null) {
          seen.push([m.seq, m.info.redeliveryCount]);
          m.ack();
        }
        return seen.length === 6;
      }, 15_000);
      assert.deepEqual(
        seen.sort((a, b) => a[0] - b[0]),
        [
          [5, 2],
          [6, 2],
          [7, 2],
          [8, 1],
          [9, 1],
          [10, 1],
        ],
      );
      await nc.close();
    } finally {
      await s.close();
    }
  }

  test('written packed, read back after a restart', async () => {
    await prepare();
    const on = parseCheckedJson(await readFile(file(), 'utf8'));
    assert.equal(on.pending, undefined);
    assert.deepEqual(
      unpack(on.packedPending).map((e) => e.slice(0, 3)),
      [
        [5, 5, 1],
        [6, 6, 1],
        [7, 7, 1],
      ],
    );
    await resume();
  });

  test('a state file of the tuples (Weft before the packing) still loads', async () => {
    await prepare();
    const { packedPending, startSeqs, ...head } = parseCheckedJson(await readFile(file(), 'utf8'));
    // The old writer's fields, in its order: the tuples before startSeqs.
    await writeFile(file(), checkedJson({ ...head, pending: unpack(packedPending), startSeqs }));
    await resume();
  });

  test('a packing damaged behind a valid checksum: out of service, a precise error', async () => {
    await prepare();
    const st = parseCheckedJson(await readFile(file(), 'utf8'));
    const bytes = Buffer.from(st.packedPending as string, 'base64');
    await writeFile(
      file(),
      checkedJson({ ...st, packedPending: bytes.subarray(0, bytes.length - 1).toString('base64') }),
    );
    const s = await start();
    try {
      const nc = await connect({ port: s.port });
      const jsm = await nc.jetstreamManager();
      await assert.rejects(
        jsm.consumers.add('S', { durable_name: 'C', ack_policy: AckPolicy.Explicit }),
        /consumer is offline: its state file C\/state\.json is damaged/i,
      );
      await nc.close();
      const damaged = s.node.jetstream!.account('$G')!.streams.get('S')!.consumers.damaged;
      assert.match(damaged.get('C')!, /C\/state\.json is damaged/);
    } finally {
      await s.close();
    }
    const again = parseCheckedJson(await readFile(file(), 'utf8'));
    assert.equal(
      again.packedPending,
      bytes.subarray(0, bytes.length - 1).toString('base64'),
      'left as it was',
    );
    // `weft stream check` reads the packing too, and names what is wrong.
    const c = spawnSync(process.execPath, [MAIN, 'stream', 'check', '--data-dir', dir], {
      encoding: 'utf8',
    });
    assert.equal(c.status, 1, c.stdout + c.stderr);
    assert.match(
      c.stdout + c.stderr,
      /consumer: consumers\/C\/state\.json: packedPending: \w+ of entry \d+ cut short/,
    );
  });
});
