/**
 * Consumer-group rows of the Redis benchmark (bench/redis.ts, its harness
 * in bench/redis-kit.ts): XREADGROUP + XACK consume, Weft against
 * redis-server on the same machine in one run. Each run fills a fresh
 * stream with entries of 16 B (pipelined XADDs, not timed), makes a group
 * at 0, then 4 consumers (one connection each) loop
 * `XREADGROUP GROUP g c<i> COUNT n STREAMS s >` and one XACK of the IDs
 * they got, until the stream is drained: entries consumed and acked per
 * second, first read to last ack. (The server CPU column of the table
 * covers the fill too.) Warmed up by WARM_RUNS such runs.
 *
 * - redis-server: `--appendonly yes --appendfsync everysec`.
 * - Weft: its default (every XREADGROUP and XACK answered once the group's
 *   change is written to the OS, the group records fsynced every 100 ms:
 *   src/jetstream/sync-overrides.ts; the fill's XADDs fsynced before each
 *   answer) and, in the `-everysec` row, `--sync-interval 1s`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { RedisRow } from './redis.js';
import type { RedisAddr, RunResult } from './redis-kit.js';

/**
 * Warm-up runs before the measured ones, each of the measured size on a
 * fresh stream and group (as a measured run). The harness's one run of at
 * most 50k messages (2,500 entries here) left TurboFan compiling through
 * the measured run — Weft's code deopts on its second group and stream
 * and on the switch from fill to consume, and re-optimizes: ~15 % of the
 * node's CPU in the consume phase went to the compiler (perf), and the
 * row read 22–24 µs per entry where after 3 warm runs of 50k it reads
 * 12 (bench/PROFILE.md, "Issue 16 — rgroup4 (round 10)"). redis-server
 * has no JIT to warm.
 */
const WARM_RUNS = 3;
/** Consumers, one connection each. */
const CONSUMERS = 4;
/** Entries per run, as a share of the benchmark's message count (--redis-msgs). */
const SHARE = 0.05;

let aofDir: string | null = null;
function redisDir(): string {
  if (aofDir === null) {
    aofDir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-redis-groups-'));
    const dir = aofDir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return aofDir;
}

/** Fills `key` with `n` entries of 16 B, pipelined 500 deep. */
async function fill(addr: RedisAddr, key: string, n: number): Promise<void> {
  const r = new Redis({ port: addr.port, host: addr.host });
  try {
    const value = 'x'.repeat(16);
    for (let i = 0; i < n; i += 500) {
      const p = r.pipeline();
      for (let j = i; j < Math.min(n, i + 500); j++) p.xadd(key, '*', 'f', value);
      await p.exec();
    }
  } finally {
    r.disconnect();
  }
}

/** Drains `key` (n entries) through a new group with CONSUMERS readers. */
async function consume(addr: RedisAddr, key: string, n: number, batch: number): Promise<RunResult> {
  const setup = new Redis({ port: addr.port, host: addr.host });
  await setup.xgroup('CREATE', key, 'g', '0');
  setup.disconnect();
  const clients = Array.from(
    { length: CONSUMERS },
    () => new Redis({ port: addr.port, host: addr.host }),
  );
  let done = 0;
  let ended = 'done';
  const t0 = performance.now();
  try {
    await Promise.all(
      clients.map(async (c, i) => {
        for (;;) {
          const got = (await c.xreadgroup(
            'GROUP',
            'g',
            `c${i}`,
            'COUNT',
            batch,
            'STREAMS',
            key,
            '>',
          )) as [string, [string, string[]][]][] | null;
          const entries = got?.[0]?.[1] ?? [];
          if (entries.length === 0) return;
          const acked = await c.xack(key, 'g', ...entries.map((e) => e[0]));
          if (acked !== entries.length) throw new Error(`XACK acked ${acked} of ${entries.length}`);
          done += entries.length;
        }
      }),
    );
  } catch (err) {
    ended = (err as Error).message;
  } finally {
    for (const c of clients) c.disconnect();
  }
  const elapsedMs = performance.now() - t0;
  if (done !== n && ended === 'done') ended = `consumed ${done} of ${n} entries`;
  return { perSec: (done / elapsedMs) * 1000, elapsedMs, complete: ended === 'done', ended };
}

/** One run: a fresh stream of `msgs` × SHARE entries, drained through a new group. */
async function once(id: string, addr: RedisAddr, msgs: number, batch: number): Promise<RunResult> {
  const n = Math.max(1000, Math.round(msgs * SHARE));
  const key = `bench:${id}:${performance.now().toFixed(0)}`;
  await fill(addr, key, n);
  return consume(addr, key, n, batch);
}

function row(batch: number, everysec: boolean): RedisRow {
  const id = `redis-group-c${batch}${everysec ? '-everysec' : ''}`;
  return {
    id,
    label: `XREADGROUP COUNT ${batch} + XACK, ${CONSUMERS} consumers${everysec ? ', Weft sync_interval 1s' : ', Weft group records fsynced every 100 ms'}`,
    unit: 'entries/s',
    get redisArgs() {
      return ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', redisDir()];
    },
    weftArgs: everysec ? ['--sync-interval', '1s'] : [],
    note: everysec
      ? 'XREADGROUP -everysec row: Weft fsyncs every second (sync_interval 1s), as redis-server with appendfsync everysec'
      : 'XREADGROUP rows: Weft answers each XREADGROUP and XACK once the group change is written (group records fsynced every 100 ms; XADD fsynced per ack, its default); redis-server runs appendonly yes, appendfsync everysec',
    run: (addr, _side, msgs) => once(id, addr, msgs, batch),
    warm: async (addr, _side, msgs) => {
      for (let i = 0; i < WARM_RUNS; i++) await once(`${id}-warm${i}`, addr, msgs, batch);
    },
  };
}

/** The consumer-group rows (`--only redis-group-c10,redis-group-c100,redis-group-c100-everysec`). */
export const GROUP_ROWS: RedisRow[] = [row(10, false), row(100, false), row(100, true)];
