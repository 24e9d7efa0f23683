/**
 * What the consumer-group commands share: the face's groups (made at
 * first use, one per face state), argument readers with Redis's error
 * texts, and replies of entries.
 */
import type { CommandClient, CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import { canonicalIdDash, parseId, parseRangeBound, type StreamId } from '../stream-map.js';
import { forwardingOf } from './forward.js';
import { type AckIds, type IdKey, showId, TextRanges } from './ids.js';
import { type GroupEntry, GroupError } from './live.js';
import { RedisGroups } from './registry.js';
import type { GroupState } from './state.js';
import { keyOfCanonical, MappedStreams, toKey } from './streams-view.js';
import { KeyRefused, RemoteStream } from './view.js';

const byFace = new WeakMap<object, RedisGroups>();

/** The face's consumer groups. */
export function groupsOf(ctx: CommandContext): RedisGroups {
  return groupsOfFace(ctx.face);
}

export function groupsOfFace(face: CommandContext['face']): RedisGroups {
  let g = byFace.get(face);
  if (g === undefined) {
    g = new RedisGroups(face.host, new MappedStreams(face));
    byFace.set(face, g);
  }
  return g;
}

export const INVALID_ID = 'ERR Invalid stream ID specified as stream command argument';

/** A strict ID (no `-`/`+`), as streamParseStrictIDOrReply; null: invalid. */
export function strictId(arg: Buffer): IdKey | null {
  // An ID as Redis writes it (what XACK gets back from a read) reads as itself.
  if (canonicalIdDash(arg, 0, arg.length) >= 0) return keyOfCanonical(arg, 0, arg.length);
  const id = parseId(arg, 0n, true);
  return id === null ? null : toKey(id);
}

/**
 * `strictId` of each of `args` from `from` on, with their texts when each
 * was written as Redis writes IDs (its bytes the ID's short form); null
 * when one is not an ID. `state`: the group, whose memo of the IDs its
 * reads answered with gives their keys (recent-keys.ts).
 */
export function strictIds(
  args: readonly Buffer[],
  from: number,
  state: GroupState | null = null,
): AckIds | null {
  const ids: IdKey[] = new Array(args.length - from);
  let canonical = true;
  for (let i = from; i < args.length; i++) {
    const a = args[i]!;
    if (canonicalIdDash(a, 0, a.length) >= 0) {
      // The key a read of `state` made of this text, else one made here.
      ids[i - from] = state?.recentKey(a) ?? keyOfCanonical(a, 0, a.length);
    } else {
      const id = strictId(a);
      if (id === null) return null;
      ids[i - from] = id;
      canonical = false;
    }
  }
  return canonical ? { ids, texts: args } : { ids };
}

/**
 * `strictIds` of the IDs written `buf[starts[i], ends[i])`, i < `count`
 * (an XACK read as ranges, xack-peek.ts), when each is written as Redis
 * writes IDs; null otherwise (then read as arguments by `strictIds`, which
 * answers the errors).
 */
export function strictIdsAt(
  buf: Buffer,
  starts: Uint32Array,
  ends: Uint32Array,
  count: number,
  state: GroupState,
): AckIds | null {
  const ids: IdKey[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const s = starts[i]!;
    const e = ends[i]!;
    if (canonicalIdDash(buf, s, e) < 0) return null;
    ids[i] = state.recentKeyAt(buf, s, e) ?? keyOfCanonical(buf, s, e);
  }
  return { ids, texts: new TextRanges(buf, starts, ends) };
}

/** An ID that may be `-` or `+` (XGROUP SETID), as streamParseIDOrReply; null: invalid. */
export function looseId(arg: Buffer): IdKey | null {
  const id = parseId(arg, 0n, false);
  return id === null ? null : toKey(id);
}

/** A range bound as XPENDING/XAUTOCLAIM read it (`-`, `+`, `(id`), or the error text. */
export function rangeBound(arg: Buffer, end: boolean): { id: IdKey } | { error: string } {
  const r: StreamId | string = parseRangeBound(arg, end);
  return typeof r === 'string' ? { error: r } : { id: toKey(r) };
}

/** A name argument (group, consumer) as the state keeps it: one character per byte. */
export function name(b: Buffer): string {
  return b.toString('latin1');
}

export function nameReply(s: string): Reply {
  return R.bulk(Buffer.from(s, 'latin1'));
}

/** A key or name in an error text, as Redis prints it (its bytes). */
export function shown(b: Buffer): string {
  return b.toString('utf8');
}

export function idReply(k: IdKey): Reply {
  return R.bulk(showId(k));
}

/** The reply for entries: `[id, [field, value, …]]`, or `[id, nil]` for one deleted since. */
export function entriesReply(
  groups: RedisGroups,
  cs: Parameters<RedisGroups['view']['entry']>[0],
  entries: readonly GroupEntry[],
): Reply {
  return R.array(
    entries.map((e) =>
      e.msg === null
        ? R.array([idReply(e.id), { t: 'nullArray' }])
        : groups.view.entry(cs, e.msg, e.idEnd),
    ),
  );
}

/**
 * Runs `fn`, turning a GroupError or KeyRefused into its error reply; when
 * a key's stream is on another node, the whole command (`ctx`, `args`)
 * runs there instead (forward.ts), waiting its BLOCK (`blockMs`) too.
 */
export async function guarded(
  fn: () => Promise<Reply>,
  ctx?: CommandContext,
  args?: readonly Buffer[],
  blockMs: number | null = null,
): Promise<Reply> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GroupError || err instanceof KeyRefused) return R.error(err.message);
    if (err instanceof RemoteStream && ctx !== undefined && args !== undefined) {
      const f = forwardingOf(ctx.face);
      if (f !== undefined) return f.forward(ctx.client, err.stream, args, blockMs);
    }
    if (err instanceof RemoteStream) return R.error(`ERR ${err.message}`);
    throw err;
  }
}

export type { CommandClient };
