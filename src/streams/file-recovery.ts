/**
 * Opening a file store: every record of every segment is read, checked and
 * replayed into the index, and every range of bytes that is not a valid
 * record is classified (see file-synced-mark.ts for how):
 *
 * - a torn tail: bad bytes at the end of the newest segment, past the synced
 *   mark (or, with no usable mark, with nothing valid after them) — a write
 *   a crash cut short. Copied to the quarantine file, then cut off, and
 *   reported as `truncatedBytes` (not as damage: nothing there was
 *   acknowledged under sync `always`).
 * - damage: any other bad range — in an older segment, before the mark, or
 *   followed by valid records. Skipped (the records after it are all
 *   replayed), copied byte for byte to the quarantine file, and reported
 *   with the sequences that may have been in it. The file is left as it is.
 *
 * - fill: zeros from the end of the last whole record to the end of the
 *   newest segment, past the synced mark — space the writer zero-filled
 *   ahead (file-fill.ts). The end of the log: neither reported nor cut (the
 *   writer writes into it). A torn record before such zeros is a torn tail
 *   that ends at its last non-zero byte or as far as its length says,
 *   whichever is further; zeros before the mark are damage.
 *
 * Sequences are never reused after damage: lastSeq is at least the mark's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classifySubject } from '../core/subject.js';
import type { MessageIndex, Segment } from './file-index.js';
import { Quarantine, type QuarantineKind } from './file-quarantine.js';
import {
  recLength,
  recSeq,
  recSubject,
  recTime,
  recType,
  T_DELETE,
  T_META,
  T_MSG,
  T_PURGE,
} from './file-record.js';
import { readMark, type SyncedMark } from './file-synced-mark.js';
import { scanSegment, tailDataEnd } from './segment-scan.js';

/** Damaged ranges listed one by one in a report; the rest are only counted. */
export const DAMAGE_LIST_MAX = 100;

/** One range of a segment that is not a valid record, found on open. */
export interface DamagedRange {
  /** The segment's file name (no directory). */
  file: string;
  offset: number;
  length: number;
  /** Why the first record of the range is bad. */
  why: string;
  /** Sequences that may have been in it (from the records around it), or null. */
  seqFrom: number | null;
  seqTo: number | null;
  /** Its bytes are in the quarantine file (copied now or by an earlier open). */
  quarantined: boolean;
}

/** What open found: worth a log line when `truncatedBytes` or `damage.ranges` is not 0. */
export interface RecoveryReport {
  segments: number;
  records: number;
  messages: number;
  /** Bytes cut from the end of the newest segment (a write a crash cut short). */
  truncatedBytes: number;
  truncatedFile: string | null;
  /** Why the first cut record was bad. */
  truncatedReason: string | null;
  damage: DamageReport;
  ms: number;
}

export interface DamageReport {
  /** Damaged ranges found (all of them; `list` holds the first DAMAGE_LIST_MAX). */
  ranges: number;
  bytes: number;
  list: DamagedRange[];
  /** The quarantine file's path and size (bytes, all entries so far). */
  quarantineFile: string;
  quarantineBytes: number;
  /** Bytes of damaged ranges not copied because the quarantine file was full. */
  notKeptBytes: number;
  /** Why the synced mark or the quarantine file could not be used, or null. */
  markProblem: string | null;
  quarantineProblem: string | null;
}

export function emptyReport(quarantineFile: string): RecoveryReport {
  return {
    segments: 0,
    records: 0,
    messages: 0,
    truncatedBytes: 0,
    truncatedFile: null,
    truncatedReason: null,
    damage: {
      ranges: 0,
      bytes: 0,
      list: [],
      quarantineFile,
      quarantineBytes: 0,
      notKeptBytes: 0,
      markProblem: null,
      quarantineProblem: null,
    },
    ms: 0,
  };
}

export interface RecoverContext {
  dir: string;
  /** Segment file names, oldest first. */
  names: string[];
  /** Registers a segment file found (the writer's, or a checker's own). */
  addSegment: (name: number, fd: number) => Segment;
  /** Only look (`weft stream check`): nothing is written, cut or quarantined. */
  readOnly?: boolean;
  index: MessageIndex;
  quarantineBytes: number;
  report: RecoveryReport;
}

interface Found {
  seg: Segment;
  start: number;
  end: number;
  why: string;
  kind: QuarantineKind;
  seqFrom: number;
  /** Filled by the next MSG record replayed; 0 until then. */
  seqTo: number;
}

/** How many bytes of the segment are known to be synced (Infinity: all; -1: unknown). */
function syncedEnd(seg: Segment, newest: boolean, mark: SyncedMark | null): number {
  if (!newest) return Infinity;
  if (mark === null) return -1;
  if (mark.segName === seg.name) return mark.offset;
  return mark.segName > seg.name ? Infinity : 0;
}

/**
 * Replays every segment into the index, quarantining what is bad, and
 * returns the quarantine file (for damage found later, on read).
 * Synchronous: runs once.
 */
export function recoverSegments(ctx: RecoverContext): Quarantine {
  const { dir, names, index: ix, report: rec } = ctx;
  const ro = ctx.readOnly === true;
  const { mark, problem } = readMark(dir);
  rec.damage.markProblem = problem;
  const found: Found[] = [];
  /** Ranges still waiting for the first message after them (their last sequence). */
  let open: Found[] = [];
  let torn: Found | null = null;

  for (let k = 0; k < names.length; k++) {
    const file = path.join(dir, names[k]!);
    const seg = ctx.addSegment(Number(names[k]!.slice(0, 20)), fs.openSync(file, ro ? 'r' : 'r+'));
    const size = fs.fstatSync(seg.fd).size;
    const last = k === names.length - 1;
    const synced = syncedEnd(seg, last, mark);
    let hasMeta = false;
    /** Where the data ends: a zero tail of the newest segment past it is fill (file-fill.ts). */
    let dataEnd = size;
    const bad = (start: number, bad: number, why: string): void => {
      let end = bad;
      if (last && bad === size) {
        // Zeros up to the end, past the synced mark: space written ahead, not data.
        const syncedIn = synced === Infinity ? size : Math.min(Math.max(synced, 0), size);
        end = dataEnd = Math.max(tailDataEnd(seg.fd, start, size), syncedIn, start);
        if (end === start) return;
      }
      const f: Found = { seg, start, end, why, kind: 'damage', seqFrom: ix.lastSeq + 1, seqTo: 0 };
      if (last && bad === size && start >= synced) {
        f.kind = 'torn';
        torn = f;
        return;
      }
      found.push(f);
      open.push(f);
    };
    scanSegment(
      seg.fd,
      size,
      (buf, rel, pos) => {
        const why = replay(ix, seg, buf, rel, pos);
        if (why !== null) {
          bad(pos, pos + recLength(buf, rel), why);
          return;
        }
        if (pos === 0 && recType(buf, rel) === T_META) hasMeta = true;
        if (recType(buf, rel) === T_MSG && open.length > 0) {
          for (const f of open) f.seqTo = recSeq(buf, rel) - 1;
          open = [];
        }
        rec.records++;
      },
      bad,
    );
    seg.size = seg.written = dataEnd;
    seg.filled = size;
    // Synced bytes that are no longer there at all: the file lost its end.
    if (last && synced !== Infinity && synced > size) {
      const f: Found = {
        seg,
        start: size,
        end: synced,
        why: `missing: the file is ${size} bytes, ${synced} were synced`,
        kind: 'damage',
        seqFrom: ix.lastSeq + 1,
        seqTo: 0,
      };
      found.push(f);
      open.push(f);
    }
    // A newest segment whose META never reached the disk: its name is a
    // floor for lastSeq (it was lastSeq + 1 at creation).
    if (last && !hasMeta && seg.name - 1 > ix.lastSeq) ix.lastSeq = seg.name - 1;
  }
  // Sequences the mark says were written are never handed out again.
  if (mark !== null && mark.lastSeq > ix.lastSeq) ix.lastSeq = mark.lastSeq;
  for (const f of open) f.seqTo = ix.lastSeq;

  const q = new Quarantine(dir, ctx.quarantineBytes);
  rec.damage.quarantineProblem = q.problem;
  const dmg = rec.damage;
  for (const f of found) {
    const length = f.end - f.start;
    const kept = ro ? q.has(f.seg.name, f.start, length) : keep(q, f);
    dmg.ranges++;
    dmg.bytes += length;
    if (!kept && !ro) {
      dmg.notKeptBytes += Math.max(0, Math.min(f.end, fileSize(f.seg)) - f.start);
      // Its segment is now the only copy of these bytes: one live count that
      // no message will ever take back keeps compaction from deleting it.
      if (!ro) f.seg.live++;
    }
    if (dmg.list.length < DAMAGE_LIST_MAX) {
      const some = f.seqTo >= f.seqFrom;
      dmg.list.push({
        file: path.basename(f.seg.path),
        offset: f.start,
        length,
        why: f.why,
        seqFrom: some ? f.seqFrom : null,
        seqTo: some ? f.seqTo : null,
        quarantined: kept,
      });
    }
  }
  const t = torn as Found | null;
  if (t !== null) {
    if (!ro) {
      keep(q, t);
      fs.ftruncateSync(t.seg.fd, t.start);
      fs.fdatasyncSync(t.seg.fd);
      t.seg.size = t.seg.written = t.seg.filled = t.start;
    }
    rec.truncatedBytes = t.end - t.start;
    rec.truncatedFile = t.seg.path;
    rec.truncatedReason = t.why;
  }
  dmg.quarantineBytes = q.bytes;
  return q;
}

function fileSize(seg: Segment): number {
  return fs.fstatSync(seg.fd).size;
}

/** Copies a range to the quarantine file unless an earlier open did; false when it is full. */
function keep(q: Quarantine, f: Found): boolean {
  const end = Math.min(f.end, fileSize(f.seg));
  const length = f.end - f.start;
  if (q.has(f.seg.name, f.start, length)) return true;
  const bytes = Buffer.alloc(Math.max(0, end - f.start));
  if (bytes.length > 0) fs.readSync(f.seg.fd, bytes, 0, bytes.length, f.start);
  const some = f.seqTo >= f.seqFrom;
  return q.keep(
    {
      kind: f.kind,
      segName: f.seg.name,
      offset: f.start,
      length,
      seqFrom: some ? f.seqFrom : 0,
      seqTo: some ? f.seqTo : 0,
      time: Date.now(),
    },
    bytes,
  );
}

/** Applies one valid record found on open, in log order; why it cannot be, or null. */
function replay(
  ix: MessageIndex,
  seg: Segment,
  buf: Buffer,
  rel: number,
  pos: number,
): string | null {
  const seq = recSeq(buf, rel);
  switch (recType(buf, rel)) {
    case T_MSG:
      if (seq <= ix.lastSeq) return `sequence ${seq} out of order (after ${ix.lastSeq})`;
      ix.add(seq, recSubject(buf, rel), recTime(buf, rel), seg, pos, recLength(buf, rel));
      break;
    case T_DELETE:
      if (ix.drop(seq)) seg.tombMin = Math.min(seg.tombMin, seq);
      break;
    case T_PURGE: {
      const filter = recSubject(buf, rel);
      const literal = filter !== '' && classifySubject(filter) === 'literal';
      const victims = ix.purgeVictims(filter, literal, seq, 0);
      for (const v of victims) ix.drop(v);
      if (victims.length > 0) seg.tombMin = Math.min(seg.tombMin, victims[0]!);
      break;
    }
    case T_META:
      if (seq > ix.lastSeq) {
        ix.lastSeq = seq;
        ix.lastTime = recTime(buf, rel);
      }
      break;
  }
  return null;
}
