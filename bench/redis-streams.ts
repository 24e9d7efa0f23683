/**
 * Redis Streams rows of the Redis benchmark (bench/redis.ts, its harness
 * and raw-RESP generator in bench/redis-kit.ts): XADD pipelined 16 and 64
 * deep, 16 B and 1 KiB values, from 50 connections at once (as
 * `redis-benchmark -c 50 -P <depth>`), Weft against redis-server on the
 * same machine in one run.
 *
 * - redis-server: `--appendonly yes --appendfsync everysec` (its
 *   durable-ish default: up to a second of writes lost on a crash), no RDB,
 *   its files in a temp dir removed at exit.
 * - Weft: its default (every XADD answered after its fsync, group commit),
 *   and, in the `-everysec` rows, `--sync-interval 1s` (fsync every second,
 *   as appendfsync everysec).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RedisRow } from './redis.js';
import { type RedisAddr, type RunResult, resp, runPipelined } from './redis-kit.js';

/** Connections sending XADDs at once. */
const CONNS = 50;

/**
 * Warm-up runs before the measured ones, each of the measured size and
 * shape on a fresh stream, as the consumer-group rows do (WARM_RUNS in
 * bench/redis-groups.ts). The harness's default, one run of at most 50k
 * messages (5,000 XADDs here), left most of the XADD path's first
 * optimised compiles inside the measured 100k: 104–109 TurboFan compiles
 * there, and a fresh process spends 2.26 µs of CPU per XADD in its first
 * 100k against 1.25 µs by its fourth (bench/PROFILE.md, "Issue 16 —
 * xadd4 (round 13)"). The row measures a running broker, not its first
 * second; redis-server has no JIT to warm.
 */
const WARM_RUNS = 3;

/** Where redis-server keeps its append-only file for these rows. */
let aofDir: string | null = null;
function redisDir(): string {
  if (aofDir === null) {
    aofDir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-redis-aof-'));
    const dir = aofDir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return aofDir;
}

/** `total` XADDs of a `size`-byte value to `key`, spread over CONNS connections, `depth` deep each. */
async function xadd(
  addr: RedisAddr,
  key: string,
  total: number,
  depth: number,
  size: number,
): Promise<RunResult> {
  const cmd = resp('XADD', key, '*', 'f', Buffer.alloc(size, 'x'));
  const per = Math.max(depth, Math.ceil(total / CONNS));
  const t0 = performance.now();
  const runs = await Promise.all(
    Array.from({ length: CONNS }, () => runPipelined({ addr, total: per, depth, make: () => cmd })),
  );
  const elapsedMs = performance.now() - t0;
  const done = runs.reduce((n, r) => n + r.perSec * (r.elapsedMs / 1000), 0);
  const bad = runs.find((r) => !r.complete);
  return {
    perSec: (done / elapsedMs) * 1000,
    elapsedMs,
    complete: bad === undefined,
    ended: bad?.ended ?? 'done',
  };
}

function row(depth: number, size: number, everysec: boolean): RedisRow {
  // A fresh stream per run: the warm-up runs do not lengthen the measured one.
  const once = (name: string, addr: RedisAddr, msgs: number) =>
    xadd(
      addr,
      `bench:${name}:${performance.now().toFixed(0)}`,
      Math.max(1000, Math.round(msgs * 0.1)),
      depth,
      size,
    );
  const id = `redis-xadd${size > 16 ? '-1k' : ''}-p${depth}${everysec ? '-everysec' : ''}`;
  return {
    id,
    label: `XADD ${size > 16 ? '1 KiB' : '16 B'}, ${CONNS} conns, -P ${depth}${everysec ? ', Weft sync_interval 1s' : ', Weft fsync per ack'}`,
    unit: 'XADD/s',
    get redisArgs() {
      return ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', redisDir()];
    },
    weftArgs: everysec ? ['--sync-interval', '1s'] : [],
    note: everysec
      ? 'XADD -everysec rows: Weft fsyncs every second (sync_interval 1s), as redis-server with appendfsync everysec'
      : 'XADD rows: Weft answers each XADD after its fsync (its default); redis-server runs appendonly yes, appendfsync everysec (up to 1 s of writes lost on a crash)',
    run: (addr, _side, msgs) => once(id, addr, msgs),
    warm: async (addr, _side, msgs) => {
      for (let i = 0; i < WARM_RUNS; i++) await once(`${id}-warm${i}`, addr, msgs);
    },
  };
}

/** The XADD rows, for ROWS in bench/redis.ts. */
export const XADD_ROWS: RedisRow[] = [false, true].flatMap((everysec) => [
  row(16, 16, everysec),
  row(64, 16, everysec),
  row(16, 1024, everysec),
  row(64, 1024, everysec),
]);
