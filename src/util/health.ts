/**
 * What is wrong with the node right now, as its parts report it: a stream
 * that refuses writes (full disk, failed fsync), damaged records found in a
 * store, a listener that misbehaves. `/healthz` shows it. Each part reports
 * under a key of its own (e.g. `stream:ORDERS:write`) and clears that key
 * when it has recovered, so the list is what is wrong now, not a history.
 */

export interface HealthProblem {
  /** What the problem is about, e.g. `stream ORDERS`. */
  readonly component: string;
  /** A sentence an operator can act on. */
  readonly detail: string;
  readonly since: Date;
}

/** Bound on problems held at once; past it the newest are counted, not kept. */
export const HEALTH_PROBLEMS_MAX = 1000;

export class Health {
  private readonly problems = new Map<string, HealthProblem>();
  /** Problems not kept because HEALTH_PROBLEMS_MAX were held. */
  dropped = 0;

  /** Reports (or replaces) the problem under `key`. */
  report(key: string, component: string, detail: string): void {
    const had = this.problems.get(key);
    if (had === undefined && this.problems.size >= HEALTH_PROBLEMS_MAX) {
      this.dropped++;
      return;
    }
    this.problems.set(key, { component, detail, since: had?.since ?? new Date() });
  }

  /** The problem under `key` is over. */
  clear(key: string): void {
    this.problems.delete(key);
  }

  get ok(): boolean {
    return this.problems.size === 0;
  }

  list(): HealthProblem[] {
    return [...this.problems.values()];
  }

  /**
   * The `/healthz` body: `{"status":"ok"}`, or `degraded` with the problems.
   * Degraded is still served with 200: the node serves everything the
   * problems do not name, and a probe that restarted it would not help.
   */
  toJSON(): Record<string, unknown> {
    if (this.ok) return { status: 'ok' };
    return {
      status: 'degraded',
      problems: this.list().map((p) => ({
        component: p.component,
        detail: p.detail,
        since: p.since.toISOString(),
      })),
      ...(this.dropped > 0 ? { problems_not_kept: this.dropped } : {}),
    };
  }
}
