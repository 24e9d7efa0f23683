/**
 * Where Redis consumer groups keep what a JetStream consumer does not
 * model — each pending entry's owner, delivery count and last delivery
 * time, the consumers, the last delivered ID and the entries-read counter —
 * so that they survive a restart: records in one stream of the account,
 * as the MQTT face keeps its sessions (src/protocols/mqtt/store-streams.ts).
 *
 * | stream                  | subject                            | record |
 * |-------------------------|------------------------------------|--------|
 * | `$REDIS_groups[_<node>]`| `$REDIS.groups.<node>.<hash>`      | a group's changes (JSON), one subject per group |
 *
 * `<hash>` is of the stream name and the group name (names hold bytes a
 * subject cannot). A group's records are a snapshot of the whole group
 * followed by its changes since (`Op`, state.ts), applied in order when
 * the node starts. Every change is one record, answered once written to
 * the OS: the record stream is fsynced on a timer (STATE_STREAM_SYNC_MS,
 * src/jetstream/sync-overrides.ts), so a kill -9 loses nothing answered and
 * a power loss the last moments' changes (redeliveries, not entries). After SNAPSHOT_EVERY changes (or as many as its PEL holds, when
 * more) the group is written whole again and the records before it are
 * purged, so a group's records stay proportional to its size.
 *
 * A destroyed group's subject is purged. The snapshot names the stream's
 * creation time: groups of a stream that was deleted and created again
 * (DEL, `nats stream rm`) are dropped when read back, as Redis drops a
 * key's groups with the key.
 */
import { createHash } from 'node:crypto';
import type { AccountJetStream } from '../../../jetstream/service.js';
import { NO_PUB_HEADERS } from '../../../streams/headers.js';
import type { StoreNotice, Stream } from '../../../streams/stream.js';
import { normalizeConfig } from '../../../streams/stream-config.js';
import { type IdKey, parseId, showId, type TextRanges } from './ids.js';
import { type IdBytes, recordAt } from './record-bytes.js';
import {
  apply,
  fromSnapshot,
  type GroupSnapshot,
  type GroupState,
  type Op,
  snapshot,
} from './state.js';

/**
 * A record as written: IDs in Redis's short form (`5-0`, not the 41
 * characters of an IdKey), the rest as it is.
 */
export function encode(r: RecordBody): Buffer {
  let out: unknown;
  switch (r.o) {
    case 'setid':
      out = { ...r, last: showId(r.last) };
      break;
    case 'read':
      return Buffer.from(readJson(r), 'utf8');
    case 'ack':
      return Buffer.from(ackJson(r.ids), 'utf8');
    case 'hist':
    case 'drop':
      out = { ...r, ids: r.ids.map(showId) };
      break;
    case 'claim':
      out = {
        ...r,
        e: r.e.map(([id, ...rest]) => [showId(id), ...rest]),
        ...(r.d === undefined ? {} : { d: r.d.map(showId) }),
        ...(r.last === undefined ? {} : { last: showId(r.last) }),
      };
      break;
    case 'pel':
      out = { o: 'pel', e: r.e.map(([id, ...rest]) => [showId(id), ...rest]) };
      break;
    case 'snap':
      out = {
        ...r,
        s: {
          ...r.s,
          last: showId(r.s.last),
          pel: r.s.pel.map(([id, ...rest]) => [showId(id), ...rest]),
        },
      };
      break;
    default:
      out = r;
  }
  return Buffer.from(JSON.stringify(out), 'utf8');
}

/**
 * The two records of every XREADGROUP `>` and XACK, built by hand: the
 * same text as `JSON.stringify` of the spread form (key order o, c, t, n,
 * last, er, noack; IDs short), without the copies of the op and its
 * arrays (bench/PROFILE.md, "Issue 16 — rgroup2").
 */
function readJson(r: Extract<Op, { o: 'read' }>): string {
  let s = `{"o":"read","c":${JSON.stringify(r.c)},"t":${num(r.t)},"n":[`;
  const n = r.n;
  for (let i = 0; i < n.length; i++) {
    const e = n[i]!;
    s += `${i === 0 ? '' : ','}["${showId(e[0])}",${num(e[1])}]`;
  }
  s += `],"last":"${showId(r.last)}","er":${num(r.er)}`;
  return r.noack === undefined ? `${s}}` : `${s},"noack":${num(r.noack)}}`;
}

function ackJson(ids: readonly IdKey[]): string {
  let s = '{"o":"ack","ids":[';
  for (let i = 0; i < ids.length; i++) s += `${i === 0 ? '"' : ',"'}${showId(ids[i]!)}"`;
  return `${s}]}`;
}

/** A number as JSON writes it (a finite one as `${x}`, else null). */
function num(x: number): string {
  return Number.isFinite(x) ? `${x}` : 'null';
}

/** Reads a record back; null when it does not decode. */
function decode(payload: Buffer): RecordBody | null {
  const id = (s: unknown): IdKey => {
    const k = typeof s === 'string' ? parseId(s) : null;
    if (k === null) throw new Error('bad id');
    return k;
  };
  try {
    // biome-ignore lint/suspicious/noExplicitAny: a record read back, checked field by field below
    const r = JSON.parse(payload.toString('utf8')) as any;
    switch (r.o) {
      case 'setid':
        return { ...r, last: id(r.last) };
      case 'read':
        return { ...r, last: id(r.last), n: r.n.map(([i, seq]: [string, number]) => [id(i), seq]) };
      case 'hist':
      case 'ack':
      case 'drop':
        return { ...r, ids: r.ids.map(id) };
      case 'claim':
        return {
          ...r,
          e: r.e.map(([i, ...rest]: [string, ...number[]]) => [id(i), ...rest]),
          ...(r.d === undefined ? {} : { d: r.d.map(id) }),
          ...(r.last === undefined ? {} : { last: id(r.last) }),
        };
      case 'pel':
        return {
          o: 'pel',
          e: r.e.map(([i, ...rest]: [string, ...unknown[]]) => [id(i), ...rest]),
        };
      case 'snap':
        return {
          ...r,
          s: {
            ...r.s,
            last: id(r.s.last),
            pel: r.s.pel.map(([i, ...rest]: [string, ...unknown[]]) => [id(i), ...rest]),
          },
        };
      case 'cc':
      case 'dc':
        return r;
      default:
        return null;
    }
  } catch {
    return null;
  }
}

/** Where `writeNotify` encodes a record (copied by the stream at once). */
const scratch = Buffer.allocUnsafe(16 * 1024);

/** Changes between two snapshots of a group, at least (more when its PEL is larger). */
export const SNAPSHOT_EVERY = 1000;

/** A record: a change, or the whole group with the stream it belongs to. */
export type RecordBody =
  | Op
  | { o: 'snap'; stream: string; sc: number; s: GroupSnapshot }
  /** Part of the PEL of the snapshot that follows (written before it). */
  | { o: 'pel'; e: GroupSnapshot['pel'] };

/** PEL entries per snapshot record: a large PEL is written in parts, each well under a record's size bound. */
export const SNAPSHOT_PEL_CHUNK = 20_000;

/** A group as the store keeps it. */
export interface StoredGroup {
  readonly subject: string;
  readonly stream: string;
  /** The stream's creation time, ms. */
  readonly streamCreated: number;
  readonly state: GroupState;
  /** Changes written since its last snapshot. */
  changes: number;
}

export function groupStreamNames(node = ''): { stream: string; prefix: string } {
  const token = node === '' ? 'local' : /^[A-Za-z0-9_-]{1,64}$/.test(node) ? node : hash(node);
  return {
    stream: node === '' ? '$REDIS_groups' : `$REDIS_groups_${token}`,
    prefix: `$REDIS.groups.${token}.`,
  };
}

function hash(s: string): string {
  return createHash('sha256').update(s, 'latin1').digest('base64url').slice(0, 22);
}

export interface GroupStoreCounters {
  /** Records read back that did not decode, or changes without a snapshot before them. */
  skippedRecords: number;
  snapshots: number;
  /** Groups dropped when read back: their stream is gone or was created again. */
  staleGroups: number;
}

export class GroupStore {
  readonly counters: GroupStoreCounters = { skippedRecords: 0, snapshots: 0, staleGroups: 0 };
  private records: Stream | null = null;
  private readonly names: ReturnType<typeof groupStreamNames>;

  constructor(
    private readonly js: AccountJetStream,
    node = '',
  ) {
    this.names = groupStreamNames(node);
  }

  subjectOf(stream: string, group: string): string {
    return this.names.prefix + hash(`${stream}\0${group}`);
  }

  /** Opens (creating it when missing) the record stream and reads every group back. */
  async open(): Promise<StoredGroup[]> {
    const name = this.names.stream;
    const have = this.js.streams.get(name);
    if (have !== undefined) this.records = have.stream;
    else {
      const config = normalizeConfig(
        { name, subjects: [`${this.names.prefix}>`], storage: 'file' },
        name,
      );
      this.records = (await this.js.create(config)).stream;
    }
    const bySubject = new Map<string, StoredGroup>();
    /** PEL parts read, waiting for the snapshot they belong to. */
    const parts = new Map<string, GroupSnapshot['pel']>();
    const store = this.records.messages;
    for (let m = await store.next(0); m !== null; m = await store.next(m.seq + 1)) {
      const rec = decode(m.payload);
      if (rec === null) {
        this.counters.skippedRecords++;
        continue;
      }
      if (rec.o === 'pel') {
        const have = parts.get(m.subject);
        if (have === undefined) parts.set(m.subject, [...rec.e]);
        else for (const e of rec.e) have.push(e);
        continue;
      }
      if (rec.o === 'snap') {
        const pel = parts.get(m.subject) ?? [];
        parts.delete(m.subject);
        bySubject.set(m.subject, {
          subject: m.subject,
          stream: rec.stream,
          streamCreated: rec.sc,
          state: fromSnapshot({ ...rec.s, pel: [...pel, ...rec.s.pel] }),
          changes: 0,
        });
        continue;
      }
      const g = bySubject.get(m.subject);
      if (g === undefined) {
        this.counters.skippedRecords++;
        continue;
      }
      apply(g.state, rec);
      g.changes++;
    }
    // Parts whose snapshot a crash took: the records before them still hold the group.
    for (const p of parts.values()) this.counters.skippedRecords += p.length > 0 ? 1 : 0;
    return [...bySubject.values()];
  }

  /** A new group (XGROUP CREATE): its first snapshot. */
  async create(stream: string, streamCreated: number, state: GroupState): Promise<StoredGroup> {
    const g: StoredGroup = {
      subject: this.subjectOf(stream, state.name),
      stream,
      streamCreated,
      state,
      changes: 0,
    };
    // Whatever an earlier group of that name left (a destroy that failed half-way).
    await this.live().messages.purge({ subject: g.subject });
    await this.writeSnapshot(g);
    return g;
  }

  /**
   * Writes a change already applied to `g.state`; resolves once written
   * under the record stream's policy (to the OS; fsynced on a timer).
   * Now and then the group is written whole instead and the records before
   * it are purged.
   */
  async write(g: StoredGroup, op: Op): Promise<void> {
    g.changes++;
    if (g.changes >= Math.max(SNAPSHOT_EVERY, g.state.pel.size)) {
      await this.writeSnapshot(g);
      return;
    }
    await this.live().store(g.subject, null, encode(op));
  }

  /**
   * `write` without a Promise: `done` is told once the record is written
   * (never in this turn). A read or ack record is written into one reused
   * buffer (record-bytes.ts), which the stream copies from before this
   * returns; the IDs from `ids` where given (record-bytes.ts `recordAt`).
   */
  writeNotify(
    g: StoredGroup,
    op: Op,
    done: StoreNotice,
    ids?: readonly IdBytes[] | readonly Buffer[] | TextRanges,
  ): void {
    g.changes++;
    if (g.changes >= Math.max(SNAPSHOT_EVERY, g.state.pel.size)) {
      this.writeSnapshot(g).then(
        () => done.stored(null, 0, false),
        (err: unknown) => done.stored(err, 0, false),
      );
      return;
    }
    const out = this.records;
    if (out === null) {
      queueMicrotask(() => done.stored(new Error('the Redis group store is not open'), 0, false));
      return;
    }
    const len = recordAt(op, scratch, ids);
    if (len < 0) out.storeNotify(g.subject, null, encode(op), done, NO_PUB_HEADERS);
    else out.storeNotifyRange(g.subject, scratch, 0, len, done);
  }

  /**
   * Writes the whole group: its PEL in parts of SNAPSHOT_PEL_CHUNK entries,
   * then the snapshot (with the last part), all in this turn so no change
   * comes between; once durable, the records before the first part go. A
   * crash before the snapshot is durable leaves the parts unused and the
   * records before them in force.
   */
  private async writeSnapshot(g: StoredGroup): Promise<void> {
    g.changes = 0;
    const whole = snapshot(g.state);
    const pel = whole.pel;
    const out = this.live();
    const writes: Promise<{ seq: number }>[] = [];
    let at = 0;
    for (; pel.length - at > SNAPSHOT_PEL_CHUNK; at += SNAPSHOT_PEL_CHUNK) {
      writes.push(
        out.store(g.subject, null, encode({ o: 'pel', e: pel.slice(at, at + SNAPSHOT_PEL_CHUNK) })),
      );
    }
    const body: RecordBody = {
      o: 'snap',
      stream: g.stream,
      sc: g.streamCreated,
      s: { ...whole, pel: pel.slice(at) },
    };
    writes.push(out.store(g.subject, null, encode(body)));
    const done = await Promise.all(writes);
    this.counters.snapshots++;
    await out.messages.purge({ subject: g.subject, upToSeq: done[0]!.seq });
  }

  /** XGROUP DESTROY, or a group whose stream is gone: every record of it goes. */
  async remove(g: StoredGroup): Promise<void> {
    await this.live().messages.purge({ subject: g.subject });
  }

  private live(): Stream {
    if (this.records === null) throw new Error('the Redis group store is not open');
    return this.records;
  }
}
