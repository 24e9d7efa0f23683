/**
 * The consumer groups of a node, per account (each account its own group
 * namespace, as it is its own subject space): a group coordinator
 * (coordinator.ts) and the committed offsets (offsets.ts) of each account,
 * made on first use; who may use which group (`groupSubject`); and the lag
 * of every committed partition, refreshed on a timer for /varz and on each
 * /metrics scrape.
 */
import type { Guard } from '../../../auth/guard.js';
import type { Account } from '../../../core/account.js';
import type { FaceHost } from '../../face.js';
import type { TopicsView } from '../api.js';
import type { Clock } from './clock.js';
import { type CoordinatorConfig, GroupCoordinator } from './coordinator.js';
import { migrateNodeOffsets } from './migrate.js';
import {
  MemoryOffsetBackend,
  OffsetStore,
  offsetsStreamNames,
  StreamOffsetBackend,
} from './offsets.js';

export interface AccountGroups {
  readonly account: Account;
  readonly coordinator: GroupCoordinator;
  readonly offsets: OffsetStore;
  readonly durable: boolean;
}

export interface LagRow {
  readonly account: string;
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly committed: number;
  readonly end: number;
  readonly lag: number;
}

export interface GroupServiceCounters {
  /** Requests refused GROUP_AUTHORIZATION_FAILED. */
  groupAuthorizationFailures: number;
  /** Lag rows left out because `maxLagSeries` was reached. */
  lagSeriesDropped: number;
  /** Empty groups without offsets forgotten by the sweep. */
  groupsSwept: number;
}

/**
 * The subject a group maps to for permissions: `$WEFT.kafka.group.<name>`,
 * the name's dots separating tokens (`orders.billing` → `$WEFT.kafka.group.orders.billing`,
 * so `$WEFT.kafka.group.orders.>` covers it). A name that is not a valid
 * run of subject tokens (empty tokens, whitespace, `*`, `>`) maps to one
 * token `_x<hex of its UTF-8>`.
 */
export function groupSubject(group: string): string {
  const ok = group !== '' && group.split('.').every((t) => t !== '' && !/[\s*>]/.test(t));
  return `$WEFT.kafka.group.${ok ? group : `_x${Buffer.from(group, 'utf8').toString('hex')}`}`;
}

/**
 * Whether the connection may use `group`: reading (join, sync, heartbeat,
 * leave, commit, fetch offsets) and describing need its subscribe
 * permission on the group's subject; deleting needs publish permission too.
 */
export function groupAllowed(guard: Guard | null, group: string, op: 'read' | 'delete'): boolean {
  if (guard === null) return true;
  const subject = groupSubject(group);
  if (!guard.subscribe(subject, '').ok) return false;
  return op === 'read' || guard.publish(subject);
}

export class GroupService {
  readonly counters: GroupServiceCounters = {
    groupAuthorizationFailures: 0,
    lagSeriesDropped: 0,
    groupsSwept: 0,
  };
  private readonly accounts = new Map<string, Promise<AccountGroups>>();
  private readonly ready = new Map<string, AccountGroups>();
  private lagRows: LagRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly host: FaceHost,
    private readonly topics: TopicsView,
    private readonly clock: Clock,
    private readonly config: Partial<CoordinatorConfig>,
    /** How often lag is recomputed for /varz (ms); 0: only on scrapes. */
    private readonly lagIntervalMs = 10_000,
    /** Lag rows kept (series of `weft_kafka_group_lag`); more are dropped, counted. */
    private readonly maxLagSeries = 10_000,
    /** Called once an account's groups are open here with JetStream: this node owns them (mesh.ts). */
    private readonly onOwner: (account: Account) => void = () => {},
  ) {}

  start(): void {
    // The owner of an account's groups answers other nodes from its start on.
    for (const a of this.host.jetstream?.accounts() ?? []) {
      if (a.streams.has(offsetsStreamNames().stream)) {
        this.forAccount(a.account).catch((err: unknown) =>
          this.host.log.warn(
            `kafka: the consumer groups of account ${a.account.name} did not open: ${(err as Error).message}`,
          ),
        );
      }
    }
    if (this.lagIntervalMs > 0) {
      this.timer = setInterval(() => {
        this.sweep();
        void this.refreshLag();
      }, this.lagIntervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const a of this.ready.values()) a.coordinator.close();
  }

  /** The account's groups, opening its offsets stream on first use. */
  forAccount(account: Account): Promise<AccountGroups> {
    let p = this.accounts.get(account.name);
    if (p === undefined) {
      p = this.open(account);
      this.accounts.set(account.name, p);
      // A failed open is retried by the next request.
      p.catch(() => this.accounts.delete(account.name));
    }
    return p;
  }

  private async open(account: Account): Promise<AccountGroups> {
    const js = this.host.jetstream?.account(account.name);
    // One stream per account in the whole mesh (mesh.ts): its node owns the account's groups.
    const names = offsetsStreamNames();
    let offsets: OffsetStore;
    if (js !== undefined) {
      const backend = new StreamOffsetBackend(js, names);
      await backend.open();
      offsets = new OffsetStore(backend, names.token);
    } else {
      this.host.log.warn(
        `kafka: account ${account.name} has no JetStream: its committed offsets are kept in memory only`,
      );
      offsets = new OffsetStore(new MemoryOffsetBackend(), names.token);
    }
    await offsets.open();
    if (js !== undefined) {
      // The configured name only: a generated id changes on every start.
      await migrateNodeOffsets(js, offsets, this.host.options.name, this.host.log);
    }
    const a: AccountGroups = {
      account,
      coordinator: new GroupCoordinator(this.clock, this.config),
      offsets,
      durable: js !== undefined,
    };
    this.ready.set(account.name, a);
    if (js !== undefined) this.onOwner(account);
    return a;
  }

  all(): IterableIterator<AccountGroups> {
    return this.ready.values();
  }

  /** Forgets groups that are empty and have no committed offsets (Kafka's cleanup drops them too). */
  sweep(): void {
    for (const a of this.ready.values()) {
      for (const g of [...a.coordinator.all()]) {
        if (g.is('Empty') && !a.offsets.hasGroup(g.groupId)) {
          a.coordinator.drop(g.groupId);
          this.counters.groupsSwept++;
        }
      }
    }
  }

  /** The last computed lag of every committed partition. */
  lag(): readonly LagRow[] {
    return this.lagRows;
  }

  /** Recomputes lag: the partition's log end offset minus the committed offset. */
  refreshLag(): Promise<void> {
    if (this.refreshing !== null) return this.refreshing;
    this.refreshing = this.computeLag().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async computeLag(): Promise<void> {
    const rows: LagRow[] = [];
    let dropped = 0;
    for (const a of this.ready.values()) {
      for (const group of a.offsets.groups()) {
        for (const e of a.offsets.ofGroup(group)) {
          if (rows.length >= this.maxLagSeries) {
            dropped++;
            continue;
          }
          let end: number | null = null;
          try {
            end = await this.topics.logEndOffset(a.account, e.topic, e.partition);
          } catch {
            end = null;
          }
          if (end === null) continue;
          rows.push({
            account: a.account.name,
            group,
            topic: e.topic,
            partition: e.partition,
            committed: e.offset,
            end,
            lag: Math.max(0, end - e.offset),
          });
        }
      }
    }
    this.counters.lagSeriesDropped += dropped;
    this.lagRows = rows;
  }
}
