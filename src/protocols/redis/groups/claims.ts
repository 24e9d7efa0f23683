/**
 * XCLAIM and XAUTOCLAIM on a group: pending entries change owner, as Redis
 * 7.0 does it (see the comments for its rules); entries deleted from the
 * stream since are dropped from the PEL on the way.
 */
import type { CapturedStream } from '../../../jetstream/service.js';
import { type IdKey, MIN_ID } from './ids.js';
import type { GroupEntry, LiveGroup } from './live.js';
import type { AccountGroups } from './service.js';
import type { Op } from './state.js';

/** XCLAIM; the claimed entries (`msg` read from the stream). */
export async function claim(
  groups: AccountGroups,
  cs: CapturedStream,
  g: LiveGroup,
  consumer: string,
  minIdle: number,
  ids: readonly IdKey[],
  opt: {
    idle?: number;
    time?: number;
    retry?: number;
    force: boolean;
    justId: boolean;
    lastId?: IdKey;
  },
): Promise<GroupEntry[]> {
  const now = Date.now();
  let time = opt.time ?? (opt.idle !== undefined ? now - opt.idle : now);
  if (time < 0 || time > now) time = now;
  const claimed: [IdKey, number, number, number][] = [];
  const dropped: IdKey[] = [];
  const out: GroupEntry[] = [];
  const seen = new Set<IdKey>();
  const forced = new Set<IdKey>();
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const n = g.state.pel.get(id);
    let seq: number;
    let count: number;
    if (n === undefined) {
      if (!opt.force) continue;
      seq = await groups.view.seqOf(cs, id);
      if (seq === 0) continue;
      // A forced entry starts as delivered now, once (Redis's streamCreateNACK).
      if (minIdle > 0) continue;
      count = 1;
      forced.add(id);
    } else {
      if (now - n.time < minIdle) continue;
      seq = n.seq;
      count = n.count;
    }
    const m = await cs.stream.messages.get(seq);
    if (m === null) {
      if (n !== undefined) dropped.push(id);
      continue;
    }
    if (opt.retry !== undefined) count = opt.retry;
    else if (!opt.justId) count++;
    claimed.push([id, seq, time, count]);
    out.push({ id, msg: m });
  }
  // The reads above awaited: keep only what is still pending (or forced in).
  const kept = claimed.filter(([id]) => g.state.pel.has(id) || forced.has(id));
  if (kept.length < claimed.length) {
    const ok = new Set(kept.map((e) => e[0]));
    claimed.length = 0;
    claimed.push(...kept);
    for (let i = out.length - 1; i >= 0; i--) if (!ok.has(out[i]!.id)) out.splice(i, 1);
  }
  const last = opt.lastId !== undefined && opt.lastId > g.state.lastId ? opt.lastId : undefined;
  if (claimed.length > 0 || dropped.length > 0 || last !== undefined) {
    const op: Op = { o: 'claim', c: consumer, t: now, e: claimed };
    if (dropped.length > 0) op.d = dropped;
    if (last !== undefined) op.last = last;
    // Redis creates the consumer only when it claims something.
    if (claimed.length === 0 && !g.state.consumers.has(consumer)) {
      if (dropped.length > 0) await groups.commit(g, { o: 'drop', ids: dropped });
      if (last !== undefined) await groups.commit(g, { o: 'setid', last, er: g.state.entriesRead });
    } else await groups.commit(g, op);
  }
  return out;
}

/** XAUTOCLAIM: [next cursor, claimed entries, IDs deleted from the stream]. */
export async function autoClaim(
  groups: AccountGroups,
  cs: CapturedStream,
  g: LiveGroup,
  consumer: string,
  minIdle: number,
  start: IdKey,
  count: number,
  justId: boolean,
): Promise<{ cursor: IdKey; claimed: GroupEntry[]; deleted: IdKey[] }> {
  const now = Date.now();
  let attempts = count * 10;
  let left = count;
  let cursor: IdKey = MIN_ID;
  const claimed: [IdKey, number, number, number][] = [];
  const deleted: IdKey[] = [];
  const out: GroupEntry[] = [];
  // As Redis: at most count * 10 entries looked at; deleted ones are dropped on the way.
  for (const [id, n] of g.state.pel.from(start)) {
    if (left === 0 || attempts === 0) {
      cursor = id;
      break;
    }
    attempts--;
    const m = await cs.stream.messages.get(n.seq);
    if (m === null) {
      // As Redis: a deleted entry counts against COUNT too.
      deleted.push(id);
      left--;
      continue;
    }
    if (now - n.time < minIdle) continue;
    claimed.push([id, n.seq, now, justId ? n.count : n.count + 1]);
    out.push({ id, msg: m });
    left--;
  }
  // The reads above awaited: keep only what is still pending.
  for (let i = claimed.length - 1; i >= 0; i--) {
    if (!g.state.pel.has(claimed[i]![0])) {
      claimed.splice(i, 1);
      out.splice(i, 1);
    }
  }
  if (claimed.length > 0) {
    const op: Op = { o: 'claim', c: consumer, t: now, e: claimed };
    if (deleted.length > 0) op.d = deleted;
    await groups.commit(g, op);
  } else if (deleted.length > 0) {
    await groups.commit(g, { o: 'drop', ids: deleted });
  }
  return { cursor, claimed: out, deleted };
}
