/**
 * XACK's work in this turn, shared by the command (groups.ts `xack`, its
 * arguments as Buffers) and the session's fast path (`xackRanges`: the
 * XACK the reader found as ranges of the bytes read, xack-peek.ts — no
 * Buffer per argument; bench/PROFILE.md, "Issue 16 — rgroup8 (round 13)").
 */
import type { CapturedStream } from '../../../jetstream/service.js';
import type { CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import { groupsOf, strictIdsAt } from '../groups/access.js';
import type { AckIds } from '../groups/ids.js';
import type { LiveGroup } from '../groups/live.js';
import { RecordDone } from '../groups/record-done.js';
import type { AccountGroups } from '../groups/service.js';
import type { LaterReply } from '../reply-line.js';
import type { XackRanges } from '../xack-peek.js';
import { nameAt } from './stream-args.js';

/** Acks `ack` of `g` now: the reply, a `RecordDone` answered once the group's record is written. */
export function ackInTurn(
  groups: AccountGroups,
  cs: CapturedStream,
  g: LiveGroup,
  ack: AckIds,
): Reply | LaterReply {
  const done = new RecordDone(groups);
  groups.counters.commandsInTurn++;
  const n = groups.ackNow(cs, g, ack, done);
  if (n === 0) return R.int(0);
  done.ok = R.int(n);
  return done;
}

/**
 * The XACK whose arguments are the ranges `x` of `buf`, where `xack` would
 * answer it in this turn (the account's groups open, the key a stream here
 * the client may read, with that group; every ID written as Redis writes
 * IDs): its reply. Null, with nothing changed, for anything else: the
 * session then reads it as arguments and runs the table's XACK (the same
 * answer, errors included).
 */
export function xackRanges(
  ctx: CommandContext,
  buf: Buffer,
  x: XackRanges,
): Reply | LaterReply | null {
  const all = groupsOf(ctx);
  const groups = all.ofNow(ctx.client.account);
  if (groups === undefined) return null;
  const key = nameAt(buf, x.keyStart, x.keyEnd);
  if (typeof key !== 'string') return null;
  const cs = all.view.lookupNowNamed(ctx, key);
  if (cs === undefined) return null;
  const g = groups.get(cs, groupAt(buf, x.groupStart, x.groupEnd));
  if (g === undefined) return null;
  const ack = strictIdsAt(buf, x.starts, x.ends, x.count, g.state);
  return ack === null ? null : ackInTurn(groups, cs, g, ack);
}

/** Longest group name kept for the next XACK. */
const LAST_GROUP_MAX = 64;
let lastGroup: Buffer | null = null;
let lastGroupName = '';

/** The group name `buf[s, e)` as access.ts `name` reads it; the last one's string when the same bytes. */
export function groupAt(buf: Buffer, s: number, e: number): string {
  const n = e - s;
  const last = lastGroup;
  if (last !== null && last.length === n) {
    let i = 0;
    while (i < n && last[i] === buf[s + i]) i++;
    if (i === n) return lastGroupName;
  }
  const name = buf.toString('latin1', s, e);
  if (n <= LAST_GROUP_MAX) {
    lastGroup = Buffer.from(buf.subarray(s, e));
    lastGroupName = name;
  }
  return name;
}
