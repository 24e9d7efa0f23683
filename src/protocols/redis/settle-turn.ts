/**
 * Replies settled outside a read batch — told by a record stream's write
 * (XREADGROUP `>` and XACK once their group record is written, XADD once
 * its group commit is): they are flushed at the end of the task that
 * settled them, in the same turn of the event loop, instead of in the
 * Flusher's setImmediate pass, which a write told in a setImmediate (the
 * store's writer) put off to the next turn: one loop turn more per read
 * batch, an `epoll_pwait` and the turn's overhead, and the reply a turn
 * later (bench/PROFILE.md, "Issue 16 — rgroup7 (round 13)").
 *
 * Still one flush per connection for every reply settled in that task (a
 * group commit settles many in one loop): the first holds the Flusher
 * (`begin`), a microtask queued then lets it go (`end`) once the loop that
 * tells them has returned. A reply is still written only once settled,
 * so never before its record is written.
 */
import type { Flusher } from '../../connection/connection.js';

export class SettleTurn {
  private open = false;

  constructor(private readonly flusher: Flusher) {}

  /** A reply is about to be written outside a read: hold the flush to the end of this task. */
  enter(): void {
    if (this.open) return;
    this.open = true;
    this.flusher.begin();
    queueMicrotask(this.close);
  }

  private readonly close = (): void => {
    this.open = false;
    this.flusher.end();
  };
}

/** One per Flusher (one per node): every Redis connection of the node shares it. */
const turns = new WeakMap<Flusher, SettleTurn>();

export function settleTurnOf(flusher: Flusher): SettleTurn {
  let t = turns.get(flusher);
  if (t === undefined) {
    t = new SettleTurn(flusher);
    turns.set(flusher, t);
  }
  return t;
}
