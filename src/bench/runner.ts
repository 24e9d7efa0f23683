/**
 * Runs one benchmark workload against a NATS-protocol server: spawns the
 * subscriber (or responder) workers, waits until every SUB is confirmed by a
 * PING/PONG round trip, then starts the publisher (or requester) and waits
 * until everything expected has arrived, the deliveries stall, or the
 * deadline passes — never hangs, and reports what was lost.
 */

import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from './agent.js';
import { COUNTER, nowNs, type Task, type WorkerReport } from './messages.js';
import { waitForPath } from './probe.js';
import { parseServerUrl, runSubject, type ServerAddress } from './protocol.js';
import type { Spread } from './spread.js';
import { type Percentiles, percentiles } from './stats.js';

export const WORKLOADS = ['pub', 'pubsub', 'fanout', 'queue', 'reqrep'] as const;
export type Workload = (typeof WORKLOADS)[number];

export function isWorkload(name: string): name is Workload {
  return (WORKLOADS as readonly string[]).includes(name);
}

export interface BenchOptions {
  workload: Workload;
  /** `nats://host:port` or an address: the publisher (requester) connects here. */
  server: string | ServerAddress;
  /**
   * Where the subscribers (the responder, for reqrep) connect, when not to
   * `server`: e.g. another node of a cluster or mesh, so every message crosses
   * the servers' links. Default: `server`.
   */
  subServer?: string | ServerAddress;
  /** Messages to publish (requests, for reqrep). */
  msgs: number;
  /** Payload bytes per message. */
  size: number;
  /** Subscribers for fanout and queue (pubsub always has one). */
  subs: number;
  /** Give up this long after publishing starts, ms (default 60 s). */
  timeoutMs?: number;
  /** Once the publisher is done, give up after this long without a delivery, ms (default 5 s). */
  stallMs?: number;
  /** pubsub: stamp one message per batch and report one-way latency (default true). */
  latency?: boolean;
  /**
   * pubsub only: publish to many distinct subjects, subscribed through
   * wildcards (see spread.ts); every message still reaches the one subscriber.
   */
  spread?: Spread;
  /** Worker threads for the subscribers (default: one per core, at most one per subscriber). */
  subWorkers?: number;
  onProgress?: (p: Progress) => void;
  progressMs?: number;
  /** Ends the run early (reported as incomplete). */
  signal?: AbortSignal;
}

export interface Progress {
  workload: Workload;
  /** Messages published (requests completed, for reqrep). */
  published: number;
  msgs: number;
  /** Deliveries so far, over all subscribers, and deliveries expected. */
  received: number;
  expected: number;
  elapsedMs: number;
}

export interface Throughput {
  msgs: number;
  elapsedMs: number;
  msgsPerSec: number;
  /** Payload megabytes (10^6 bytes) per second. */
  mbPerSec: number;
}

export interface SubThroughput extends Throughput {
  /** Deliveries due for the messages actually published. */
  expected: number;
  /** Equals `msgs`: deliveries over all subscribers. */
  received: number;
  lost: number;
  perSub: number[];
}

export interface BenchResult {
  workload: Workload;
  /** Where the publisher (requester) was connected. */
  server: string;
  /** Where the subscribers (responder) were connected, when not to `server`. */
  subServer?: string;
  msgs: number;
  size: number;
  subs: number;
  /** Everything was published and delivered, with no error. */
  complete: boolean;
  /** How the run ended: 'done', 'timeout', 'stalled', 'error' or 'aborted'. */
  ended: 'done' | 'timeout' | 'stalled' | 'error' | 'aborted';
  /** Publish start → last delivery (→ publisher's flush for pub, → last reply for reqrep), ms. */
  elapsedMs: number;
  /** Publisher side: messages (requests) sent, start → flush confirmed by the server. */
  pub: Throughput;
  /** Subscriber side: deliveries over all subscribers, publish start → last delivery. */
  sub?: SubThroughput;
  /** µs. reqrep: round trip per request; pubsub: one-way, sampled, under full load. */
  latency?: Percentiles & { kind: 'round-trip' | 'one-way' };
  errors: string[];
}

/** The number a comparison tracks: msgs/s published (pub), delivered, or requests/s. */
export function headline(r: BenchResult): number {
  return r.sub ? r.sub.msgsPerSec : r.pub.msgsPerSec;
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const addr = typeof opts.server === 'string' ? parseServerUrl(opts.server) : opts.server;
  const subAddr =
    opts.subServer === undefined
      ? addr
      : typeof opts.subServer === 'string'
        ? parseServerUrl(opts.subServer)
        : opts.subServer;
  const { workload, msgs, size } = opts;
  const subs =
    workload === 'pubsub' ? 1 : workload === 'fanout' || workload === 'queue' ? opts.subs : 0;
  if (!Number.isInteger(msgs) || msgs < 1) throw new Error('msgs must be a positive integer');
  if (!Number.isInteger(size) || size < 0) throw new Error('size must be a non-negative integer');
  if (subs < 0 || (subs === 0 && (workload === 'fanout' || workload === 'queue'))) {
    throw new Error('subs must be at least 1');
  }
  const split = !sameAddress(addr, subAddr);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const stallMs = opts.stallMs ?? 5000;
  const expected = workload === 'fanout' ? msgs * subs : subs > 0 ? msgs : 0;
  const counters = new SharedArrayBuffer(4 * (COUNTER.subs + Math.max(1, subs)));
  const view = new Int32Array(counters);
  const subject = runSubject(workload);
  const errors: string[] = [];
  const onError = (message: string) => {
    if (!errors.includes(message)) errors.push(message);
  };

  const agents: Agent[] = [];
  const spawn = (task: Task): Agent => {
    const agent = new Agent(task, onError);
    agents.push(agent);
    return agent;
  };
  try {
    const receivers: Agent[] = [];
    let driver: Agent;
    if (workload === 'reqrep') {
      const responder = spawn({ role: 'responder', addr: subAddr, counters, subject });
      receivers.push(responder);
      await responder.ready;
      driver = spawn({ role: 'requester', addr, counters, subject, count: msgs, size });
      if (split) {
        // Requests must reach the responder's server, and replies the requester's inbox.
        await driver.ready;
        await waitForPath(addr, subAddr, { subject: `${subject}.ready`, signal: opts.signal });
        await waitForPath(subAddr, addr, { subject: `${subject}.back`, signal: opts.signal });
      }
    } else {
      const spread = workload === 'pubsub' ? opts.spread : undefined;
      const stamp = workload === 'pubsub' && spread === undefined && (opts.latency ?? true);
      const groups = Math.max(1, Math.min(subs, opts.subWorkers ?? availableParallelism()));
      for (let g = 0, first = 0; g < groups && subs > 0; g++) {
        const conns = Math.floor(subs / groups) + (g < subs % groups ? 1 : 0);
        const queue = workload === 'queue' ? 'weft-bench-q' : undefined;
        receivers.push(
          spawn({
            role: 'sub',
            addr: subAddr,
            counters,
            subject,
            queue,
            first,
            conns,
            stamp,
            spread,
          }),
        );
        first += conns;
      }
      // Every SUB is confirmed (PING/PONG) before the publisher may start.
      await Promise.all(receivers.map((a) => a.ready));
      // On another server, the subscribers' interest has to reach the publisher's
      // server first: a probe subscribed after them arriving says it has (links
      // carry interest in order).
      if (split && subs > 0) {
        await waitForPath(addr, subAddr, { subject: `${subject}.ready`, signal: opts.signal });
      }
      driver = spawn({ role: 'pub', addr, counters, subject, count: msgs, size, stamp, spread });
    }
    await driver.ready;

    const began = performance.now();
    driver.post({ type: 'start' });
    let ended: BenchResult['ended'] = 'done';
    let lastReceived = -1;
    let lastChange = began;
    let lastProgress = 0;
    const progressMs = opts.progressMs ?? 250;
    for (;;) {
      const now = performance.now();
      const received = sum(view, COUNTER.subs, subs);
      if (opts.onProgress && now - lastProgress >= progressMs) {
        lastProgress = now;
        opts.onProgress({
          workload,
          published: view[COUNTER.published]!,
          msgs,
          received,
          expected,
          elapsedMs: now - began,
        });
      }
      if (errors.length > 0) {
        ended = 'error';
        break;
      }
      if (opts.signal?.aborted) {
        ended = 'aborted';
        break;
      }
      if (driver.report !== null) {
        if (received >= expected) break;
        if (received !== lastReceived) {
          lastReceived = received;
          lastChange = now;
        } else if (now - lastChange > stallMs) {
          ended = 'stalled';
          break;
        }
      }
      if (now - began > timeoutMs) {
        ended = 'timeout';
        break;
      }
      await sleep(5);
    }

    const driverReport = (await driver.stop()) ?? undefined;
    const reports = await Promise.all(receivers.map((a) => a.stop()));
    return summarise({
      opts,
      addr,
      subAddr,
      subs,
      expected,
      ended,
      t0: driver.startedNs || driverReport?.t0 || 0,
      driver: driverReport,
      receivers: reports.filter((r): r is WorkerReport => r !== null),
      published: view[COUNTER.published]!,
      errors,
    });
  } finally {
    await Promise.all(agents.map((a) => a.terminate()));
  }
}

interface RunFacts {
  opts: BenchOptions;
  addr: ServerAddress;
  subAddr: ServerAddress;
  subs: number;
  expected: number;
  ended: BenchResult['ended'];
  t0: number;
  driver: WorkerReport | undefined;
  receivers: WorkerReport[];
  published: number;
  errors: string[];
}

function summarise(f: RunFacts): BenchResult {
  const { opts, subs, expected, t0 } = f;
  const end = nowNs();
  const errors = [...f.errors];
  for (const r of [f.driver, ...f.receivers]) {
    for (const e of r?.errors ?? []) if (!errors.includes(e)) errors.push(e);
  }
  const sent = opts.workload === 'reqrep' ? (f.driver?.received[0] ?? f.published) : f.published;
  const pubEndNs = f.driver?.t1 || end;
  const pub = throughput(sent, (pubEndNs - t0) / 1e6, opts.size);
  const result: BenchResult = {
    workload: opts.workload,
    server: formatUrl(f.addr),
    msgs: opts.msgs,
    size: opts.size,
    subs,
    complete: false,
    ended: f.ended,
    elapsedMs: pub.elapsedMs,
    pub,
    errors,
  };
  if (opts.workload !== 'pub' && !sameAddress(f.subAddr, f.addr)) {
    result.subServer = formatUrl(f.subAddr);
  }
  if (opts.workload === 'reqrep') {
    result.latency = { ...percentiles(f.driver?.latencyUs ?? []), kind: 'round-trip' };
    result.complete = f.ended === 'done' && sent === opts.msgs && errors.length === 0;
    return result;
  }
  if (subs > 0) {
    const perSub = f.receivers.flatMap((r) => r.received);
    const received = perSub.reduce((a, b) => a + b, 0);
    const lastNs = Math.max(t0, ...f.receivers.flatMap((r) => r.lastNs));
    const sub = throughput(received, (lastNs - t0) / 1e6, opts.size);
    // Lost = published but not delivered; what was never sent is not lost.
    const due = opts.workload === 'fanout' ? sent * subs : sent;
    result.sub = { ...sub, expected: due, received, lost: Math.max(0, due - received), perSub };
    result.elapsedMs = sub.elapsedMs;
    const samples = f.receivers.flatMap((r) => Array.from(r.latencyUs));
    if (samples.length > 0) result.latency = { ...percentiles(samples), kind: 'one-way' };
    result.complete =
      f.ended === 'done' && sent === opts.msgs && received === expected && errors.length === 0;
  } else {
    result.complete = f.ended === 'done' && sent === opts.msgs && errors.length === 0;
  }
  return result;
}

export function formatUrl(a: ServerAddress): string {
  const scheme = a.caFile === undefined ? 'nats' : 'tls';
  return `${scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

function sameAddress(a: ServerAddress, b: ServerAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

function throughput(msgs: number, elapsedMs: number, size: number): Throughput {
  const secs = elapsedMs / 1000;
  return {
    msgs,
    elapsedMs,
    msgsPerSec: secs > 0 ? msgs / secs : 0,
    mbPerSec: secs > 0 ? (msgs * size) / 1e6 / secs : 0,
  };
}

function sum(view: Int32Array, from: number, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += Atomics.load(view, from + i);
  return total;
}
