/**
 * The consumer groups as a module of the Kafka face (api.ts): the group
 * coordinator and committed offsets of every account (service.ts), their
 * handlers (handlers.ts, offset-handlers.ts), their `/varz` fields and
 * their metrics, among them `weft_kafka_group_lag{account,group,topic,partition}`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KafkaModule, KafkaShared } from '../api.js';
import { realClock } from './clock.js';
import { type CoordinatorConfig, DEFAULT_COORDINATOR_CONFIG } from './coordinator.js';
import { membershipHandlers } from './handlers.js';
import { GroupMesh } from './mesh.js';
import { offsetHandlers } from './offset-handlers.js';
import { GroupService } from './service.js';

/**
 * The coordinator's settings from the node's options (`kafka.group_*`,
 * README's settings table), Kafka's defaults for any not set.
 */
export function coordinatorSettings(options: object): Partial<CoordinatorConfig> {
  const o = options as Record<string, unknown>;
  const pick = (key: string, dflt: number): number =>
    typeof o[key] === 'number' && Number.isFinite(o[key]) ? (o[key] as number) : dflt;
  const d = DEFAULT_COORDINATOR_CONFIG;
  return {
    initialRebalanceDelayMs: pick('kafkaGroupInitialRebalanceDelayMs', d.initialRebalanceDelayMs),
    minSessionTimeoutMs: pick('kafkaGroupMinSessionTimeoutMs', d.minSessionTimeoutMs),
    maxSessionTimeoutMs: pick('kafkaGroupMaxSessionTimeoutMs', d.maxSessionTimeoutMs),
    maxGroupSize: pick('kafkaGroupMaxSize', d.maxGroupSize),
    maxGroups: pick('kafkaMaxGroups', d.maxGroups),
  };
}

export function groupsModule(shared: KafkaShared): KafkaModule {
  const mesh = new GroupMesh(shared);
  const svc = new GroupService(
    shared.host,
    shared.topics,
    realClock,
    coordinatorSettings(shared.host.options),
    undefined,
    undefined,
    (account) => mesh.serve(account),
  );
  // FindCoordinator stays local: this node is the coordinator as clients see it.
  const handlers = [...membershipHandlers(svc), ...offsetHandlers(svc)].map((h) =>
    h.key === 10 ? h : mesh.wrap(h),
  );
  const totals = () => {
    const t = { groups: 0, members: 0, rebalances: 0, sessionExpirations: 0, syncExpirations: 0 };
    const refused = { groupFull: 0, groupsFull: 0 };
    const offsets = { commits: 0, commitFailures: 0, skipped: 0 };
    for (const a of svc.all()) {
      const c = a.coordinator;
      for (const g of c.all()) {
        t.groups++;
        t.members += g.size;
      }
      t.rebalances += c.counters.rebalances;
      t.sessionExpirations += c.counters.sessionExpirations;
      t.syncExpirations += c.counters.syncExpirations;
      refused.groupFull += c.counters.groupFull;
      refused.groupsFull += c.counters.groupsFull;
      offsets.commits += a.offsets.commits;
      offsets.commitFailures += a.offsets.commitFailures;
      offsets.skipped += a.offsets.skipped;
    }
    return { ...t, refused, offsets };
  };
  return {
    name: 'groups',
    handlers,
    async start() {
      svc.start();
    },
    async stop() {
      mesh.stop();
      svc.stop();
    },
    varz() {
      const t = totals();
      return {
        groups: t.groups,
        group_members: t.members,
        rebalances: t.rebalances,
        session_expirations: t.sessionExpirations,
        sync_expirations: t.syncExpirations,
        group_max_size_refusals: t.refused.groupFull,
        max_groups_refusals: t.refused.groupsFull,
        offset_commits: t.offsets.commits,
        offset_commit_failures: t.offsets.commitFailures,
        offset_records_skipped: t.offsets.skipped,
        group_authorization_failures: svc.counters.groupAuthorizationFailures,
        group_lag: svc.lag().map((r) => ({
          account: r.account,
          group: r.group,
          topic: r.topic,
          partition: r.partition,
          committed: r.committed,
          end: r.end,
          lag: r.lag,
        })),
        group_lag_series_dropped: svc.counters.lagSeriesDropped,
        group_requests_forwarded: mesh.counters.forwarded,
        group_requests_served_for_other_nodes: mesh.counters.served,
        group_forward_timeouts: mesh.counters.timeouts,
        group_forward_refused: mesh.refused,
        group_coordinator_unavailable: mesh.counters.ownerDown,
      };
    },
    metrics(registry: Registry) {
      new Gauge({
        name: 'weft_kafka_group_lag',
        help: "Records of a partition after the group's committed offset (log end offset − committed)",
        labelNames: ['account', 'group', 'topic', 'partition'],
        registers: [registry],
        async collect() {
          await svc.refreshLag();
          this.reset();
          for (const r of svc.lag()) {
            this.set(
              {
                account: r.account,
                group: r.group,
                topic: r.topic,
                partition: String(r.partition),
              },
              r.lag,
            );
          }
        },
      });
      new Gauge({
        name: 'weft_kafka_groups',
        help: 'Consumer groups this node coordinates, by state',
        labelNames: ['state'],
        registers: [registry],
        collect() {
          this.reset();
          const by = new Map<string, number>();
          for (const a of svc.all())
            for (const g of a.coordinator.all()) by.set(g.state, (by.get(g.state) ?? 0) + 1);
          for (const [state, n] of by) this.set({ state }, n);
        },
      });
      const counter = (name: string, help: string, read: () => number) =>
        new Counter({
          name,
          help,
          registers: [registry],
          collect() {
            this.reset();
            this.inc(read());
          },
        });
      counter('weft_kafka_group_rebalances_total', 'Rebalances started', () => totals().rebalances);
      counter(
        'weft_kafka_group_session_expirations_total',
        'Members removed on session timeout',
        () => totals().sessionExpirations,
      );
      counter(
        'weft_kafka_group_sync_expirations_total',
        'Members removed for not sending SyncGroup in time',
        () => totals().syncExpirations,
      );
      counter(
        'weft_kafka_offset_commits_total',
        'Partition offsets committed durably',
        () => totals().offsets.commits,
      );
      counter(
        'weft_kafka_offset_commit_failures_total',
        'Partition offsets that could not be stored',
        () => totals().offsets.commitFailures,
      );
      counter(
        'weft_kafka_group_authorization_failures_total',
        'Requests refused GROUP_AUTHORIZATION_FAILED',
        () => svc.counters.groupAuthorizationFailures,
      );
      counter(
        'weft_kafka_group_refusals_total',
        'JoinGroups refused by group.max.size or kafka.max_groups',
        () => {
          const t = totals();
          return t.refused.groupFull + t.refused.groupsFull;
        },
      );
    },
  };
}
