/**
 * Redis's entries-read counter and lag for a group (t_stream.c's
 * streamEstimateDistanceFromFirstEverEntry, streamRangeHasTombstones,
 * streamReplyWithCGLag) on a Weft stream: entries added are the stream's
 * last sequence (one per entry; XSETID ENTRIESADDED as the streams
 * commands keep it), and Redis's tombstones (entries deleted inside the
 * stream) are gaps in its sequences.
 */
import type { CapturedStream } from '../../../jetstream/service.js';
import { type IdKey, MIN_ID, nextId, prevId } from './ids.js';
import { type GroupState, UNKNOWN_READ } from './state.js';
import type { StreamsView } from './view.js';

/** Past this many entries a stream with deletions inside is not scanned for them (taken as having some). */
export const TOMBSTONE_SCAN_MAX = 100_000;

/**
 * Whether an entry at stream sequence `seq` or later was deleted (Redis's
 * tombstones: XDEL inside the stream; trimming from the start leaves
 * none). Exact and cheap when the stream has no gap at all; otherwise
 * counted on the stream's one subject (a Redis-made stream), up to
 * TOMBSTONE_SCAN_MAX entries.
 */
export function tombstonesFrom(cs: CapturedStream, seq: number): boolean {
  const st = cs.stream.state();
  if (st.messages === 0 || st.lastSeq - st.firstSeq + 1 === st.messages) return false;
  const from = Math.max(seq, st.firstSeq);
  if (from > st.lastSeq) return false;
  const subjects = cs.stream.config.subjects ?? [];
  if (subjects.length !== 1 || /(^|\.)[*>](\.|$)/.test(subjects[0]!)) return true;
  if (st.messages > TOMBSTONE_SCAN_MAX) return true;
  const seqs = cs.stream.messages.subjectSeqs(subjects[0]!);
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seqs[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return seqs.length - lo !== st.lastSeq - from + 1;
}

/** Whether an entry with ID ≥ `id` was deleted. */
async function tombstonesAt(view: StreamsView, cs: CapturedStream, id: IdKey): Promise<boolean> {
  const st = cs.stream.state();
  if (st.messages === 0 || st.lastSeq - st.firstSeq + 1 === st.messages) return false;
  const before = prevId(id);
  return tombstonesFrom(cs, before === null ? 0 : await view.seqAfter(cs, before));
}

/**
 * Redis's streamEstimateDistanceFromFirstEverEntry: how many entries a
 * group at `id` has read, counting every entry ever added (the stream's
 * last sequence: one sequence per entry), or UNKNOWN_READ.
 */
export async function estimateRead(
  view: StreamsView,
  cs: CapturedStream,
  id: IdKey,
): Promise<number> {
  const st = cs.stream.state();
  const added = view.added(cs);
  if (added === 0) return 0;
  const last = await view.lastId(cs);
  if (st.messages === 0 && id <= last) return added;
  const after = nextId(id);
  if (id !== MIN_ID && after !== null && (await tombstonesAt(view, cs, after))) return UNKNOWN_READ;
  if (id === last) return added;
  if (id > last) return UNKNOWN_READ;
  if (tombstonesFrom(cs, st.firstSeq)) return UNKNOWN_READ;
  const firstId = await firstIdOf(view, cs, st.firstSeq);
  if (firstId === null) return UNKNOWN_READ;
  if (id < firstId) return added - st.messages;
  if (id === firstId) return added - st.messages + 1;
  return UNKNOWN_READ;
}

/**
 * The ID of each stream's first entry, with its sequence: an entry never
 * changes, and while the stream's first sequence is that one, it is the
 * first entry. A group whose entries-read is unknown estimates it on every
 * XREADGROUP, and read the first entry from the store each time.
 */
const FIRST_IDS = new WeakMap<CapturedStream, { seq: number; id: IdKey }>();

async function firstIdOf(
  view: StreamsView,
  cs: CapturedStream,
  firstSeq: number,
): Promise<IdKey | null> {
  const kept = FIRST_IDS.get(cs);
  if (kept !== undefined && kept.seq === firstSeq) return kept.id;
  const first = await cs.stream.messages.next(firstSeq);
  if (first === null) return null;
  const id = view.idOf(cs, first);
  FIRST_IDS.set(cs, { seq: first.seq, id });
  return id;
}

/** XINFO's lag: entries added after the group's position, or null when it cannot be known. */
export async function groupLag(
  view: StreamsView,
  cs: CapturedStream,
  g: GroupState,
): Promise<number | null> {
  const added = view.added(cs);
  if (added === 0) return 0;
  if (g.entriesRead !== UNKNOWN_READ && !(await tombstonesAt(view, cs, g.lastId))) {
    return added - g.entriesRead;
  }
  const er = await estimateRead(view, cs, g.lastId);
  return er === UNKNOWN_READ ? null : added - er;
}

/**
 * A group's entries-read counter after it delivered `taken` (new entries,
 * in ID order), by Redis's rule entry by entry (streamReplyWithRange): a
 * known counter counts on while no entry at or after the one delivered was
 * deleted; otherwise the entry's estimate (`estimateRead`) replaces it. A
 * deletion at or after an entry is one at or after every entry before it,
 * so the entries split in two: those with one (estimated; the last
 * estimate stands) and those without (counted on). A counter still
 * unknown there becomes known only at the stream's first entry (the first
 * of them) or its last (the last of them); the estimates in between are
 * unknown. A fresh group at `0` knows its counter from its first read on,
 * as in Redis, and then counts on without an estimate per read.
 */
export function entriesReadAfter(
  view: StreamsView,
  cs: CapturedStream,
  er: number,
  taken: readonly { id: IdKey; seq: number }[],
): number | Promise<number> {
  const n = taken.length;
  let k = 0;
  let hi = n;
  while (k < hi) {
    const mid = (k + hi) >> 1;
    if (tombstonesFrom(cs, taken[mid]!.seq)) k = mid + 1;
    else hi = mid;
  }
  if (k === 0 && er !== UNKNOWN_READ) return er + n;
  return entriesReadEstimated(view, cs, er, taken, k);
}

async function entriesReadEstimated(
  view: StreamsView,
  cs: CapturedStream,
  er: number,
  taken: readonly { id: IdKey; seq: number }[],
  k: number,
): Promise<number> {
  const n = taken.length;
  if (k > 0) er = await estimateRead(view, cs, taken[k - 1]!.id);
  if (k === n) return er;
  if (er === UNKNOWN_READ) {
    er = await estimateRead(view, cs, taken[k]!.id);
    k++;
    if (er === UNKNOWN_READ && k < n) {
      er = await estimateRead(view, cs, taken[n - 1]!.id);
      k = n;
    }
  }
  return er === UNKNOWN_READ ? er : er + n - k;
}
