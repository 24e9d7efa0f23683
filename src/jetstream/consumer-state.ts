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
 * - A write is durable: the new contents are fsynced before a rename
 *   replaces the old file, and the directory after it.
 *
 * What the state holds is the consumer's (`ConsumerState`, made by its
 * `snapshot` and read back by its `restore`).
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
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

/** The consumer whose state is kept. */
export interface StateOwner {
  readonly name: string;
  /** Only durable consumers keep a state file. */
  readonly durable: boolean;
  /** The state as it is now. */
  snapshot(): ConsumerState;
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

  constructor(
    /** `<stream dir>/consumers`, or null for a memory stream. */
    private readonly dir: string | null,
    private readonly owner: StateOwner,
    private readonly log: { error(msg: string): void },
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
    this.saving = this.write()
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
      });
  }

  /**
   * Writes the state file now, durably: the new contents are fsynced before
   * the rename replaces the old file, and the directory after it, so a crash
   * leaves either the old state or the new one, and a state that was written
   * stays written.
   */
  async write(): Promise<void> {
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
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(checkedJson({ ...this.owner.snapshot() }));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await fsyncDir(home);
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
