/**
 * A consumer group in service (service.ts) and what the group commands
 * share with it: the read bound, the errors they answer with, the entries
 * they reply with, the face's counters.
 */
import type { GroupFeed } from './feed.js';
import type { IdKey } from './ids.js';
import type { GroupState } from './state.js';
import type { StoredGroup } from './store.js';
import type { EntryMessage } from './view.js';

/** Entries one XREADGROUP takes from one key at most. */
export const REDIS_GROUP_READ_MAX = 10_000;

/** Entries a `>` read of `count` takes at most. */
export function readMax(count: number): number {
  return count <= 0 || count > REDIS_GROUP_READ_MAX ? REDIS_GROUP_READ_MAX : count;
}

/** A Redis error to send as it is (`NOGROUP …`, `BUSYGROUP …`, `ERR …`). */
export class GroupError extends Error {}

/** An entry a read or a claim answers with; `msg` null: no longer in the stream. */
export interface GroupEntry {
  readonly id: IdKey;
  readonly msg: EntryMessage | null;
  /** view.ts `idEnd` of `msg`, when the read found it already. */
  readonly idEnd?: number;
}

export interface GroupCounters {
  /** Reads cut at REDIS_GROUP_READ_MAX entries (asked for more, or for all). */
  readsCapped: number;
  /** Entries that reached a pull nobody waited for any more (a BLOCK ended), given back. */
  lateEntries: number;
  /** Record writes that failed (the command got an error; memory is ahead of disk until restart). */
  writeFailures: number;
  /** Entries `>` reads took from the group's consumer in process (feed.ts, consumer-direct.ts). */
  directEntries: number;
  /** No-wait pull requests `>` reads sent (what the in-process take could not answer at once). */
  pullRequests: number;
  /** XACKs and XREADGROUPs run whole in the turn they were read (no Promise; service.ts `ackNow`, `readNewNow`). */
  commandsInTurn: number;
}

/** A group in service. */
export class LiveGroup {
  feed: GroupFeed | null = null;
  binding: Promise<GroupFeed> | null = null;
  /** A `>` read of this group runs (they run one at a time); the next ones wait in `lockWaiters`. */
  locked = false;
  readonly lockWaiters: (() => void)[] = [];
  constructor(readonly stored: StoredGroup) {}
  get state(): GroupState {
    return this.stored.state;
  }
}
