/**
 * What consumer groups need of the Redis stream mapping (a Redis key is a
 * Weft stream; an entry ID names a message): the mapping itself is the
 * streams command group's, and `StreamsView` is the narrow part of it the
 * groups use, so the two meet in one place.
 */

import type { CapturedStream } from '../../../jetstream/service.js';
import type { CommandClient, CommandContext } from '../command.js';
import type { Reply } from '../encoder.js';
import type { IdKey } from './ids.js';

/** A message as the store holds it: enough to name its entry and reply with it. */
export interface EntryMessage {
  readonly seq: number;
  readonly subject: string;
  readonly headers: Buffer | null;
  readonly payload: Buffer;
  /** ms since the epoch. */
  readonly time: number;
}

/** Why a key cannot be used as a stream: a Redis error to send (`WRONGTYPE …`, `-ERR …`). */
export class KeyRefused extends Error {}

/** The key's stream is held by another node of the mesh: the command goes there (forward.ts). */
export class RemoteStream extends Error {
  constructor(readonly stream: string) {
    super(`stream '${stream}' is on another node of the mesh`);
  }
}

export interface StreamsView {
  /**
   * The stream of `key` on this node, or null when the key does not exist.
   * Throws KeyRefused when the key is not a stream this node can serve.
   */
  lookup(client: CommandClient, key: Buffer): Promise<CapturedStream | null>;
  /** `lookup` in this turn where it finds a stream here the client may read; else undefined. */
  lookupNow(ctx: CommandContext, key: Buffer): CapturedStream | undefined;
  /** `lookupNow` of the key whose stream name (stream-keys.ts `streamNameOf`) is `name`. */
  lookupNowNamed(ctx: CommandContext, name: string): CapturedStream | undefined;
  /** Creates the (empty) stream of `key` (XGROUP CREATE … MKSTREAM). */
  create(client: CommandClient, key: Buffer): Promise<CapturedStream>;
  /**
   * Where the ID's text ends in `m`'s header block as XADD writes it
   * (stream-map.ts `xaddIdEnd`), or -1; `idOf` and `entry` take it so a
   * caller that has it does not look again.
   */
  idEnd(m: EntryMessage): number;
  /** The entry ID of a stored message (`end`: its `idEnd`). */
  idOf(cs: CapturedStream, m: EntryMessage, end?: number): IdKey;
  /** The entry as XRANGE replies with it: `[id, [field, value, …]]` (`end`: its `idEnd`). */
  entry(cs: CapturedStream, m: EntryMessage, end?: number): Reply;
  /** The stream's last ID (what `$` means): its newest entry's, or what XSETID set. */
  lastId(cs: CapturedStream): Promise<IdKey>;
  /** Entries ever added to the stream (Redis's entries-added). */
  added(cs: CapturedStream): number;
  /** The stream sequence of entry `id`, or 0 when no such entry. */
  seqOf(cs: CapturedStream, id: IdKey): Promise<number>;
  /** The first stream sequence whose entry ID is greater than `id` (lastSeq + 1 when none). */
  seqAfter(cs: CapturedStream, id: IdKey): Promise<number>;
}
