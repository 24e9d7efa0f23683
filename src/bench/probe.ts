/**
 * "Does a message published here reach a subscriber there?" — used to wait
 * until a cluster's route or a mesh's links are up, and, before a run whose
 * publisher and subscribers are on different servers, until the subscribers'
 * interest has reached the publisher's server (otherwise the first messages
 * are dropped there for want of interest, and counted as lost).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { BenchConn } from './conn.js';
import { pubBatch, type ServerAddress, subFrame } from './protocol.js';

export interface ProbeOptions {
  /** Subject to probe on (default: a fresh one). */
  subject?: string;
  /** Give up after this long, ms (default 10 s). */
  timeoutMs?: number;
  /** Publish a probe message this often, ms (default 5). */
  intervalMs?: number;
  /** Ends the wait early (rejects). */
  signal?: AbortSignal;
}

/**
 * Subscribes on `sub` (confirmed by PING/PONG), then publishes on `pub` every
 * `intervalMs` until one message arrives. Resolves with the time that took,
 * ms; rejects on timeout or a connection failure.
 */
export async function waitForPath(
  pub: ServerAddress,
  sub: ServerAddress,
  opts: ProbeOptions = {},
): Promise<number> {
  const subject =
    opts.subject ?? `weft.bench.probe.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 5;
  const conns: BenchConn[] = [];
  try {
    const s = await BenchConn.open(sub, 'weft-bench-probe-sub');
    conns.push(s);
    let arrived = false;
    s.scanner.onMsg = () => {
      arrived = true;
    };
    s.socket.write(subFrame(subject, 1));
    await s.flush();
    const p = await BenchConn.open(pub, 'weft-bench-probe-pub');
    conns.push(p);
    const frame = pubBatch(subject, 1, 1).buf;
    const began = performance.now();
    while (!arrived) {
      if (s.closed || p.closed) {
        throw new Error(`probe connection closed: ${[...s.errors, ...p.errors].join('; ')}`);
      }
      if (opts.signal?.aborted) throw new Error('aborted');
      if (performance.now() - began > timeoutMs) {
        throw new Error(
          `no message from ${pub.host}:${pub.port} reached a subscriber on ${sub.host}:${sub.port} within ${timeoutMs} ms`,
        );
      }
      p.socket.write(frame);
      await sleep(intervalMs);
    }
    return performance.now() - began;
  } finally {
    for (const c of conns) c.close();
  }
}
