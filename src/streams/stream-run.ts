/**
 * A run of plain publishes on one subject told with one notice
 * (`Stream.storeNotifyRun`): the Kafka face's record batch, whose records
 * take consecutive sequences and one group commit, so one notice in the
 * stream's queue and one in the writer's serve them all, not one per record
 * (bench/PROFILE.md, "Issue 16 — kafka4 (round 10)").
 */
import type { StoreNotice } from './stream.js';

/**
 * How a run is told of, once, when its stored records are durable:
 * `failed` why their write failed (then none is stored), else null;
 * `refused` the first record's refusal, or null (every record stored).
 */
export type RunDone = (failed: unknown, refused: unknown) => void;

/** A run's entry in the stream's queue of notices. */
export class RunNotice implements StoreNotice {
  constructor(
    private readonly done: RunDone,
    /** The first refused record's error, or null. */
    private readonly refused: unknown,
  ) {}

  stored(err: unknown): void {
    this.done(err, this.refused);
  }
}
