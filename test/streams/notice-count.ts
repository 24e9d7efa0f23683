/**
 * Counts a file store's notices (shared by the run tests: stream-run's
 * Kafka batches and stream-append-run's Redis XADD runs): appends, appends
 * with a notice of their own, and `notifyQueued` calls.
 */
import type { FileStore } from '../../src/streams/file-store.js';
import type { AppendDone } from '../../src/streams/store.js';

export function countNotices(store: FileStore): { own: number; queued: number; appends: number } {
  const n = { own: 0, queued: 0, appends: 0 };
  const append = store.appendNotify.bind(store);
  const queued = store.notifyQueued.bind(store);
  store.appendNotify = (subject, headers, payload, time, done, pStart, pEnd) => {
    n.appends++;
    if (done !== null) n.own++;
    return append(subject, headers, payload, time, done, pStart, pEnd);
  };
  store.notifyQueued = (done: AppendDone) => {
    n.queued++;
    queued(done);
  };
  return n;
}
