/**
 * A subscribe storm: wildcard SUB + UNSUB pairs against a server whose match
 * cache is full, while another connection checks that the server still
 * answers PING promptly (a health check's view).
 *
 * 1. Fill: publish once to each of `subjects` distinct subjects
 *    `<base>.<k>.<j>` (no interest), so every cache slot holds a subject.
 * 2. Storm: `pairs` times `SUB <base>.w<q>.* sid`, `PUB <base>.w<q>.x` (it
 *    matches: exactly one delivery is due), `UNSUB sid`, `PUB` to one of the
 *    filled subjects (no interest: nothing is due). The patterns match none
 *    of the filled subjects, so the cache stays full; the publishes check
 *    that every SUB and UNSUB took effect at once.
 *    Written `chunkPairs` at a time, as fast as the socket takes them.
 * 3. Done when a PING written after the last pair is answered.
 *
 * Meanwhile a second connection sends a PING every `pingEveryMs` (the next
 * only once the previous PONG is back) and records each round trip. A PONG
 * later than `missAfterMs` counts as a missed PING.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { BenchConn } from './conn.js';
import type { ServerAddress } from './protocol.js';

export interface StormOptions {
  pairs?: number;
  subjects?: number;
  chunkPairs?: number;
  pingEveryMs?: number;
  missAfterMs?: number;
}

export interface StormResult {
  pairs: number;
  subjects: number;
  /** First storm write → PONG for the PING after the last pair, ms. */
  stormMs: number;
  /** Deliveries the storm connection received, and how many were due. */
  delivered: number;
  due: number;
  /** Health PING round trips during the storm, ms. */
  pings: number;
  maxPingMs: number;
  /** PONGs later than `missAfterMs` (or never). */
  missedPings: number;
  missAfterMs: number;
  errors: string[];
}

export async function runStorm(addr: ServerAddress, opts: StormOptions = {}): Promise<StormResult> {
  const pairs = opts.pairs ?? 5000;
  const subjects = opts.subjects ?? 10_000;
  const chunkPairs = opts.chunkPairs ?? 100;
  const pingEveryMs = opts.pingEveryMs ?? 10;
  const missAfterMs = opts.missAfterMs ?? 100;
  const base = `weft.bench.storm.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  const patterns = 100;
  const subject = (i: number) => `${base}.${i % patterns}.${Math.floor(i / patterns)}`;

  const storm = await BenchConn.open(addr, 'weft-bench-storm');
  const health = await BenchConn.open(addr, 'weft-bench-health');
  try {
    // 1. Fill the cache.
    const fill: string[] = [];
    for (let i = 0; i < subjects; i++) fill.push(`PUB ${subject(i)} 0\r\n\r\n`);
    await storm.write(Buffer.from(fill.join('')));
    await storm.flush();

    // 2. The storm, written ahead; the health connection pings throughout.
    const chunks: Buffer[] = [];
    for (let p = 0; p < pairs; p += chunkPairs) {
      const lines: string[] = [];
      for (let q = p; q < Math.min(pairs, p + chunkPairs); q++) {
        const sid = q + 1;
        const other = subject(q % subjects);
        lines.push(
          `SUB ${base}.w${q}.* ${sid}\r\nPUB ${base}.w${q}.x 0\r\n\r\nUNSUB ${sid}\r\nPUB ${other} 0\r\n\r\n`,
        );
      }
      chunks.push(Buffer.from(lines.join('')));
    }
    const rtts: number[] = [];
    let stop = false;
    let outstanding = 0;
    const pinger = (async () => {
      while (!stop) {
        const sent = performance.now();
        outstanding = sent;
        await health.flush();
        outstanding = 0;
        rtts.push(performance.now() - sent);
        await sleep(pingEveryMs);
      }
    })();
    const before = storm.scanner.msgs;
    const began = performance.now();
    for (const c of chunks) {
      const drained = storm.write(c);
      if (drained) await drained;
    }
    await storm.flush();
    const stormMs = performance.now() - began;
    stop = true;
    // The PING in flight, if any, counts too: wait for it (or give up on it).
    await Promise.race([pinger, sleep(5000, undefined, { ref: false })]);
    const late = outstanding > 0 ? performance.now() - outstanding : 0;
    const delivered = storm.scanner.msgs - before;
    const missed = rtts.filter((r) => r > missAfterMs).length + (late > 0 ? 1 : 0);
    return {
      pairs,
      subjects,
      stormMs,
      delivered,
      due: pairs,
      pings: rtts.length,
      maxPingMs: Math.max(0, late, ...rtts),
      missedPings: missed,
      missAfterMs,
      errors: [...storm.errors, ...health.errors],
    };
  } finally {
    storm.close();
    health.close();
  }
}
