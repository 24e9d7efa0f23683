/**
 * The consumers of one stream: created, found, deleted and restored here.
 * Durable consumers of a file stream keep their state in
 * `<stream dir>/consumers/<name>.json` (config, position, pending acks),
 * rewritten on changes and read back at start; ephemeral ones, and those of
 * memory streams, live only in memory, as in nats-server.
 *
 * Interest and work-queue retention (retention.ts) hook in here: a new
 * consumer must fit the stream's policy, acks may remove messages, a stored
 * message nobody is interested in is dropped, and deleting a consumer or
 * restarting re-examines what is kept.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Account } from '../core/account.js';
import type { Router } from '../core/router.js';
import type { Stream } from '../streams/stream.js';
import { StreamApiError } from '../streams/stream-errors.js';
import { parseCheckedJson } from './checked-json.js';
import { Consumer, type ConsumerHost } from './consumer.js';
import {
  type ConsumerConfig,
  ConsumerErr,
  consumerUpdateError,
  ephemeralName,
  sameConsumerConfig,
} from './consumer-config.js';
import type { ConsumerState } from './consumer-state.js';
import { Retention } from './retention.js';

export interface ConsumersHost {
  readonly account: Account;
  readonly router: Router;
  readonly stream: Stream;
  readonly log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  /** The stream's directory, or null for a memory stream. */
  readonly dir: string | null;
  /** A durable's state file could not be read back (`file` is its base name). */
  readonly damaged?: (file: string, why: string) => void;
}

/** Each stream's consumers, for the stream info's `consumer_count`. */
const byStream = new WeakMap<Stream, StreamConsumers>();

/** How many consumers `stream` has (0 for a stream without a registry). */
export function consumerCount(stream: Stream): number {
  return byStream.get(stream)?.size ?? 0;
}

export class StreamConsumers {
  readonly byName = new Map<string, Consumer>();
  /**
   * Durables whose state file is damaged, by name: kept out of service (not
   * re-created over the file, which stays for an operator) until restart.
   */
  readonly damaged = new Map<string, string>();
  private readonly consumerHost: ConsumerHost;
  private readonly retention: Retention;

  constructor(private readonly host: ConsumersHost) {
    byStream.set(host.stream, this);
    this.retention = new Retention({
      get stream() {
        return host.stream;
      },
      consumers: () => this.byName.values(),
      log: host.log,
    });
    const dir = host.dir === null ? null : path.join(host.dir, 'consumers');
    this.consumerHost = {
      account: host.account,
      router: host.router,
      get stream() {
        return host.stream;
      },
      log: host.log,
      dir,
      inactive: (c) => {
        void this.delete(c.name).catch(() => {});
      },
      acked: (c, seqs) => this.retention.acked(c, seqs),
    };
  }

  get size(): number {
    return this.byName.size;
  }

  /**
   * A message was stored: consumers may have something to deliver. Under
   * interest retention, one that no consumer matches is removed at once.
   */
  stored(seq: number, subject: string): void {
    if (!this.retention.stored(seq, subject)) return;
    for (const c of this.byName.values()) c.stored(seq, subject);
  }

  /**
   * Whether a message on `subject` would be kept: false only under interest
   * retention with no consumer whose filter matches it.
   */
  wants(subject: string): boolean {
    return this.retention.wants(subject);
  }

  get(name: string): Consumer {
    const c = this.byName.get(name);
    if (c === undefined) throw ConsumerErr.NotFound();
    return c;
  }

  /** Creates a consumer, or returns (or updates) an existing one of that name. */
  async add(config: ConsumerConfig): Promise<{ consumer: Consumer; created: boolean }> {
    const durable = config.durable_name !== undefined;
    const name = config.durable_name ?? config.name ?? ephemeralName();
    const broken = this.damaged.get(name);
    if (broken !== undefined) {
      throw new StreamApiError(500, 10118, `consumer is offline: its state file ${broken}`);
    }
    const existing = this.byName.get(name);
    if (existing !== undefined) {
      if (sameConsumerConfig(existing.config, config))
        return { consumer: existing, created: false };
      if (!durable) throw ConsumerErr.NameExists();
      const why = consumerUpdateError(existing.config, config);
      if (why !== null) throw why;
      existing.update(config);
      return { consumer: existing, created: false };
    }
    const why = this.retention.admit(config);
    if (why !== null) throw why;
    const c = new Consumer(name, config, new Date(), this.consumerHost);
    await c.position();
    this.byName.set(name, c);
    if (durable && this.consumerHost.dir !== null) await c.write();
    c.start();
    return { consumer: c, created: true };
  }

  async delete(name: string): Promise<void> {
    const c = this.get(name);
    this.byName.delete(name);
    await c.close(true);
    await this.retention.deleted(c);
  }

  /** Reads back the durable consumers of a file stream. */
  async load(): Promise<void> {
    const dir = this.consumerHost.dir;
    if (dir === null) return;
    let files: string[];
    try {
      files = await readdir(dir);
    } catch {
      return;
    }
    for (const f of files.sort()) {
      if (!f.endsWith('.json')) continue;
      try {
        const s = parseCheckedJson(
          await readFile(path.join(dir, f), 'utf8'),
        ) as unknown as ConsumerState;
        if (
          typeof s.config !== 'object' ||
          s.config === null ||
          Number.isNaN(Date.parse(s.created))
        ) {
          throw new Error('not a consumer state (config and created expected)');
        }
        const name = s.config.durable_name ?? f.slice(0, -'.json'.length);
        const c = new Consumer(name, s.config, new Date(s.created), this.consumerHost);
        await c.restore(s);
        this.byName.set(name, c);
        c.start();
      } catch (err) {
        const why =
          err instanceof SyntaxError
            ? `is not valid JSON (${err.message})`
            : `is damaged: ${(err as Error).message ?? String(err)}`;
        this.host.log.error(
          `consumer state file ${path.join(dir, f)} of stream "${this.host.stream.name}" ` +
            `${why}: the consumer is out of service; the file is left as it is`,
        );
        // What clients see names the file, never the host's path.
        const brief = err instanceof SyntaxError ? 'is not valid JSON' : 'is damaged';
        this.damaged.set(f.slice(0, -'.json'.length), `${f} ${brief}`);
        this.host.damaged?.(f, brief);
      }
    }
    await this.retention.restored();
  }

  /** Closes every consumer; `deleted` when the stream itself is going away. */
  async close(deleted: boolean): Promise<void> {
    const all = [...this.byName.values()];
    this.byName.clear();
    for (const c of all) await c.close(deleted);
  }
}
