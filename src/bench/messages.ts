/**
 * What the benchmark's main thread and its worker threads say to each other.
 *
 * Live counts travel through a shared Int32Array (see `COUNTER`) so that the
 * hot loops never post a message; `postMessage` is used only for the few
 * lifecycle steps: ready → start → (started) → stop/done.
 */

import type { ServerAddress } from './protocol.js';
import type { Spread } from './spread.js';

/** Slots of the shared counter array. */
export const COUNTER = {
  /** Messages (or requests) written so far by the publisher / requester. */
  published: 0,
  /** Idle connections open so far. */
  opened: 1,
  /** First per-subscriber slot: subscriber i counts into `subs + i`. */
  subs: 2,
} as const;

interface TaskBase {
  addr: ServerAddress;
  counters: SharedArrayBuffer;
}

export interface PubTask extends TaskBase {
  role: 'pub';
  subject: string;
  count: number;
  size: number;
  /** Stamp the first message of each batch with a send time (pubsub latency). */
  stamp: boolean;
  /** Cycle through many subjects under `subject` (see spread.ts); no stamps then. */
  spread?: Spread;
}

export interface SubTask extends TaskBase {
  role: 'sub';
  subject: string;
  queue?: string;
  /** Index of this worker's first subscriber in the counter array. */
  first: number;
  conns: number;
  /** Record latency of stamped messages. */
  stamp: boolean;
  /** Subscribe each connection to the spread's patterns under `subject` instead. */
  spread?: Spread;
}

export interface ResponderTask extends TaskBase {
  role: 'responder';
  subject: string;
}

export interface RequesterTask extends TaskBase {
  role: 'requester';
  subject: string;
  count: number;
  size: number;
}

export interface IdleTask extends TaskBase {
  role: 'idle';
  conns: number;
  /** Connections being opened at once. */
  concurrency: number;
}

export type Task = PubTask | SubTask | ResponderTask | RequesterTask | IdleTask;

/** What a worker has to tell when it is finished or stopped. */
export interface WorkerReport {
  /** Messages or requests sent. */
  sent: number;
  /** Clock (ns, `process.hrtime`) when sending began and when it was confirmed done. */
  t0: number;
  t1: number;
  /** Per subscriber connection: messages received and first/last arrival (ns). */
  received: number[];
  firstNs: number[];
  lastNs: number[];
  /** Latency samples, µs. */
  latencyUs: Float64Array;
  /** Idle connections that were open. */
  opened: number;
  errors: string[];
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'started'; t0: number }
  | { type: 'done'; report: WorkerReport }
  | { type: 'error'; message: string };

export type ToWorker = { type: 'start' } | { type: 'stop' };

export function emptyReport(): WorkerReport {
  return {
    sent: 0,
    t0: 0,
    t1: 0,
    received: [],
    firstNs: [],
    lastNs: [],
    latencyUs: new Float64Array(0),
    opened: 0,
    errors: [],
  };
}

/** Monotonic clock shared by all threads of the process, ns. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}
