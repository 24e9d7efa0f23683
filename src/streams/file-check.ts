/**
 * Checking a file store without opening it for writing (`weft stream
 * check`): the same reading and classification open does (file-recovery.ts),
 * with nothing written, cut or quarantined, and what it found returned.
 * Safe on a store a running node holds: it only reads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageIndex, newSegment, type Segment } from './file-index.js';
import { QUARANTINE_FILE, readQuarantine } from './file-quarantine.js';
import { emptyReport, type RecoveryReport, recoverSegments } from './file-recovery.js';

const SEG_RE = /^(\d{20})\.seg$/;

export interface StoreCheck extends RecoveryReport {
  firstSeq: number;
  lastSeq: number;
  /** Entries in the quarantine file (from this and earlier opens). */
  quarantineEntries: number;
}

/** Reads the store in `dir` and reports what open would find. Throws on I/O errors. */
export function checkStore(dir: string): StoreCheck {
  const t0 = Date.now();
  const rec = emptyReport(path.join(dir, QUARANTINE_FILE));
  const names = fs
    .readdirSync(dir)
    .filter((f) => SEG_RE.test(f))
    .sort();
  const segments = new Map<number, Segment>();
  const index = new MessageIndex(segments);
  let id = 1;
  try {
    recoverSegments({
      dir,
      names,
      index,
      report: rec,
      quarantineBytes: 0,
      readOnly: true,
      addSegment: (name, fd) => {
        const seg = newSegment(
          id++,
          name,
          path.join(dir, `${String(name).padStart(20, '0')}.seg`),
          fd,
        );
        segments.set(seg.id, seg);
        return seg;
      },
    });
  } finally {
    for (const s of segments.values()) fs.closeSync(s.fd);
  }
  rec.segments = names.length;
  rec.messages = index.messages;
  rec.ms = Date.now() - t0;
  return {
    ...rec,
    firstSeq: index.firstSeq,
    lastSeq: index.lastSeq,
    quarantineEntries: readQuarantine(rec.damage.quarantineFile).entries.length,
  };
}
