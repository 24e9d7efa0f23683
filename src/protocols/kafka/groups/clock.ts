/**
 * Time for the group coordinator, injected so that tests drive rebalances
 * and session timeouts without waiting: the node gives it `realClock`,
 * tests a `FakeClock` they advance by hand.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the handle cancels it. */
  set(ms: number, fn: () => void): unknown;
  clear(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  set: (ms, fn) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear: (h) => {
    if (h !== null && h !== undefined) clearTimeout(h as NodeJS.Timeout);
  },
};

interface FakeTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A clock whose time moves only when `advance` is called; due timers fire in order. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Set<FakeTimer>();

  constructor(start = 1_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  set(ms: number, fn: () => void): unknown {
    const timer: FakeTimer = {
      at: this.t + Math.max(0, ms),
      seq: this.seq++,
      fn,
      cancelled: false,
    };
    this.timers.add(timer);
    return timer;
  }

  clear(handle: unknown): void {
    if (handle === null || handle === undefined) return;
    const timer = handle as FakeTimer;
    timer.cancelled = true;
    this.timers.delete(timer);
  }

  /** Pending timers. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing each timer that falls due, earliest first. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: FakeTimer | null = null;
      for (const x of this.timers) {
        if (
          x.at <= end &&
          (next === null || x.at < next.at || (x.at === next.at && x.seq < next.seq))
        ) {
          next = x;
        }
      }
      if (next === null) break;
      this.timers.delete(next);
      this.t = Math.max(this.t, next.at);
      if (!next.cancelled) next.fn();
    }
    this.t = end;
  }
}
