/**
 * A durable consumer's state on disk: `<stream dir>/consumers/<name>/state.json`
 * (durables of file streams only; the others have no file and every call
 * here is a no-op for them). A directory per consumer, as nats-server's
 * `obs/<name>/`, so a name of up to 255 bytes (names.ts) is one path
 * component whatever the files in it are called. Weft before this layout
 * wrote `<stream dir>/consumers/<name>.json`: consumers.ts reads those and
 * moves them (`legacyStateFile`).
 *
 * - Changes are coalesced: `save` schedules one write SAVE_DELAY_MS later,
 *   and a change during a write schedules the next when it ends. One write
 *   runs at a time, each rewriting the whole state.
 * - `persisted` is for an ack that asks for a reply (ack-ack): it starts a
 *   write at once and resolves once the state as it was at the call is on
 *   stable storage, so a confirmed ack is never undone by a crash.
 * - A write replaces the file atomically (a temporary file renamed over
 *   it). It is durable — the new contents fsynced before the rename, the
 *   directory after it — as the stream's sync policy says: every write
 *   under `sync_interval: always` (the default); under an interval, at most
 *   once per interval (a later write, or one the timer starts for the last
 *   change), as the stream's own records. A `kill -9` loses nothing either
 *   way (the OS has the file); a power cut may lose up to an interval of
 *   progress (redeliveries). nats-server does not fsync consumer state on
 *   its writes. An ack-ack (`persisted`) and `close` always write durably.
 *
 * What the state holds is the consumer's (`StateOnDisk`, made by its
 * `onDisk` and read back by its `restore`): the pending entries packed
 * (pending-codec.ts), or as tuples in files of Weft before the packing.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SyncPolicy } from '../streams/store.js';
import { checkedJson } from './checked-json.js';
import type { ConsumerConfig } from './consumer-config.js';

/** A delivery awaiting its ack, in memory (`ConsumerState.pending` on disk). */
export interface Pending {
  /** Consumer sequence of the latest delivery. */
  cseq: number;
  deliveries: number;
  /** When it is due for redelivery, ms (not persisted: after a restart, ack_wait from then). */
  deadline: number;
  /** The stored message's time, ms (for the ack subject). */
  time: number;
}

export interface SeqPair {
  consumer_seq: number;
  stream_seq: number;
}

/** What is persisted for a durable consumer. */
export interface ConsumerState {
  config: ConsumerConfig;
  created: string;
  cursor: number;
  dseq: number;
  ackFloor: SeqPair;
  /** [stream seq, consumer seq, deliveries, time ms]. */
  pending: [number, number, number, number][];
  /** Sequences still to deliver first (deliver policy last_per_subject). */
  startSeqs: number[];
}

/**
 * What the state file holds: the state with its pending entries either as
 * `pending` tuples (files written by Weft before `packedPending`, and still
 * when an entry does not fit the packing) or packed (pending-codec.ts).
 */
export type StateOnDisk = Omit<ConsumerState, 'pending'> & {
  pending?: ConsumerState['pending'];
  packedPending?: string;
};

/** The consumer whose state is kept. */
export interface StateOwner {
  readonly name: string;
  /** Only durable consumers keep a state file. */
  readonly durable: boolean;
  /** The state as it is now. */
  snapshot(): ConsumerState;
  /** The state as it is now, as the file keeps it (when not given: `snapshot`). */
  onDisk?(): StateOnDisk;
}

/** The state file of consumer `name` under `<stream dir>/consumers`. */
export function stateFile(dir: string, name: string): string {
  return path.join(dir, name, STATE_FILE);
}

/** Where Weft kept the state of consumer `name` before the directory layout. */
export function legacyStateFile(dir: string, name: string): string {
  return path.join(dir, `${name}.json`);
}

export const STATE_FILE = 'state.json';

/**
 * Changes to a durable consumer's state are written at most this often (the
 * whole state is rewritten each time). A crash loses at most this much
 * progress, which means redeliveries, never lost messages. An ack that asks
 * for a reply does not wait for this: it is written at once (see `persisted`).
 */
const SAVE_DELAY_MS = 100;

export class ConsumerStateFile {
  /** The state file write in progress, if any (close waits for it). */
  private saving: Promise<void> = Promise.resolve();
  private writing = false;
  /** The state changed since the last write started. */
  private dirty = false;
  private saveTimer: NodeJS.Timeout | null = null;
  /**
   * Callers of `persisted` waiting for the next write to end. Bounded by the
   * acks that arrive during one write (an fsync): each write takes them all.
   */
  private synced: ((ok: boolean) => void)[] = [];
  private closed = false;
  /** When the last durable write started (0: none yet), ms. */
  private durableAt = 0;
  /** The last write was not fsynced: the timer below writes durably (interval policy). */
  private syncTimer: NodeJS.Timeout | null = null;
  /** The next write is durable whatever the policy (the interval's timer asked for it). */
  private forceDurable = false;
  /** Writes of the state file, and how many of them were fsynced. */
  readonly stats = { writes: 0, durableWrites: 0 };

  constructor(
    /** `<stream dir>/consumers`, or null for a memory stream. */
    private readonly dir: string | null,
    private readonly owner: StateOwner,
    private readonly log: { error(msg: string): void },
    /** The stream's sync policy (service.ts `sync_interval`). */
    private readonly sync: SyncPolicy = { kind: 'always' },
  ) {}

  /** Schedules a write of the state file (durables of file streams), coalescing changes. */
  save(): void {
    if (this.dir === null || !this.owner.durable || this.closed) return;
    this.dirty = true;
    if (this.saveTimer === null && !this.writing) {
      this.saveTimer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
    }
  }

  /**
   * Resolves true once the state as it is now is on stable storage (at once
   * for consumers without a state file), false if that write failed or the
   * consumer closed first. It does not wait for SAVE_DELAY_MS; callers
   * during one write share the next.
   */
  persisted(): Promise<boolean> {
    if (this.dir === null || !this.owner.durable) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    this.dirty = true;
    return new Promise<boolean>((resolve) => {
      this.synced.push(resolve);
      this.flush();
    });
  }

  /**
   * No more writes: waits for the one running, then writes the final state
   * or, with `deleted`, removes the file.
   */
  async close(deleted: boolean): Promise<void> {
    this.closed = true;
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    await this.saving;
    if (this.dir === null || !this.owner.durable) return;
    if (deleted) await this.remove();
    else await this.write();
  }

  /** Starts a write now, unless one is running (its end starts the next). */
  private flush(): void {
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (this.writing) return;
    const waiting = this.synced;
    this.synced = [];
    if (this.closed) {
      // close() writes the final state itself (or removes the file).
      for (const w of waiting) w(false);
      return;
    }
    this.writing = true;
    this.dirty = false;
    const durable = waiting.length > 0 || this.dueDurable();
    this.forceDurable = false;
    if (durable && this.syncTimer !== null) {
      clearTimeout(this.syncTimer);
      this.syncTimer = null;
    }
    this.saving = this.write(durable)
      .then(
        () => true,
        (err: unknown) => {
          this.log.error(`consumer ${this.owner.name} state not saved: ${String(err)}`);
          return false;
        },
      )
      .then((ok) => {
        this.writing = false;
        for (const w of waiting) w(ok);
        if (this.synced.length > 0 || this.closed) this.flush();
        else if (this.dirty) this.saveTimer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
        if (!durable && this.syncTimer === null && !this.closed) this.syncLater();
      });
  }

  /** Whether the next write is fsynced: always, or once per interval (see the file comment). */
  private dueDurable(): boolean {
    const sync = this.sync;
    if (sync.kind === 'always' || this.forceDurable) return true;
    return Date.now() - this.durableAt >= sync.intervalMs;
  }

  /** The last write was not fsynced: one at the end of the interval is (unless a write is). */
  private syncLater(): void {
    if (this.sync.kind === 'always') return;
    const wait = Math.max(0, this.durableAt + this.sync.intervalMs - Date.now());
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      if (this.closed) return;
      this.forceDurable = true;
      this.dirty = true;
      // While a write runs, its end starts the next (dirty).
      if (!this.writing) this.flush();
    }, wait);
    this.syncTimer.unref();
  }

  /**
   * Writes the state file now, durably unless `durable` is false: the new
   * contents are fsynced before the rename replaces the old file, and the
   * directory after it, so a crash leaves either the old state or the new
   * one, and a state that was written stays written. Not durable (the
   * interval policy): the same, without the two fsyncs.
   */
  async write(durable = true): Promise<void> {
    const dir = this.dir;
    if (dir === null) return;
    const home = path.join(dir, this.owner.name);
    // A directory just created must itself be recorded in its parent.
    for (const d of [dir, home]) {
      const created = await mkdir(d, { recursive: true });
      if (created !== undefined) await fsyncDir(path.dirname(created));
    }
    const file = path.join(home, STATE_FILE);
    const tmp = `${file}.tmp`;
    if (durable) this.durableAt = Date.now();
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(checkedJson({ ...(this.owner.onDisk?.() ?? this.owner.snapshot()) }));
      if (durable) await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    if (durable) await fsyncDir(home);
    this.stats.writes++;
    if (durable) this.stats.durableWrites++;
  }

  /** Removes the consumer's directory (and a state file of the old layout). */
  async remove(): Promise<void> {
    if (this.dir === null) return;
    await rm(path.join(this.dir, this.owner.name), { recursive: true, force: true });
    await rm(legacyStateFile(this.dir, this.owner.name), { force: true });
  }
}

/** Makes a directory's entries (a file created, renamed or removed) durable. */
async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
