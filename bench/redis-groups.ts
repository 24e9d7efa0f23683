/**
 * Redis consumer groups, consuming: XREADGROUP + XACK, Weft's Redis face
 * against redis-server on the same machine, in one run, with the same
 * load generator (ioredis, our own loop: redis-benchmark cannot ack what
 * it read). A stream is filled with N entries of 16 B, a group created at
 * 0, then 4 consumers (one connection each) each loop on
 * `XREADGROUP GROUP g c<i> COUNT <batch> STREAMS s >` and one XACK of the
 * IDs it got, until the stream is drained. Entries consumed and acked per
 * second, from the first read to the last ack.
 *
 * - redis-server: `--appendonly yes --appendfsync everysec`, no RDB.
 * - Weft (default): every XREADGROUP and XACK answered once the group's
 *   change is durable (fsync, shared by concurrent commands).
 * - Weft `--sync-interval 1s`: fsync every second, as appendfsync everysec.
 *
 * Compare.ts runs it with `--only redis-group-c10,redis-group-c100`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, type ServerProc, startWeft, which } from './servers.js';

interface Case {
  id: string;
  label: string;
  batch: number;
}

const CASES: Case[] = [
  { id: 'redis-group-c10', label: 'XREADGROUP COUNT 10 + XACK', batch: 10 },
  { id: 'redis-group-c100', label: 'XREADGROUP COUNT 100 + XACK', batch: 100 },
];

export const REDIS_GROUP_IDS: string[] = CASES.map((c) => c.id);

type Side = 'redis' | 'weft' | 'weftEverysec';

export interface RedisGroupsMeasured {
  /** Entries consumed and acked per second, per case and side. */
  results: Record<string, Partial<Record<Side, number>>>;
  redisVersion: string;
  entries: number;
}

export interface RedisGroupsContext {
  mainJs: string;
  quick: boolean;
  only: string[];
  problems: string[];
  log: (line: string) => void;
}

/** Consumers, one connection each. */
const CONSUMERS = 4;

function redisVersion(): string {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(r.stdout ?? '')?.[1] ?? '?';
}

async function waitPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (ping.stdout?.trim() === 'PONG') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answers PING on port ${port}`);
}

async function startRedis(): Promise<{ port: number; stop(): void }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-redis-'));
  const child = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
      ...['--appendonly', 'yes', '--appendfsync', 'everysec'],
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

async function weft(
  mainJs: string,
  extra: string[],
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const p: ServerProc = await startWeft(mainJs, ['--redis-port', String(port), ...extra], 'weft');
  await waitPing(port);
  return { port, stop: () => p.stop() };
}

/** Fills `key` with `n` entries of 16 B, pipelined. */
async function fill(port: number, key: string, n: number): Promise<void> {
  const r = new Redis({ port, host: '127.0.0.1' });
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

/** Drains `key` through group g with CONSUMERS readers; entries per second. */
async function consume(port: number, key: string, n: number, batch: number): Promise<number> {
  const setup = new Redis({ port, host: '127.0.0.1' });
  await setup.xgroup('CREATE', key, 'g', '0');
  setup.disconnect();
  const clients = Array.from({ length: CONSUMERS }, () => new Redis({ port, host: '127.0.0.1' }));
  let done = 0;
  const t0 = process.hrtime.bigint();
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
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const c of clients) c.disconnect();
  if (done !== n) throw new Error(`consumed ${done} of ${n} entries`);
  return done / secs;
}

export async function runRedisGroups(ctx: RedisGroupsContext): Promise<RedisGroupsMeasured> {
  const entries = ctx.quick ? 5_000 : 50_000;
  const m: RedisGroupsMeasured = { results: {}, redisVersion: redisVersion(), entries };
  if (which('redis-server') === null || which('redis-cli') === null) {
    ctx.problems.push('redis groups: redis-server or redis-cli missing (redis-tools)');
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
        ctx.log(`redis groups: ${side} ${c.label}…`);
        try {
          const key = `drain${k++}`;
          await fill(srv.port, key, entries);
          const rate = await consume(srv.port, key, entries, c.batch);
          m.results[c.id] = { ...m.results[c.id], [side]: rate };
        } catch (err) {
          ctx.problems.push(`redis groups ${side} ${c.id}: ${(err as Error).message}`);
        }
      }
    } finally {
      await srv.stop();
    }
  }
  return m;
}

export function renderRedisGroupsTable(m: RedisGroupsMeasured, only: string[]): string {
  const si = (v: number | undefined) =>
    v === undefined ? '—' : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`;
  const header = [
    `Redis groups (entries/s, ${CONSUMERS} consumers, ${m.entries} entries of 16 B)`,
    `redis ${m.redisVersion} (AOF everysec)`,
    'weft (fsync per change)',
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
  ].join('\n');
}
