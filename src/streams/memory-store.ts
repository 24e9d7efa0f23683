/**
 * The memory store: a StreamStore held in the process, for streams with
 * `storage: memory` and for tests. It follows the contract in store.ts
 * exactly and passes the same suite as the file store
 * (test/streams/store-suite.ts), so the stream layer cannot tell them apart
 * except by what survives a restart.
 *
 * Layout: messages sit in `slots`, indexed by sequence (`slotMap`); removed ones
 * leave a hole. Holes before the first held message are dropped by moving
 * `start`, and the array is compacted once the dead prefix is large, so a
 * stream trimmed from the front (the common case under limits) costs O(1)
 * per message. A large jump in sequences (`skip`) takes no slots: see
 * seq-slots.ts. Each subject keeps its sequences in ascending order, which
 * serves lastBySubject, subjectSeqs and literal filters without a scan.
 */
import { classifySubject, subjectMatches } from '../core/subject.js';
import { lowerBound } from '../util/sorted.js';
import { INLINE_GAP, SeqSlots } from './seq-slots.js';
import {
  badSkip,
  type PurgeOptions,
  type StoredMessage,
  StoreError,
  type StoreState,
  type StreamStore,
  subjectTooLong,
} from './store.js';

/** Compact `slots` once this many dead entries lead it (and they are half of it). */
const COMPACT_AT = 1024;

function sizeOf(m: StoredMessage): number {
  return Buffer.byteLength(m.subject) + (m.headers?.length ?? 0) + m.payload.length;
}

/**
 * Creates an empty memory store. Stored buffers are copies of what was
 * appended (callers often pass slices of a reused read buffer); the
 * messages handed out share the stored buffers and must not be mutated.
 */
export function createMemoryStore(): StreamStore {
  /** slots[i] holds sequence slotMap.seqAt(i), or undefined when removed. */
  let slots: (StoredMessage | undefined)[] = [];
  const slotMap = new SeqSlots();
  /** Index in `slots` of the first held message (slots.length when empty). */
  let start = 0;
  /** Subject → its held sequences, ascending. A subject with none is deleted. */
  const bySubject = new Map<string, number[]>();
  let lastSeq = 0;
  let lastTime = 0;
  let messages = 0;
  let bytes = 0;
  let closed = false;

  function check(): void {
    if (closed) throw new StoreError('closed', 'store is closed');
  }

  function at(seq: number): StoredMessage | undefined {
    if (!Number.isInteger(seq)) return undefined;
    const i = slotMap.slotOf(seq);
    return i >= start && i < slots.length ? slots[i] : undefined;
  }

  /** Skips the holes at the front and drops them when they are many. */
  function advanceStart(): void {
    while (start < slots.length && slots[start] === undefined) start++;
    if (start === slots.length) {
      // Empty: restart the array at the next sequence to be assigned.
      slots = [];
      slotMap.reset(lastSeq + 1);
      start = 0;
    } else if (start >= COMPACT_AT && start * 2 >= slots.length) {
      slots = slots.slice(start);
      slotMap.shift(start);
      start = 0;
    }
  }

  /** Removes a held message; the caller knows it is held. */
  function drop(m: StoredMessage): void {
    slots[slotMap.slotOf(m.seq)] = undefined;
    messages--;
    bytes -= sizeOf(m);
    const held = bySubject.get(m.subject)!;
    // The oldest is the usual victim (limits trim from the front).
    if (held[0] === m.seq) held.shift();
    else held.splice(lowerBound(held, m.seq), 1);
    if (held.length === 0) bySubject.delete(m.subject);
  }

  function firstFrom(seq: number): number {
    return Math.max(start, slotMap.slotFrom(Math.ceil(seq)));
  }

  function nextNow(seq: number, filter = ''): StoredMessage | null {
    check();
    if (filter !== '' && classifySubject(filter) === 'literal') {
      const seqs = bySubject.get(filter);
      if (seqs === undefined) return null;
      const i = lowerBound(seqs, seq);
      return i < seqs.length ? at(seqs[i]!)! : null;
    }
    for (let i = firstFrom(seq); i < slots.length; i++) {
      const m = slots[i];
      if (m !== undefined && (filter === '' || subjectMatches(filter, m.subject))) return m;
    }
    return null;
  }

  return {
    async append(subject, headers, payload, time = Date.now()) {
      check();
      const tooLong = subjectTooLong(Buffer.byteLength(subject));
      if (tooLong !== null) throw tooLong;
      const m: StoredMessage = {
        seq: ++lastSeq,
        subject,
        time,
        headers: headers === null ? null : Buffer.from(headers),
        payload: Buffer.from(payload),
      };
      if (start === slots.length) {
        // Empty: the array starts at this message.
        slots = [];
        start = 0;
        slotMap.reset(m.seq);
      } else {
        // lastSeq may have been moved on by skip.
        const jump = m.seq - slotMap.seqAt(slots.length);
        if (jump > INLINE_GAP) slotMap.jump(slots.length, m.seq);
        else for (let k = 0; k < jump; k++) slots.push(undefined);
      }
      slots.push(m);
      const held = bySubject.get(subject);
      if (held === undefined) bySubject.set(subject, [m.seq]);
      else held.push(m.seq);
      messages++;
      bytes += sizeOf(m);
      lastTime = time;
      return m;
    },

    async get(seq) {
      check();
      return at(seq) ?? null;
    },

    async next(seq, filter = '') {
      return nextNow(seq, filter);
    },

    nextNow,

    async lastBySubject(subject) {
      check();
      const seqs = bySubject.get(subject);
      return seqs === undefined ? null : at(seqs[seqs.length - 1]!)!;
    },

    async remove(seq) {
      check();
      const m = at(seq);
      if (m === undefined) return false;
      drop(m);
      advanceStart();
      return true;
    },

    async purge(opts: PurgeOptions = {}) {
      check();
      const { subject, upToSeq, keep } = opts;
      const filter = subject ?? '';
      const tooLong = subjectTooLong(Buffer.byteLength(filter), 'purge filter');
      if (tooLong !== null) throw tooLong;
      const end = upToSeq === undefined ? slots.length : Math.min(slots.length, firstFrom(upToSeq));
      const victims: StoredMessage[] = [];
      if (filter !== '' && classifySubject(filter) === 'literal') {
        for (const s of bySubject.get(filter) ?? []) {
          if (slotMap.slotOf(s) >= end) break;
          victims.push(at(s)!);
        }
      } else {
        for (let i = start; i < end; i++) {
          const m = slots[i];
          if (m !== undefined && (filter === '' || subjectMatches(filter, m.subject))) {
            victims.push(m);
          }
        }
      }
      // `keep` spares the newest matching messages.
      const n = keep === undefined ? victims.length : Math.max(0, victims.length - keep);
      for (let i = 0; i < n; i++) drop(victims[i]!);
      advanceStart();
      return n;
    },

    async skip(toSeq) {
      check();
      const bad = badSkip(toSeq);
      if (bad !== null) throw bad;
      if (toSeq - 1 > lastSeq) lastSeq = toSeq - 1;
    },

    subjectSeqs(subject) {
      check();
      return (bySubject.get(subject) ?? []).slice();
    },

    seqForTime(time) {
      check();
      // Times need not be monotonic (callers may pass their own), so scan.
      for (let i = start; i < slots.length; i++) {
        const m = slots[i];
        if (m !== undefined && m.time >= time) return m.seq;
      }
      return lastSeq + 1;
    },

    state(): StoreState {
      check();
      const first = start < slots.length ? slots[start] : undefined;
      return {
        messages,
        bytes,
        firstSeq: first?.seq ?? lastSeq + 1,
        lastSeq,
        firstTime: first?.time ?? 0,
        lastTime,
        subjects: bySubject.size,
      };
    },

    /** Memory never fails a write. */
    writeError: null,

    async close() {
      closed = true;
    },
  };
}
