/**
 * Zero-fill ahead of the writer (file-fill.ts) and what readers make of a
 * zero tail: at open after a clean close and after a crash (the files
 * copied while the store runs: in one process the page cache is the disk)
 * it is the end of the log, neither torn nor damage; a torn record before
 * zeros is a torn tail; zeros where the synced mark says records are is
 * damage; a roll cuts the fill so sealed segments hold only records; sizes
 * the store counts are the data's; a fill that fails on a full disk fails
 * no publish.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FILL_BYTES, FILL_MIN_BYTES, FILL_ROUND_BYTES } from '../../src/streams/file-fill.js';
import { type FileStore, openFileStore } from '../../src/streams/file-store.js';
import { readMark } from '../../src/streams/file-synced-mark.js';
import { scanSegment } from '../../src/streams/segment-scan.js';
import { checkFor } from '../helpers/poll.js';
import { FaultOps, sysError } from './fault-ops.js';

const FILL = 16 * 1024;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(join(tmpdir(), 'weft-fill-'));
  dirs.push(d);
  return d;
}

const segFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, f));

/** The end of the last valid record and the bad ranges of a segment file. */
function scan(file: string): { good: number; bad: number; size: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    return {
      ...scanSegment(
        fd,
        size,
        () => {},
        () => {},
      ),
      size,
    };
  } finally {
    fs.closeSync(fd);
  }
}

async function fill(s: FileStore, from: number, to: number): Promise<void> {
  const acks: Promise<unknown>[] = [];
  for (let i = from; i <= to; i++) {
    acks.push(s.append(`f.${i % 7}`, null, Buffer.from(`payload ${i}`), 1_700_000_000_000 + i));
  }
  await Promise.all(acks);
}

async function expectAll(s: FileStore, n: number): Promise<void> {
  assert.equal(s.state().messages, n);
  for (let i = 1; i <= n; i++) {
    const m = await s.get(i);
    assert.equal(m?.payload.toString(), `payload ${i}`, `message ${i}`);
  }
}

const open = (dir: string, extra: object = {}): Promise<FileStore> =>
  openFileStore(dir, { sync: { kind: 'always' }, fillBytes: FILL, ...extra });

/**
 * The files of a store holding messages 1..n as a kill -9 leaves them (the
 * page cache survives it): copied while it is open, fill and all. Returns
 * the copy, its segment, where its records end and its size.
 */
async function crashCopy(
  n: number,
): Promise<{ dir: string; seg: string; good: number; size: number }> {
  const live = tmp();
  const s = await open(live);
  await fill(s, 1, n);
  // The synced mark reaches the last round within MARK_WRITE_MS: the crash
  // comes after that (file-synced-mark.ts).
  await checkFor(() => readMark(live).mark?.lastSeq === n);
  const dir = tmp();
  fs.cpSync(live, dir, { recursive: true });
  await s.close();
  const [seg] = segFiles(dir);
  const { good, size } = scan(seg!);
  return { dir, seg: seg!, good, size };
}

test('a zero tail is the end of the log at open; a clean close cuts it', async () => {
  const dir = tmp();
  const s = await open(dir);
  await fill(s, 1, 50);
  assert.ok(s.stats.fills >= 1);
  assert.ok(s.stats.fillBytesWritten >= FILL);
  const bytes = s.state().bytes;
  const [seg] = segFiles(dir);
  const running = scan(seg!);
  assert.ok(running.size > running.good, 'while open the file holds zeros past its records');
  assert.equal(running.bad, 1, 'which a plain scan sees as one bad range');
  await s.close();
  const closed = scan(seg!);
  assert.deepEqual([closed.size, closed.bad], [running.good, 0], 'close cut the fill');

  // A zero tail after a clean close (a cut that did not happen): fill, not torn.
  fs.appendFileSync(seg!, Buffer.alloc(3 * FILL));
  const r = await open(dir);
  assert.equal(r.recovered.truncatedBytes, 0);
  assert.equal(r.recovered.damage.ranges, 0);
  assert.equal(r.state().bytes, bytes, 'bytes count data, not fill');
  await expectAll(r, 50);
  // Written into the fill, read back after another open.
  await fill(r, 51, 80);
  await r.close();
  const again = await open(dir);
  assert.equal(again.recovered.truncatedBytes, 0);
  assert.equal(again.recovered.damage.ranges, 0);
  await expectAll(again, 80);
  await again.close();
});

test('after a crash every acknowledged message is there and the zero tail is no damage', async () => {
  const { dir: copy, good, size } = await crashCopy(200);
  assert.ok(size > good, 'the crash left a zero tail');
  const r = await open(copy);
  assert.equal(r.recovered.truncatedBytes, 0);
  assert.equal(r.recovered.damage.ranges, 0);
  await expectAll(r, 200);
  await r.close();
});

test('a torn record before the zeros is a torn tail, cut at its start', async () => {
  const { dir, seg, good, size } = await crashCopy(20);
  assert.ok(size > good + 40);
  // A record cut short inside the fill: a header saying 200 bytes, 40 present.
  const torn = Buffer.alloc(40, 0xab);
  torn.writeUInt32LE(200, 0);
  const fd = fs.openSync(seg, 'r+');
  fs.writeSync(fd, torn, 0, torn.length, good);
  fs.closeSync(fd);
  assert.equal(fs.statSync(seg).size, size);

  const r = await open(dir);
  assert.equal(r.recovered.truncatedBytes, 200, 'the torn record, as far as its length says');
  assert.equal(r.recovered.damage.ranges, 0);
  assert.equal(fs.statSync(seg).size, good, 'cut at the torn record');
  await expectAll(r, 20);
  await fill(r, 21, 30);
  await r.close();
  const again = await open(dir);
  assert.equal(again.recovered.truncatedBytes, 0);
  await expectAll(again, 30);
  await again.close();
});

test('zeros where the synced mark says records are is damage, not fill', async () => {
  const { dir, seg, good, size } = await crashCopy(20);
  assert.ok(size > good);
  // Zero the last two records (both synced, as the mark says).
  const starts: number[] = [];
  const rfd = fs.openSync(seg, 'r');
  scanSegment(
    rfd,
    good,
    (_b, _r, pos) => starts.push(pos),
    () => {},
  );
  fs.closeSync(rfd);
  assert.equal(starts.length, 21, 'META and 20 messages');
  const from = starts[19]!;
  const fd = fs.openSync(seg, 'r+');
  fs.writeSync(fd, Buffer.alloc(good - from), 0, good - from, from);
  fs.closeSync(fd);

  const r = await open(dir);
  assert.equal(r.recovered.truncatedBytes, 0, 'nothing synced is taken for a torn write');
  assert.equal(r.recovered.damage.ranges, 1);
  const d = r.recovered.damage.list[0]!;
  assert.equal(d.offset + d.length, good, 'the damage ends where the synced records did');
  assert.equal(d.offset, from);
  assert.equal(d.seqFrom, 19);
  assert.equal(d.seqTo, 20, 'the lost sequences are reported');
  assert.equal(r.state().messages, 18);
  assert.equal(r.state().lastSeq, 20, 'sequences are not handed out again');
  await r.close();
});

test('a roll cuts the fill: sealed segments hold their records and nothing else', async () => {
  const dir = tmp();
  const s = await open(dir, { segmentBytes: 48 * 1024 });
  // In rounds: the writer fills between them.
  for (let i = 0; i < 3000; i += 100) await fill(s, i + 1, i + 100);
  assert.ok(s.stats.segmentsCreated >= 3);
  assert.ok(s.stats.fillBytesCut > 0);
  const files = segFiles(dir);
  for (const f of files.slice(0, -1)) {
    const { good, bad, size } = scan(f);
    assert.equal(bad, 0, `${f}: no bad range`);
    assert.equal(size, good, `${f}: its size is its data`);
  }
  await s.close();
  const r = await open(dir, { segmentBytes: 48 * 1024 });
  assert.equal(r.recovered.truncatedBytes, 0);
  assert.equal(r.recovered.damage.ranges, 0);
  await expectAll(r, 3000);
  await r.close();
});

test('stats and state count data: the same as a store that does not fill', async () => {
  const a = await open(tmp());
  const b = await open(tmp(), { fillBytes: 0 });
  await fill(a, 1, 100);
  await fill(b, 1, 100);
  assert.deepEqual(a.state(), b.state());
  assert.equal(a.stats.bytesWritten, b.stats.bytesWritten, 'bytesWritten counts records only');
  assert.ok(a.stats.fills > 0);
  assert.equal(b.stats.fills, 0);
  assert.equal(a.stats.fillFailures, 0);
  await a.close();
  await b.close();
});

test('a store holding little keeps little fill: FILL_MIN_BYTES, not FILL_BYTES', async () => {
  const dir = tmp();
  const s = await openFileStore(dir, { sync: { kind: 'always' } });
  await fill(s, 1, 10);
  assert.equal(s.stats.fillBytesWritten, FILL_MIN_BYTES);
  assert.ok(FILL_MIN_BYTES < FILL_BYTES);
  assert.ok(
    fs.statSync(segFiles(dir)[0]!).size < FILL_MIN_BYTES + 1024,
    'the file: its records and one small fill',
  );
  await s.close();
});

test('sync interval does not fill', async () => {
  const s = await openFileStore(tmp(), { sync: { kind: 'interval', intervalMs: 20 } });
  await fill(s, 1, 10);
  assert.equal(s.stats.fills, 0);
  await s.close();
});

/** A disk with room for records but not for the fill: zero writes of FILL bytes fail half way. */
class NoRoomToFill extends FaultOps {
  override async writev(fd: number, bufs: Buffer[], pos: number): Promise<number> {
    const b = bufs[0]!;
    if (bufs.length === 1 && b.length === FILL && b.every((x) => x === 0)) {
      await super.writev(fd, [b.subarray(0, FILL / 2)], pos);
      throw sysError('ENOSPC', 'write');
    }
    return super.writev(fd, bufs, pos);
  }
}

test('a fill that fails on a full disk fails no publish and loses nothing', async () => {
  const dir = tmp();
  const s = await open(dir, { fileOps: new NoRoomToFill() });
  await fill(s, 1, 300);
  assert.equal(s.stats.fillFailures, 1, 'tried once for the segment, then not again');
  assert.match(s.stats.lastFillError ?? '', /ENOSPC/);
  assert.equal(s.stats.writeFailures, 0);
  assert.equal(s.stats.appendsFailed, 0);
  await s.close();
  const r = await open(dir, { fillBytes: 0 });
  assert.equal(r.recovered.truncatedBytes, 0);
  assert.equal(r.recovered.damage.ranges, 0);
  await expectAll(r, 300);
  await r.close();
});

/** `rounds` rounds of `n` records of `size` bytes each, from sequence `from`. */
async function rounds(s: FileStore, from: number, rounds: number, n: number, size: number) {
  for (let r = 0; r < rounds; r++) {
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const seq = from + r * n + i;
      acks.push(s.append('big', null, Buffer.alloc(size, seq & 0xff), 1_700_000_000_000 + seq));
    }
    await Promise.all(acks);
  }
}

test('large rounds are written past the fill; small rounds are filled for again', async () => {
  const dir = tmp();
  const s = await openFileStore(dir, { sync: { kind: 'always' } });
  // Rounds of 64 × 4 KiB: above FILL_ROUND_BYTES once the average has seen a few.
  assert.ok(64 * 4096 > FILL_ROUND_BYTES);
  await rounds(s, 1, 8, 64, 4096);
  const fills = s.stats.fills;
  const bytes = s.stats.fillBytesWritten;
  await rounds(s, 1 + 8 * 64, 16, 64, 4096);
  assert.equal(s.stats.fills, fills, '4 MiB more of large rounds: no fill');
  assert.equal(s.stats.fillBytesWritten, bytes);
  assert.ok(s.stats.maxBatch >= 32, `rounds of many records (${s.stats.maxBatch})`);
  // Small rounds again: the fill is worth it, the writer fills again.
  await rounds(s, 1 + 24 * 64, 40, 16, 16);
  assert.ok(s.stats.fills > fills, 'small rounds fill again');
  const total = 24 * 64 + 40 * 16;
  await s.close();
  const r = await openFileStore(dir, { sync: { kind: 'always' } });
  assert.equal(r.recovered.truncatedBytes, 0);
  assert.equal(r.recovered.damage.ranges, 0);
  assert.equal(r.state().messages, total);
  for (const seq of [1, 8 * 64 + 1, 24 * 64, total]) {
    const m = await r.get(seq);
    assert.equal(m?.payload[0], seq & 0xff, `message ${seq}`);
  }
  await r.close();
});
