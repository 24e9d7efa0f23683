/**
 * Shared by the run tests (stream-run's Kafka batches, stream-append-run's
 * Redis XADD runs): a file store's notices counted, and its payloads read.
 */
import type { FileStore } from '../../src/streams/file-store.js';
import type { AppendDone, StreamStore } from '../../src/streams/store.js';

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

/** The payloads `store` holds, oldest first, as strings. */
export async function storedPayloads(store: StreamStore): Promise<string[]> {
  const held: string[] = [];
  for (let m = await store.next(0); m !== null; m = await store.next(m.seq + 1)) {
    held.push(m.payload.toString());
  }
  return held;
}
