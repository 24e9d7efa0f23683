/**
 * bcrypt checks on a worker thread. bcryptjs is plain JavaScript: its
 * asynchronous compare still runs on the event loop, in chunks of up to
 * 100 ms, and a login at cost 11 takes a few hundred ms of CPU. On the
 * event loop that would hold every other connection's reads and PINGs; on
 * a worker it costs them nothing. One worker per process, made on the
 * first check, holding the process open only while a check is pending;
 * it is made again if it dies. Requests wait in the worker's queue, one per pending
 * CONNECT, so they are bounded by max_connections and auth_timeout.
 */
import type { Worker } from 'node:worker_threads';
import { lazyModule } from '../util/lazy-module.js';

/** Loaded with the first check: a node without bcrypt passwords does not load it. */
const workerThreads = lazyModule<typeof import('node:worker_threads')>('node:worker_threads');

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, (ok: boolean) => void>();
/** Checks done on the worker (for tests and monitoring). */
export const bcryptPoolStats = { checks: 0, restarts: 0 };

function failAll(): void {
  for (const done of pending.values()) done(false);
  pending.clear();
}

function start(): Worker {
  const w = new (workerThreads().Worker)(new URL('./bcrypt-thread.js', import.meta.url));
  w.on('message', (m: { id: number; ok: boolean }) => {
    const done = pending.get(m.id);
    if (done === undefined) return;
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    done(m.ok);
  });
  // A worker that fails answers every waiting check "no" and is replaced at the next one.
  const gone = (): void => {
    if (worker === w) worker = null;
    bcryptPoolStats.restarts++;
    failAll();
  };
  w.on('error', gone);
  w.on('exit', gone);
  // Idle, the worker keeps no process alive (after the listeners: adding a
  // 'message' listener refs it again); a pending check does.
  w.unref();
  return w;
}

/** Whether `password` matches the bcrypt `hash`, computed on the worker thread. */
export function bcryptCompare(password: string, hash: string): Promise<boolean> {
  worker ??= start();
  const id = nextId++;
  bcryptPoolStats.checks++;
  return new Promise<boolean>((resolve) => {
    if (pending.size === 0) worker!.ref();
    pending.set(id, resolve);
    worker!.postMessage({ id, password, hash });
  });
}
