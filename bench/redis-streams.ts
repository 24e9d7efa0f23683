/**
 * Redis Streams XADD throughput: Weft's Redis face against redis-server on
 * the same machine, in one run, with the same load generator
 * (`redis-benchmark`, Debian's redis-tools): XADD pipelined 16 and 64
 * deep, 16 B and 1 KiB values, 50 connections, one stream per run.
 *
 * - redis-server: `--appendonly yes --appendfsync everysec` (its
 *   durable-ish default: loses up to a second of writes on a crash), no
 *   RDB snapshots.
 * - Weft (default): every XADD answered after its fsync (group commit).
 * - Weft `--sync-interval 1s`: fsync every second, as appendfsync everysec.
 *
 * Written on its own (bench/redis.ts, the Redis face's harness, was not on
 * this branch yet); compare.ts runs it with `--only redis-xadd-…`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, type ServerProc, startWeft, which } from './servers.js';

interface Case {
  id: string;
  label: string;
  pipeline: number;
  size: number;
}

const CASES: Case[] = [
  { id: 'redis-xadd-p16', label: 'XADD 16 B, pipeline 16', pipeline: 16, size: 16 },
  { id: 'redis-xadd-p64', label: 'XADD 16 B, pipeline 64', pipeline: 64, size: 16 },
  { id: 'redis-xadd-1k-p16', label: 'XADD 1 KiB, pipeline 16', pipeline: 16, size: 1024 },
  { id: 'redis-xadd-1k-p64', label: 'XADD 1 KiB, pipeline 64', pipeline: 64, size: 1024 },
];

export const REDIS_STREAM_IDS: string[] = CASES.map((c) => c.id);

type Side = 'redis' | 'weft' | 'weftEverysec';

export interface RedisStreamsMeasured {
  /** XADDs per second, per case and side. */
  results: Record<string, Partial<Record<Side, number>>>;
  notes: string[];
  redisVersion: string;
  requests: number;
}

export interface RedisStreamsContext {
  mainJs: string;
  quick: boolean;
  only: string[];
  problems: string[];
  log: (line: string) => void;
}

/** The connections redis-benchmark opens. */
const CLIENTS = 50;

function redisVersion(): string {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(r.stdout ?? '')?.[1] ?? '?';
}

/** redis-server with AOF, appendfsync everysec, in a temp dir. */
async function startRedis(): Promise<{ port: number; stop(): void }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
    ],
    { stdio: 'ignore' },
  );
  await waitPing(port);
  return {
    port,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits (up to 10 s) until the Redis port answers PING. */
async function waitPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (ping.stdout?.trim() === 'PONG') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answers PING on port ${port}`);
}

/** One redis-benchmark run of XADD; requests per second, or an error. */
function xadd(port: number, c: Case, n: number, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = [
      '-p',
      String(port),
      '-n',
      String(n),
      '-c',
      String(CLIENTS),
      '-P',
      String(c.pipeline),
      '-d',
      String(c.size),
      '--csv',
      'xadd',
      key,
      '*',
      'f',
      '__data__',
    ];
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    child.on('close', () => {
      // --csv: "test","rps",… then one line per test.
      const m = /^"[^"]*","([\d.]+)"/m.exec(out.split('\n').slice(1).join('\n'));
      if (m === null) reject(new Error(`redis-benchmark said: ${out.trim().slice(-300)}`));
      else resolve(Number(m[1]));
    });
  });
}

export async function runRedisStreams(ctx: RedisStreamsContext): Promise<RedisStreamsMeasured> {
  const requests = ctx.quick ? 20_000 : 200_000;
  const m: RedisStreamsMeasured = {
    results: {},
    notes: [],
    redisVersion: redisVersion(),
    requests,
  };
  if (which('redis-benchmark') === null || which('redis-server') === null) {
    ctx.problems.push('redis streams: redis-server or redis-benchmark missing (redis-tools)');
    return m;
  }
  const cases = CASES.filter((c) => ctx.only.includes(c.id));
  const sides: [Side, () => Promise<{ port: number; stop(): Promise<void> | void }>][] = [
    ['redis', startRedis],
    ['weft', () => weft(ctx.mainJs, [])],
    ['weftEverysec', () => weft(ctx.mainJs, ['--sync-interval', '1s'])],
  ];
  for (const [side, start] of sides) {
    const srv = await start();
    try {
      let k = 0;
      for (const c of cases) {
        ctx.log(`redis streams: ${side} ${c.label}…`);
        try {
          // A warm-up on its own stream, then the measured run on a fresh one.
          await xadd(srv.port, c, Math.min(requests, 5000), `warm${k}`);
          const rps = await xadd(srv.port, c, requests, `bench${k++}`);
          m.results[c.id] = { ...m.results[c.id], [side]: rps };
        } catch (err) {
          ctx.problems.push(`redis streams ${side} ${c.id}: ${(err as Error).message}`);
        }
      }
    } finally {
      await srv.stop();
    }
  }
  return m;
}

async function weft(
  mainJs: string,
  extra: string[],
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const p: ServerProc = await startWeft(mainJs, ['--redis-port', String(port), ...extra], 'weft');
  await waitPing(port);
  return { port, stop: () => p.stop() };
}

export function renderRedisStreamsTable(m: RedisStreamsMeasured, only: string[]): string {
  const si = (v: number | undefined) =>
    v === undefined ? '—' : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`;
  const header = [
    `Redis Streams (XADD/s, ${CLIENTS} conns, ${m.requests} requests)`,
    `redis ${m.redisVersion} (AOF everysec)`,
    'weft (fsync per ack)',
    'weft vs redis',
    'weft sync_interval 1s',
    'vs redis',
  ];
  const rows = CASES.filter((c) => only.includes(c.id)).map((c) => {
    const r = m.results[c.id] ?? {};
    return [
      c.label,
      si(r.redis),
      si(r.weft),
      ratio(r.weft, r.redis),
      si(r.weftEverysec),
      ratio(r.weftEverysec, r.redis),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    ...m.notes.map((n) => `- ${n}`),
  ].join('\n');
}
