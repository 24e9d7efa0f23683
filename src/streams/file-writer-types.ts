/**
 * What the file store's writer (file-writer.ts) is given and counts: its
 * options, its counters and where the log stands.
 */
import type { FillStats } from './file-fill.js';
import type { Segment } from './file-index.js';
import type { FileOps } from './file-ops.js';
import type { WriteRetry } from './file-retry.js';
import type { StoreError, SyncPolicy } from './store.js';

/** The writer's counters; the store's `stats` object holds them (among others). */
export interface WriterStats extends FillStats {
  /** Writer rounds begun: each is one writev per segment touched, durable under `always`. */
  batches: number;
  /** Records in the largest batch. */
  maxBatch: number;
  /** Rounds begun as soon as EARLY_ROUND_RECORDS and EARLY_ROUND_BYTES waited (file-writer.ts). */
  earlyRounds: number;
  writes: number;
  /** fdatasync and fsync calls, and segment writes made with O_DSYNC (each one such). */
  fsyncs: number;
  bytesWritten: number;
  segmentsCreated: number;
  segmentsDeleted: number;
  /** Times the store began refusing writes because a write, fsync, create or delete failed. */
  writeFailures: number;
  /** Retries while refusing (each cuts back if needed and writes a probe). */
  writeRetries: number;
  /** Appends answered with an error because their write failed (never acknowledged). */
  appendsFailed: number;
  /** Record arenas allocated (file-write-queue.ts: reused once written, ARENAS_FREE kept). */
  arenas: number;
}

/**
 * A round begins at once, not at the end of the event loop's turn, when
 * the writer is idle and at least this many records and bytes wait
 * (`stats.earlyRounds` counts them). A read of large publishes (64 KiB of
 * 1 KiB messages) is already a round whose write takes about as long as
 * the rest of the turn's parsing: started now, the two overlap, and a
 * client with a window of publishes in flight gets its acks in parts
 * instead of one (bench/PROFILE.md, "jspub (round 12)"). Small records
 * (a 16 B publish is a 69-byte record) never reach the byte bound in one
 * turn, so their rounds wait for the turn's end as before. Sync `always`
 * only: under `interval` a round's write is made on the event loop, with
 * no disk wait to overlap.
 */
export const EARLY_ROUND_RECORDS = 64;
export const EARLY_ROUND_BYTES = 64 * 1024;

/** Where the log stands: what a new segment's META record carries. */
export interface LogPosition {
  readonly lastSeq: number;
  readonly lastTime: number;
}

export interface FileWriterOptions {
  dir: string;
  /** The directory, open for fsync; the writer closes it with the segments. */
  dirFd: number;
  sync: SyncPolicy;
  segmentBytes: number;
  /** Every segment by id, shared with the index (which reads `live`). */
  segments: Map<number, Segment>;
  position: LogPosition;
  stats: WriterStats;
  ops: FileOps;
  retry: WriteRetry;
  /** Zeros written ahead of the writer under sync `always` (default FILL_BYTES; 0: none). */
  fillBytes?: number;
  /** A message whose record was not written: the index must forget it. */
  onDrop: (seq: number) => void;
  /** The store began refusing writes (the error) or takes them again (null). */
  onState: (err: StoreError | null) => void;
  /** Called after each fsync of a segment with how far it is now synced (the synced mark). */
  onSynced?: (seg: Segment, offset: number) => void;
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
