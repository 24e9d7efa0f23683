/**
 * A small leveled logger writing nats-server-style lines to stderr:
 * `[pid] 2026/11/26 09:00:00.123456 [INF] message`.
 */
import type { LogLevel } from '../config/options.js';

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };
const TAG = { error: 'ERR', warn: 'WRN', info: 'INF', debug: 'DBG' } as const;

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  readonly debugEnabled: boolean;
  /** Changes the level (a reload). */
  setLevel(level: LogLevel): void;
}

export type LogSink = (line: string) => void;

function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`
  );
}

export function createLogger(
  level: LogLevel,
  sink: LogSink = (l) => process.stderr.write(l),
): Logger {
  let rank = RANK[level];
  const emit = (lvl: keyof typeof TAG, msg: string): void => {
    if (RANK[lvl] > rank) return;
    sink(`[${process.pid}] ${stamp(new Date())} [${TAG[lvl]}] ${msg}\n`);
  };
  return {
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
    get debugEnabled() {
      return rank >= RANK.debug;
    },
    setLevel: (l) => {
      rank = RANK[l];
    },
  };
}
