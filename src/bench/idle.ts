/**
 * Memory cost of idle connections: open many NATS connections (each sends
 * CONNECT and waits for its PONG) from a few worker threads, and read a
 * server process's resident set size before and after.
 */

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from './agent.js';
import { COUNTER } from './messages.js';
import { parseServerUrl, type ServerAddress } from './protocol.js';

export interface IdleConnections {
  /** Connections that completed CONNECT/PING/PONG once all workers were done opening. */
  opened: number;
  /** Connections open right now (the server may close some). */
  open(): number;
  /** Closes every connection; resolves with the errors the workers saw. */
  close(): Promise<string[]>;
}

export interface IdleOptions {
  /** Worker threads to spread the connections over. */
  workers?: number;
  /** Connections each worker opens at once. */
  concurrency?: number;
  onProgress?: (opened: number) => void;
  timeoutMs?: number;
}

export async function openIdleConnections(
  server: string | ServerAddress,
  total: number,
  opts: IdleOptions = {},
): Promise<IdleConnections> {
  const addr = typeof server === 'string' ? parseServerUrl(server) : server;
  const workers = Math.max(1, Math.min(opts.workers ?? 2, total));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const counters = new SharedArrayBuffer(4 * (COUNTER.subs + 1));
  const view = new Int32Array(counters);
  const errors: string[] = [];
  const agents: Agent[] = [];
  for (let w = 0; w < workers; w++) {
    const conns = Math.floor(total / workers) + (w < total % workers ? 1 : 0);
    const concurrency = opts.concurrency ?? 64;
    agents.push(
      new Agent({ role: 'idle', addr, counters, conns, concurrency }, (m) => errors.push(m)),
    );
  }
  const open = () => Atomics.load(view, COUNTER.opened);
  let settled = false;
  const ready = Promise.allSettled(agents.map((a) => a.ready)).then(() => {
    settled = true;
  });
  const deadline = performance.now() + timeoutMs;
  while (!settled && performance.now() < deadline) {
    opts.onProgress?.(open());
    await Promise.race([ready, sleep(250)]);
  }
  if (!settled) errors.push(`not all connections were open within ${timeoutMs} ms`);
  opts.onProgress?.(open());
  return {
    opened: open(),
    open,
    close: async () => {
      const reports = await Promise.all(agents.map((a) => a.stop(10_000)));
      await Promise.all(agents.map((a) => a.terminate()));
      for (const r of reports) errors.push(...(r?.errors ?? []));
      return errors;
    },
  };
}

/** Resident set size of a process, bytes (Linux: VmRSS in /proc/<pid>/status). */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (m === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** CPU time (user + system) a process has used so far, ms (Linux `/proc`, 10 ms ticks). */
export function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
