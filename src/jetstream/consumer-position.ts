/**
 * Where a consumer stands in its stream, read from the store: the start of
 * a new consumer by its deliver policy, and how many matching messages are
 * left to deliver from a point (consumer info's `num_pending`). Plain
 * functions of the store: the consumer keeps the results.
 *
 * Without a filter, or with a literal one, answers come from the store's
 * state and its per-subject index; a wildcard filter means a scan with
 * `store.next`.
 */
import { classifySubject } from '../core/subject.js';
import type { StreamStore } from '../streams/store.js';
import type { ConsumerConfig } from './consumer-config.js';

export interface StartPosition {
  /** The first stream sequence to deliver. */
  cursor: number;
  /** Sequences to deliver before the cursor's (deliver policy last_per_subject). */
  startSeqs: number[];
}

/** Where a new consumer starts, by its deliver policy. */
export async function startPosition(
  store: StreamStore,
  cfg: ConsumerConfig,
): Promise<StartPosition> {
  const st = store.state();
  const filter = cfg.filter_subject ?? '';
  switch (cfg.deliver_policy) {
    case 'all':
      return { cursor: 1, startSeqs: [] };
    case 'new':
      return { cursor: st.lastSeq + 1, startSeqs: [] };
    case 'by_start_sequence':
      return { cursor: cfg.opt_start_seq ?? 1, startSeqs: [] };
    case 'by_start_time':
      return { cursor: store.seqForTime(Date.parse(cfg.opt_start_time ?? '')), startSeqs: [] };
    case 'last': {
      const last = await lastMatching(store, filter);
      return { cursor: last === 0 ? st.lastSeq + 1 : last, startSeqs: [] };
    }
    case 'last_per_subject': {
      const bySubject = new Map<string, number>();
      let seq = st.firstSeq;
      for (;;) {
        const m = await store.next(seq, filter);
        if (m === null) break;
        bySubject.set(m.subject, m.seq);
        seq = m.seq + 1;
      }
      return {
        cursor: st.lastSeq + 1,
        startSeqs: [...bySubject.values()].sort((a, b) => a - b),
      };
    }
  }
  // Not reached: config parsing admits no other policy.
  return { cursor: 1, startSeqs: [] };
}

/** The last stream sequence matching `filter` ('' for all), 0 if none. */
async function lastMatching(store: StreamStore, filter: string): Promise<number> {
  if (filter === '') return store.state().lastSeq;
  if (classifySubject(filter) === 'literal') {
    const seqs = store.subjectSeqs(filter);
    return seqs.length === 0 ? 0 : seqs[seqs.length - 1]!;
  }
  let last = 0;
  let seq = store.state().firstSeq;
  for (;;) {
    const m = await store.next(seq, filter);
    if (m === null) return last;
    last = m.seq;
    seq = m.seq + 1;
  }
}

/**
 * How many messages matching `filter` ('' for all) are at or after stream
 * sequence `cursor`. A number when the store's state and index answer it
 * (so the caller's count is set in the same turn, and no message stored
 * meanwhile is missed); a promise when a wildcard filter needs a scan.
 */
export function countFrom(
  store: StreamStore,
  filter: string,
  cursor: number,
): number | Promise<number> {
  const st = store.state();
  const from = Math.max(cursor, st.firstSeq);
  if (filter === '') {
    return cursor <= st.firstSeq ? st.messages : Math.max(0, st.lastSeq - from + 1);
  }
  if (classifySubject(filter) === 'literal') {
    const seqs = store.subjectSeqs(filter);
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqs[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    return seqs.length - lo;
  }
  return scanCount(store, filter, from);
}

async function scanCount(store: StreamStore, filter: string, from: number): Promise<number> {
  let n = 0;
  let seq = from;
  for (;;) {
    const m = await store.next(seq, filter);
    if (m === null) return n;
    n++;
    seq = m.seq + 1;
  }
}
