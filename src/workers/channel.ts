/**
 * A worker's end of the IPC channel to the primary (docs/workers.md): it
 * says when its node is ready, answers the primary's requests for what its
 * monitor serves (`serve`), asks for every worker's (`gather`, which the
 * monitor totals), and passes the primary's stop and reload on.
 *
 * Bounds: at most GATHERS_MAX gathers wait at once (past it one is refused
 * at once, counted in `refused`); each waits at most GATHER_TIMEOUT_MS, then
 * rejects (counted in `timeouts`).
 */

import {
  type GatheredMsg,
  isWeftMessage,
  type ToPrimary,
  type ToWorker,
  type WorkerPart,
} from './messages.js';
import type { WorkerPlan } from './plan.js';

/** Gathers waiting for the primary at once. */
export const GATHERS_MAX = 64;
/** How long a gather waits for the primary's answer, ms (the primary gives workers less). */
export const GATHER_TIMEOUT_MS = 3000;

export interface Gathered {
  readonly parts: readonly WorkerPart[];
  readonly missing: readonly number[];
  readonly restarts: number;
  readonly count: number;
}

export class WorkerChannel {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (g: Gathered) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly servers = new Map<string, () => unknown>();
  /** Gathers refused at GATHERS_MAX, and gathers that timed out. */
  readonly counters = { refused: 0, timeouts: 0 };
  /** Called when the primary says stop (SIGINT/SIGTERM to the server). */
  onStop: () => void = () => {};
  /** Called when the primary says reload (SIGHUP to the server). */
  onReload: () => void = () => {};
  private readonly listener = (m: unknown): void => this.receive(m);

  constructor(
    readonly plan: WorkerPlan,
    private readonly send: (m: ToPrimary) => void = (m) => process.send?.(m),
    private readonly proc: NodeJS.EventEmitter = process,
  ) {
    proc.on('message', this.listener);
  }

  get index(): number {
    return this.plan.index;
  }

  get count(): number {
    return this.plan.count;
  }

  /** Answers the primary's requests for `what` with `fn()` (a value or a promise of one). */
  serve(what: string, fn: () => unknown): void {
    this.servers.set(what, fn);
  }

  ready(name: string, serverId: string): void {
    this.send({ weft: 'ready', index: this.plan.index, name, serverId });
  }

  /** Every live worker's `what` (this one's included), through the primary. */
  gather(what: string): Promise<Gathered> {
    if (this.waiting.size >= GATHERS_MAX) {
      this.counters.refused++;
      return Promise.reject(new Error(`too many requests to the workers at once (${GATHERS_MAX})`));
    }
    const id = this.nextId++;
    return new Promise<Gathered>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.counters.timeouts++;
        reject(new Error(`the primary did not answer within ${GATHER_TIMEOUT_MS}ms`));
      }, GATHER_TIMEOUT_MS);
      this.waiting.set(id, { resolve, reject, timer });
      this.send({ weft: 'gather', id, what });
    });
  }

  close(): void {
    this.proc.off('message', this.listener);
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new Error('the worker is stopping'));
    }
    this.waiting.clear();
  }

  private receive(raw: unknown): void {
    if (!isWeftMessage(raw)) return;
    const m = raw as ToWorker;
    switch (m.weft) {
      case 'stop':
        this.onStop();
        return;
      case 'reload':
        this.onReload();
        return;
      case 'collect':
        void this.collect(m.id, m.what);
        return;
      case 'gathered':
        this.gathered(m);
        return;
    }
  }

  private async collect(id: number, what: string): Promise<void> {
    const fn = this.servers.get(what);
    let body: unknown = null;
    try {
      body = fn === undefined ? null : await fn();
    } catch {
      body = null;
    }
    this.send({ weft: 'collected', id, index: this.plan.index, body });
  }

  private gathered(m: GatheredMsg): void {
    const w = this.waiting.get(m.id);
    if (w === undefined) return;
    this.waiting.delete(m.id);
    clearTimeout(w.timer);
    w.resolve({ parts: m.parts, missing: m.missing, restarts: m.restarts, count: m.count });
  }
}
