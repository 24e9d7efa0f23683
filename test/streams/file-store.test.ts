/**
 * The file store beyond the shared contract (store-suite.ts): what is on
 * disk and what open does with it — torn tails cut, corruption reported,
 * dead segments deleted without bringing removed messages back, group
 * commit sharing fsyncs, and acked messages surviving kill -9.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { after, describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { CRC_JS_MAX, crc32, crc32After, crc32Table } from '../../src/streams/file-crc32.js';
import { QUARANTINE_FILE, readQuarantine } from '../../src/streams/file-quarantine.js';
import {
  checkRecord,
  encodeMsg,
  encodeMsgAt,
  recSeq,
  recType,
  T_MSG,
} from '../../src/streams/file-record.js';
import { type FileStore, openFileStore } from '../../src/streams/file-store.js';
import { MarkFile, readMark } from '../../src/streams/file-synced-mark.js';
import { createMemoryStore } from '../../src/streams/memory-store.js';
import { scanSegment } from '../../src/streams/segment-scan.js';
import type { StreamStore, SyncPolicy } from '../../src/streams/store.js';
import { checkFor } from '../helpers/poll.js';

const ALWAYS: SyncPolicy = { kind: 'always' };
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'weft-file-store-'));
  dirs.push(d);
  return d;
}

after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function segFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Makes the newest `bytes` of the log unsynced (the synced mark moved back,
 * `lastSeq` the last sequence before them), as if a crash came before their
 * fsync: only then may open take bad bytes there for a torn tail.
 */
function unsync(dir: string, bytes: number, lastSeq: number): void {
  const { mark } = readMark(dir);
  assert.ok(mark !== null, 'a closed store leaves a synced mark');
  const m = new MarkFile(dir);
  m.write({ ...mark, offset: mark.offset - bytes, lastSeq }, true);
  m.close();
}

async function fill(store: StreamStore, n: number, subject = (i: number) => `s.${i % 3}`) {
  for (let i = 1; i <= n; i++) await store.append(subject(i), null, Buffer.from(`m${i}`), i);
}

/** Every held message and the state, for comparing two stores. */
async function dump(store: StreamStore) {
  const msgs = [];
  for (let m = await store.next(0); m !== null; m = await store.next(m.seq + 1)) {
    msgs.push({ ...m, headers: m.headers?.toString('hex') ?? null, payload: m.payload.toString() });
  }
  return { state: store.state(), msgs };
}

describe('file store', () => {
  test('CRC-32 fallback agrees with zlib', () => {
    const b = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff));
    assert.equal(crc32Table(b), zlib.crc32(b) >>> 0);
    assert.equal(crc32Table(Buffer.from('123456789')), 0xcbf43926);
  });

  test('CRC-32 of every short range (JavaScript) and of longer ones (zlib) agree with zlib', () => {
    const b = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7919 + 13) & 0xff));
    for (let start = 0; start < 5; start++) {
      for (let end = start; end <= start + CRC_JS_MAX + 70; end++) {
        const want = zlib.crc32(b.subarray(start, end)) >>> 0;
        assert.equal(crc32Table(b, start, end), want, `table [${start}, ${end})`);
        assert.equal(crc32(b, start, end), want, `crc32 [${start}, ${end})`);
      }
    }
  });

  test("CRC-32 of a long range is @node-rs/crc32's (loaded on first use), equal to zlib's", () => {
    const b = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919 + 5) & 0xff));
    for (const [start, end] of [
      [0, CRC_JS_MAX + 1],
      [3, 1027],
      [1, 4096],
      [0, b.length],
    ] as const) {
      assert.equal(crc32(b, start, end), zlib.crc32(b.subarray(start, end)) >>> 0);
    }
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    assert.ok(
      loaded.some((f) => f.includes(`@node-rs${sep}crc32`)),
      'the native CRC is in use',
    );
  });

  test('CRC-32 continued over a second part (crc32After, crc32Table with a start) is that of both', () => {
    const b = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 7919 + 5) & 0xff));
    for (const cut of [0, 1, 31, 100, 350, 699, 700]) {
      for (const end of [cut, cut + 1, cut + CRC_JS_MAX, cut + CRC_JS_MAX + 1, 700]) {
        if (end > 700 || end < cut) continue;
        const want = zlib.crc32(b.subarray(0, end)) >>> 0;
        const head = crc32(b, 0, cut);
        assert.equal(
          crc32After(head, b.subarray(cut, end)),
          want,
          `after [0, ${cut}) [${cut}, ${end})`,
        );
        assert.equal(crc32Table(b, cut, end, head), want, `table from ${cut} to ${end}`);
      }
    }
  });

  test('MSG records from a payload range read back as from the payload, either side of 64 bytes', () => {
    for (const plen of [0, 1, 63, 64, 65, 129, 1000, 5000]) {
      for (const headers of [null, Buffer.from('NATS/1.0\r\nA: b\r\n\r\n')]) {
        const payload = Buffer.from(Array.from({ length: plen }, (_, i) => (i * 13 + plen) & 0xff));
        const src = Buffer.concat([Buffer.alloc(5, 0xaa), payload, Buffer.alloc(3, 0xbb)]);
        const subjLen = Buffer.byteLength('a.ü');
        const want = encodeMsg(7, 1234, 'a.ü', subjLen, headers, payload);
        const got = Buffer.alloc(want.length + 4, 0xcc);
        encodeMsgAt(got, 2, want.length, 7, 1234, 'a.ü', subjLen, headers, src, 5, 5 + plen);
        assert.ok(got.subarray(2, 2 + want.length).equals(want), `range, ${plen} bytes`);
        assert.equal(checkRecord(got, 2, got.length - 2), null, `checks, ${plen} bytes`);
        assert.deepEqual([got[0], got[1], got[got.length - 1]], [0xcc, 0xcc, 0xcc]);
        assert.equal(checkRecord(want, 0, want.length), null);
      }
    }
  });

  test('reopen keeps messages, headers, removals and lastSeq across segments', async () => {
    const dir = await tempDir();
    let s = await openFileStore(dir, { sync: ALWAYS, segmentBytes: 512 });
    await s.append('a.b', Buffer.from('NATS/1.0\r\n\r\n'), Buffer.from('with headers'), 5);
    await s.append('a.c', Buffer.alloc(0), Buffer.alloc(0), 6);
    await fill(s, 40);
    await s.remove(3);
    const before = await dump(s);
    assert.ok(segFiles(dir).length > 2, 'rolled into several segments');
    await s.close();
    s = await openFileStore(dir, { sync: ALWAYS, segmentBytes: 512 });
    assert.deepEqual(await dump(s), before);
    assert.equal(s.recovered.truncatedBytes, 0);
    assert.equal((await s.get(2))!.headers!.length, 0, 'an empty header block is not null');
    assert.equal((await s.get(3))!, null);
    await s.close();
  });

  test('a torn tail (record cut short) is truncated; everything before survives', async () => {
    const dir = await tempDir();
    let s = await openFileStore(dir, { sync: ALWAYS });
    await fill(s, 10);
    await s.close();
    const [file] = segFiles(dir);
    const size = fs.statSync(file!).size;
    unsync(dir, 32 + 3 + 3, 9); // the last record (subject s.1, payload m10) was never synced
    fs.truncateSync(file!, size - 3);
    s = await openFileStore(dir, { sync: ALWAYS });
    assert.equal(s.recovered.damage.ranges, 0);
    assert.equal(s.state().lastSeq, 9);
    assert.equal(s.state().messages, 9);
    assert.ok(s.recovered.truncatedBytes > 0);
    assert.equal(s.recovered.truncatedFile, file);
    assert.match(s.recovered.truncatedReason!, /short record/);
    // The log goes on from there.
    assert.equal((await s.append('x', null, Buffer.from('after'))).seq, 10);
    await s.close();
    s = await openFileStore(dir, { sync: ALWAYS });
    assert.equal((await s.get(10))!.payload.toString(), 'after');
    assert.equal(s.recovered.truncatedBytes, 0);
    await s.close();
  });

  test('garbage after the last record is truncated; zeros there are fill, the end of the log', async () => {
    for (const tail of [Buffer.alloc(4096), Buffer.from('garbage that is not a record at all')]) {
      const dir = await tempDir();
      let s = await openFileStore(dir, { sync: ALWAYS });
      await fill(s, 5);
      await s.close();
      fs.appendFileSync(segFiles(dir)[0]!, tail);
      s = await openFileStore(dir, { sync: ALWAYS });
      // Zeros past the synced mark are space written ahead (file-fill.ts).
      const zeros = tail[0] === 0;
      assert.equal(s.recovered.truncatedBytes, zeros ? 0 : tail.length);
      assert.equal(s.recovered.damage.ranges, 0);
      assert.equal(s.state().messages, 5);
      assert.equal((await s.append('x', null, Buffer.from('after'))).seq, 6);
      await s.close();
      s = await openFileStore(dir, { sync: ALWAYS });
      assert.equal((await s.get(6))?.payload.toString(), 'after');
      assert.equal(s.state().messages, 6);
      await s.close();
    }
  });

  test('a synced record cut short is damage: quarantined, reported, its sequence not reused', async () => {
    const dir = await tempDir();
    let s = await openFileStore(dir, { sync: ALWAYS });
    await fill(s, 10);
    await s.close();
    const [file] = segFiles(dir);
    const size = fs.statSync(file!).size;
    fs.truncateSync(file!, size - 3);
    s = await openFileStore(dir, { sync: ALWAYS });
    assert.equal(s.recovered.truncatedBytes, 0, 'not taken for a torn tail');
    const d = s.recovered.damage;
    assert.equal(d.ranges, 2, 'the record left, and the bytes that went missing');
    assert.deepEqual(
      d.list.map((r) => [r.file, r.offset, r.length, r.seqFrom, r.seqTo]),
      [
        ['00000000000000000001.seg', size - 38, 35, 10, 10],
        ['00000000000000000001.seg', size - 3, 3, 10, 10],
      ],
    );
    assert.match(d.list[0]!.why, /short record/);
    assert.match(d.list[1]!.why, /missing/);
    assert.deepEqual([s.state().messages, s.state().lastSeq], [9, 10]);
    assert.equal((await s.append('x', null, Buffer.from('after'))).seq, 11);
    await s.close();
    const q = readQuarantine(join(dir, QUARANTINE_FILE));
    assert.equal(q.problem, null);
    assert.equal(q.entries.length, 2);
    // Reopened: the same damage is found and reported again, not copied again.
    s = await openFileStore(dir, { sync: ALWAYS });
    assert.equal(s.recovered.damage.ranges, 1);
    assert.equal(s.recovered.damage.list[0]!.quarantined, true);
    assert.equal((await s.get(11))!.payload.toString(), 'after');
    await s.close();
    assert.equal(readQuarantine(join(dir, QUARANTINE_FILE)).entries.length, 2);
  });

  test('a flipped byte in a record is damage: reported naming the file, the rest readable', async () => {
    for (const segmentBytes of [undefined, 256]) {
      const dir = await tempDir();
      let s = await openFileStore(dir, { sync: ALWAYS, segmentBytes });
      await fill(s, 20);
      await s.close();
      const file = segFiles(dir)[0]!;
      const buf = fs.readFileSync(file);
      buf[32 + 35] ^= 0x01; // the payload of the first MSG record (after the 32-byte META)
      fs.writeFileSync(file, buf);
      s = await openFileStore(dir, { sync: ALWAYS, segmentBytes });
      const d = s.recovered.damage;
      assert.equal(d.ranges, 1);
      assert.deepEqual(d.list[0], {
        file: '00000000000000000001.seg',
        offset: 32,
        length: 32 + 3 + 2,
        why: 'checksum mismatch',
        seqFrom: 1,
        seqTo: 1,
        quarantined: true,
      });
      assert.equal(await s.get(1), null);
      for (let i = 2; i <= 20; i++) assert.equal((await s.get(i))!.payload.toString(), `m${i}`);
      assert.equal((await s.append('x', null, Buffer.from('more'))).seq, 21);
      await s.close();
      // Nothing was cut: the damage is still there to inspect, and in quarantine.
      assert.ok(fs.readFileSync(file).subarray(0, buf.length).equals(buf));
      const q = readQuarantine(join(dir, QUARANTINE_FILE));
      assert.deepEqual(
        q.entries.map((e) => [e.kind, e.segName, e.offset, e.length, e.seqFrom, e.seqTo]),
        [['damage', 1, 32, 37, 1, 1]],
      );
    }
  });

  test('the last record of the newest segment, synced then flipped, is damage, not a torn tail', async () => {
    const dir = await tempDir();
    let s = await openFileStore(dir, { sync: ALWAYS });
    await fill(s, 5);
    await s.close();
    const file = segFiles(dir)[0]!;
    const buf = fs.readFileSync(file);
    buf[buf.length - 1] ^= 0x40;
    fs.writeFileSync(file, buf);
    s = await openFileStore(dir, { sync: ALWAYS });
    assert.equal(s.recovered.truncatedBytes, 0);
    assert.equal(s.recovered.damage.ranges, 1);
    assert.deepEqual(
      [s.recovered.damage.list[0]!.seqFrom, s.recovered.damage.list[0]!.seqTo],
      [5, 5],
    );
    assert.deepEqual([s.state().messages, s.state().lastSeq], [4, 5]);
    assert.equal((await s.append('x', null, Buffer.from('six'))).seq, 6);
    await s.close();
    s = await openFileStore(dir, { sync: ALWAYS });
    assert.equal((await s.get(6))!.payload.toString(), 'six');
    assert.equal((await s.get(4))!.payload.toString(), 'm4');
    await s.close();
  });

  test('four bytes flipped mid-segment: every other record survives, and appends go on', async () => {
    const dir = await tempDir();
    let s = await openFileStore(dir, { sync: ALWAYS });
    await fill(s, 100);
    await s.close();
    const file = segFiles(dir)[0]!;
    const buf = fs.readFileSync(file);
    const at = Math.floor(buf.length / 2);
    for (let i = 0; i < 4; i++) buf[at + i] ^= 0xff;
    fs.writeFileSync(file, buf);
    s = await openFileStore(dir, { sync: ALWAYS });
    const d = s.recovered.damage;
    assert.ok(d.ranges >= 1 && d.ranges <= 2, `${d.ranges} ranges`);
    const lost = new Set<number>();
    for (const r of d.list) for (let q = r.seqFrom!; q <= r.seqTo!; q++) lost.add(q);
    assert.ok(lost.size >= 1 && lost.size <= 2, `lost ${[...lost]}`);
    for (let i = 1; i <= 100; i++) {
      const m = await s.get(i);
      if (lost.has(i)) assert.equal(m, null);
      else assert.equal(m!.payload.toString(), `m${i}`);
    }
    assert.equal((await s.append('x', null, Buffer.from('more'))).seq, 101);
    await s.close();
  });

  test('a full quarantine: damage still reported, its segment kept from compaction', async () => {
    const dir = await tempDir();
    const opts = { sync: ALWAYS, segmentBytes: 256, quarantineBytes: 60 };
    let s = await openFileStore(dir, opts);
    await fill(s, 30);
    await s.close();
    const files = segFiles(dir);
    assert.ok(files.length >= 4, `${files.length} segments`);
    const buf = fs.readFileSync(files[1]!);
    buf[32 + 36] ^= 0x10; // the first MSG record of the second segment
    fs.writeFileSync(files[1]!, buf);
    s = await openFileStore(dir, opts);
    const d = s.recovered.damage;
    assert.equal(d.ranges, 1);
    assert.equal(d.list[0]!.quarantined, false);
    assert.equal(d.notKeptBytes, d.list[0]!.length);
    assert.equal(d.quarantineBytes, 0, 'nothing written past the bound');
    // Every message purged: the other old segments go, the damaged one stays.
    await s.purge();
    await checkFor(() => !fs.existsSync(files[0]!) && !fs.existsSync(files[2]!));
    assert.ok(fs.existsSync(files[1]!), 'the only copy of the damaged bytes is kept');
    await s.close();
  });

  test('a record damaged after open is contained on read: reported, quarantined, skipped', async () => {
    const dir = await tempDir();
    const seen: string[] = [];
    const s = await openFileStore(dir, {
      sync: ALWAYS,
      onDamage: (r) => seen.push(`${r.file}@${r.offset}:${r.seqFrom}`),
    });
    await fill(s, 6);
    const file = segFiles(dir)[0]!;
    const fd = fs.openSync(file, 'r+');
    // Where the records end (zeros written ahead follow them: file-fill.ts).
    const size = scanSegment(
      fd,
      fs.fstatSync(fd).size,
      () => {},
      () => {},
    ).good;
    fs.writeSync(fd, Buffer.from('X'), 0, 1, size - 1); // seq 6, subject s.0
    fs.closeSync(fd);
    // The newest on s.0 is damaged: the one before it is the newest readable.
    assert.equal((await s.lastBySubject('s.0'))!.seq, 3);
    assert.deepEqual(seen, [`00000000000000000001.seg@${size - 37}:6`]);
    assert.equal(await s.get(6), null, 'reads as deleted');
    assert.equal(s.stats.damagedReads, 1);
    assert.equal(s.recovered.damage.ranges, 1);
    assert.equal(s.recovered.damage.list[0]!.quarantined, true);
    assert.equal(s.state().messages, 5);
    assert.equal((await s.next(5))!.seq, 5);
    assert.equal(await s.next(6), null);
    assert.equal((await s.append('x', null, Buffer.from('seven'))).seq, 7);
    await s.close();
    const q = readQuarantine(join(dir, QUARANTINE_FILE));
    assert.deepEqual(
      q.entries.map((e) => [e.kind, e.offset, e.length, e.seqFrom, e.seqTo]),
      [['damage', size - 37, 37, 6, 6]],
    );
  });

  test('reads from a read-ahead window are views that stay valid; a damaged record there is contained', async () => {
    const dir = await tempDir();
    const s = await openFileStore(dir, { sync: ALWAYS });
    const n = 3000; // ~400 KB: more windows than READ_WINDOWS, each replaced while its views live on
    const body = (i: number) => Buffer.from(`m${String(i).padStart(99, '.')}`);
    const appends = [];
    for (let i = 1; i <= n; i++) appends.push(s.append(`s.${i % 3}`, null, body(i), i));
    await Promise.all(appends);
    assert.equal(segFiles(dir).length, 1);
    const fd = fs.openSync(segFiles(dir)[0]!, 'r+');
    // Where each message's record starts, by sequence.
    const at = new Map<number, number>();
    scanSegment(
      fd,
      fs.fstatSync(fd).size,
      (buf, rel, pos) => {
        if (recType(buf, rel) === T_MSG) at.set(recSeq(buf, rel), pos);
      },
      () => {},
    );
    assert.equal(at.size, n);
    // The last payload byte of seq 1500 (its record ends where seq 1501's begins).
    fs.writeSync(fd, Buffer.from('X'), 0, 1, at.get(1501)! - 1);
    fs.closeSync(fd);
    const hits = s.stats.readHits;
    const kept = [];
    for (let m = await s.next(1); m !== null; m = await s.next(m.seq + 1)) kept.push(m);
    assert.ok(s.stats.readHits - hits > n - 50, `read from windows: ${s.stats.readHits - hits}`);
    assert.equal(s.stats.damagedReads, 1);
    assert.deepEqual(
      kept.map((m) => m.seq),
      Array.from({ length: n }, (_, i) => i + 1).filter((q) => q !== 1500),
    );
    for (const m of kept) assert.ok(m.payload.equals(body(m.seq)), `seq ${m.seq}`);
    await s.close();
  });

  test('deletes and purges (subject, wildcard, keep, upToSeq) survive reopen', async () => {
    const dir = await tempDir();
    let s = await openFileStore(dir, { sync: ALWAYS, segmentBytes: 400 });
    await fill(s, 30, (i) => `p.${i % 3}.${i % 2}`);
    assert.equal(await s.remove(1), true);
    assert.equal(await s.remove(1), false);
    await s.purge({ subject: 'p.0.>', keep: 2 });
    await s.purge({ subject: 'p.1.1', upToSeq: 20 });
    await s.purge({ upToSeq: 5 });
    const before = await dump(s);
    await s.close();
    s = await openFileStore(dir, { sync: ALWAYS, segmentBytes: 400 });
    assert.deepEqual(await dump(s), before);
    assert.equal(await s.purge(), before.state.messages);
    await s.close();
    s = await openFileStore(dir, { sync: ALWAYS, segmentBytes: 400 });
    assert.equal(s.state().messages, 0);
    assert.equal(s.state().lastSeq, 30);
    assert.equal(s.state().firstSeq, 31);
    await s.close();
  });

  test('segments roll at segmentBytes and dead ones are deleted', async () => {
    const dir = await tempDir();
    let s = await openFileStore(dir, { sync: ALWAYS, segmentBytes: 1024 });
    for (let i = 0; i < 100; i++) await s.append('roll', null, Buffer.alloc(100, i));
    const files = segFiles(dir);
    assert.ok(files.length >= 10, `${files.length} segments`);
    for (const f of files) assert.ok(fs.statSync(f).size <= 1024, f);
    assert.match(files[0]!, /0{19}1\.seg$/);
    await s.purge({ upToSeq: 91 });
    // The counter moves when the writer hears of the unlink, just after the file is gone.
    await checkFor(() => segFiles(dir).length <= 3 && s.stats.segmentsDeleted >= files.length - 3);
    await s.close();
    s = await openFileStore(dir, { sync: ALWAYS, segmentBytes: 1024 });
    assert.equal(s.state().firstSeq, 91);
    assert.equal(s.state().messages, 10);
    assert.equal((await s.get(95))!.payload[0], 94);
    // Purge everything: only the active segment stays, and lastSeq with it.
    await s.purge();
    for (let i = 0; i < 20; i++) await s.append('roll', null, Buffer.alloc(100));
    await s.purge();
    await checkFor(() => segFiles(dir).length === 1);
    await s.close();
    s = await openFileStore(dir, { sync: ALWAYS, segmentBytes: 1024 });
    assert.equal(s.state().lastSeq, 120);
    assert.equal(s.state().messages, 0);
    await s.close();
  });

  test('compaction keeps tombstones an older segment still needs', async () => {
    // Random operations on tiny segments, checked against the memory store
    // after every reopen: a deleted segment must never bring a message back.
    const dir = await tempDir();
    const opts = { sync: ALWAYS, segmentBytes: 300 };
    let s: FileStore = await openFileStore(dir, opts);
    const model = createMemoryStore();
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 12; round++) {
      for (let k = 0; k < 60; k++) {
        const op = rnd(10);
        if (op < 6) {
          const subj = `r.${rnd(5)}`;
          const body = Buffer.from(`b${round}.${k}`);
          await Promise.all([s.append(subj, null, body, k), model.append(subj, null, body, k)]);
        } else if (op < 8) {
          const seq = model.state().firstSeq + rnd(8);
          assert.equal(await s.remove(seq), await model.remove(seq));
        } else {
          const p = [
            { subject: `r.${rnd(5)}`, keep: rnd(3) },
            { subject: 'r.*', upToSeq: model.state().firstSeq + rnd(10) },
          ][rnd(2)]!;
          assert.equal(await s.purge(p), await model.purge(p));
        }
      }
      await s.close();
      s = await openFileStore(dir, opts);
      assert.deepEqual(await dump(s), await dump(model), `round ${round}`);
    }
    assert.ok(s.segmentFiles().length < 40, `${s.segmentFiles().length} segments left`);
    await s.close();
  });

  test('group commit: 64 concurrent appends share fsyncs and resolve in order', async () => {
    const dir = await tempDir();
    const s = await openFileStore(dir, { sync: ALWAYS });
    const before = s.stats.fsyncs;
    const order: number[] = [];
    const all = Array.from({ length: 64 }, (_, i) =>
      s.append('gc', null, Buffer.from(String(i))).then((m) => order.push(m.seq)),
    );
    await Promise.all(all);
    const used = s.stats.fsyncs - before;
    assert.ok(used < 64 / 4, `${used} fsyncs for 64 appends`);
    assert.deepEqual(
      order,
      Array.from({ length: 64 }, (_, i) => i + 1),
    );
    assert.equal(s.stats.maxBatch, 64);
    await s.close();
  });

  test('a read of an append not yet durable waits for it', async () => {
    const dir = await tempDir();
    const s = await openFileStore(dir, { sync: ALWAYS });
    const p = s.append('w', null, Buffer.from('pending'));
    const [m, got, nx] = await Promise.all([p, s.get(1), s.next(1, 'w')]);
    assert.equal(got!.payload.toString(), 'pending');
    assert.equal(nx!.seq, m.seq);
    await s.close();
  });

  test('interval policy: appends resolve before fsync; close flushes', async () => {
    const dir = await tempDir();
    let s = await openFileStore(dir, { sync: { kind: 'interval', intervalMs: 50 } });
    await Promise.all(Array.from({ length: 100 }, () => s.append('i', null, Buffer.from('x'))));
    const synced = s.stats.fsyncs;
    assert.ok(synced < 5, `${synced}`);
    await checkFor(() => s.stats.fsyncs > synced, 2000);
    await s.close();
    s = await openFileStore(dir, { sync: ALWAYS });
    assert.equal(s.state().messages, 100);
    await s.close();
  });

  test('errors: too large, closed, opened twice', async () => {
    const dir = await tempDir();
    const s = await openFileStore(dir, { sync: ALWAYS, maxMsgSize: 10 });
    await assert.rejects(s.append('big', null, Buffer.alloc(11)), { code: 'too_large' });
    await assert.rejects(openFileStore(dir, { sync: ALWAYS }), { code: 'io' });
    await s.close();
    await assert.rejects(s.append('x', null, Buffer.alloc(1)), { code: 'closed' });
    assert.throws(() => s.state(), { code: 'closed' });
    await (await openFileStore(dir, { sync: ALWAYS })).close();
  });

  test('skip writes a META record; a torn one is cut, a whole one survives a torn append', async () => {
    const dir = await tempDir();
    let s = await openFileStore(dir, { sync: ALWAYS });
    await fill(s, 3);
    await s.skip(10);
    assert.equal(s.stats.skips, 1);
    await s.skip(5); // a no-op writes nothing
    assert.equal(s.stats.skips, 1);
    await s.close();
    const [file] = segFiles(dir);
    const tail = fs.readFileSync(file!).subarray(-32);
    assert.deepEqual([tail.readUInt32LE(0), tail[8], tail.readDoubleLE(16)], [32, 4, 9]);
    // Cut inside the skip record: it was never acknowledged, so lastSeq falls back.
    unsync(dir, 32, 3);
    fs.truncateSync(file!, fs.statSync(file!).size - 3);
    s = await openFileStore(dir, { sync: ALWAYS });
    assert.equal(s.recovered.truncatedBytes, 29);
    assert.equal(s.recovered.truncatedReason, 'short header (29 bytes)');
    assert.deepEqual([s.state().lastSeq, s.state().messages], [3, 3]);
    await s.skip(10);
    assert.equal((await s.append('x', null, Buffer.from('ten'))).seq, 10);
    await s.close();
    // Cut inside the append after it: the skip stays, and the append is gone.
    unsync(dir, 32 + 1 + 3, 9);
    fs.truncateSync(file!, fs.statSync(file!).size - 3);
    s = await openFileStore(dir, { sync: ALWAYS });
    assert.ok(s.recovered.truncatedBytes > 0);
    assert.deepEqual([s.state().firstSeq, s.state().lastSeq, s.state().messages], [1, 9, 3]);
    assert.equal((await s.append('x', null, Buffer.from('ten again'))).seq, 10);
    await s.close();
  });

  test('skips survive segment rolls and compaction of the segment that holds them', async () => {
    const dir = await tempDir();
    const opts = { sync: ALWAYS, segmentBytes: 300 };
    let s = await openFileStore(dir, opts);
    await fill(s, 3);
    await s.skip(1000);
    for (let i = 0; i < 20; i++) await s.append('roll', null, Buffer.alloc(60, i));
    // Everything before the rolls is removed: the skip's segment can go.
    await s.purge({ upToSeq: 1010 });
    await checkFor(() => !fs.existsSync(join(dir, '00000000000000000001.seg')));
    await s.close();
    s = await openFileStore(dir, opts);
    assert.deepEqual([s.state().firstSeq, s.state().lastSeq, s.state().messages], [1010, 1019, 10]);
    await s.purge();
    await s.skip(5000);
    await s.close();
    s = await openFileStore(dir, opts);
    assert.deepEqual([s.state().firstSeq, s.state().lastSeq, s.state().messages], [5000, 4999, 0]);
    await s.close();
  });

  test('every acked append survives kill -9', async () => {
    const dir = await tempDir();
    const storeUrl = new URL('../../src/streams/file-store.js', import.meta.url).href;
    const script = `
      import { openFileStore } from ${JSON.stringify(storeUrl)};
      const s = await openFileStore(${JSON.stringify(dir)}, { sync: { kind: 'always' } });
      const run = async (w) => {
        for (;;) {
          const m = await s.append('k.' + w, null, Buffer.alloc(200, w));
          process.stdout.write(m.seq + '\\n');
        }
      };
      for (let w = 0; w < 16; w++) run(w);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await checkFor(() => out.split('\n').length > 300, 10_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const acked = out
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
    const s = await openFileStore(dir, { sync: ALWAYS });
    for (const seq of acked)
      assert.ok(s.state().lastSeq >= seq && (await s.get(seq)) !== null, `${seq}`);
    await s.close();
  });

  test('every acked skip and append survives kill -9', async () => {
    const dir = await tempDir();
    const storeUrl = new URL('../../src/streams/file-store.js', import.meta.url).href;
    // Each writer skips ahead by a few sequences, then appends: acked skips
    // must keep lastSeq up, acked appends must be held.
    const script = `
      import { openFileStore } from ${JSON.stringify(storeUrl)};
      const s = await openFileStore(${JSON.stringify(dir)}, {
        sync: { kind: 'always' }, segmentBytes: 4096,
      });
      const run = async (w) => {
        for (let i = 0; ; i++) {
          const to = s.state().lastSeq + 2 + ((i * 7 + w) % 5);
          await s.skip(to);
          process.stdout.write('s ' + to + '\\n');
          const m = await s.append('k.' + w, null, Buffer.alloc(100, w));
          process.stdout.write('a ' + m.seq + '\\n');
        }
      };
      for (let w = 0; w < 8; w++) run(w);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await checkFor(() => out.split('\n').length > 400, 10_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const lines = out.split('\n').filter((l) => /^[sa] \d+$/.test(l));
    const appended = lines.filter((l) => l[0] === 'a').map((l) => Number(l.slice(2)));
    const skipped = lines.filter((l) => l[0] === 's').map((l) => Number(l.slice(2)));
    const s = await openFileStore(dir, { sync: ALWAYS, segmentBytes: 4096 });
    const st = s.state();
    assert.ok(st.lastSeq >= Math.max(...skipped) - 1, `lastSeq ${st.lastSeq}`);
    assert.ok(st.lastSeq >= Math.max(...appended), `lastSeq ${st.lastSeq}`);
    for (const seq of appended) assert.ok((await s.get(seq)) !== null, `${seq}`);
    // Only appends hold sequences; every skipped one stays empty.
    let held = 0;
    for (let m = await s.next(0); m !== null; m = await s.next(m.seq + 1)) held++;
    assert.equal(held, st.messages);
    assert.ok(held >= appended.length && held < st.lastSeq, `${held} held of ${st.lastSeq}`);
    await s.close();
  });
});
