/**
 * The life every load-generator worker thread shares (worker.ts for NATS,
 * mqtt-worker.ts for MQTT): connect and set up its role → post 'ready' →
 * on 'start' run → post 'done' with a report (when finished, or when told
 * to 'stop'); an error is posted as 'error'.
 */
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerReport } from './messages.js';

/** What a worker plays: a publisher, subscribers, idle connections, … */
export interface Role {
  start?(): void;
  /** Snapshot of what happened so far. */
  report(): WorkerReport;
  close(): void;
}

const port = parentPort!;
let role: Role | null = null;
let finished = false;
/** Set when the runner said 'stop': loops end at their next check (a live binding). */
export let stopped = false;

export function send(msg: FromWorker): void {
  port.postMessage(msg);
}

/** Posts the report and ends the worker (once). */
export function finish(): void {
  if (finished || role === null) return;
  finished = true;
  const report = role.report();
  role.close();
  send({ type: 'done', report });
  port.close();
}

export function fail(err: unknown): void {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}

/** Runs a worker whose role `setup` builds. */
export function runWorker(setup: Promise<Role>): void {
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'start') role?.start?.();
    else if (msg.type === 'stop') {
      stopped = true;
      finish();
    }
  });
  setup.then(
    (r) => {
      role = r;
      if (stopped) finish();
      else send({ type: 'ready' });
    },
    (err) => {
      fail(err);
      port.close();
    },
  );
}
