/**
 * The consumers of one stream: created, found, deleted and restored here.
 * Durable consumers of a file stream keep their state in
 * `<stream dir>/consumers/<name>/state.json` (config, position, pending
 * acks; consumer-state.ts), rewritten on changes and read back at start;
 * ephemeral ones, and those of memory streams, live only in memory, as in
 * nats-server. A durable is registered only once its state is written: a
 * create that can not write it leaves nothing behind.
 *
 * Interest and work-queue retention (retention.ts) hook in here: a new
 * consumer must fit the stream's policy, acks may remove messages, a stored
 * message nobody is interested in is dropped, and deleting a consumer or
 * restarting re-examines what is kept.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Account } from '../core/account.js';
import type { Router } from '../core/router.js';
import type { SyncPolicy } from '../streams/store.js';
import type { Stream } from '../streams/stream.js';
import { JsErr, StreamApiError } from '../streams/stream-errors.js';
import { parseCheckedJson } from './checked-json.js';
import { Consumer, type ConsumerHost } from './consumer.js';
import {
  type ConsumerConfig,
  ConsumerErr,
  consumerUpdateError,
  ephemeralName,
  sameConsumerConfig,
} from './consumer-config.js';
import { type ConsumerState, legacyStateFile, STATE_FILE, stateFile } from './consumer-state.js';
import { Retention } from './retention.js';

export interface ConsumersHost {
  readonly account: Account;
  readonly router: Router;
  readonly stream: Stream;
  readonly log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  /** The stream's directory, or null for a memory stream. */
  readonly dir: string | null;
  /** The stream's sync policy: durable consumers' state files follow it (default: always). */
  readonly sync?: SyncPolicy;
  /** How many consumers the stream may have (0: no limit; account-limits.ts). */
  readonly maxConsumers?: () => number;
  /** A durable's state file could not be read back (`file` is relative to `consumers/`). */
  readonly damaged?: (name: string, file: string, why: string) => void;
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
      sync: host.sync,
      inactive: (c) => {
        void this.delete(c.name).catch(() => {});
      },
      acked: (c, seqs) => this.retention.acked(c, seqs),
      wantsAcked: () => this.retention.wantsAcked,
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
    const max = this.host.maxConsumers?.() ?? 0;
    if (max > 0 && this.byName.size >= max) throw JsErr.MaximumConsumers();
    const why = this.retention.admit(config);
    if (why !== null) throw why;
    const c = new Consumer(name, config, new Date(), this.consumerHost);
    await c.position();
    const dir = this.consumerHost.dir;
    if (durable && dir !== null) {
      // Not started yet (no subscription, no timer): on failure it is dropped as it is.
      const home = path.join(dir, name);
      const existed = await stat(home).then(
        () => true,
        () => false,
      );
      try {
        await c.write();
      } catch (err) {
        // The detail (with the node's paths) is for the log; the client gets nats-server's text.
        this.host.log.error(
          `consumer "${name}" of ${this.host.stream.name} not created: state not written: ${String(err)}`,
        );
        // What this create made goes; what was there (a state not restored at start) stays.
        if (!existed) await rm(home, { recursive: true, force: true }).catch(() => {});
        throw ConsumerErr.StoreFailed();
      }
    }
    this.byName.set(name, c);
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
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const dirs = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
    const legacy = entries
      .filter((e) => e.isFile() && e.name.endsWith('.json'))
      .map((e) => e.name.slice(0, -'.json'.length))
      .filter((n) => !dirs.has(n));
    for (const n of [...dirs].sort()) await this.restore(n, stateFile(dir, n), false);
    for (const n of legacy.sort()) await this.restore(n, legacyStateFile(dir, n), true);
    // A state file of the old layout whose consumer was moved (a crash before it was removed).
    for (const e of entries) {
      const n = e.name.slice(0, -'.json'.length);
      if (e.isFile() && e.name.endsWith('.json') && dirs.has(n)) {
        await rm(legacyStateFile(dir, n), { force: true });
      }
    }
    await this.retention.restored();
  }

  /**
   * Restores the durable whose state is in `file`. One of the old layout
   * (`legacy`) is rewritten in the new one and its file removed. A
   * consumer directory without a state file is what a create that failed
   * (or crashed) before its first write left: removed.
   */
  private async restore(dirName: string, file: string, legacy: boolean): Promise<void> {
    const dir = this.consumerHost.dir!;
    const stream = this.host.stream.name;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (!legacy && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.host.log.warn(`consumer "${dirName}" of ${stream} has no ${STATE_FILE}: removed`);
        await rm(path.join(dir, dirName), { recursive: true, force: true });
      } else {
        this.host.log.error(`consumer "${dirName}" of ${stream} not restored: ${String(err)}`);
      }
      return;
    }
    const rel = legacy ? path.basename(file) : `${dirName}/${STATE_FILE}`;
    try {
      const s = parseCheckedJson(text) as unknown as ConsumerState;
      if (
        typeof s.config !== 'object' ||
        s.config === null ||
        Number.isNaN(Date.parse(s.created))
      ) {
        throw new Error('not a consumer state (config and created expected)');
      }
      const name = s.config.durable_name ?? dirName;
      const c = new Consumer(name, s.config, new Date(s.created), this.consumerHost);
      await c.restore(s);
      if (legacy) {
        await c.write();
        await rm(file, { force: true });
      }
      this.byName.set(name, c);
      c.start();
    } catch (err) {
      const why =
        err instanceof SyntaxError
          ? `is not valid JSON (${err.message})`
          : `is damaged: ${(err as Error).message ?? String(err)}`;
      this.host.log.error(
        `consumer state file ${file} of stream "${stream}" ${why}: ` +
          'the consumer is out of service; the file is left as it is',
      );
      // What clients see names the file, never the host's path.
      const brief = err instanceof SyntaxError ? 'is not valid JSON' : 'is damaged';
      this.damaged.set(dirName, `${rel} ${brief}`);
      this.host.damaged?.(dirName, rel, brief);
    }
  }

  /** Closes every consumer; `deleted` when the stream itself is going away. */
  async close(deleted: boolean): Promise<void> {
    const all = [...this.byName.values()];
    this.byName.clear();
    for (const c of all) await c.close(deleted);
  }
}
