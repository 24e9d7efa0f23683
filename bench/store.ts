/**
 * The file store's append path on its own, no server: N appenders each
 * awaiting its own append in a loop, for a fixed time, under each sync
 * policy. This is the table in docs/streams.md ("Group commit").
 *
 * ```sh
 * npm run build && node dist/bench/store.js               # 2 s per row
 * node dist/bench/store.js --seconds 5 --runs 3 --dir /path/on/the/disk/to/measure
 * node dist/bench/store.js --only 1,2                        # rows 1 and 2 of the table
 * ```
 *
 * appends/s counts resolved appends; fsyncs/s is the store's own counter
 * (segment fdatasyncs and directory fsyncs). The directory defaults to the
 * OS temp dir, so the disk measured is the one under it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openFileStore } from '../src/streams/file-store.js';
import type { SyncPolicy } from '../src/streams/store.js';

interface Row {
  policy: string;
  sync: SyncPolicy;
  payload: number;
  appenders: number;
}

const ROWS: Row[] = [
  { policy: 'always', sync: { kind: 'always' }, payload: 16, appenders: 1 },
  { policy: 'always', sync: { kind: 'always' }, payload: 16, appenders: 64 },
  { policy: 'always', sync: { kind: 'always' }, payload: 1024, appenders: 64 },
  {
    policy: 'interval 100 ms',
    sync: { kind: 'interval', intervalMs: 100 },
    payload: 16,
    appenders: 64,
  },
];

interface Result {
  appendsPerSec: number;
  fsyncsPerSec: number;
}

async function measure(row: Row, seconds: number, parent: string): Promise<Result> {
  const dir = await mkdtemp(join(parent, 'weft-store-bench-'));
  try {
    const store = await openFileStore(dir, { sync: row.sync });
    const payload = Buffer.alloc(row.payload, 0x61);
    // Warm up (JIT, first segment) unmeasured.
    for (let i = 0; i < 200; i++) await store.append('bench.warm', null, payload);
    const fsyncs0 = store.stats.fsyncs;
    let appends = 0;
    let stop = false;
    const t0 = process.hrtime.bigint();
    const appender = async (w: number): Promise<void> => {
      const subject = `bench.${w % 8}`;
      while (!stop) {
        await store.append(subject, null, payload);
        appends++;
      }
    };
    const timer = setTimeout(() => {
      stop = true;
    }, seconds * 1000);
    await Promise.all(Array.from({ length: row.appenders }, (_, w) => appender(w)));
    clearTimeout(timer);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const fsyncs = store.stats.fsyncs - fsyncs0;
    await store.close();
    return { appendsPerSec: appends / secs, fsyncsPerSec: fsyncs / secs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    runs: { type: 'string', default: '1' },
    dir: { type: 'string', default: tmpdir() },
    only: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const runs = Number(values.runs);
if (!(seconds > 0) || !Number.isInteger(runs) || runs < 1) {
  throw new Error('--seconds must be > 0 and --runs a positive integer');
}
const only = values.only?.split(',').map(Number) ?? ROWS.map((_, i) => i + 1);
if (only.some((n) => !Number.isInteger(n) || n < 1 || n > ROWS.length)) {
  throw new Error(`--only takes row numbers from 1 to ${ROWS.length}, comma-separated`);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(`file store appends, ${seconds} s per run, ${runs} run(s), in ${values.dir}`);
console.log('| policy | payload | appenders | appends/s | fsyncs/s |');
console.log('|---|---|---|---|---|');
for (const row of only.map((n) => ROWS[n - 1]!)) {
  const results: Result[] = [];
  for (let r = 0; r < runs; r++) results.push(await measure(row, seconds, values.dir));
  const size = row.payload >= 1024 ? `${row.payload / 1024} KiB` : `${row.payload} B`;
  const a = results.map((x) => fmt(x.appendsPerSec)).join(' / ');
  const f = results.map((x) => fmt(x.fsyncsPerSec)).join(' / ');
  console.log(`| ${row.policy} | ${size} | ${row.appenders} | ${a} | ${f} |`);
}
