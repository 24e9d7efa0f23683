/**
 * The storage of one stream: an append-only log of messages numbered by
 * sequence, with deletes and purges. Two implementations pass one shared
 * test suite (test/streams/store-suite.ts): the file store (the embedded
 * default, crash-safe) and the memory store.
 *
 * The store knows nothing of JetStream, subjects' wildcards or consumers:
 * limits (max messages, bytes, age, per subject) are applied by the stream
 * layer with `remove` and `purge`. Filters here are literal subjects or
 * wildcard patterns matched with the core's subject rules.
 */

/**
 * The longest subject a store accepts, in UTF-8 bytes (the file store's
 * record holds it in 16 bits); it applies to purge filters too. Longer is
 * StoreError('too_large') from every store.
 */
export const MAX_SUBJECT_BYTES = 0xffff;

/** When an append is acknowledged as durable. */
export type SyncPolicy =
  /** fsync before the append resolves; concurrent appends share one fsync (group commit). */
  | { kind: 'always' }
  /** fsync every `intervalMs`; an append resolves once written to the OS. */
  | { kind: 'interval'; intervalMs: number };

export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  /** When it was stored, ms since the epoch. */
  readonly time: number;
  /** The raw NATS header block, or null. */
  readonly headers: Buffer | null;
  readonly payload: Buffer;
}

export interface StoreState {
  /** Messages held now. */
  messages: number;
  /** Bytes of subjects, headers and payloads held now. */
  bytes: number;
  /** First sequence held (lastSeq + 1 when empty). */
  firstSeq: number;
  /** Last sequence ever assigned (0 when none). */
  lastSeq: number;
  firstTime: number;
  lastTime: number;
  /** Distinct subjects held now. */
  subjects: number;
}

export interface PurgeOptions {
  /** Only messages on this subject (or matching this wildcard). */
  subject?: string;
  /** Only messages with a sequence below this one. */
  upToSeq?: number;
  /** Keep this many of the newest matching messages. */
  keep?: number;
}

/** How `appendNotify` tells of an append: `err` null once it is durable. */
export type AppendDone = (err: Error | null, seq: number) => void;

export interface StreamStore {
  /**
   * Appends a message with the next sequence. Resolves when it is durable
   * under the store's sync policy. Appends resolve in sequence order.
   * `time` defaults to now. A subject longer than MAX_SUBJECT_BYTES (or, in
   * the file store, headers + payload over its `maxMsgSize`) is rejected
   * with StoreError('too_large'), and no sequence is used.
   */
  append(
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
    time?: number,
  ): Promise<StoredMessage>;
  /**
   * `append` without a promise, for the publish path: returns the error
   * when it refuses at once (nothing appended, `done` never called), else
   * null, and calls `done(null, seq)` once the message is durable, or
   * `done(err, seq)` when its write failed. Callbacks come in sequence
   * order, a group commit's together. `done` must not throw. Optional: a
   * store without it is used through `append`. The payload stored is
   * `payload[pStart, pEnd)` (default: all of it), copied before this
   * returns: a caller holding a range of a read buffer makes no view of it.
   * `done` null: no notice of its own; the caller calls `notifyQueued` in
   * this turn, after the run of appends it covers (Stream.storeNotifyRun).
   * `stamp` vouches for the first and last bytes of `headers`
   * (file-crc-run.ts; the file store's CRC of a run's record comes from
   * the last one).
   * `subjLen`: `Buffer.byteLength(subject)` when the caller knows it (-1:
   * measured here).
   */
  appendNotify?(
    subject: string,
    headers: Buffer | null,
    payload: Buffer,
    time: number,
    done: AppendDone | null,
    pStart?: number,
    pEnd?: number,
    stamp?: number,
    subjLen?: number,
  ): Error | null;
  /**
   * Calls `done(null, lastSeq)` once everything appended so far is durable
   * (`done(err, lastSeq)` if it will not be), in order with `appendNotify`'s
   * notices. With `appendNotify`, or neither.
   */
  notifyQueued?(done: AppendDone): void;
  /** The last sequence appended, as `state().lastSeq` but with no object made. With `appendNotify`. */
  readonly appendedSeq?: number;
  /** The message with this sequence, or null (never stored, removed or purged). */
  get(seq: number): Promise<StoredMessage | null>;
  /** The first message with sequence ≥ `seq` whose subject matches `filter` ('' = any), or null. */
  next(seq: number, filter?: string): Promise<StoredMessage | null>;
  /**
   * `next` answered at once when it can be (the message is durable and
   * readable without waiting): the message, or null when there is none;
   * undefined when only `next` can tell (it would wait, or read
   * asynchronously). Optional: a consumer reading in order calls it per
   * message, and without it uses `next`.
   */
  nextNow?(seq: number, filter?: string): StoredMessage | null | undefined;
  /** The newest message on exactly this subject, or null. */
  lastBySubject(subject: string): Promise<StoredMessage | null>;
  /** Removes one message; false when it was not there. Durable like an append. */
  remove(seq: number): Promise<boolean>;
  /**
   * Removes matching messages; returns how many. Durable like an append.
   * A `subject` filter longer than MAX_SUBJECT_BYTES is rejected with
   * StoreError('too_large'), and nothing is removed.
   */
  purge(opts?: PurgeOptions): Promise<number>;
  /**
   * Makes the next append get sequence `toSeq`, for mirrors that keep the
   * origin's sequence numbers across its gaps: lastSeq becomes `toSeq - 1`
   * when it is lower; when lastSeq ≥ toSeq - 1 nothing changes. Skipped
   * sequences are never assigned, like removed ones; held messages stay,
   * and lastTime is kept. An empty store then reports firstSeq = toSeq
   * (lastSeq + 1). It takes effect when called, in order with appends, and
   * resolves when durable like an append: a persistent store reopens with
   * the new lastSeq. `toSeq` must be an integer from 1 to
   * Number.MAX_SAFE_INTEGER; anything else is rejected with a RangeError.
   */
  skip(toSeq: number): Promise<void>;
  /** Sequences held on a subject, oldest first (for per-subject limits). */
  subjectSeqs(subject: string): readonly number[];
  /** The first sequence held whose time is ≥ `time`, or lastSeq + 1 when none. */
  seqForTime(time: number): number;
  state(): StoreState;
  /**
   * Why the store refuses writes right now, or null. A store whose write
   * or fsync failed (StoreError 'unwritable') rejects append, remove, purge
   * and skip with it at once, changing nothing, while every read still
   * works; it clears when the store has written again by itself.
   */
  readonly writeError: StoreError | null;
  /** Flushes and closes; the store can be opened again from its directory. */
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(
    /**
     * `unwritable`: a write or fsync failed (full disk, I/O error); the
     * store refuses writes, stays readable, and retries on its own.
     */
    readonly code: 'corrupt' | 'closed' | 'io' | 'too_large' | 'unwritable',
    message: string,
    /** The system error behind it (ENOSPC, EIO, …), or ''. */
    readonly errno = '',
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/**
 * The error every store gives for a subject (or purge filter, `what`) of
 * `bytes` UTF-8 bytes, or null when it is short enough.
 */
export function subjectTooLong(bytes: number, what = 'subject'): StoreError | null {
  if (bytes <= MAX_SUBJECT_BYTES) return null;
  return new StoreError(
    'too_large',
    `${what} of ${bytes} bytes is longer than the ${MAX_SUBJECT_BYTES} bytes a stream store accepts`,
  );
}

/** The RangeError `skip` rejects with, or null when `toSeq` is a valid sequence. */
export function badSkip(toSeq: number): RangeError | null {
  if (Number.isSafeInteger(toSeq) && toSeq >= 1) return null;
  return new RangeError(
    `skip: toSeq must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got ${toSeq}`,
  );
}
