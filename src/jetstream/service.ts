/**
 * The JetStream service of a node: per account, the streams, their capture
 * subscriptions (captured-stream.ts), and the API subscriber on `$JS.API.>`.
 *
 * Streams with file storage live in `<dataDir>/streams/<account>/<name>/`:
 * `stream.json` (config and creation time) next to the store in `msgs/`.
 * They are reopened at start. Memory streams, as in nats-server, do not
 * survive a restart.
 *
 * Accounts: JetStream runs in `$G` and in every configured account whose
 * `jetstream` is enabled, each with its own streams (a name may repeat
 * across accounts) and limits (account-limits.ts); the API of a
 * configured account without it answers "not enabled" (not-enabled.ts).
 *
 * Across a mesh (docs/streams.md, "Across the mesh"): a stream lives on the
 * node that created it. Its capture subscriptions, its API subjects and its
 * consumers' ack subjects are subscribed through `Account.subscribe`, so the
 * mesh advertises them: a message published on any node is captured, and
 * API requests and acks from any node reach the owner (routing.ts).
 * Mirrors and sources pull from streams anywhere in the mesh (feed.ts).
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { AccountConfig, SecurityConfig } from '../auth/types.js';
import { type Account, type Accounts, DEFAULT_ACCOUNT } from '../core/account.js';
import type { Subscriber } from '../core/message.js';
import type { Router } from '../core/router.js';
import { errnoOf } from '../streams/file-ops.js';
import { FileStore, type FileStoreOptions, openFileStore } from '../streams/file-store.js';
import { createMemoryStore } from '../streams/memory-store.js';
import { StoreError, type StreamStore, type SyncPolicy } from '../streams/store.js';
import { Stream } from '../streams/stream.js';
import { isValidStreamName, type StreamConfig } from '../streams/stream-config.js';
import { JsErr } from '../streams/stream-errors.js';
import { type JsLimits, type LimitsHit, limitsOf, NO_JS_LIMITS } from './account-limits.js';
import { JsApi } from './api.js';
import { CapturedStream } from './captured-stream.js';
import { Inbox } from './inbox.js';
import { NotEnabledApi } from './not-enabled.js';
import { RemoteStreams } from './routing.js';
import { streamInfo } from './shapes.js';
import {
  consumerKey,
  damageInfo,
  damageKey,
  type HealthSink,
  offlineKey,
  reportReadDamage,
  reportRecovery,
} from './stream-damage.js';
import { readStreamMeta, writeStreamMeta } from './stream-meta.js';
import { syncFor } from './sync-overrides.js';

export { CapturedStream };

export interface JetStreamHost {
  readonly accounts: Accounts;
  readonly router: Router;
  readonly log: {
    info(msg: string): void;
    warn(msg: string): void;
    error(msg: string): void;
  };
  /** The node's list of problems (`/healthz`): a stream that cannot write, a damaged or offline one. */
  readonly health: HealthSink;
}

/** System errors that mean the disk cannot take what a stream would write. */
const DISK_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EFBIG', 'ESHORTWRITE']);

/** JetStream in one account. */
export class AccountJetStream {
  readonly streams = new Map<string, CapturedStream>();
  /**
   * Streams found on disk that cannot be served (stream.json damaged in
   * both copies, a store that cannot be read), by name: why, as clients
   * are told (no host path). Their API answers "stream is offline" and the
   * name cannot be re-created over their files.
   */
  readonly offline = new Map<string, string>();
  readonly api: JsApi;
  readonly inbox: Inbox;
  apiTotal = 0;
  apiErrors = 0;
  /** Requests and publishes refused by the account's limits. */
  readonly limitsHit: LimitsHit = { streams: 0, consumers: 0, storage: 0, memory: 0, publish: 0 };
  private readonly unwatch: () => void;

  constructor(
    readonly host: JetStreamHost,
    readonly account: Account,
    /** `<dataDir>/streams/<account>`. */
    readonly dir: string,
    private readonly remote: RemoteStreams,
    /** When file streams' stores fsync (the `sync_interval` setting). */
    readonly sync: SyncPolicy,
    /** The account's JetStream limits (replaced on a config reload). */
    public limits: JsLimits = NO_JS_LIMITS,
  ) {
    this.api = new JsApi(this);
    this.inbox = new Inbox(account, host.router);
    this.unwatch = remote.watch((acc, name) => {
      if (acc !== this.account.name) return;
      for (const cs of this.streams.values()) cs.feeds.poke(name);
    });
  }

  /** The bytes this account's streams of one storage type hold. */
  usedBytes(storage: StreamConfig['storage']): number {
    let used = 0;
    for (const cs of this.streams.values()) {
      if (cs.stream.config.storage === storage) used += cs.stream.state().bytes;
    }
    return used;
  }

  /** Whether another node owns a stream of this name. */
  remoteHas(name: string): boolean {
    return this.remote.has(this.account.name, name);
  }

  /** The names of the streams other nodes own. */
  remoteNames(): string[] {
    return this.remote.names(this.account.name);
  }

  /** Stream info with the state of its mirror or sources. */
  info(cs: CapturedStream): Record<string, unknown> {
    const store = cs.stream.messages;
    return {
      ...streamInfo(cs.stream),
      ...cs.feeds.info(),
      ...(store instanceof FileStore ? damageInfo(store) : {}),
    };
  }

  /** Makes a stream live: capturing, answering its API, fed from its origins. */
  private async activate(cs: CapturedStream): Promise<void> {
    this.streams.set(cs.stream.name, cs);
    cs.capture();
    await cs.consumers.load();
    this.api.own(cs.stream.name);
    await cs.feeds.start();
  }

  /** Publishes a response (or PubAck) to `subject` as `origin`. */
  reply(subject: string, body: string | Buffer, origin: Subscriber): void {
    // Through the match cache: a publisher may reuse one reply subject for
    // every publish (measured: matchOnce here cost js-pub-async ~0.4 µs per
    // message with such a client; bench/PROFILE.md, "Issue 16 — jspub").
    this.host.router.deliver(
      this.account.sublist.match(subject),
      {
        subject,
        reply: '',
        headers: null,
        payload: typeof body === 'string' ? Buffer.from(body) : body,
      },
      origin,
    );
  }

  /** The stream whose subjects overlap `subjects`, other than `except`, or null. */
  overlapping(
    subjects: readonly string[],
    except: string,
    overlap: (a: string, b: string) => boolean,
  ): string | null {
    for (const [name, cs] of this.streams) {
      if (name === except) continue;
      for (const a of cs.stream.config.subjects) {
        for (const b of subjects) if (overlap(a, b)) return name;
      }
    }
    return null;
  }

  /**
   * Creates (and persists) a stream, capturing its subjects. It is
   * registered only once its config and store are on disk: if they can not
   * be made, what was made is removed, the detail (with the node's paths)
   * is logged and the client told nats-server's generic error.
   */
  async create(config: StreamConfig, created = new Date()): Promise<CapturedStream> {
    const offline = this.offline.get(config.name);
    if (offline !== undefined) throw JsErr.StreamOffline(offline);
    let store: StreamStore | null = null;
    let dir: string | null = null;
    let made = false;
    let cs: CapturedStream;
    try {
      if (config.storage === 'file') {
        dir = path.join(this.dir, config.name);
        await mkdir(this.dir, { recursive: true });
        made = await mkdirOwn(dir);
        await this.writeMeta(dir, config, created);
        store = await openFileStore(path.join(dir, 'msgs'), this.storeOptions(config.name));
      } else {
        store = createMemoryStore();
      }
      cs = new CapturedStream(new Stream(config, store, created), this, dir);
      await cs.stream.open();
    } catch (err) {
      this.host.log.error(
        `stream "${config.name}" in account ${this.account.name} not created: ${(err as Error).message ?? String(err)}`,
      );
      await store?.close().catch(() => {});
      if (made && dir !== null) await rm(dir, { recursive: true, force: true }).catch(() => {});
      // A full or failing disk gets what nats-server answers a write on it with.
      if (DISK_ERRNOS.has(err instanceof StoreError ? err.errno : errnoOf(err)))
        throw JsErr.InsufficientResources();
      throw JsErr.StreamStoreFailed();
    }
    await this.activate(cs);
    return cs;
  }

  async update(cs: CapturedStream, config: StreamConfig): Promise<void> {
    if (cs.dir !== null) await this.writeMeta(cs.dir, config, cs.stream.created);
    const refeed = JSON.stringify(cs.stream.config.sources) !== JSON.stringify(config.sources);
    if (refeed) await cs.feeds.stop();
    await cs.stream.update(config);
    cs.capture();
    if (refeed) await cs.feeds.start();
  }

  async delete(cs: CapturedStream): Promise<void> {
    this.api.disown(cs.stream.name);
    await cs.feeds.stop();
    cs.release();
    this.streams.delete(cs.stream.name);
    await cs.consumers.close(true);
    await cs.stream.close();
    this.host.health.clear(this.writeKey(cs.stream.name));
    if (cs.dir !== null) await rm(cs.dir, { recursive: true, force: true });
    const health = this.host.health;
    health?.clear(damageKey(this.account.name, cs.stream.name));
    for (const name of cs.consumers.damaged.keys()) {
      health?.clear(consumerKey(this.account.name, cs.stream.name, name));
    }
  }

  /** The health key of a stream's failed writes. */
  private writeKey(name: string): string {
    return `stream:${this.account.name}:${name}:write`;
  }

  /**
   * A file stream's store options: the sync policy, its write failures and
   * the damage found on read told to the log and health.
   */
  private storeOptions(name: string): FileStoreOptions {
    const log = this.host.log;
    const where = `stream "${name}" in account ${this.account.name}`;
    return {
      sync: syncFor(name, this.sync),
      onDamage: (range, store) =>
        reportReadDamage(log, this.host.health, this.account.name, name, store, range),
      onWriteState: (err) => {
        const key = this.writeKey(name);
        if (err === null) {
          this.host.health.clear(key);
          log.info(`${where}: writes work again`);
          return;
        }
        this.host.health.report(
          key,
          `stream ${name}`,
          `writes failed (${err.errno}): ${err.message}; publishes are refused with ` +
            `10023 (insufficient resources) and the store retries by itself`,
        );
        log.error(
          `${where}: a write failed (${err.errno}): ${err.message}; refusing writes ` +
            `(10023) and retrying`,
        );
      },
    };
  }

  private async writeMeta(dir: string, config: StreamConfig, created: Date): Promise<void> {
    await writeStreamMeta(dir, { config, created: created.toISOString() });
  }

  /** Keeps a stream found on disk out of service, saying why (log, health, API). */
  private takeOffline(name: string, dir: string, why: string, detail: string): void {
    this.offline.set(name, why);
    this.host.log.error(`stream "${name}" in ${dir} is out of service: ${detail}`);
    this.host.health?.report(
      offlineKey(this.account.name, name),
      `stream ${name}`,
      `out of service: ${why}; its files are left as they are (see the log)`,
    );
  }

  /** Reopens the file streams found under this account's directory. */
  async load(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (!isValidStreamName(name)) continue;
      const dir = path.join(this.dir, name);
      const entries = await readdir(dir).catch(() => null);
      if (entries === null || entries.length === 0) continue;
      const read = await readStreamMeta(dir);
      const problems = read.problems.join('; ');
      if (read.meta === null) {
        this.takeOffline(name, dir, problems, `${problems} (in ${dir})`);
        continue;
      }
      if (read.repaired) {
        this.host.log.error(
          `stream "${name}" in ${dir}: ${problems}; rewritten from the intact copy`,
        );
      }
      const meta = read.meta;
      let store: FileStore;
      try {
        store = await openFileStore(path.join(dir, 'msgs'), this.storeOptions(name));
      } catch (err) {
        const msg = (err as Error).message;
        this.takeOffline(name, dir, 'its message store cannot be opened', msg);
        continue;
      }
      reportRecovery(this.host.log, this.host.health, this.account.name, name, store);
      try {
        const cs = new CapturedStream(
          new Stream(meta.config, store, new Date(meta.created)),
          this,
          dir,
        );
        await cs.stream.open();
        await this.activate(cs);
        this.host.log.info(`Restored stream "${name}" in account ${this.account.name}`);
      } catch (err) {
        await store.close().catch(() => {});
        this.takeOffline(name, dir, 'it could not be restored', (err as Error).message);
      }
    }
  }

  async close(): Promise<void> {
    this.unwatch();
    this.api.stop();
    for (const cs of this.streams.values()) {
      // One stream that cannot close cleanly (a full disk) leaves the others to close.
      try {
        await cs.feeds.stop();
        cs.release();
        await cs.consumers.close(false);
        await cs.stream.close();
      } catch (err) {
        this.host.log.error(`stream "${cs.stream.name}" not closed cleanly: ${errMessage(err)}`);
      }
    }
    this.streams.clear();
    this.inbox.stop();
  }
}

/** Creates `dir`: true if it did, false if it was there (then it is not this create's to remove). */
async function mkdirOwn(dir: string): Promise<boolean> {
  try {
    await mkdir(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * The directory of an account's streams, `<root>/<account>`. Account names
 * are checked in the config (no dots, spaces, wildcards or path
 * separators); this refuses one that could still leave `root`.
 */
export function accountDir(root: string, account: string): string {
  const dir = path.join(root, account);
  if (/[/\\\0]/.test(account) || path.basename(dir) !== account || account.startsWith('.')) {
    throw new Error(`account name ${JSON.stringify(account)} cannot name a stream directory`);
  }
  return dir;
}

/** The accounts settings JetStream reads: which accounts have it, with what limits. */
export type JetStreamAccounts = Pick<SecurityConfig, 'accounts' | 'systemAccount'>;

/**
 * The node's JetStream: one AccountJetStream per account it serves (`$G`
 * and each configured account with `jetstream` enabled), and a "not
 * enabled" answer in the other configured accounts and the system account.
 */
export class JetStream {
  private readonly byAccount = new Map<string, AccountJetStream>();
  /** The API of accounts without JetStream, by account. */
  private readonly disabled = new Map<string, NotEnabledApi>();
  /** Other nodes' streams, from their advertised API interest. */
  private readonly remote = new RemoteStreams();
  private settings: JetStreamAccounts;

  constructor(
    private readonly host: JetStreamHost,
    /** `<dataDir>/streams`. */
    private readonly dir: string,
    private readonly sync: SyncPolicy = { kind: 'always' },
    /** The configured accounts (`options.security`); none: `$G` only. */
    accounts: JetStreamAccounts = { accounts: [], systemAccount: '' },
  ) {
    this.settings = accounts;
  }

  /** Starts JetStream in `$G` and in the enabled accounts, restoring their streams. */
  async start(): Promise<void> {
    this.host.accounts.addListener(this.remote);
    await this.apply(this.settings);
  }

  /**
   * Applies the accounts' JetStream settings (at start and on a reload):
   * starts JetStream where it is newly enabled, updates limits (applied to
   * what comes next: nothing stored is removed). An account whose
   * JetStream is turned off by a reload keeps it until restart (its
   * streams are not dropped under its clients), and that is logged.
   */
  async apply(settings: JetStreamAccounts): Promise<void> {
    this.settings = settings;
    const wanted = new Map<string, JsLimits>([[DEFAULT_ACCOUNT, NO_JS_LIMITS]]);
    const off = new Set<string>();
    for (const a of settings.accounts) {
      if (a.jetstream.enabled) wanted.set(a.name, limitsOf(a.jetstream));
      else if (a.name !== DEFAULT_ACCOUNT) off.add(a.name);
    }
    if (settings.accounts.length > 0 && settings.systemAccount !== '') {
      if (!wanted.has(settings.systemAccount)) off.add(settings.systemAccount);
    }
    for (const [name, limits] of wanted) {
      const running = this.byAccount.get(name);
      if (running !== undefined) {
        running.limits = limits;
        continue;
      }
      this.disabled.get(name)?.stop();
      this.disabled.delete(name);
      await this.startAccount(this.host.accounts.getOrCreate(name), limits);
    }
    for (const name of off) {
      if (this.byAccount.has(name)) {
        this.host.log.warn(
          `JetStream in account ${name} was turned off in the config: it stays on until restart`,
        );
        continue;
      }
      if (this.disabled.has(name)) continue;
      const api = new NotEnabledApi(this.host.accounts.getOrCreate(name), this.host.router);
      api.start();
      this.disabled.set(name, api);
    }
  }

  private async startAccount(account: Account, limits: JsLimits): Promise<void> {
    const js = new AccountJetStream(
      this.host,
      account,
      accountDir(this.dir, account.name),
      this.remote,
      this.sync,
      limits,
    );
    this.byAccount.set(account.name, js);
    js.inbox.start();
    await js.load();
    js.api.start();
  }

  account(name: string): AccountJetStream | undefined {
    return this.byAccount.get(name);
  }

  /** Every account's JetStream (for monitoring). */
  accounts(): IterableIterator<AccountJetStream> {
    return this.byAccount.values();
  }

  /** The configuration of a configured account, if it is one. */
  accountConfig(name: string): AccountConfig | undefined {
    return this.settings.accounts.find((a) => a.name === name);
  }

  /** Where file streams are stored: `<dataDir>/streams`. */
  get storeDir(): string {
    return this.dir;
  }

  async stop(): Promise<void> {
    for (const api of this.disabled.values()) api.stop();
    this.disabled.clear();
    for (const js of this.byAccount.values()) await js.close();
    this.byAccount.clear();
    this.host.accounts.removeListener(this.remote);
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
