/**
 * The file store's in-memory index: where each held message lives, per
 * subject lists of sequences, and the totals `state()` reports. It is
 * rebuilt from the segments on open and never touches the disk.
 *
 * Slots are parallel paged typed arrays indexed by `seq - base`, about 11
 * bytes per sequence from the first held one to the last assigned (offset
 * u32, time u32 from a base; record length, segment id and subject id u8
 * while they fit, else u16/u32: slot-arrays.ts; a removed message is a slot
 * with segment 0), so ten million small messages cost ~110 MB, and the hot
 * path allocates nothing per message (one page per 16,384). Each subject
 * keeps its sequences as runs of consecutive ones (seq-runs.ts): a stream
 * with one subject costs one 10-byte run per 65,535 messages, not a number
 * per message.
 * Slots before the first held message are dropped by moving `start`, and
 * each page wholly before it is freed (the slots renumbered down by a page;
 * nothing is copied); an index that empties keeps one page. A large jump
 * in sequences (a skip, or segments compacted away) takes no slots: see
 * seq-slots.ts.
 */
import { subjectMatches } from '../core/subject.js';
import { DOUBLE_FIRST } from './double-first.js';
import { HEADER } from './file-record.js';
import { SeqRuns } from './seq-runs.js';
import { INLINE_GAP, SeqSlots } from './seq-slots.js';
import { NarrowUints, Pages, SlotTimes } from './slot-arrays.js';

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
  /**
   * End of the zeros written ahead of `written` (file-fill.ts); at most
   * `written` when nothing is filled. Data never reaches past `written`.
   */
  filled: number;
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

/**
 * A segment's entry, as the writer and the checker register it: one object
 * literal for every segment, so every segment has one shape (map).
 */
export function newSegment(id: number, name: number, path: string, fd: number): Segment {
  return {
    id,
    name,
    path,
    fd,
    size: 0,
    written: 0,
    filled: 0,
    live: 0,
    lastMsgSeq: 0,
    tombMin: Infinity,
  };
}

interface SubjectEntry {
  readonly id: number;
  readonly name: string;
  /** Held sequences, ascending. */
  readonly seqs: SeqRuns;
}

export class MessageIndex {
  /** Which sequence each slot stands for. */
  private readonly seqs = new SeqSlots();
  /** First slot that may be held; `start === end` when empty. */
  private start = 0;
  private end = 0;
  private readonly geo: Pages;
  /** Record offsets in their segment (pages start at u32: offsets are large). */
  private readonly off: NarrowUints;
  /** Record lengths: u8 while every record in a page is under 256 bytes (small messages), then u16, u32. */
  private readonly len: NarrowUints;
  private readonly seg: NarrowUints;
  private readonly sid: NarrowUints;
  private readonly time: SlotTimes;
  /** Times of all slots are non-decreasing (then seqForTime can bisect). */
  private monotonic = true;

  private readonly subjects = new Map<string, SubjectEntry>();
  /** The entry `add` took last: a stream's appends mostly share a subject (XADDs to one key). */
  private lastEntry: SubjectEntry | undefined = undefined;
  /**
   * The subject string `add` was given last, for `lastEntry`: callers pass
   * one string object again and again (a run of XADDs), so it is compared
   * by identity, where the entry's own name (from the subject's first
   * message, another string) took a comparison of characters per append.
   */
  private lastName = '';
  private readonly byId: (SubjectEntry | undefined)[] = [undefined];
  private readonly freeIds: number[] = [];
  /** The last wildcard filter's verdict per subject id: 0 unknown, 1 match, 2 no. */
  private memoFilter = '';
  private memo = new Int8Array(0);

  messages = 0;
  bytes = 0;
  lastSeq = 0;
  /** A double from the start (double-first.ts), then 0. */
  lastTime = DOUBLE_FIRST;

  /** `pageBits`: slots per page as a power of two (tests use small pages to cross many). */
  constructor(
    private readonly segments: Map<number, Segment>,
    pageBits?: number,
  ) {
    this.lastTime = 0;
    this.geo = new Pages(pageBits);
    this.off = new NarrowUints(this.geo, 4);
    this.len = new NarrowUints(this.geo);
    this.seg = new NarrowUints(this.geo);
    this.sid = new NarrowUints(this.geo);
    this.time = new SlotTimes(this.geo);
  }

  get firstSeq(): number {
    return this.start < this.end ? this.seqs.seqAt(this.start) : this.lastSeq + 1;
  }

  get firstTime(): number {
    return this.start < this.end ? this.time.get(this.start) : 0;
  }

  get subjectCount(): number {
    return this.subjects.size;
  }

  /** Records a message; `seq` is above every sequence seen so far. */
  add(seq: number, subject: string, time: number, seg: Segment, off: number, len: number): void {
    if (this.start === this.end) {
      this.seqs.reset(seq);
      this.time.reset(time);
      this.start = 0;
      this.end = 0;
      this.monotonic = true;
    }
    let i = this.end;
    const jump = seq - this.seqs.seqAt(i);
    if (jump > INLINE_GAP) this.seqs.jump(i, seq);
    else i += jump;
    if (i >= this.off.capacity) this.grow(i + 1);
    const prevTime = this.end > 0 ? this.time.get(this.end - 1) : time;
    // Slots skipped by a small jump (a skip, or segments compacted away).
    for (let j = this.end; j < i; j++) {
      this.seg.set(j, 0);
      this.time.set(j, prevTime, this.start);
    }
    if (time < prevTime) this.monotonic = false;
    if (off > 0xffffffff || len > 0xffffffff) {
      // The writer rotates segments far below this (segmentBytes + one record).
      throw new RangeError(`record at ${off}+${len} is beyond the index's 32-bit offsets`);
    }
    this.off.set(i, off);
    this.len.set(i, len);
    this.seg.set(i, seg.id);
    this.time.set(i, time, this.start);
    let e = this.lastEntry;
    if (e === undefined || subject !== this.lastName) {
      if (e === undefined || e.name !== subject) {
        e = this.subjects.get(subject) ?? this.newSubject(subject);
        this.lastEntry = e;
      }
      this.lastName = subject;
    }
    this.sid.set(i, e.id);
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
    const e: SubjectEntry = { id, name, seqs: new SeqRuns() };
    this.byId[id] = e;
    this.subjects.set(name, e);
    if (id < this.memo.length) this.memo[id] = 0;
    return e;
  }

  private grow(need: number): void {
    this.off.ensure(need);
    this.len.ensure(need);
    this.seg.ensure(need);
    this.sid.ensure(need);
    this.time.ensure(need);
  }

  /** Slots backed by pages now (for tests and the memory notes). */
  get capacity(): number {
    return this.off.capacity;
  }

  private slot(seq: number): number {
    if (!Number.isInteger(seq)) return -1;
    const i = this.seqs.slotOf(seq);
    return i >= this.start && i < this.end && this.seg.get(i) !== 0 ? i : -1;
  }

  has(seq: number): boolean {
    return this.slot(seq) >= 0;
  }

  /** Where a held message is, or null. */
  locate(seq: number): { seg: number; off: number; len: number; subject: string } | null {
    const i = this.slot(seq);
    if (i < 0) return null;
    return {
      seg: this.seg.get(i),
      off: this.off.get(i),
      len: this.len.get(i),
      subject: this.byId[this.sid.get(i)]!.name,
    };
  }

  /** Removes a held message; false when it is not held. */
  drop(seq: number): boolean {
    const i = this.slot(seq);
    if (i < 0) return false;
    const s = this.segments.get(this.seg.get(i));
    if (s !== undefined) s.live--;
    this.seg.set(i, 0);
    this.messages--;
    this.bytes -= this.len.get(i) - HEADER;
    const e = this.byId[this.sid.get(i)]!;
    e.seqs.remove(seq);
    if (e.seqs.count === 0) {
      this.subjects.delete(e.name);
      if (this.lastEntry === e) this.lastEntry = undefined;
      this.byId[e.id] = undefined;
      this.freeIds.push(e.id);
    }
    if (i === this.start) this.advanceStart();
    return true;
  }

  private advanceStart(): void {
    while (this.start < this.end && this.seg.get(this.start) === 0) this.start++;
    if (this.start === this.end) {
      this.seqs.reset(this.lastSeq + 1);
      this.start = 0;
      this.end = 0;
      this.monotonic = true;
      this.off.keepPages(1);
      this.len.keepPages(1);
      this.seg.keepPages(1);
      this.sid.keepPages(1);
      this.time.keepPages(1);
    } else if (this.start >= this.geo.size) {
      // Free the pages wholly before the first held slot; the rest move down.
      const n = this.start >>> this.geo.bits;
      const s = n * this.geo.size;
      this.off.dropPages(n);
      this.len.dropPages(n);
      this.seg.dropPages(n);
      this.sid.dropPages(n);
      this.time.dropPages(n);
      this.seqs.shift(s);
      this.end -= s;
      this.start -= s;
    }
  }

  /** Sequences held on exactly this subject, ascending (the live runs: do not mutate). */
  seqsOf(subject: string): SeqRuns | undefined {
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
      return seqs === undefined ? 0 : seqs.next(seq);
    }
    let i = Math.max(this.start, this.seqs.slotFrom(Math.ceil(seq)));
    for (; i < this.end; i++) {
      if (this.seg.get(i) === 0) continue;
      if (filter === '' || this.matches(filter, this.sid.get(i))) return this.seqs.seqAt(i);
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
        if (this.seg.get(i) !== 0) victims.push(this.seqs.seqAt(i));
      }
    } else if (literal) {
      victims = this.subjects.get(filter)?.seqs.below(upTo) ?? [];
    } else {
      victims = [];
      for (const e of this.subjects.values()) {
        if (!subjectMatches(filter, e.name)) continue;
        e.seqs.below(upTo, victims);
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
        if (this.time.get(mid) < t) i = mid + 1;
        else hi = mid;
      }
    }
    for (; i < this.end; i++) {
      if (this.seg.get(i) !== 0 && this.time.get(i) >= t) return this.seqs.seqAt(i);
    }
    return this.lastSeq + 1;
  }

  /** Time of a held message (the caller knows it is held). */
  timeOf(seq: number): number {
    return this.time.get(this.seqs.slotOf(seq));
  }
}
