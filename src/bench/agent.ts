/**
 * The main thread's handle on one load-generator worker: spawn it with a
 * task, wait for 'ready', tell it to start, collect its report.
 */

import { Worker } from 'node:worker_threads';
import type { FromWorker, Task, ToWorker, WorkerReport } from './messages.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** `T`: the task a worker takes; the MQTT generator's workers take their own (mqtt-worker.ts). */
export class Agent<T extends { role: string } = Task> {
  readonly ready: Promise<void>;
  /** Settles with the worker's report, or null if it exited without one. */
  readonly done: Promise<WorkerReport | null>;
  report: WorkerReport | null = null;
  /** Clock (ns) at which the worker began sending, once it has. */
  startedNs = 0;
  private readonly worker: Worker;
  private exited = false;

  constructor(
    readonly task: T,
    onError: (message: string) => void,
    workerUrl: URL = WORKER_URL,
  ) {
    this.worker = new Worker(workerUrl, { workerData: task });
    let readyOk!: () => void;
    let readyFail!: (e: Error) => void;
    let finish!: (r: WorkerReport | null) => void;
    this.ready = new Promise((resolve, reject) => {
      readyOk = resolve;
      readyFail = reject;
    });
    this.ready.catch(() => {}); // observed by whoever awaits it
    this.done = new Promise((resolve) => {
      finish = resolve;
    });
    this.worker.on('message', (msg: FromWorker) => {
      switch (msg.type) {
        case 'ready':
          readyOk();
          break;
        case 'started':
          this.startedNs = msg.t0;
          break;
        case 'done':
          this.report = msg.report;
          finish(msg.report);
          break;
        case 'error':
          readyFail(new Error(msg.message));
          onError(msg.message);
          break;
      }
    });
    this.worker.on('error', (err) => {
      readyFail(err);
      onError(`${task.role} worker: ${err.message}`);
    });
    this.worker.on('exit', () => {
      this.exited = true;
      readyFail(new Error(`${task.role} worker exited before it was ready`));
      finish(null);
    });
  }

  post(msg: ToWorker): void {
    if (!this.exited) this.worker.postMessage(msg);
  }

  /** Asks for the report now; gives up after `timeoutMs`. */
  async stop(timeoutMs = 3000): Promise<WorkerReport | null> {
    if (this.report !== null) return this.report;
    this.post({ type: 'stop' });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    try {
      return await Promise.race([this.done, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}
