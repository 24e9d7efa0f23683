/**
 * The Redis part of `npm run bench` (issue 15): Weft's Redis face against
 * redis-server 7 (Debian's), same machine, same raw-RESP generator
 * (bench/redis-kit.ts), one run. Each row names its workload; rows that
 * need other server settings (streams: durability) carry their own
 * arguments and get their own pair of servers. Other files add rows with
 * one line in ROWS (bench/redis-streams.ts: XADD; XREADGROUP + XACK).
 */
import { readCpuMs } from '../src/bench/idle.js';
import { markdownTable } from '../src/bench/report.js';
import { si } from '../src/bench/stats.js';
import { GROUP_ROWS } from './redis-groups.js';
import {
  type RedisAddr,
  type RedisServers,
  type RunResult,
  runPubSub,
  startRedisServers,
} from './redis-kit.js';
import { XADD_ROWS } from './redis-streams.js';

export type RedisSide = 'redis' | 'weft';

/** One row: how to measure it on a server, and the servers it needs. */
export interface RedisRow {
  readonly id: string;
  readonly label: string;
  /** What `perSec` counts ("msgs/s delivered", "XADD/s"). */
  readonly unit: string;
  /** Extra redis-server and Weft arguments; rows with the same ones share servers. */
  readonly redisArgs?: string[];
  readonly weftArgs?: string[];
  /** A note printed under the table (e.g. the durability each side had). */
  readonly note?: string;
  run(addr: RedisAddr, side: RedisSide, msgs: number): Promise<RunResult>;
  /**
   * The warm-up before the group's rows (not measured), given the
   * benchmark's message count; when not given, one `run` of at most 50k.
   */
  warm?(addr: RedisAddr, side: RedisSide, msgs: number): Promise<unknown>;
}

/** PUBLISH to `subs` subscribers from `pubs` connections, each pipelined 64 deep (-P 64). */
function publishRow(id: string, pubs: number, subs: number, size: number, share: number): RedisRow {
  return {
    id,
    label: `PUBLISH ${pubs}→${subs}, ${size} B, -P 64`,
    unit: 'msgs/s delivered',
    run: (addr, _side, msgs) =>
      runPubSub({
        addr,
        total: Math.max(1000, Math.round(msgs * share)),
        subs,
        size,
        depth: 64,
        publishers: pubs,
      }),
  };
}

export const ROWS: RedisRow[] = [
  publishRow('redis-pub1', 1, 1, 16, 1),
  publishRow('redis-pub4', 1, 4, 16, 0.5),
  publishRow('redis-pub1-c4', 4, 1, 16, 1),
  publishRow('redis-pub4-c4', 4, 4, 16, 0.5),
  ...XADD_ROWS,
  ...GROUP_ROWS,
];

export const REDIS_IDS: string[] = ROWS.map((r) => r.id);

export interface RedisMeasured {
  results: Record<string, Partial<Record<RedisSide, RunResult>>>;
  /** Server CPU (user + system) per operation, µs. */
  cpuUs: Record<string, Partial<Record<RedisSide, number>>>;
  notes: string[];
  redisVersion?: string;
}

export interface RedisContext {
  mainJs: string;
  msgs: number;
  only: string[];
  problems: string[];
  log: (line: string) => void;
  status: (text: string) => void;
  clearStatus: () => void;
}

export async function runRedis(ctx: RedisContext): Promise<RedisMeasured> {
  const m: RedisMeasured = { results: {}, cpuUs: {}, notes: [] };
  const rows = ROWS.filter((r) => ctx.only.includes(r.id));
  // Rows with the same server arguments share a pair of servers.
  const groups = new Map<string, RedisRow[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.redisArgs ?? [], r.weftArgs ?? []]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const group of groups.values()) {
    let servers: RedisServers | null = null;
    try {
      servers = await startRedisServers(ctx.mainJs, {
        redisArgs: group[0]!.redisArgs,
        weftArgs: group[0]!.weftArgs,
      });
      for (const n of servers.notes) if (!m.notes.includes(n)) m.notes.push(n);
      if (servers.redis) m.redisVersion = servers.redis.version;
      const sides = (['redis', 'weft'] as const).filter((s) => servers![s] !== undefined);
      for (const side of sides) {
        // Not measured: lets V8 compile Weft's paths; both servers size their buffers.
        ctx.status(`warming up ${side}`);
        const first = group[0]!;
        const addr = servers[side]!.addr;
        await (first.warm !== undefined
          ? first.warm(addr, side, ctx.msgs)
          : first.run(addr, side, Math.min(ctx.msgs, 50_000))
        ).catch(() => {});
        ctx.clearStatus();
      }
      for (const row of group) {
        m.results[row.id] = {};
        if (row.note !== undefined && !m.notes.includes(row.note)) m.notes.push(row.note);
        for (const side of sides) {
          const s = servers[side]!;
          if (s.proc.exited()) {
            ctx.problems.push(`${row.id} ${side}: server is no longer running\n${s.proc.tail()}`);
            continue;
          }
          ctx.status(`${row.id} ${side}`);
          const cpu0 = readCpuMs(s.proc.pid);
          const r = await row.run(s.addr, side, ctx.msgs);
          ctx.clearStatus();
          m.results[row.id]![side] = r;
          const ops = r.perSec * (r.elapsedMs / 1000);
          if (ops > 0) {
            const cpu = m.cpuUs[row.id] ?? {};
            cpu[side] = ((readCpuMs(s.proc.pid) - cpu0) * 1000) / ops;
            m.cpuUs[row.id] = cpu;
          }
          ctx.log(
            `${row.id.padEnd(18)} ${side.padEnd(6)} ${si(r.perSec)} ${row.unit} in ${(r.elapsedMs / 1000).toFixed(2)} s${r.complete ? '' : ` [${r.ended}]`}`,
          );
          if (!r.complete) ctx.problems.push(`${row.id} ${side}: ${r.ended}`);
        }
      }
    } finally {
      ctx.clearStatus();
      await servers?.stop();
    }
  }
  return m;
}

/** Markdown table; every ratio reads "times as good as redis-server". */
export function renderRedisTable(m: RedisMeasured, only: string[], msgs: number): string {
  const rows: string[][] = [];
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a <= 0 || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`;
  const cell = (r: RunResult | undefined) =>
    r === undefined ? '—' : r.complete ? si(r.perSec) : `${si(r.perSec)} ⚠ ${r.ended}`;
  for (const row of ROWS.filter((r) => only.includes(r.id))) {
    const { redis, weft } = m.results[row.id] ?? {};
    rows.push([
      `${row.label} (${row.unit})`,
      cell(redis),
      cell(weft),
      ratio(weft?.perSec, redis?.perSec),
    ]);
    const cpu = m.cpuUs[row.id] ?? {};
    const us = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(2)} µs`);
    rows.push([
      '  server CPU per operation (lower is better)',
      us(cpu.redis),
      us(cpu.weft),
      ratio(cpu.redis, cpu.weft),
    ]);
  }
  const header = [
    'Redis workload',
    `redis-server ${m.redisVersion ?? ''}`.trim(),
    'weft',
    'weft vs redis-server (>1× = weft better)',
  ];
  return [
    ...markdownTable(header, rows),
    '',
    `RESP2 over TCP, raw-RESP generator for both (bench/redis-kit.ts). ${si(msgs)} publishes for 1→1,`,
    `÷2 for 1→4 (×4 deliveries). Throughput ratio = weft ÷ redis-server; CPU ratio = redis-server ÷ weft.`,
    ...m.notes.map((n) => `Note: ${n}.`),
  ].join('\n');
}
