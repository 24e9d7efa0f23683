/**
 * Kafka topics are JetStream streams (docs/kafka.md, "Topics are streams"):
 * partition p of topic T is one stream, so its offsets are the stream's
 * sequences less one (dense from 0, never reused; a removed message is a
 * gap), and every stream is a topic of one partition whatever face filled it.
 *
 *   partition 0     stream B          (B = T with '.' as '_')
 *   partition p ≥ 1 stream B~p        ('~' is in no Kafka topic name)
 *
 * Streams made by CreateTopics carry `Kafka topic "T" partition p` as their
 * description (the topic's own name when it has dots) and capture the
 * subjects `T.p` (partition 0 also `T`); a record produced to partition p is
 * published on `T.p`, so NATS subscribers of `T.*` anywhere see it live.
 * A stream made otherwise is published to on its first subject (its
 * wildcards read as `kafka`).
 *
 * This module finds and makes topics; topic-admin.ts answers the admin APIs,
 * produce.ts and fetch.ts move records. Streams owned by another node of the
 * mesh are seen through `remoteHas` (topic-remote.ts reaches them).
 */
import type { Account } from '../../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../core/message.js';
import { isValidPublishSubject } from '../../core/subject.js';
import { streamLimitError } from '../../jetstream/account-limits.js';
import type { AccountJetStream, CapturedStream } from '../../jetstream/service.js';
import {
  DEFAULT_DUPLICATE_WINDOW_NS,
  NS_PER_MS,
  normalizeConfig,
  type StreamConfig,
  subjectsOverlap,
} from '../../streams/stream-config.js';
import type { FaceHost } from '../face.js';
import type { TopicsView } from './api.js';
import { KafkaError } from './errors.js';
import { type RemoteInfo, RemoteStreams } from './remote.js';

/** Kafka's longest topic name (Topic.MAX_NAME_LENGTH). */
export const TOPIC_NAME_MAX = 249;
/** Most partitions one topic may have here (each is a stream). */
export const PARTITIONS_MAX = 1000;
const LEGAL = /^[a-zA-Z0-9._-]+$/;
const MARK = /^Kafka topic "([a-zA-Z0-9._-]+)" partition (\d+)$/;

/** A Kafka error to answer with: its code and message (Errors.java). */
export class TopicError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const KafkaErr = KafkaError;

/** Why `name` cannot name a topic here, or null: Kafka's rules (Topic.validate), and a subject. */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > TOPIC_NAME_MAX)
    return `Topic name is illegal, it can't be longer than ${TOPIC_NAME_MAX} characters, topic name: ${name}`;
  if (!LEGAL.test(name))
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  if (!isValidPublishSubject(name))
    return `Topic name "${name}" is not a subject here: a '.' may not begin or end it or follow another`;
  return null;
}

export function streamBase(topic: string): string {
  return topic.replaceAll('.', '_');
}

export function partitionStream(base: string, p: number): string {
  return p === 0 ? base : `${base}~${p}`;
}

/** One partition: its stream on this node. */
export interface Partition {
  readonly index: number;
  readonly cs: CapturedStream;
  /** Where a record produced to it is published. */
  readonly subject: string;
}

export interface Topic {
  readonly name: string;
  readonly partitions: readonly Partition[];
  /** Made by CreateTopics (or auto-created): its streams are the face's to delete or grow. */
  readonly kafka: boolean;
}

/** Kafka-side settings of a new topic (CreateTopics' configs). */
export interface TopicSettings {
  /** ms; -1: forever. */
  retentionMs: number;
  /** Bytes per partition; -1: no limit. */
  retentionBytes: number;
  /** Largest record batch; -1: the node's max_payload alone. */
  maxMessageBytes: number;
}

export const DEFAULT_SETTINGS: TopicSettings = {
  retentionMs: -1,
  retentionBytes: -1,
  maxMessageBytes: -1,
};

/** The subject a produced record goes to for a stream not made by Kafka. */
export function produceSubjectOf(config: StreamConfig): string | null {
  const first = config.subjects[0];
  if (first === undefined) return null;
  return first
    .split('.')
    .map((t) => (t === '*' || t === '>' ? 'kafka' : t))
    .join('.');
}

/** Wakes Fetch long polls when a partition's stream gets a message. */
class AppendWatch implements Subscriber {
  static nextId = 1_950_000_000;
  readonly id = AppendWatch.nextId++;
  readonly kind = 'internal' as const;
  readonly echo = true;
  readonly waiters = new Set<() => void>();
  private subs: Subscription[] = [];
  private scheduled = false;

  constructor(
    readonly account: Account,
    subjects: readonly string[],
  ) {
    for (const s of subjects) {
      const sub = internalSubscription(s, this);
      account.subscribe(sub);
      this.subs.push(sub);
    }
  }

  deliver(_sub: Subscription, _msg: Message): void {
    this.poke();
  }

  /** The stream's append runs in the same turn as the delivery: look after it. */
  poke(): void {
    if (this.scheduled || this.waiters.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const ws = [...this.waiters];
      this.waiters.clear();
      for (const w of ws) w();
    });
  }

  close(): void {
    for (const s of this.subs) this.account.unsubscribe(s);
    this.subs = [];
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}

/** Whether a topic `find` built still has the streams (and first config) it was built from. */
function unchanged(f: FoundTopic): boolean {
  const streams = f.js.streams;
  const parts = f.topic.partitions;
  if (parts[0]!.cs.stream.config !== f.config) return false;
  for (let p = 0; p < parts.length; p++) {
    if (streams.get(f.names[p]!) !== parts[p]!.cs) return false;
  }
  // A Kafka topic grown by CreatePartitions has a stream more.
  return f.names.length === parts.length || !streams.has(f.names[parts.length]!);
}

/** A partition whose stream another node owns (remote.ts reaches it). */
export interface RemotePartition {
  readonly index: number;
  readonly stream: string;
  readonly subject: string;
  readonly info: RemoteInfo;
}

/** Topics `find` keeps built, by name: each Produce request looks its topic up. */
export const TOPICS_CACHED = 64;

/** A topic `find` built, with what it was built from (checked on each use). */
interface FoundTopic {
  readonly js: AccountJetStream;
  readonly topic: Topic;
  /** The first partition's stream config it was built from (an update replaces it). */
  readonly config: StreamConfig;
  /** Each partition's stream name, then the next one's (a partition added: a Kafka topic's). */
  readonly names: readonly string[];
}

export class KafkaTopics implements TopicsView {
  private readonly watches = new Map<CapturedStream, AppendWatch>();
  /** `find`'s topics, at most TOPICS_CACHED (cleared when full). */
  private readonly built = new Map<string, FoundTopic>();
  /** `find`s answered from `built`; times `built` was full and cleared (`/varz` topic_cache_clears). */
  findHits = 0;
  cacheClears = 0;
  readonly remote: RemoteStreams;

  constructor(private readonly host: FaceHost) {
    this.remote = new RemoteStreams(host.router);
  }

  /**
   * Partition `index` of topic `name` when another node owns its stream:
   * its subject and state, asked of the owner; null when there is none.
   */
  async remotePartition(
    account: Account,
    name: string,
    index: number,
  ): Promise<RemotePartition | null> {
    const js = this.js(account);
    if (js === null || topicNameError(name) !== null) return null;
    const base = streamBase(name);
    const stream = partitionStream(base, index);
    if (!js.remoteHas(stream) || js.streams.has(base)) return null;
    const info = await this.remote.info(account, stream);
    if (info === null) return null;
    const mark = MARK.exec(info.description);
    if (mark !== null ? mark[1] !== name : index !== 0 || base !== name) return null;
    const subject =
      mark !== null
        ? `${name}.${index}`
        : (produceSubjectOf({ subjects: info.subjects } as StreamConfig) ?? '');
    return { index, stream, subject, info };
  }

  /** A remote stream's state again (a long poll). */
  async remoteRefresh(account: Account, p: RemotePartition): Promise<RemotePartition> {
    const info = await this.remote.info(account, p.stream);
    return info === null ? p : { ...p, info };
  }

  /** Resolves when a message on one of `subjects` passes this node, or after `ms`. */
  waitSubjects(account: Account, subjects: readonly string[], ms: number): Promise<void> {
    const key = `${account.name}\n${subjects.join(' ')}`;
    let w = this.subjectWatches.get(key);
    if (w === undefined) {
      w = new AppendWatch(account, subjects);
      this.subjectWatches.set(key, w);
    }
    const watch = w;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        watch.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      watch.waiters.add(done);
    });
  }

  private readonly subjectWatches = new Map<string, AppendWatch>();

  js(account: Account): AccountJetStream | null {
    return this.host.jetstream?.account(account.name) ?? null;
  }

  /** The topic `name` in `account` as this node holds it, or null. */
  find(account: Account, name: string): Topic | null {
    const js = this.js(account);
    if (js === null) return null;
    // Built before and its streams unchanged: the regexes, names and
    // objects were ~2 µs per Produce request (bench/PROFILE.md, "Issue 16 —
    // kafka6 (round 12)").
    const f = this.built.get(name);
    if (f !== undefined && f.js === js && unchanged(f)) {
      this.findHits++;
      return f.topic;
    }
    const t = this.build(js, name);
    if (t !== null) {
      if (this.built.size >= TOPICS_CACHED) {
        this.built.clear();
        this.cacheClears++;
      }
      const names = t.partitions.map((p) => partitionStream(streamBase(name), p.index));
      if (t.kafka) names.push(partitionStream(streamBase(name), names.length));
      this.built.set(name, { js, topic: t, config: t.partitions[0]!.cs.stream.config, names });
    }
    return t;
  }

  private build(js: AccountJetStream, name: string): Topic | null {
    if (topicNameError(name) !== null) return null;
    const base = streamBase(name);
    const first = js.streams.get(base);
    if (first === undefined) return null;
    const mark = MARK.exec(first.stream.config.description ?? '');
    if (mark !== null ? mark[1] !== name : base !== name) return null;
    const partitions: Partition[] = [];
    for (let p = 0; p < PARTITIONS_MAX; p++) {
      const cs = p === 0 ? first : js.streams.get(partitionStream(base, p));
      if (cs === undefined) break;
      const subject = mark !== null ? `${name}.${p}` : produceSubjectOf(cs.stream.config);
      partitions.push({ index: p, cs, subject: subject ?? '' });
      if (mark === null) break;
    }
    return { name, partitions, kafka: mark !== null };
  }

  /** Whether another node of the mesh owns the topic's first partition. */
  remoteHas(account: Account, name: string): boolean {
    const js = this.js(account);
    return js !== null && topicNameError(name) === null && js.remoteHas(streamBase(name));
  }

  /** Every topic this node holds in `account`. */
  list(account: Account): Topic[] {
    const js = this.js(account);
    if (js === null) return [];
    const out: Topic[] = [];
    for (const [stream, cs] of js.streams) {
      if (stream.includes('~') || stream.startsWith('$')) continue;
      const mark = MARK.exec(cs.stream.config.description ?? '');
      const t = this.find(account, mark !== null ? mark[1]! : stream);
      if (t !== null) out.push(t);
    }
    return out;
  }

  /**
   * Makes topic `name` with `count` partitions, or adds partitions to it
   * (`from` > 0: partitions from..count-1). The streams are made one by one;
   * if one fails, those made by this call are deleted again.
   */
  async create(
    account: Account,
    name: string,
    count: number,
    settings: TopicSettings,
    from = 0,
  ): Promise<Topic> {
    const js = this.js(account);
    if (js === null)
      throw new TopicError(KafkaErr.POLICY_VIOLATION, 'JetStream is not enabled for this account');
    const bad = topicNameError(name);
    if (bad !== null) throw new TopicError(KafkaErr.INVALID_TOPIC_EXCEPTION, bad);
    if (count < 1 || count > PARTITIONS_MAX)
      throw new TopicError(
        KafkaErr.INVALID_PARTITIONS,
        `Number of partitions must be from 1 to ${PARTITIONS_MAX}`,
      );
    const base = streamBase(name);
    if (from === 0 && (js.streams.has(base) || js.remoteHas(base))) {
      const existing = this.find(account, name);
      throw new TopicError(
        KafkaErr.TOPIC_ALREADY_EXISTS,
        existing !== null || js.remoteHas(base)
          ? `Topic '${name}' already exists.`
          : `Topic '${name}' collides with existing topic or stream '${base}'`,
      );
    }
    const configs: StreamConfig[] = [];
    for (let p = from; p < count; p++) {
      const stream = partitionStream(base, p);
      if (js.streams.has(stream) || js.remoteHas(stream))
        throw new TopicError(KafkaErr.TOPIC_ALREADY_EXISTS, `stream ${stream} already exists`);
      const subjects = p === 0 ? [name, `${name}.0`] : [`${name}.${p}`];
      const config = normalizeConfig(
        {
          name: stream,
          description: `Kafka topic "${name}" partition ${p}`,
          subjects,
          retention: 'limits',
          max_age: settings.retentionMs > 0 ? settings.retentionMs * NS_PER_MS : 0,
          max_bytes: settings.retentionBytes,
          max_msg_size: settings.maxMessageBytes,
          storage: 'file',
          discard: 'old',
          duplicate_window: DEFAULT_DUPLICATE_WINDOW_NS,
          allow_direct: true,
        },
        stream,
      );
      const over = js.overlapping(config.subjects, stream, subjectsOverlap);
      if (over !== null)
        throw new TopicError(
          KafkaErr.INVALID_CONFIG,
          `subjects of topic '${name}' overlap with stream ${over}`,
        );
      configs.push(config);
    }
    const made: CapturedStream[] = [];
    try {
      for (const config of configs) {
        const have = [...js.streams.values()].map((c) => c.stream.config);
        const why = streamLimitError(js.limits, have, config, false);
        if (why !== null) throw new TopicError(KafkaErr.POLICY_VIOLATION, why.message);
        made.push(await js.create(config));
      }
    } catch (err) {
      for (const cs of made) await js.delete(cs).catch(() => {});
      if (err instanceof TopicError) throw err;
      throw new TopicError(KafkaErr.UNKNOWN_SERVER_ERROR, (err as Error).message);
    }
    const t = this.find(account, name);
    if (t === null) throw new TopicError(KafkaErr.UNKNOWN_SERVER_ERROR, `topic ${name} vanished`);
    return t;
  }

  /** Deletes every stream of the topic. */
  async delete(account: Account, topic: Topic): Promise<void> {
    const js = this.js(account);
    if (js === null) return;
    for (const p of [...topic.partitions].reverse()) {
      this.watches.get(p.cs)?.close();
      this.watches.delete(p.cs);
      await js.delete(p.cs);
    }
  }

  // --- reading positions -----------------------------------------------------

  async partitions(account: Account, topic: string): Promise<number | null> {
    return this.find(account, topic)?.partitions.length ?? null;
  }

  async logEndOffset(account: Account, topic: string, partition: number): Promise<number | null> {
    const p = this.find(account, topic)?.partitions[partition];
    return p === undefined ? null : logEnd(p.cs);
  }

  // --- waiting for appends ---------------------------------------------------

  /**
   * Resolves once `cs` holds a message after `lastSeq`, or after `ms`,
   * whichever comes first (a Fetch's max_wait_ms).
   */
  waitAppend(account: Account, cs: CapturedStream, lastSeq: number, ms: number): Promise<void> {
    if (cs.stream.state().lastSeq > lastSeq || ms <= 0 || cs.stream.closed)
      return Promise.resolve();
    let w = this.watches.get(cs);
    if (w === undefined) {
      w = new AppendWatch(account, cs.stream.config.subjects);
      this.watches.set(cs, w);
    }
    const watch = w;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        watch.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      watch.waiters.add(done);
    });
  }

  /** A record was stored into `cs` by this face: wake its long polls. */
  appended(cs: CapturedStream): void {
    this.watches.get(cs)?.poke();
  }

  async close(): Promise<void> {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
    for (const w of this.subjectWatches.values()) w.close();
    this.subjectWatches.clear();
    this.remote.close();
  }
}

/** The partition's log start offset: its first sequence held, less one. */
export function logStart(cs: CapturedStream): number {
  return cs.stream.state().firstSeq - 1;
}

/** The partition's log end offset (high watermark): its last sequence. */
export function logEnd(cs: CapturedStream): number {
  return cs.stream.state().lastSeq;
}
