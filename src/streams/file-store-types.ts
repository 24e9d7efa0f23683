/**
 * The file store's options and counters (file-store.ts), apart from the
 * store itself.
 */

import type { FileOps } from './file-ops.js';
import type { DamagedRange } from './file-recovery.js';
import type { WriteRetry } from './file-retry.js';
import type { FileStore } from './file-store.js';
import type { WriterStats } from './file-writer-types.js';
import type { StoreError, SyncPolicy } from './store.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_MSG_SIZE = 16 * 1024 * 1024;

export interface FileStoreOptions {
  sync: SyncPolicy;
  /** Start a new segment file past this size (default 64 MiB). */
  segmentBytes?: number;
  /** Largest headers + payload accepted (default 16 MiB); more is StoreError('too_large'). */
  maxMsgSize?: number;
  /** The writer's file operations (default node:fs; tests inject faults). */
  fileOps?: FileOps;
  /**
   * Zeros written ahead of the writer in the active segment under sync
   * `always` (default FILL_BYTES, 1 MiB; 0: none): see file-fill.ts.
   */
  fillBytes?: number;
  /** Retries after a failed write (default WRITE_RETRY_MIN_MS to WRITE_RETRY_MAX_MS). */
  writeRetry?: WriteRetry;
  /**
   * Told when the store begins refusing writes (a write or fsync failed: the
   * error, with its errno) and when it takes them again (null).
   */
  onWriteState?: (err: StoreError | null) => void;
  /** Bound on the quarantine file (default 64 MiB); see file-quarantine.ts. */
  quarantineBytes?: number;
  /**
   * Called when a read finds a record damaged since open (it is then
   * contained like damage found at open: see `read`).
   */
  onDamage?: (range: DamagedRange, store: FileStore) => void;
}

/** Counters since open. */
export interface FileStoreStats extends WriterStats {
  appends: number;
  removes: number;
  purges: number;
  skips: number;
  reads: number;
  /** Reads served from a read-ahead window (no system call). */
  readHits: number;
  /** Records found damaged on read (damaged since open). */
  damagedReads: number;
}
