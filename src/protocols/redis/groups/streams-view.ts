/**
 * The consumer groups' view of the Redis streams (stream-access.ts,
 * stream-map.ts): a key is a stream of the client's account; IDs, entries,
 * the stream's last ID (XSETID aware) and ID → sequence lookups as the
 * streams commands have them; the same permissions (reading a stream is
 * subscribing to its subjects).
 */
import type { CapturedStream } from '../../../jetstream/service.js';
import type { CommandClient, CommandContext } from '../command.js';
import { mayPublish, mayRead } from '../commands/stream-args.js';
import type { Reply } from '../encoder.js';
import { JsApiError, type StreamView, streamsOf } from '../stream-access.js';
import {
  firstSeqAtOrAfter,
  idOf,
  incrId,
  redisSubject,
  type StreamId,
  storedEntryReply,
  streamNameOf,
  XADD_ID_AT,
  xaddIdEnd,
} from '../stream-map.js';
import { forwardingOf, isForwarded } from './forward.js';
import { type IdKey, idKey, MAX_ID } from './ids.js';
import { type EntryMessage, KeyRefused, RemoteStream, type StreamsView } from './view.js';

export function toKey(id: StreamId): IdKey {
  return idKey(id.ms, id.seq);
}

/** Where `keyOfCanonical` lays out a key: `0…0-0…0`, digits written over the zeros. */
const keyBytes = Buffer.alloc(41, 0x30) as Buffer & {
  latin1Slice(start: number, end: number): string;
};
keyBytes[20] = 0x2d;

/**
 * The key of a canonical ID (`canonicalIdDash`) at `b[from, to)`: its parts
 * padded, made as one flat string out of a reused buffer (two slices, two
 * pads and a concatenation before: bench/PROFILE.md, "Issue 16 — rgroup3
 * (round 10)").
 */
export function keyOfCanonical(b: Buffer, from: number, to: number): IdKey {
  let dash = from;
  while (dash < to && b[dash] !== 0x2d) dash++;
  const k = keyBytes;
  let at = 20;
  for (let i = dash - 1; i >= from && at > 0; i--) k[--at] = b[i]!;
  while (at > 0) k[--at] = 0x30;
  at = 41;
  for (let i = to - 1; i > dash && at > 21; i--) k[--at] = b[i]!;
  while (at > 21) k[--at] = 0x30;
  // Node's own method behind toString('latin1'), without its argument handling.
  return k.latin1Slice(0, 41);
}

export function fromKey(k: IdKey): StreamId {
  return { ms: BigInt(k.slice(0, 20)), seq: BigInt(k.slice(21)) };
}

export class MappedStreams implements StreamsView {
  /** The streams' views by stream, for lastId (the streams commands' memory of XSETID, XDEL). */
  private readonly views = new WeakMap<CapturedStream, StreamView>();

  constructor(private readonly face: CommandContext['face']) {}

  private ctx(client: CommandClient): CommandContext {
    return { client, face: this.face };
  }

  private nameOf(key: Buffer): string {
    const n = streamNameOf(key);
    if ('error' in n) throw new KeyRefused(n.error);
    return n.name;
  }

  async lookup(client: CommandClient, key: Buffer): Promise<CapturedStream | null> {
    const name = this.nameOf(key);
    const streams = streamsOf(this.face);
    let v: StreamView | null;
    try {
      // Reads after writes: XADDs of this node to the stream are published first.
      await streams.settled(client.account, name);
      v = await streams.open(client.account, name);
    } catch (err) {
      if (err instanceof JsApiError) throw new KeyRefused(`ERR ${err.message}`);
      throw err;
    }
    if (v === null) return null;
    const no = mayRead(this.ctx(client), v);
    if (no !== null) throw new KeyRefused(no);
    if (!v.local) {
      // Served by the node that holds it: forwarded there, once.
      if (!isForwarded(client) && forwardingOf(this.face) !== undefined)
        throw new RemoteStream(name);
      throw new KeyRefused(
        `ERR stream '${name}' is on another node of the mesh: consumer groups are served by the node that holds the stream`,
      );
    }
    const cs = this.face.host.jetstream?.account(client.account.name)?.streams.get(name);
    if (cs === undefined) return null;
    this.views.set(cs, v);
    return cs;
  }

  /**
   * `lookup` in this turn, where it answers with a stream on this node
   * that `ctx.client` may read: undefined in every other case (`lookup`
   * answers those, errors included).
   */
  lookupNow(ctx: CommandContext, key: Buffer): CapturedStream | undefined {
    const n = streamNameOf(key);
    return 'error' in n ? undefined : this.lookupNowNamed(ctx, n.name);
  }

  /** `lookupNow` of the key whose stream name is `name`. */
  lookupNowNamed(ctx: CommandContext, name: string): CapturedStream | undefined {
    const v = streamsOf(this.face).openHere(ctx.client.account, name);
    if (v === undefined || mayRead(ctx, v) !== null) return undefined;
    const cs = v.cs;
    if (this.views.get(cs) !== v) this.views.set(cs, v);
    return cs;
  }

  async create(client: CommandClient, key: Buffer): Promise<CapturedStream> {
    const name = this.nameOf(key);
    const no = mayPublish(this.ctx(client), redisSubject(name));
    if (no !== null) throw new KeyRefused(no);
    try {
      await streamsOf(this.face).create(client.account, name);
    } catch (err) {
      if (err instanceof JsApiError) throw new KeyRefused(`ERR ${err.message}`);
      throw err;
    }
    const cs = await this.lookup(client, key);
    if (cs === null) throw new KeyRefused(`ERR stream '${name}' was created but is not reachable`);
    return cs;
  }

  idEnd(m: EntryMessage): number {
    return xaddIdEnd(m.headers);
  }

  idOf(_cs: CapturedStream, m: EntryMessage, end = xaddIdEnd(m.headers)): IdKey {
    // XADD's entries: the key from the header's text, without BigInts.
    if (end >= 0) return keyOfCanonical(m.headers!, XADD_ID_AT, end);
    return toKey(idOf(m));
  }

  entry(_cs: CapturedStream, m: EntryMessage, end?: number): Reply {
    return storedEntryReply(m, end);
  }

  async lastId(cs: CapturedStream): Promise<IdKey> {
    const v = this.views.get(cs);
    if (v !== undefined) return toKey(await streamsOf(this.face).lastId(v));
    // Not looked up through this view (cannot happen for a command's stream): its top entry.
    const st = cs.stream.state();
    const m = st.lastSeq === 0 ? null : await cs.stream.messages.get(st.lastSeq);
    return m === null ? idKey(0n, 0n) : toKey(idOf(m));
  }

  /** Entries ever added (XSETID ENTRIESADDED aware): the stream's last sequence, one per entry. */
  added(cs: CapturedStream): number {
    const st = cs.stream.state();
    const offset = this.views.get(cs)?.meta.addedOffset ?? 0;
    return Math.max(st.lastSeq + offset, st.messages);
  }

  async seqOf(cs: CapturedStream, id: IdKey): Promise<number> {
    const seq = await this.seqAtOrAfter(cs, fromKey(id));
    const m = await cs.stream.messages.get(seq);
    return m !== null && toKey(idOf(m)) === id ? seq : 0;
  }

  async seqAfter(cs: CapturedStream, id: IdKey): Promise<number> {
    if (id === MAX_ID) return cs.stream.state().lastSeq + 1;
    return this.seqAtOrAfter(cs, incrId(fromKey(id))!);
  }

  private seqAtOrAfter(cs: CapturedStream, id: StreamId): Promise<number> {
    const st = cs.stream.state();
    const store = cs.stream.messages;
    return firstSeqAtOrAfter(
      { firstSeq: st.firstSeq, lastSeq: st.lastSeq, next: (s) => store.next(s) },
      id,
    );
  }
}
