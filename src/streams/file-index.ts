/**
 * The file store's in-memory index: where each held message lives, per
 * subject lists of sequences, and the totals `state()` reports. It is
 * rebuilt from the segments on open and never touches the disk.
 *
 * Slots are parallel typed arrays indexed by `seq - base`, 24 bytes per
 * sequence from the first held one to the last assigned (a removed message
 * is a slot with segment 0), so ten million messages cost ~240 MB and the
 * hot path allocates nothing per message beyond its subject list entry.
 * Slots before the first held message are dropped by moving `start`, and
 * the arrays are shifted down once that dead prefix is large. A large jump
 * in sequences (a skip, or segments compacted away) takes no slots: see
 * seq-slots.ts.
 */
import { subjectMatches } from '../core/subject.js';
import { lowerBound } from '../util/sorted.js';
import { HEADER } from './file-record.js';
import { INLINE_GAP, SeqSlots } from './seq-slots.js';

/** One segment file, as the index and the store's writer see it. */
export interface Segment {
  /** Identity for the slots (1, 2, …; 0 means "not held"). */
  readonly id: number;
  /** The number in the file name: lastSeq + 1 when it was created, or more. */
  readonly name: number;
  readonly path: string;
  /** Open descriptor, or -1 until the writer creates the file. */
  fd: number;
  /** Bytes including records queued but not yet written. */
  size: number;
  /** Bytes written to the file. */
  written: number;
  /** Held messages in it. */
  live: number;
  /** Highest MSG sequence ever written to it (0: none). */
  lastMsgSeq: number;
  /**
   * Lowest sequence removed by a DELETE or PURGE record in it (Infinity:
   * none). While an older segment still on disk holds a message at or
   * above this, the segment's tombstones are needed and it is kept.
   */
  tombMin: number;
}

interface SubjectEntry {
  readonly id: number;
  readonly name: string;
  /** Held sequences, ascending. */
  readonly seqs: number[];
}

/** Compact the slot arrays once this many dead slots lead them (and they are half). */
const COMPACT_AT = 1024;

export class MessageIndex {
  /** Which sequence each slot stands for. */
  private readonly seqs = new SeqSlots();
  /** First slot that may be held; `start === end` when empty. */
  private start = 0;
  private end = 0;
  private off = new Uint32Array(1024);
  private len = new Uint32Array(1024);
  private seg = new Uint32Array(1024);
  private sid = new Uint32Array(1024);
  private time = new Float64Array(1024);
  /** Times of all slots are non-decreasing (then seqForTime can bisect). */
  private monotonic = true;

  private readonly subjects = new Map<string, SubjectEntry>();
  private readonly byId: (SubjectEntry | undefined)[] = [undefined];
  private readonly freeIds: number[] = [];
  /** The last wildcard filter's verdict per subject id: 0 unknown, 1 match, 2 no. */
  private memoFilter = '';
  private memo = new Int8Array(0);

  messages = 0;
  bytes = 0;
  lastSeq = 0;
  lastTime = 0;

  constructor(private readonly segments: Map<number, Segment>) {}

  get firstSeq(): number {
    return this.start < this.end ? this.seqs.seqAt(this.start) : this.lastSeq + 1;
  }

  get firstTime(): number {
    return this.start < this.end ? this.time[this.start]! : 0;
  }

  get subjectCount(): number {
    return this.subjects.size;
  }

  /** Records a message; `seq` is above every sequence seen so far. */
  add(seq: number, subject: string, time: number, seg: Segment, off: number, len: number): void {
    if (this.start === this.end) {
      this.seqs.reset(seq);
      this.start = 0;
      this.end = 0;
      this.monotonic = true;
    }
    let i = this.end;
    const jump = seq - this.seqs.seqAt(i);
    if (jump > INLINE_GAP) this.seqs.jump(i, seq);
    else i += jump;
    if (i >= this.off.length) this.grow(i + 1);
    const prevTime = this.end > 0 ? this.time[this.end - 1]! : time;
    // Slots skipped by a small jump (a skip, or segments compacted away).
    for (let j = this.end; j < i; j++) {
      this.seg[j] = 0;
      this.time[j] = prevTime;
    }
    if (time < prevTime) this.monotonic = false;
    this.off[i] = off;
    this.len[i] = len;
    this.seg[i] = seg.id;
    this.time[i] = time;
    let e = this.subjects.get(subject);
    if (e === undefined) e = this.newSubject(subject);
    this.sid[i] = e.id;
    e.seqs.push(seq);
    this.end = i + 1;
    this.messages++;
    this.bytes += len - HEADER;
    seg.live++;
    if (seq > seg.lastMsgSeq) seg.lastMsgSeq = seq;
    this.lastSeq = seq;
    this.lastTime = time;
  }

  private newSubject(name: string): SubjectEntry {
    const id = this.freeIds.pop() ?? this.byId.length;
    const e: SubjectEntry = { id, name, seqs: [] };
    this.byId[id] = e;
    this.subjects.set(name, e);
    if (id < this.memo.length) this.memo[id] = 0;
    return e;
  }

  private grow(need: number): void {
    let cap = this.off.length;
    while (cap < need) cap *= 2;
    const g = <T extends Uint32Array | Float64Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.off = g(this.off, new Uint32Array(cap));
    this.len = g(this.len, new Uint32Array(cap));
    this.seg = g(this.seg, new Uint32Array(cap));
    this.sid = g(this.sid, new Uint32Array(cap));
    this.time = g(this.time, new Float64Array(cap));
  }

  private slot(seq: number): number {
    if (!Number.isInteger(seq)) return -1;
    const i = this.seqs.slotOf(seq);
    return i >= this.start && i < this.end && this.seg[i] !== 0 ? i : -1;
  }

  has(seq: number): boolean {
    return this.slot(seq) >= 0;
  }

  /** Where a held message is, or null. */
  locate(seq: number): { seg: number; off: number; len: number; subject: string } | null {
    const i = this.slot(seq);
    if (i < 0) return null;
    return {
      seg: this.seg[i]!,
      off: this.off[i]!,
      len: this.len[i]!,
      subject: this.byId[this.sid[i]!]!.name,
    };
  }

  /** Removes a held message; false when it is not held. */
  drop(seq: number): boolean {
    const i = this.slot(seq);
    if (i < 0) return false;
    const s = this.segments.get(this.seg[i]!);
    if (s !== undefined) s.live--;
    this.seg[i] = 0;
    this.messages--;
    this.bytes -= this.len[i]! - HEADER;
    const e = this.byId[this.sid[i]!]!;
    // The oldest is the usual victim (limits trim from the front).
    if (e.seqs[0] === seq) e.seqs.shift();
    else e.seqs.splice(lowerBound(e.seqs, seq), 1);
    if (e.seqs.length === 0) {
      this.subjects.delete(e.name);
      this.byId[e.id] = undefined;
      this.freeIds.push(e.id);
    }
    if (i === this.start) this.advanceStart();
    return true;
  }

  private advanceStart(): void {
    while (this.start < this.end && this.seg[this.start] === 0) this.start++;
    if (this.start === this.end) {
      this.seqs.reset(this.lastSeq + 1);
      this.start = 0;
      this.end = 0;
      this.monotonic = true;
    } else if (this.start >= COMPACT_AT && this.start * 2 >= this.end) {
      const s = this.start;
      for (const a of [this.off, this.len, this.seg, this.sid, this.time])
        a.copyWithin(0, s, this.end);
      this.seqs.shift(s);
      this.end -= s;
      this.start = 0;
    }
  }

  /** Sequences held on exactly this subject, ascending (the live array: do not mutate). */
  seqsOf(subject: string): readonly number[] | undefined {
    return this.subjects.get(subject)?.seqs;
  }

  /** Does the subject with this id match the wildcard `filter`? Memoised for the last filter. */
  private matches(filter: string, id: number): boolean {
    if (filter !== this.memoFilter) {
      this.memoFilter = filter;
      this.memo = new Int8Array(Math.max(16, this.byId.length));
    } else if (id >= this.memo.length) {
      const m = new Int8Array(Math.max(this.byId.length, id + 1) * 2);
      m.set(this.memo);
      this.memo = m;
    }
    let v = this.memo[id]!;
    if (v === 0) {
      v = subjectMatches(filter, this.byId[id]!.name) ? 1 : 2;
      this.memo[id] = v;
    }
    return v === 1;
  }

  /**
   * The first held sequence ≥ `seq` whose subject matches `filter`
   * ('' = any; `literal` says the filter has no wildcard), or 0.
   */
  nextSeq(seq: number, filter: string, literal: boolean): number {
    if (filter !== '' && literal) {
      const seqs = this.subjects.get(filter)?.seqs;
      if (seqs === undefined) return 0;
      const k = lowerBound(seqs, seq);
      return k < seqs.length ? seqs[k]! : 0;
    }
    let i = Math.max(this.start, this.seqs.slotFrom(Math.ceil(seq)));
    for (; i < this.end; i++) {
      if (this.seg[i] === 0) continue;
      if (filter === '' || this.matches(filter, this.sid[i]!)) return this.seqs.seqAt(i);
    }
    return 0;
  }

  /**
   * The held sequences a purge removes, ascending: those matching `filter`
   * ('' = any) below `upTo`, less the newest `keep` of them.
   */
  purgeVictims(filter: string, literal: boolean, upTo: number, keep: number): number[] {
    let victims: number[];
    if (filter === '') {
      victims = [];
      const stop = Math.min(this.end, this.seqs.slotFrom(Math.ceil(upTo)));
      for (let i = this.start; i < stop; i++) {
        if (this.seg[i] !== 0) victims.push(this.seqs.seqAt(i));
      }
    } else if (literal) {
      const seqs = this.subjects.get(filter)?.seqs ?? [];
      victims = seqs.slice(0, lowerBound(seqs, upTo));
    } else {
      victims = [];
      for (const e of this.subjects.values()) {
        if (!subjectMatches(filter, e.name)) continue;
        for (const s of e.seqs) {
          if (s >= upTo) break;
          victims.push(s);
        }
      }
      victims.sort((a, b) => a - b);
    }
    if (keep > 0) victims.length = Math.max(0, victims.length - keep);
    return victims;
  }

  /** The first held sequence whose time is ≥ `t`, or lastSeq + 1. */
  seqForTime(t: number): number {
    let i = this.start;
    if (this.monotonic) {
      let hi = this.end;
      while (i < hi) {
        const mid = (i + hi) >>> 1;
        if (this.time[mid]! < t) i = mid + 1;
        else hi = mid;
      }
    }
    for (; i < this.end; i++) {
      if (this.seg[i] !== 0 && this.time[i]! >= t) return this.seqs.seqAt(i);
    }
    return this.lastSeq + 1;
  }

  /** Time of a held message (the caller knows it is held). */
  timeOf(seq: number): number {
    return this.time[this.seqs.slotOf(seq)]!;
  }
}
