/**
 * A Redis stream as the commands see it (`StreamView`), on this node
 * (`LocalView`: the store itself) or on another node of the mesh
 * (`RemoteView`: the JetStream API through the router), and what this
 * node remembers of it beyond its messages (`StreamMeta`).
 */
import type { Account } from '../../core/account.js';
import type { CapturedStream } from '../../jetstream/service.js';
import type { StoredMessage } from '../../streams/store.js';
import type { StreamConfig } from '../../streams/stream-config.js';
import {
  ID_ZERO,
  redisSubject,
  type StoredLike,
  type StreamId,
  xaddSubject,
} from './stream-map.js';

/** What a RemoteView asks through: a JetStream API request, its answer or a JsApiError. */
export interface ApiClient {
  api(account: Account, api: string, body: unknown): Promise<Record<string, unknown>>;
}

export interface StreamStateView {
  readonly messages: number;
  readonly bytes: number;
  /** First sequence held; lastSeq + 1 when empty. */
  readonly firstSeq: number;
  /** Last sequence ever assigned, 0 when none. */
  readonly lastSeq: number;
}

export interface StoredEntryMsg extends StoredLike {
  readonly subject: string;
}

/** A stream as the commands see it, here or elsewhere. */
export interface StreamView {
  readonly name: string;
  /** On this node. */
  readonly local: boolean;
  readonly config: StreamConfig;
  /** The state now (local) or when the view was opened (remote). */
  state(): StreamStateView;
  /** The first message with sequence ≥ seq, or null. */
  next(seq: number): Promise<StoredEntryMsg | null>;
  get(seq: number): Promise<StoredEntryMsg | null>;
  /** Removes one message; false when it was not there. */
  remove(seq: number): Promise<boolean>;
  /** Removes the messages below `seq`, or all but the newest `keep`; how many. */
  purge(opts: { seq?: number; keep?: number }): Promise<number>;
  destroy(): Promise<void>;
  /** What this node remembers of the stream beyond its messages. */
  readonly meta: StreamMeta;
}

/** What Redis keeps beside the entries (held in memory on this node). */
export interface StreamMeta {
  /** The sequence `lastId` is known for (the stream's lastSeq then); -1: unknown. */
  seq: number;
  /** The largest ID given out (XADD, XSETID), even if deleted since. */
  lastId: StreamId;
  maxDeletedId: StreamId;
  /** XSETID ENTRIESADDED minus the stream's lastSeq then; 0 by default. */
  addedOffset: number;
}

/** A JetStream API answer that is an error. */
export class JsApiError extends Error {
  constructor(
    readonly code: number,
    readonly errCode: number,
    description: string,
  ) {
    super(description);
  }
}

export function newMeta(): StreamMeta {
  return { seq: -1, lastId: ID_ZERO, maxDeletedId: ID_ZERO, addedOffset: 0 };
}

/** The config Redis gives the streams it makes. */
export function redisStreamConfig(name: string): Record<string, unknown> {
  return {
    name,
    subjects: [redisSubject(name)],
    storage: 'file',
    retention: 'limits',
    allow_direct: true,
  };
}

export class LocalView implements StreamView {
  readonly local = true;
  constructor(
    readonly cs: CapturedStream,
    readonly meta: StreamMeta,
    /** The account's JetStream it was made for (a view is kept while that stays). */
    readonly js: object,
    private readonly drop: (cs: CapturedStream) => Promise<void>,
  ) {}
  get name(): string {
    return this.cs.stream.name;
  }
  get config(): StreamConfig {
    return this.cs.stream.config;
  }
  /** The config `xaddTarget` was worked out for (an update replaces the config object). */
  private xaddFor: StreamConfig | null = null;
  private xaddTo: { subject: string } | { error: string } = { error: '' };
  /** The subject XADD publishes to (`xaddSubject`), worked out once per config. */
  xaddTarget(): { subject: string } | { error: string } {
    const cfg = this.cs.stream.config;
    if (cfg !== this.xaddFor) {
      this.xaddTo = xaddSubject(cfg);
      this.xaddFor = cfg;
    }
    return this.xaddTo;
  }
  state(): StreamStateView {
    return this.cs.stream.state();
  }
  next(seq: number): Promise<StoredMessage | null> {
    return this.cs.stream.messages.next(Math.max(seq, 1));
  }
  get(seq: number): Promise<StoredMessage | null> {
    return this.cs.stream.messages.get(seq);
  }
  async remove(seq: number): Promise<boolean> {
    if (this.config.deny_delete) throw new JsApiError(400, 10010, 'message delete not permitted');
    return this.cs.stream.messages.remove(seq);
  }
  async purge(opts: { seq?: number; keep?: number }): Promise<number> {
    if (this.config.deny_purge) throw new JsApiError(400, 10010, 'stream purge not permitted');
    return this.cs.stream.purge(opts);
  }
  destroy(): Promise<void> {
    return this.drop(this.cs);
  }
}

interface ApiStoredMessage {
  subject: string;
  seq: number;
  hdrs?: string;
  data?: string;
  time: string;
}

/** RFC 3339 with up to nanoseconds → ms since the epoch. */
function parseTime(s: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(s);
  if (m === null) return Date.parse(s);
  const frac = (m[2] ?? '').slice(0, 3).padEnd(3, '0');
  return Date.parse(`${m[1]}.${frac}${m[3]}`);
}

export class RemoteView implements StreamView {
  readonly local = false;
  constructor(
    private readonly streams: ApiClient,
    private readonly account: Account,
    readonly config: StreamConfig,
    private readonly st: StreamStateView,
    readonly meta: StreamMeta,
  ) {}
  get name(): string {
    return this.config.name;
  }
  /**
   * The state when the view was opened, moved on by this node's own XADDs
   * since (a view kept for the next XADD: its last sequence is what this
   * node's last ack said).
   */
  state(): StreamStateView {
    const ahead = this.meta.seq - this.st.lastSeq;
    if (ahead <= 0) return this.st;
    return { ...this.st, lastSeq: this.meta.seq, messages: this.st.messages + ahead };
  }
  private async msg(body: Record<string, unknown>): Promise<StoredEntryMsg | null> {
    try {
      const r = (await this.streams.api(this.account, `STREAM.MSG.GET.${this.name}`, body)) as {
        message: ApiStoredMessage;
      };
      const m = r.message;
      return {
        subject: m.subject,
        seq: m.seq,
        time: parseTime(m.time),
        headers: m.hdrs === undefined ? null : Buffer.from(m.hdrs, 'base64'),
        payload: m.data === undefined ? Buffer.alloc(0) : Buffer.from(m.data, 'base64'),
      };
    } catch (err) {
      if (err instanceof JsApiError && err.errCode === 10037) return null;
      throw err;
    }
  }
  next(seq: number): Promise<StoredEntryMsg | null> {
    return this.msg({ seq: Math.max(seq, 1), next_by_subj: '>' });
  }
  get(seq: number): Promise<StoredEntryMsg | null> {
    return seq < 1 ? Promise.resolve(null) : this.msg({ seq });
  }
  async remove(seq: number): Promise<boolean> {
    try {
      await this.streams.api(this.account, `STREAM.MSG.DELETE.${this.name}`, { seq });
      return true;
    } catch (err) {
      if (err instanceof JsApiError && (err.errCode === 10057 || err.errCode === 10037))
        return false;
      throw err;
    }
  }
  async purge(opts: { seq?: number; keep?: number }): Promise<number> {
    const r = (await this.streams.api(this.account, `STREAM.PURGE.${this.name}`, opts)) as {
      purged: number;
    };
    return r.purged;
  }
  async destroy(): Promise<void> {
    await this.streams.api(this.account, `STREAM.DELETE.${this.name}`, {});
  }
}
