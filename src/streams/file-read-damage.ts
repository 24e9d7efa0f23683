/**
 * A record found damaged when it is read (a short read, a bad length, CRC,
 * type or sequence): its bytes are copied to the quarantine file when there
 * is room, and it is counted in the store's damage report, like damage found
 * at open (file-recovery.ts). The store drops it from the index first, so
 * it reads as deleted and readers go on past it.
 */
import * as path from 'node:path';
import type { Segment } from './file-index.js';
import type { Quarantine } from './file-quarantine.js';
import { DAMAGE_LIST_MAX, type DamagedRange, type DamageReport } from './file-recovery.js';

export interface ReadDamage {
  seq: number;
  off: number;
  len: number;
  /** The bytes read (fewer than `len` after a short read). */
  bytes: Buffer;
  why: string;
}

/** Quarantines and reports one damaged record; the range, for the store's `onDamage`. */
export function containReadDamage(
  d: DamageReport,
  q: Quarantine | null,
  seg: Segment,
  r: ReadDamage,
): DamagedRange {
  let kept = false;
  try {
    kept =
      q !== null &&
      (q.has(seg.name, r.off, r.len) ||
        q.keep(
          {
            kind: 'damage',
            segName: seg.name,
            offset: r.off,
            length: r.len,
            seqFrom: r.seq,
            seqTo: r.seq,
            time: Date.now(),
          },
          Buffer.from(r.bytes),
        ));
  } catch {
    kept = false;
  }
  if (!kept) {
    d.notKeptBytes += r.bytes.length;
    seg.live++; // the only copy: compaction keeps the segment (see file-recovery.ts)
  }
  d.ranges++;
  d.bytes += r.len;
  if (q !== null) d.quarantineBytes = q.bytes;
  const range: DamagedRange = {
    file: path.basename(seg.path),
    offset: r.off,
    length: r.len,
    why: r.why,
    seqFrom: r.seq,
    seqTo: r.seq,
    quarantined: kept,
  };
  if (d.list.length < DAMAGE_LIST_MAX) d.list.push(range);
  return range;
}
