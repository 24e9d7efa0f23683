/**
 * Committed offsets of an account's consumer groups, durable: kept in a
 * JetStream stream of the account, as the MQTT face keeps its sessions
 * (src/protocols/mqtt/store-streams.ts):
 *
 * | stream                       | subject                                         | record |
 * |------------------------------|-------------------------------------------------|--------|
 * | `$WEFT_kafka_offsets[_<node>]` | `$WEFT.kafka.offsets.<node>.<group>.<topic>.<partition>` | one committed offset (JSON) |
 *
 * `<group>` and `<topic>` are keys (a hash: Kafka names hold characters
 * subjects cannot); the record carries the names. The stream keeps one
 * message per subject, so a commit replaces the one before; a group's
 * records go with DeleteGroups (a purge of its subjects). A commit resolves
 * once every partition's record is durable under the stream's sync policy
 * (fsync by default), and only then is it visible to OffsetFetch: an
 * acknowledged commit survives a crash, and a failed one is answered with
 * an error and changes nothing.
 *
 * The groups use one stream per account in the whole mesh,
 * `$WEFT_kafka_offsets` with `<node>` = `local` (mesh.ts: its holder owns
 * the account's groups). Named nodes once kept their own,
 * `$WEFT_kafka_offsets_<server_name>`: migrate.ts reads it once.
 * The index of every committed offset is in memory (rebuilt from the stream
 * at open); its size is bounded by the stream's limits.
 */
import { createHash } from 'node:crypto';
import type { AccountJetStream } from '../../../jetstream/service.js';
import type { Stream } from '../../../streams/stream.js';
import { normalizeConfig } from '../../../streams/stream-config.js';

export interface CommittedOffset {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  /** When it was committed, ms since the epoch. */
  readonly timestamp: number;
}

export interface OffsetCommitEntry extends CommittedOffset {
  readonly topic: string;
  readonly partition: number;
}

/** Where records go: a stream (durable) or nowhere (tests, a node without JetStream). */
export interface OffsetBackend {
  /** Every record held, oldest first. */
  scan(): AsyncIterable<{ subject: string; payload: Buffer }>;
  put(subject: string, payload: Buffer): Promise<void>;
  /** Removes every record whose subject matches `filter`. */
  purge(filter: string): Promise<void>;
}

export function offsetsStreamNames(node = ''): { stream: string; token: string } {
  const token = node === '' ? 'local' : /^[A-Za-z0-9_-]{1,64}$/.test(node) ? node : keyOf(node);
  return { stream: node === '' ? '$WEFT_kafka_offsets' : `$WEFT_kafka_offsets_${token}`, token };
}

/** A subject token for a name: the first 128 bits of its SHA-256, hex. */
export function keyOf(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 32);
}

/** The bound on a commit's metadata string (Kafka's offset.metadata.max.bytes). */
export const MAX_OFFSET_METADATA = 4096;

export class OffsetStore {
  /** group → "topic\0partition" → offset. */
  private readonly index = new Map<
    string,
    Map<string, CommittedOffset & { topic: string; partition: number }>
  >();
  /** Records that did not decode at open (skipped, counted). */
  skipped = 0;
  /** Commits (partitions) written. */
  commits = 0;
  /** Commits that failed to become durable. */
  commitFailures = 0;

  constructor(
    private readonly backend: OffsetBackend,
    private readonly token = 'local',
  ) {}

  private subject(group: string, topic?: string, partition?: number): string {
    const base = `$WEFT.kafka.offsets.${this.token}.${keyOf(group)}`;
    return topic === undefined ? `${base}.>` : `${base}.${keyOf(topic)}.${partition}`;
  }

  async open(): Promise<void> {
    for await (const m of this.backend.scan()) {
      const r = decode(m.payload);
      if (r === null || this.subject(r.group, r.topic, r.partition) !== m.subject) {
        this.skipped++;
        continue;
      }
      this.set(r.group, r);
    }
  }

  private set(group: string, e: OffsetCommitEntry): void {
    let g = this.index.get(group);
    if (g === undefined) {
      g = new Map();
      this.index.set(group, g);
    }
    g.set(`${e.topic}\0${e.partition}`, { ...e });
  }

  get(group: string, topic: string, partition: number): CommittedOffset | null {
    return this.index.get(group)?.get(`${topic}\0${partition}`) ?? null;
  }

  /** Every committed offset of `group`. */
  ofGroup(group: string): OffsetCommitEntry[] {
    return [...(this.index.get(group)?.values() ?? [])];
  }

  hasGroup(group: string): boolean {
    return (this.index.get(group)?.size ?? 0) > 0;
  }

  groups(): string[] {
    return [...this.index.keys()].filter((g) => this.hasGroup(g));
  }

  /**
   * Writes the commits durably, then makes them visible. Resolves to the
   * entries that failed (none when all are durable).
   */
  async commit(
    group: string,
    entries: readonly OffsetCommitEntry[],
  ): Promise<Set<OffsetCommitEntry>> {
    const failed = new Set<OffsetCommitEntry>();
    await Promise.all(
      entries.map(async (e) => {
        try {
          await this.backend.put(this.subject(group, e.topic, e.partition), encode(group, e));
          this.set(group, e);
          this.commits++;
        } catch {
          this.commitFailures++;
          failed.add(e);
        }
      }),
    );
    return failed;
  }

  /** Forgets every offset of `group` (DeleteGroups), durably. */
  async deleteGroup(group: string): Promise<void> {
    await this.backend.purge(this.subject(group));
    this.index.delete(group);
  }
}

function encode(group: string, e: OffsetCommitEntry): Buffer {
  return Buffer.from(
    JSON.stringify({
      g: group,
      t: e.topic,
      p: e.partition,
      o: e.offset,
      e: e.leaderEpoch,
      m: e.metadata,
      ts: e.timestamp,
    }),
  );
}

function decode(payload: Buffer): (OffsetCommitEntry & { group: string }) | null {
  try {
    const r = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (
      typeof r.g !== 'string' ||
      typeof r.t !== 'string' ||
      !Number.isInteger(r.p) ||
      !Number.isInteger(r.o) ||
      !Number.isInteger(r.e) ||
      !(r.m === null || typeof r.m === 'string') ||
      typeof r.ts !== 'number'
    ) {
      return null;
    }
    return {
      group: r.g,
      topic: r.t,
      partition: r.p as number,
      offset: r.o as number,
      leaderEpoch: r.e as number,
      metadata: r.m as string | null,
      timestamp: r.ts,
    };
  } catch {
    return null;
  }
}

/** Keeps records in memory only (tests; a node without JetStream: not durable, documented). */
export class MemoryOffsetBackend implements OffsetBackend {
  readonly records = new Map<string, Buffer>();
  failNext = 0;

  async *scan(): AsyncIterable<{ subject: string; payload: Buffer }> {
    for (const [subject, payload] of this.records) yield { subject, payload };
  }

  async put(subject: string, payload: Buffer): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('injected write failure');
    }
    this.records.delete(subject);
    this.records.set(subject, payload);
  }

  async purge(filter: string): Promise<void> {
    const prefix = filter.slice(0, -1);
    for (const s of [...this.records.keys()]) if (s.startsWith(prefix)) this.records.delete(s);
  }
}

/** The account's offsets stream (created when missing, one message per subject). */
export class StreamOffsetBackend implements OffsetBackend {
  private stream: Stream | null = null;

  constructor(
    private readonly js: AccountJetStream,
    private readonly names: { stream: string; token: string },
  ) {}

  async open(): Promise<void> {
    const have = this.js.streams.get(this.names.stream);
    if (have !== undefined) {
      this.stream = have.stream;
      return;
    }
    const config = normalizeConfig(
      {
        name: this.names.stream,
        subjects: [`$WEFT.kafka.offsets.${this.names.token}.>`],
        max_msgs_per_subject: 1,
        storage: 'file',
      },
      this.names.stream,
    );
    this.stream = (await this.js.create(config)).stream;
  }

  private live(): Stream {
    if (this.stream === null || this.stream.closed)
      throw new Error('kafka offsets stream is not open');
    return this.stream;
  }

  async *scan(): AsyncIterable<{ subject: string; payload: Buffer }> {
    const s = this.live();
    for (let m = await s.messages.next(0); m !== null; m = await s.messages.next(m.seq + 1)) {
      yield { subject: m.subject, payload: m.payload };
    }
  }

  async put(subject: string, payload: Buffer): Promise<void> {
    const s = this.live();
    const r = await s.store(subject, null, payload);
    // A consumer of the stream (someone's `nats` client) hears of it as of a captured message.
    const cs = this.js.streams.get(s.name);
    if (cs !== undefined && cs.stream === s) cs.consumers.stored(r.seq, subject);
  }

  async purge(filter: string): Promise<void> {
    await this.live().purge({ filter });
  }
}
