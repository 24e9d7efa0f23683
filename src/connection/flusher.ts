/**
 * The node's flush pass: every connection that queued bytes during a read
 * batch is flushed once at the batch's end (or in setImmediate when bytes
 * were queued outside a read). Split from connection.ts; connection.ts
 * re-exports it.
 */

/** What the pass flushes (a Connection). */
export interface Flushable {
  flush(): void;
}

/** Flushes every connection that queued bytes: after each read batch, or in setImmediate. */
export class Flusher {
  /**
   * Connections marked since the last run: dirty[0, count). The array is
   * kept and reused (emptied by a run, as is the other one, `spare`): a new
   * array per read batch, or one emptied with `length = 0`, was ~150 B of
   * garbage per message at low rates (bench/PROFILE.md, "Issue 16 — mesh
   * (round 5)").
   */
  private dirty: (Flushable | null)[] = [];
  private count = 0;
  /** The other list, empty, while `dirty` is in use (null: a run holds it). */
  private spare: (Flushable | null)[] | null = [];
  private scheduled = false;
  private depth = 0;

  /** Read batches begun so far: a publisher waiting for its turn sees from it that others read. */
  batches = 0;

  /** A read batch starts: flushing waits for its `end`. */
  begin(): void {
    this.batches++;
    this.depth++;
  }

  end(): void {
    if (--this.depth === 0 && this.count > 0) this.run();
  }

  mark(c: Flushable): void {
    this.dirty[this.count++] = c;
    if (this.depth === 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const list = this.dirty;
    const n = this.count;
    // Marks made while these flush go to the other list; a run nested in a
    // flush takes that one and leaves a new one (so `list` gets no marks).
    this.dirty = this.spare ?? [];
    this.spare = null;
    this.count = 0;
    for (let i = 0; i < n; i++) {
      const c = list[i]!;
      list[i] = null;
      c.flush();
    }
    this.spare ??= list;
  };
}
