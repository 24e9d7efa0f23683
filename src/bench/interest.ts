/**
 * Interest propagation time: how long after a client subscribes on one server
 * does a publisher on another server (a route or mesh hops away) start
 * reaching it?
 *
 * A publisher on `pub` publishes to a fresh subject every `periodMs`; once it
 * has been publishing for `settleMs` (so nothing about the subject is known
 * anywhere yet), a subscriber on `sub` sends `SUB <subject>` + PING. One
 * sample is the time from writing the SUB to the first delivery (the
 * headline: it includes one client round trip to `sub`, the same for every
 * server); the time from the PONG (the SUB is registered on its own server)
 * is recorded too, but a server may write the PONG and the first message in
 * one go, which makes it 0. Then UNSUB, and the next trial uses a new
 * subject. Both sides run on this thread: the rates are tiny, and one clock
 * times everything.
 *
 * Resolution: from the SUB until the first delivery the publisher sends one
 * message per round trip to its server (PUB + PING, wait for the PONG), so a
 * sample over-estimates by up to that round trip (tens of µs), not a period.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { BenchConn } from './conn.js';
import { pubBatch, type ServerAddress, subFrame } from './protocol.js';
import { type Percentiles, percentiles } from './stats.js';

export interface InterestOptions {
  /** Trials, each on a new subject (default 15). */
  trials?: number;
  /** Publish period, ms (default 1). */
  periodMs?: number;
  /**
   * From the SUB to the first delivery, publish back to back, one message per
   * round trip to the publisher's server, instead of every periodMs (default
   * true): the resolution is then that round trip, not the period.
   */
  rapid?: boolean;
  /** Publishing before the SUB, ms (default 100). */
  settleMs?: number;
  /** A trial with no delivery this long after its SUB is a miss, ms (default 5 s). */
  timeoutMs?: number;
  /** Called after each trial. */
  onTrial?: (done: number, trials: number) => void;
  signal?: AbortSignal;
}

export interface InterestResult {
  pubServer: string;
  subServer: string;
  trials: number;
  periodMs: number;
  rapid: boolean;
  /** ms, SUB confirmed (PONG) → first delivery, one per trial that got a delivery. */
  fromPongMs: number[];
  /** ms, SUB written → first delivery. */
  fromSubMs: number[];
  /** Stats of `fromSubMs`, ms: the headline (well defined whatever the server's write timing). */
  stats: Percentiles;
  /** Stats of `fromPongMs`, ms. */
  fromPongStats: Percentiles;
  /** Trials with no delivery within the timeout. */
  misses: number;
  errors: string[];
}

export async function measureInterest(
  pub: ServerAddress,
  sub: ServerAddress,
  opts: InterestOptions = {},
): Promise<InterestResult> {
  const trials = opts.trials ?? 15;
  const periodMs = opts.periodMs ?? 1;
  const settleMs = opts.settleMs ?? 100;
  const rapid = opts.rapid ?? true;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const result: InterestResult = {
    pubServer: `nats://${pub.host}:${pub.port}`,
    subServer: `nats://${sub.host}:${sub.port}`,
    trials,
    periodMs,
    rapid,
    fromPongMs: [],
    fromSubMs: [],
    stats: percentiles([]),
    fromPongStats: percentiles([]),
    misses: 0,
    errors: [],
  };
  const base = `weft.bench.interest.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  const conns: BenchConn[] = [];
  try {
    const s = await BenchConn.open(sub, 'weft-bench-interest-sub');
    conns.push(s);
    const p = await BenchConn.open(pub, 'weft-bench-interest-pub');
    conns.push(p);
    let firstAt = 0;
    // The PONG's arrival, taken as the scanner sees it (a delivery in the same
    // read would otherwise be handled before the flush() promise resolves).
    let pongAt = 0;
    const onPong = s.scanner.onPong;
    s.scanner.onPong = () => {
      pongAt = performance.now();
      onPong?.();
    };
    let arrived: (() => void) | null = null;
    s.scanner.onMsg = () => {
      if (firstAt !== 0) return;
      firstAt = performance.now();
      arrived?.();
    };
    for (let i = 0; i < trials; i++) {
      if (opts.signal?.aborted) throw new Error('aborted');
      const subject = `${base}.${i}`;
      const frame = pubBatch(subject, 16, 1).buf;
      const timer = setInterval(() => {
        if (!p.closed) p.socket.write(frame);
      }, periodMs);
      try {
        await sleep(settleMs);
        const sid = i + 1;
        let giveUp: NodeJS.Timeout | undefined;
        const delivered = new Promise<void>((resolve) => {
          arrived = resolve;
          giveUp = setTimeout(resolve, timeoutMs);
        });
        firstAt = 0;
        const subAt = performance.now();
        s.socket.write(subFrame(subject, sid));
        // Between the SUB and the first delivery, publish back to back instead
        // of every periodMs: PUB + PING, and the next one when the PONG is
        // back. The wait for the next message after the interest arrived is
        // then one round trip to the publisher's server, and nothing spins.
        let fast = rapid;
        const burst = async (): Promise<void> => {
          while (fast && firstAt === 0 && !p.closed) {
            p.socket.cork();
            p.socket.write(frame);
            const pong = p.flush();
            p.socket.uncork();
            await pong;
          }
        };
        const bursting = burst().catch(() => {});
        await s.flush();
        await delivered;
        fast = false;
        await bursting;
        clearTimeout(giveUp);
        arrived = null;
        if (s.closed || p.closed) {
          throw new Error(`connection closed: ${[...s.errors, ...p.errors].join('; ')}`);
        }
        if (firstAt === 0) result.misses++;
        else {
          // A delivery before the PONG would mean the SUB was already known: count it as 0.
          result.fromPongMs.push(Math.max(0, firstAt - pongAt));
          result.fromSubMs.push(firstAt - subAt);
        }
        s.socket.write(`UNSUB ${sid}\r\n`);
        await s.flush();
      } finally {
        clearInterval(timer);
      }
      opts.onTrial?.(i + 1, trials);
      // Let the last messages and the UNSUB settle before the next subject.
      await sleep(20);
    }
  } catch (err) {
    result.errors.push((err as Error).message);
  } finally {
    for (const c of conns) c.close();
  }
  result.stats = percentiles(result.fromSubMs);
  result.fromPongStats = percentiles(result.fromPongMs);
  return result;
}
