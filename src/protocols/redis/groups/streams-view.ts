/**
 * The consumer groups' view of the Redis stream mapping (stream-map.ts):
 * a key is a stream of the client's account on this node; IDs, entries
 * and ID → sequence lookups as the streams commands use them.
 */
import type { CapturedStream } from '../../../jetstream/service.js';
import { normalizeConfig } from '../../../streams/stream-config.js';
import type { CommandClient, RedisFaceState } from '../command.js';
import type { Reply } from '../encoder.js';
import {
  entryOf,
  entryReply,
  firstSeqAtOrAfter,
  idOf,
  incrId,
  redisSubject,
  type StreamId,
  streamNameOf,
} from '../stream-map.js';
import { type IdKey, idKey, MAX_ID, MIN_ID } from './ids.js';
import { type EntryMessage, KeyRefused, type StreamsView } from './view.js';

export function toKey(id: StreamId): IdKey {
  return idKey(id.ms, id.seq);
}

export function fromKey(k: IdKey): StreamId {
  return { ms: BigInt(k.slice(0, 20)), seq: BigInt(k.slice(21)) };
}

export class MappedStreams implements StreamsView {
  constructor(private readonly face: Pick<RedisFaceState, 'host'>) {}

  private js(client: CommandClient) {
    const js = this.face.host.jetstream?.account(client.account.name);
    if (js === undefined) throw new KeyRefused('ERR JetStream is not enabled for this account');
    return js;
  }

  lookup(client: CommandClient, key: Buffer): CapturedStream | null {
    const n = streamNameOf(key);
    if ('error' in n) throw new KeyRefused(n.error);
    const js = this.js(client);
    const cs = js.streams.get(n.name);
    if (cs !== undefined) return cs;
    if (js.remoteHas(n.name)) {
      throw new KeyRefused(
        `ERR stream '${n.name}' lives on another node of the mesh: consumer groups are served by the node that holds the stream`,
      );
    }
    return null;
  }

  async create(client: CommandClient, key: Buffer): Promise<CapturedStream> {
    const n = streamNameOf(key);
    if ('error' in n) throw new KeyRefused(n.error);
    const js = this.js(client);
    const have = js.streams.get(n.name);
    if (have !== undefined) return have;
    const config = normalizeConfig(
      { name: n.name, subjects: [redisSubject(n.name)], storage: 'file' },
      n.name,
    );
    return js.create(config);
  }

  idOf(_cs: CapturedStream, m: EntryMessage): IdKey {
    return toKey(idOf(m));
  }

  entry(_cs: CapturedStream, m: EntryMessage): Reply {
    return entryReply(entryOf(m));
  }

  async lastId(cs: CapturedStream): Promise<IdKey> {
    const st = cs.stream.state();
    if (st.lastSeq === 0) return MIN_ID;
    // The newest entry; when it was deleted, the newest still held (Redis keeps the
    // deleted one's ID as the stream's last: a weak spot until the streams commands keep it).
    const m =
      (await cs.stream.messages.get(st.lastSeq)) ??
      (st.messages > 0 ? await this.newestHeld(cs, st.firstSeq, st.lastSeq) : null);
    return m === null ? MIN_ID : toKey(idOf(m));
  }

  private async newestHeld(
    cs: CapturedStream,
    first: number,
    last: number,
  ): Promise<EntryMessage | null> {
    let best: EntryMessage | null = null;
    for (let lo = first, hi = last; lo <= hi; ) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const m = await cs.stream.messages.next(mid);
      if (m === null) hi = mid - 1;
      else {
        best = m;
        lo = m.seq + 1;
      }
    }
    return best;
  }

  async seqOf(cs: CapturedStream, id: IdKey): Promise<number> {
    const seq = await this.seqAfterOrAt(cs, fromKey(id));
    const m = await cs.stream.messages.get(seq);
    return m !== null && toKey(idOf(m)) === id ? seq : 0;
  }

  async seqAfter(cs: CapturedStream, id: IdKey): Promise<number> {
    if (id === MAX_ID) return cs.stream.state().lastSeq + 1;
    return this.seqAfterOrAt(cs, incrId(fromKey(id))!);
  }

  private seqAfterOrAt(cs: CapturedStream, id: StreamId): Promise<number> {
    const st = cs.stream.state();
    const store = cs.stream.messages;
    return firstSeqAtOrAfter(
      { firstSeq: st.firstSeq, lastSeq: st.lastSeq, next: (s) => store.next(s) },
      id,
    );
  }
}
