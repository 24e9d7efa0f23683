/**
 * This node's interest changes, batched: one delta per turn of the event
 * loop however many subscriptions came and went, an add and a del of one
 * entry cancelling, and a large batch split into deltas of bounded size.
 */
import type { InterestChange } from './interest.js';
import { type InterestEntry, interestKey } from './lsdb.js';

/** Interest entries, and bytes of their names, in one INTEREST delta frame. */
export const DELTA_ENTRIES = 2000;
export const DELTA_BYTES = 1024 * 1024;

export class InterestBatch {
  private pending = new Map<string, [InterestEntry, 1 | -1]>();
  private scheduled = false;

  constructor(
    /** Sends one delta (the mesh floods it). */
    private readonly send: (add: InterestEntry[], del: InterestEntry[]) => void,
    /** Whether the mesh has stopped (nothing more is sent). */
    private readonly stopped: () => boolean,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  queue(change: InterestChange): void {
    const p = this.pending;
    for (const [list, sign] of [
      [change.add, 1],
      [change.del, -1],
    ] as const) {
      for (const e of list) {
        const k = interestKey(e);
        const have = p.get(k);
        if (have !== undefined && have[1] !== sign) p.delete(k);
        else p.set(k, [e, sign]);
      }
    }
    if (p.size > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0 || this.stopped()) return;
    const add: InterestEntry[] = [];
    const del: InterestEntry[] = [];
    for (const [e, sign] of this.pending.values()) (sign === 1 ? add : del).push(e);
    this.pending = new Map();
    // A large batch goes as several deltas, each a frame of bounded size.
    const all: [InterestEntry, boolean][] = [
      ...add.map((e): [InterestEntry, boolean] => [e, true]),
      ...del.map((e): [InterestEntry, boolean] => [e, false]),
    ];
    let i = 0;
    while (i < all.length) {
      const pa: InterestEntry[] = [];
      const pd: InterestEntry[] = [];
      let bytes = 0;
      while (i < all.length && pa.length + pd.length < DELTA_ENTRIES && bytes < DELTA_BYTES) {
        const [e, isAdd] = all[i++];
        bytes += e[0].length + e[1].length + e[2].length;
        (isAdd ? pa : pd).push(e);
      }
      this.send(pa, pd);
    }
  }
}
