/**
 * Prometheus metrics, read from the node's counters when scraped (nothing is
 * counted twice on the hot path). Each node has its own registry, so several
 * nodes in one process (tests, the mesh) do not collide.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Link } from '../mesh/link.js';
import { addAccountMetrics } from './account-metrics.js';
import { addJetStreamMetrics } from './jetstream-metrics.js';
import { scrapeReaders } from './metric-kit.js';
import type { MonitoredNode } from './node-view.js';

export function createMetrics(node: MonitoredNode): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ server_name: node.name });
  collectDefaultMetrics({ register: registry, prefix: 'weft_process_' });

  const s = node.stats;
  const { counter, gauge } = scrapeReaders(registry);

  gauge('weft_connections', 'Client connections open now', () => node.connections.size);
  new Gauge({
    name: 'weft_face_connections',
    help: 'Client connections open now, per face (nats, mqtt, …)',
    labelNames: ['face'],
    registers: [registry],
    collect() {
      this.reset();
      const n = new Map<string, number>();
      for (const f of node.faces) n.set(f.name, 0);
      for (const c of node.connections.values()) n.set(c.face, (n.get(c.face) ?? 0) + 1);
      for (const [face, v] of n) this.set({ face }, v);
    },
  });
  for (const f of node.faces) f.metrics?.(registry);
  gauge('weft_subscriptions', 'Subscriptions held now', () => node.subscriptionCount);
  counter('weft_connections_total', 'Client connections accepted', () => s.totalConnections);
  counter('weft_in_msgs_total', 'Messages received from clients', () => s.inMsgs);
  counter('weft_out_msgs_total', 'Messages delivered to clients', () => s.outMsgs);
  counter('weft_in_bytes_total', 'Payload bytes received from clients', () => s.inBytes);
  counter('weft_out_bytes_total', 'Payload bytes delivered to clients', () => s.outBytes);
  counter(
    'weft_slow_consumers_total',
    'Connections closed as slow consumers',
    () => s.slowConsumers,
  );
  gauge(
    'weft_client_pending_bytes',
    'Bytes queued to all clients now (bounded by max_pending_total)',
    () => node.outbound.bytes,
  );
  counter(
    'weft_pending_total_hits_total',
    'Times the bytes queued to all clients passed max_pending_total',
    () => node.outbound.limitHits,
  );
  counter(
    'weft_read_slices_total',
    'Client reads cut after 4 ms of fan-out work, the rest parsed in a later turn',
    () => s.readSlices,
  );
  counter(
    'weft_fair_share_waits_total',
    'Times a fanning-out publisher waited so that other connections got their share',
    () => s.fairShareWaits,
  );
  counter(
    'weft_refused_connections_total',
    'Connections refused at max_connections',
    () => s.refusedConnections,
  );
  counter(
    'weft_refused_subscriptions_total',
    'SUBs refused at max_subscriptions',
    () => s.refusedSubscriptions,
  );
  counter(
    'weft_sublist_cache_evictions_total',
    'Subject index match results evicted at the cache bound',
    () => {
      let n = 0;
      for (const acc of node.accounts.all()) n += acc.sublist.stats.cacheEvictions;
      return n;
    },
  );
  const sec = node.security;
  counter(
    'weft_auth_failures_total',
    'Failed authentications (logged with the address)',
    () => sec.counters.authFailures,
  );
  counter(
    'weft_permission_violations_total',
    'Publishes and subscriptions refused by permissions',
    () => sec.counters.publishViolations + sec.counters.subscribeViolations,
  );
  counter(
    'weft_deliveries_denied_total',
    'Messages withheld from a wildcard subscription by a subscribe deny rule',
    () => sec.counters.deliveriesDenied,
  );
  counter(
    'weft_rate_limited_total',
    "Publishes over an identity's data rate: reads slowed (rate_exceeded: slow) or messages dropped (drop)",
    () => sec.quotas.rateWaits + sec.quotas.rateDrops,
  );
  counter(
    'weft_uncaught_errors_total',
    'Uncaught exceptions and unhandled rejections (the node then shuts down)',
    () => s.uncaughtErrors,
  );
  counter(
    'weft_sublist_cache_freezes_total',
    'Times a full subject index cache was thrashing and kept its contents',
    () => {
      let n = 0;
      for (const acc of node.accounts.all()) n += acc.sublist.stats.cacheFreezes;
      return n;
    },
  );
  counter(
    'weft_sublist_cache_bypasses_total',
    'Times the subject index cache hit so rarely that it was bypassed for a while',
    () => {
      let n = 0;
      for (const acc of node.accounts.all()) n += acc.sublist.stats.cacheBypasses;
      return n;
    },
  );

  const perLink = (name: string, help: string, read: (l: Link) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['peer', 'direction'],
      registers: [registry],
      collect() {
        this.reset();
        for (const l of node.mesh?.links.values() ?? []) {
          this.set({ peer: l.peer, direction: l.direction }, read(l));
        }
      },
    });
  };
  perLink('weft_mesh_link_in_msgs', 'Messages received over the link', (l) => l.inMsgs);
  perLink('weft_mesh_link_out_msgs', 'Messages sent over the link', (l) => l.outMsgs);
  perLink('weft_mesh_link_in_bytes', 'Payload bytes received over the link', (l) => l.inBytes);
  perLink('weft_mesh_link_out_bytes', 'Payload bytes sent over the link', (l) => l.outBytes);
  perLink(
    'weft_mesh_link_dropped_msgs',
    'Messages dropped at the link pending bound',
    (l) => l.droppedMsgs,
  );
  perLink('weft_mesh_link_pending_bytes', 'Bytes queued to the link', (l) => l.pendingBytes);
  perLink('weft_mesh_link_rtt_seconds', 'Heartbeat round trip', (l) => Math.max(0, l.rttMs) / 1000);
  perLink(
    'weft_mesh_link_withheld_msgs',
    'Messages not sent over the link: the peer does not serve their account',
    (l) => l.withheldMsgs,
  );
  new Counter({
    name: 'weft_mesh_refused_links_total',
    help: 'Mesh links refused, by reason (as /meshz refused: token, tls, certificate, ...)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(node.mesh?.refused ?? {})) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'weft_mesh_foreign_account_total',
    help: 'Frames from peers naming an account this node does not serve, dropped (kind: msgs, interest)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      const f = node.mesh?.foreignAccount;
      if (f === undefined) return;
      this.inc({ kind: 'msgs' }, f.msgs);
      this.inc({ kind: 'interest' }, f.interest);
    },
  });
  gauge('weft_mesh_nodes_reachable', 'Mesh nodes reachable from here', () => {
    let n = 0;
    for (const s of node.mesh?.lsdb.nodes.values() ?? []) if (s.reachable) n++;
    return Math.max(0, n - 1);
  });

  new Counter({
    name: 'weft_closed_connections_total',
    help: 'Connections closed, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of s.closedByReason) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'weft_tls_handshake_failures_total',
    help: 'TLS handshakes refused on the client port, by reason (plaintext, timeout, no_certificate, expired, untrusted, closed, protocol)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of node.tlsHandshakeFailures) this.inc({ reason }, n);
    },
  });
  counter(
    'weft_monitor_unauthorized_total',
    'Monitoring requests refused for a missing or wrong monitor_token',
    () => s.monitorUnauthorized,
  );
  addJetStreamMetrics(registry, node);
  addAccountMetrics(registry, node);
  return registry;
}
