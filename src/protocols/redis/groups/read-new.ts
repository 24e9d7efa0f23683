/**
 * One XREADGROUP `>` of one group, while it holds the group's read lock
 * (service.ts): the entries taken from the group's consumer so far, in the
 * group's order, and the `read` record they make. The service runs it in
 * this turn where the consumer answers in process (`takeNow`), else
 * through the message path (`pull`, awaited); both end in the same
 * record (bench/PROFILE.md, "Issue 16 — rgroup3 (round 10)").
 */
import type { CapturedStream } from '../../../jetstream/service.js';
import { XADD_ID_AT } from '../stream-map.js';
import type { GroupFeed, Pulled } from './feed.js';
import type { IdKey } from './ids.js';
import { entriesReadAfter } from './lag.js';
import type { GroupState, Op } from './state.js';
import type { EntryMessage, StreamsView } from './view.js';

/** An entry taken, as the read's record and reply read it (a `GroupEntry` with its seq). */
export interface TakenEntry {
  readonly id: IdKey;
  readonly seq: number;
  readonly msg: EntryMessage;
  /**
   * Where the ID's text ends in the entry's header block as XADD wrote it,
   * or -1 (view.ts `idEnd`): found once for the ID, the record's bytes
   * (record-bytes.ts) and the reply (bench/PROFILE.md, "Issue 16 — xack
   * (round 12)").
   */
  readonly idEnd: number;
}

export class NewRead {
  readonly taken: TakenEntry[] = [];
  /** An entry handed over late went after a later one: sort before answering. */
  private unordered = false;

  constructor(
    private readonly view: StreamsView,
    readonly cs: CapturedStream,
    readonly state: GroupState,
    readonly feed: GroupFeed,
    /** Entries to take at most. */
    readonly max: number,
  ) {}

  /** Entries still to take. */
  get room(): number {
    return this.max - this.taken.length;
  }

  /** Takes `m` when it is new to the group; acks what the group had already. */
  consider(m: Pulled): void {
    const taken = this.taken;
    const idEnd = this.view.idEnd(m);
    const id = this.view.idOf(this.cs, m, idEnd);
    const floor = taken.length > 0 ? taken[taken.length - 1]!.id : this.state.lastId;
    if (this.feed.takeOwed(m.seq)) {
      // Handed over before and never read (a BLOCK read's first entry, an
      // entry given back): new to the group even if later ones went first.
      if (id <= floor) this.unordered = true;
    } else if (id <= floor) {
      // The group had it already (its consumer was behind after a crash):
      // still pending, or to be acked now.
      if (!this.state.pel.has(id)) this.feed.ack([m.seq]);
      return;
    }
    taken.push({ id, seq: m.seq, msg: m, idEnd });
    // The XACK that follows names these IDs again (recent-keys.ts).
    if (idEnd >= 0) this.state.recentKeys().add(m.headers!, XADD_ID_AT, idEnd, id);
  }

  /**
   * What the consumer hands over in process, in this turn: true when that
   * is all there is now (or the read is full), false when the message path
   * must be asked for more (`GroupFeed.pull`).
   */
  takeNow(): boolean {
    while (this.room > 0) {
      const { got, more } = this.feed.takeNow(this.room);
      if (got.length === 0) return !more;
      for (let i = 0; i < got.length; i++) this.consider(got[i]!);
    }
    return true;
  }

  /** In ID order, as Redis answers. */
  order(): void {
    if (this.unordered) this.taken.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The group's entries-read counter after these entries (lag.ts); a Promise when it must read. */
  entriesRead(): number | Promise<number> {
    return entriesReadAfter(this.view, this.cs, this.state.entriesRead, this.taken);
  }

  /** The record of this read (some taken), at `now` with counter `er`. */
  op(consumer: string, now: number, er: number, noack: boolean): Op {
    const taken = this.taken;
    const n: [IdKey, number][] = new Array(taken.length);
    for (let i = 0; i < taken.length; i++) n[i] = [taken[i]!.id, taken[i]!.seq];
    // Never back: an entry handed over late is below the group's last ID.
    let last = taken[taken.length - 1]!.id;
    if (last < this.state.lastId) last = this.state.lastId;
    const op: Op = { o: 'read', c: consumer, t: now, n, last, er };
    if (noack) op.noack = 1;
    return op;
  }

  seqs(): number[] {
    return this.taken.map((e) => e.seq);
  }

  /** The entries taken, as the reply reads them: `taken` itself, no second object per entry. */
  entries(): TakenEntry[] {
    return this.taken;
  }
}
