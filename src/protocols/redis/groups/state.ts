/**
 * One Redis consumer group as Redis keeps it (t_stream.c's streamCG):
 * the last delivered ID, the entries-read counter, the consumers, and the
 * pending entries list (PEL) — every entry delivered without NOACK and not
 * yet acknowledged, with its owner, delivery count and last delivery time.
 *
 * Every change is an `Op`, applied by `apply` both when a command runs and
 * when the group's records are read back after a restart (store.ts), so
 * the state read back is the state that was acknowledged. Pure: no I/O,
 * times are given.
 *
 * Names (groups, consumers) are binary in Redis: they are held as latin1
 * strings, one character per byte, which JSON carries unchanged.
 */
import { IdMap } from './id-map.js';
import type { IdKey } from './ids.js';
import { RecentKeys } from './recent-keys.js';

/** Redis's SCG_INVALID_ENTRIES_READ: the entries-read counter is unknown (nil in XINFO). */
export const UNKNOWN_READ = -1;

/** A pending entry (Redis's streamNACK), plus the stream sequence the entry is stored at. */
export interface Nack {
  /** The Weft stream sequence of the entry (for reading it and for the JetStream ack). */
  readonly seq: number;
  consumer: GroupConsumer;
  /** Last delivery, ms since the epoch. */
  time: number;
  count: number;
}

export class GroupConsumer {
  /** Its own pending entries (the same Nack objects as the group's PEL). */
  readonly pel = new IdMap<Nack>();
  constructor(
    readonly name: string,
    /** Last time it read or claimed, ms (Redis's seen-time: XINFO's `idle`). */
    public seen: number,
  ) {}
}

export class GroupState {
  readonly pel = new IdMap<Nack>();
  readonly consumers = new Map<string, GroupConsumer>();
  /** Not state: the keys of the IDs last read, for XACK (recent-keys.ts); made on the first read. */
  private recent: RecentKeys | null = null;

  constructor(
    readonly name: string,
    public lastId: IdKey,
    public entriesRead: number,
    /** When the group was created, ms. */
    readonly created: number,
  ) {}

  recentKeys(): RecentKeys {
    this.recent ??= new RecentKeys();
    return this.recent;
  }

  /** The memo's key of an ID written `b` (canonical), if any (no memo made). */
  recentKey(b: Buffer): IdKey | undefined {
    return this.recent?.keyOf(b);
  }

  /** `recentKey` of the ID written `b[at, end)`. */
  recentKeyAt(b: Buffer, at: number, end: number): IdKey | undefined {
    return this.recent?.keyAt(b, at, end);
  }

  consumer(name: string, now: number): GroupConsumer {
    let c = this.consumers.get(name);
    if (c === undefined) {
      c = new GroupConsumer(name, now);
      this.consumers.set(name, c);
    }
    return c;
  }
}

/**
 * The changes to a group, as records (JSON): `c` a consumer's name, `t` a
 * time in ms, IDs in IdKey form.
 */
export type Op =
  /** XGROUP SETID (and a group's start, in its snapshot). */
  | { o: 'setid'; last: IdKey; er: number }
  /** XGROUP CREATECONSUMER, or a consumer's first use by a read that delivered nothing. */
  | { o: 'cc'; c: string; t: number }
  /** XGROUP DELCONSUMER: the consumer and its pending entries go. */
  | { o: 'dc'; c: string }
  /** XREADGROUP `>`: new entries [id, seq]; in the PEL unless `noack`; the last ID moves. */
  | { o: 'read'; c: string; t: number; n: [IdKey, number][]; last: IdKey; er: number; noack?: 1 }
  /** XREADGROUP with an ID: entries of the consumer's PEL delivered again (count + 1, time t). */
  | { o: 'hist'; c: string; t: number; ids: IdKey[] }
  /** XACK. */
  | { o: 'ack'; ids: IdKey[] }
  /**
   * XCLAIM / XAUTOCLAIM: entries now owned by `c`, [id, seq, time, count];
   * `d` entries no longer in the stream, dropped from the PEL; `last` XCLAIM's LASTID.
   */
  | {
      o: 'claim';
      c: string;
      t: number;
      e: [IdKey, number, number, number][];
      d?: IdKey[];
      last?: IdKey;
    }
  /** Entries no longer in the stream, dropped from the PEL (XCLAIM, XAUTOCLAIM). */
  | { o: 'drop'; ids: IdKey[] };

/** The whole group, as store.ts writes it now and then (and drops the records before it). */
export interface GroupSnapshot {
  name: string;
  last: IdKey;
  er: number;
  created: number;
  /** [name, seen]. */
  consumers: [string, number][];
  /** [id, seq, consumer, time, count], in ID order. */
  pel: [IdKey, number, string, number, number][];
}

/** Applies `op` to `g`. */
export function apply(g: GroupState, op: Op): void {
  switch (op.o) {
    case 'setid':
      g.lastId = op.last;
      g.entriesRead = op.er;
      return;
    case 'cc':
      g.consumer(op.c, op.t);
      return;
    case 'dc': {
      const c = g.consumers.get(op.c);
      if (c === undefined) return;
      for (const [id] of c.pel.from('')) g.pel.delete(id);
      g.consumers.delete(op.c);
      return;
    }
    case 'read': {
      const c = g.consumer(op.c, op.t);
      c.seen = op.t;
      if (op.noack !== 1) {
        for (const [id, seq] of op.n) {
          // An entry still pending (a SETID back in time) is delivered again: it
          // moves here. Above the whole PEL (every `>` read in order) it is not there.
          const prev = g.pel.above(id) ? undefined : g.pel.get(id);
          if (prev !== undefined) prev.consumer.pel.delete(id);
          const nack: Nack = { seq, consumer: c, time: op.t, count: 1 };
          g.pel.set(id, nack);
          c.pel.set(id, nack);
        }
      }
      g.lastId = op.last;
      g.entriesRead = op.er;
      return;
    }
    case 'hist': {
      const c = g.consumer(op.c, op.t);
      c.seen = op.t;
      for (const id of op.ids) {
        const n = c.pel.get(id);
        if (n === undefined) continue;
        n.count++;
        n.time = op.t;
      }
      return;
    }
    case 'ack':
      for (const id of op.ids) {
        const n = g.pel.get(id);
        if (n === undefined) continue;
        g.pel.delete(id);
        n.consumer.pel.delete(id);
      }
      return;
    case 'claim': {
      const c = g.consumer(op.c, op.t);
      c.seen = op.t;
      for (const [id, seq, time, count] of op.e) {
        let n = g.pel.get(id);
        if (n === undefined) {
          n = { seq, consumer: c, time, count };
          g.pel.set(id, n);
        } else if (n.consumer !== c) {
          n.consumer.pel.delete(id);
          n.consumer = c;
        }
        n.time = time;
        n.count = count;
        c.pel.set(id, n);
      }
      if (op.d !== undefined) apply(g, { o: 'ack', ids: op.d });
      if (op.last !== undefined && op.last > g.lastId) g.lastId = op.last;
      return;
    }
    case 'drop':
      apply(g, { o: 'ack', ids: op.ids });
      return;
  }
}

/**
 * The pending ones of `ids` (XACK's arguments), each once, in argument
 * order, with their entries: what `applyAck` then deletes.
 */
export function pendingOf(g: GroupState, ids: readonly IdKey[]): { ids: IdKey[]; nacks: Nack[] } {
  const found: IdKey[] = [];
  const nacks: Nack[] = [];
  // Each ID once: a look back for a few, a Set for many.
  const seen = ids.length > 16 ? new Set<IdKey>() : null;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const n = g.pel.get(id);
    if (n === undefined) continue;
    // A pending ID has one Nack: the look back compares objects, not 41-character
    // strings (the PEL's keys are no longer hashed: id-map.ts).
    if (seen === null ? nacks.includes(n) : seen.has(id)) continue;
    seen?.add(id);
    found.push(id);
    nacks.push(n);
  }
  return { ids: found, nacks };
}

/**
 * `apply` of `{ o: 'ack', ids }` when each `ids[i]` is pending as `nacks[i]`
 * (just looked up, each once): no lookup again.
 */
export function applyAck(g: GroupState, ids: readonly IdKey[], nacks: readonly Nack[]): void {
  for (let i = 0; i < ids.length; i++) {
    g.pel.delete(ids[i]!);
    nacks[i]!.consumer.pel.delete(ids[i]!);
  }
}

export function snapshot(g: GroupState): GroupSnapshot {
  const pel: GroupSnapshot['pel'] = [];
  for (const [id, n] of g.pel.from('')) pel.push([id, n.seq, n.consumer.name, n.time, n.count]);
  return {
    name: g.name,
    last: g.lastId,
    er: g.entriesRead,
    created: g.created,
    consumers: [...g.consumers.values()].map((c) => [c.name, c.seen]),
    pel,
  };
}

export function fromSnapshot(s: GroupSnapshot): GroupState {
  const g = new GroupState(s.name, s.last, s.er, s.created);
  for (const [name, seen] of s.consumers) g.consumer(name, seen);
  for (const [id, seq, owner, time, count] of s.pel) {
    const c = g.consumer(owner, time);
    const n: Nack = { seq, consumer: c, time, count };
    g.pel.set(id, n);
    c.pel.set(id, n);
  }
  return g;
}
