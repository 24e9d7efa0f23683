/**
 * How a stream tells a publisher of its publish without a promise
 * (`Stream.storeNotify`, `Stream.appendInRun`): a callback, or an object's
 * method.
 */
import type { StreamApiError } from './stream-errors.js';

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

/**
 * Asked before a message on `subject` with `size` bytes of headers and
 * payload is stored, after the stream's own checks (`Stream.admit`): an
 * error refuses it (the account's storage limit, jetstream/account-limits.ts).
 * A method of one class, not a closure per stream: the publish path's call
 * then has one target in every stream, where each new stream's closure
 * deoptimised it once (bench/PROFILE.md, "Issue 16 — xadd3 (round 12)").
 */
export interface PublishAdmission {
  admitPublish(subject: string, size: number): StreamApiError | null;
}
