/**
 * How a stream tells a publisher of its publish without a promise
 * (`Stream.storeNotify`, `Stream.appendInRun`): a callback, or an object's
 * method.
 */

/** How `storeNotify` tells of a publish: `err` null once stored (what `store` rejects with, else). */
export type StoreDone = (err: unknown, seq: number, duplicate: boolean) => void;

/**
 * `StoreDone` as an object's method: a caller that keeps an object per
 * publish until it is acked anyway (the Redis face's reply slot) passes
 * it, not a closure and its context as well (bench/PROFILE.md, "Issue 16
 * — xadd3").
 */
export interface StoreNotice {
  stored(err: unknown, seq: number, duplicate: boolean): void;
}

/** Tells `done` (a callback or a notice) of a publish. */
export function tell(done: StoreDone | StoreNotice, err: unknown, seq: number, dup: boolean): void {
  if (typeof done === 'function') done(err, seq, dup);
  else done.stored(err, seq, dup);
}
