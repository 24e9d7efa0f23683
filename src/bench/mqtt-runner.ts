/**
 * Runs one MQTT workload against an MQTT server (the MQTT twin of
 * runner.ts): spawns the subscriber workers, waits until every SUBSCRIBE is
 * acknowledged, starts the publisher workers, and waits until everything
 * expected has arrived, the deliveries stall, or the deadline passes — never
 * hangs, and reports what was lost. Also opens idle connections for the
 * memory measurement.
 *
 * Workloads (all MQTT 3.1.1 over TCP):
 *   pubsub  1 publisher → 1 subscriber (QoS 0, or QoS 1 both ways: the
 *           publisher waits for PUBACKs with a window, the subscriber acks)
 *   fanout  1 publisher → N subscribers of the same topic
 *   fanin   N publisher connections → 1 subscriber of their topic
 */

import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from './agent.js';
import { COUNTER, nowNs, type WorkerReport } from './messages.js';
import type { MqttAddress } from './mqtt-conn.js';

interface MqttTaskBase {
  addr: MqttAddress;
  counters: SharedArrayBuffer;
  /** Client identifiers start with this (unique per run: a repeated id takes over a session). */
  clientPrefix: string;
  /** Index of this worker's first connection (names, counter slots). */
  first: number;
  conns: number;
}

export interface MqttPubTask extends MqttTaskBase {
  role: 'mqtt-pub';
  topic: string;
  /** Messages over all of this worker's connections. */
  count: number;
  size: number;
  qos: 0 | 1;
  /** QoS 1: unacknowledged messages per connection. */
  window: number;
}

export interface MqttSubTask extends MqttTaskBase {
  role: 'mqtt-sub';
  filter: string;
  qos: 0 | 1;
}

export interface MqttIdleTask extends MqttTaskBase {
  role: 'mqtt-idle';
  concurrency: number;
  /** Source addresses, used in turn. */
  localAddresses: string[];
}

export type MqttTask = MqttPubTask | MqttSubTask | MqttIdleTask;

const WORKER_URL = new URL('./mqtt-worker.js', import.meta.url);

export type MqttWorkload = 'pubsub' | 'fanout' | 'fanin';

export interface MqttBenchOptions {
  workload: MqttWorkload;
  addr: MqttAddress;
  /** Messages published, over all publishers. */
  msgs: number;
  size: number;
  qos: 0 | 1;
  /** Subscribers (fanout). */
  subs?: number;
  /** Publisher connections (fanin). */
  pubs?: number;
  /** QoS 1 window per publisher (default 512). */
  window?: number;
  timeoutMs?: number;
  stallMs?: number;
  onProgress?: (received: number, expected: number) => void;
}

export interface MqttBenchResult {
  workload: MqttWorkload;
  msgs: number;
  size: number;
  qos: 0 | 1;
  published: number;
  received: number;
  expected: number;
  lost: number;
  /** Publish start → last delivery. */
  elapsedMs: number;
  /** Deliveries per second over all subscribers. */
  msgsPerSec: number;
  complete: boolean;
  ended: 'done' | 'timeout' | 'stalled' | 'error';
  errors: string[];
}

let runNo = 0;
const prefix = (what: string) => `wb${process.pid}-${++runNo}-${what}`;

export async function runMqttBench(o: MqttBenchOptions): Promise<MqttBenchResult> {
  const subs = o.workload === 'fanout' ? (o.subs ?? 4) : 1;
  const pubs = o.workload === 'fanin' ? (o.pubs ?? 1000) : 1;
  const expected = o.msgs * subs;
  const counters = new SharedArrayBuffer(4 * (COUNTER.subs + subs));
  const view = new Int32Array(counters);
  const clientPrefix = prefix(o.workload);
  const topic = `weft/bench/${clientPrefix}`;
  const errors: string[] = [];
  const onError = (m: string) => {
    if (!errors.includes(m)) errors.push(m);
  };
  const agents: Agent<MqttTask>[] = [];
  const spawn = (t: MqttTask) => {
    const a = new Agent<MqttTask>(t, onError, WORKER_URL);
    agents.push(a);
    return a;
  };
  const base = { addr: o.addr, counters, clientPrefix };
  try {
    const subGroups = Math.max(1, Math.min(subs, availableParallelism()));
    const receivers: Agent<MqttTask>[] = [];
    for (let g = 0, first = 0; g < subGroups; g++) {
      const conns = Math.floor(subs / subGroups) + (g < subs % subGroups ? 1 : 0);
      receivers.push(spawn({ ...base, role: 'mqtt-sub', first, conns, filter: topic, qos: o.qos }));
      first += conns;
    }
    await Promise.all(receivers.map((a) => a.ready));
    const pubGroups = pubs > 1 ? Math.min(2, pubs) : 1;
    const drivers: Agent<MqttTask>[] = [];
    for (let g = 0, first = 0; g < pubGroups; g++) {
      const conns = Math.floor(pubs / pubGroups) + (g < pubs % pubGroups ? 1 : 0);
      const count = Math.floor(o.msgs / pubGroups) + (g < o.msgs % pubGroups ? 1 : 0);
      drivers.push(
        spawn({
          ...base,
          role: 'mqtt-pub',
          first,
          conns,
          topic,
          count,
          size: o.size,
          qos: o.qos,
          window: o.window ?? 512,
        }),
      );
      first += conns;
    }
    await Promise.all(drivers.map((a) => a.ready));

    const timeoutMs = o.timeoutMs ?? 120_000;
    const stallMs = o.stallMs ?? 5000;
    const began = performance.now();
    for (const d of drivers) d.post({ type: 'start' });
    let ended: MqttBenchResult['ended'] = 'done';
    let lastReceived = -1;
    let lastChange = began;
    let lastProgress = 0;
    for (;;) {
      const now = performance.now();
      let received = 0;
      for (let i = 0; i < subs; i++) received += Atomics.load(view, COUNTER.subs + i);
      if (o.onProgress && now - lastProgress > 250) {
        lastProgress = now;
        o.onProgress(received, expected);
      }
      if (errors.length > 0) {
        ended = 'error';
        break;
      }
      if (drivers.every((d) => d.report !== null)) {
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
    const driverReports = await Promise.all(drivers.map((d) => d.stop()));
    const reports = (await Promise.all(receivers.map((a) => a.stop()))).filter(
      (r): r is WorkerReport => r !== null,
    );
    const t0 = Math.min(...drivers.map((d, i) => d.startedNs || driverReports[i]?.t0 || nowNs()));
    for (const r of [...driverReports, ...reports])
      for (const e of r?.errors ?? []) if (!errors.includes(e)) errors.push(e);
    const received = reports.flatMap((r) => r.received).reduce((a, b) => a + b, 0);
    const lastNs = Math.max(t0, ...reports.flatMap((r) => r.lastNs));
    const elapsedMs = (lastNs - t0) / 1e6;
    const published = Atomics.load(view, COUNTER.published);
    return {
      workload: o.workload,
      msgs: o.msgs,
      size: o.size,
      qos: o.qos,
      published,
      received,
      expected,
      lost: Math.max(0, published * subs - received),
      elapsedMs,
      msgsPerSec: elapsedMs > 0 ? received / (elapsedMs / 1000) : 0,
      complete: ended === 'done' && received === expected && errors.length === 0,
      ended,
      errors,
    };
  } finally {
    await Promise.all(agents.map((a) => a.terminate()));
  }
}

export interface MqttIdleConnections {
  opened: number;
  open(): number;
  close(): Promise<string[]>;
}

/**
 * Opens `total` idle MQTT connections (CONNECT, CONNACK, then nothing; keep
 * alive 0) from worker threads, spread over `localAddresses`.
 */
export async function openMqttIdle(
  addr: MqttAddress,
  total: number,
  localAddresses: string[],
  opts: { workers?: number; onProgress?: (n: number) => void; timeoutMs?: number } = {},
): Promise<MqttIdleConnections> {
  const workers = Math.max(1, Math.min(opts.workers ?? 2, total));
  const counters = new SharedArrayBuffer(4 * (COUNTER.subs + 1));
  const view = new Int32Array(counters);
  const errors: string[] = [];
  const clientPrefix = prefix('idle');
  const agents: Agent<MqttTask>[] = [];
  for (let w = 0, first = 0; w < workers; w++) {
    const conns = Math.floor(total / workers) + (w < total % workers ? 1 : 0);
    const task: MqttIdleTask = {
      role: 'mqtt-idle',
      addr,
      counters,
      clientPrefix,
      first,
      conns,
      concurrency: 64,
      localAddresses,
    };
    agents.push(new Agent<MqttTask>(task, (m) => errors.push(m), WORKER_URL));
    first += conns;
  }
  const open = () => Atomics.load(view, COUNTER.opened);
  let settled = false;
  const ready = Promise.allSettled(agents.map((a) => a.ready)).then(() => {
    settled = true;
  });
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const deadline = performance.now() + timeoutMs;
  while (!settled && performance.now() < deadline) {
    opts.onProgress?.(open());
    await Promise.race([ready, sleep(250)]);
  }
  if (!settled) errors.push(`not all connections were open within ${timeoutMs} ms`);
  return {
    opened: open(),
    open,
    close: async () => {
      const reports = await Promise.all(agents.map((a) => a.stop(20_000)));
      await Promise.all(agents.map((a) => a.terminate()));
      for (const r of reports) errors.push(...(r?.errors ?? []).slice(0, 3));
      return errors;
    },
  };
}
