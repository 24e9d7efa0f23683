/**
 * The JSON monitoring endpoints. Field names follow nats-server's
 * (https://docs.nats.io/running-a-nats-service/nats_admin/monitoring) where
 * the meaning is the same, so existing tooling can read them. Durations that
 * nats-server reports as integers are nanoseconds.
 */

import { peerCertSummaries } from '../connection/tls-accept.js';
import { NATS_API_VERSION, VERSION } from '../version.js';
import { jetstreamVarz } from './jsz.js';
import type { MonitoredNode } from './node-view.js';

const MS_TO_NS = 1_000_000;

/** Go-style duration text, as nats-server prints uptime ("1h2m3s"). */
export function goDuration(ms: number): string {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let out = '';
  if (d > 0) out += `${d}d`;
  if (d > 0 || h > 0) out += `${h}h`;
  if (d > 0 || h > 0 || m > 0) out += `${m}m`;
  return `${out}${s}s`;
}

/** CPU use of this process in percent of one core, since the last call. */
export class CpuMeter {
  private lastUsage = process.cpuUsage();
  private lastTime = process.hrtime.bigint();
  private lastPct = 0;

  read(): number {
    const now = process.hrtime.bigint();
    const elapsedUs = Number(now - this.lastTime) / 1000;
    if (elapsedUs < 100_000) return this.lastPct; // too short a window to say
    const usage = process.cpuUsage(this.lastUsage);
    this.lastPct = Math.round(((usage.user + usage.system) / elapsedUs) * 1000) / 10;
    this.lastUsage = process.cpuUsage();
    this.lastTime = now;
    return this.lastPct;
  }
}

export function varz(node: MonitoredNode, cpu: CpuMeter): Record<string, unknown> {
  const o = node.options;
  const s = node.stats;
  const now = new Date();
  return {
    server_id: node.serverId,
    server_name: node.name,
    version: NATS_API_VERSION,
    weft_version: VERSION,
    proto: 1,
    go: `node${process.versions.node}`,
    host: o.host,
    port: node.port,
    max_connections: o.maxConnections,
    max_subscriptions: o.maxSubscriptions,
    ping_interval: o.pingIntervalMs * MS_TO_NS,
    ping_max: o.maxPingsOut,
    http_host: o.host,
    http_port: node.httpPort,
    ...(node.httpsPort >= 0 ? { https_port: node.httpsPort } : {}),
    ...(o.tls !== null
      ? { tls_required: true, tls_verify: o.tls.verify, tls_timeout: o.tls.timeoutMs / 1000 }
      : {}),
    auth_timeout: o.authTimeoutMs / 1000,
    max_control_line: o.maxControlLine,
    max_payload: o.maxPayload,
    max_pending: o.maxPending,
    write_deadline: o.writeDeadlineMs * MS_TO_NS,
    start: node.started.toISOString(),
    now: now.toISOString(),
    uptime: goDuration(now.getTime() - node.started.getTime()),
    mem: process.memoryUsage.rss(),
    cores: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
      ?.hardwareConcurrency,
    cpu: cpu.read(),
    connections: node.connections.size,
    total_connections: s.totalConnections,
    // nats-server's name for links to other nodes of the cluster.
    routes: node.mesh?.links.size ?? 0,
    remotes: 0,
    leafnodes: 0,
    in_msgs: s.inMsgs,
    out_msgs: s.outMsgs,
    in_bytes: s.inBytes,
    out_bytes: s.outBytes,
    slow_consumers: s.slowConsumers,
    subscriptions: node.subscriptionCount,
    auth_required: node.security.required,
    jetstream: jetstreamVarz(node),
    weft: {
      refused_connections: s.refusedConnections,
      refused_subscriptions: s.refusedSubscriptions,
      uncaught_errors: s.uncaughtErrors,
      max_pending_total: o.maxPendingTotal,
      pending_total: node.outbound.bytes,
      pending_total_hits: node.outbound.limitHits,
      slow_consumers_pending_total: node.outbound.limitCloses,
      slow_consumers_write_deadline: node.outbound.deadlineCloses,
      producer_stalls: node.outbound.stall.stalls,
      producer_stall_timeouts: node.outbound.stall.timeouts,
      output_chunk_allocs: node.outbound.chunkAllocs,
      read_slices: s.readSlices,
      fair_share_waits: s.fairShareWaits,
      tls_handshake_failures: Object.fromEntries(node.tlsHandshakeFailures),
      monitor_unauthorized: s.monitorUnauthorized,
      closed_by_reason: Object.fromEntries(s.closedByReason),
      idle_gc: { runs: node.idleGc?.runs ?? 0, last_ms: node.idleGc?.lastMs ?? -1 },
      faces: facesVarz(node),
      security: securityVarz(node),
    },
  };
}

/** Each face's listeners, open connections and own fields. */
function facesVarz(node: MonitoredNode): Record<string, unknown> {
  const open = new Map<string, number>();
  for (const c of node.connections.values()) open.set(c.face, (open.get(c.face) ?? 0) + 1);
  const out: Record<string, unknown> = {};
  for (const f of node.faces) {
    out[f.name] = {
      listeners: f.listeners.map((l) => ({
        setting: l.setting,
        host: l.host,
        port: l.port,
        tls: l.tls,
      })),
      connections: open.get(f.name) ?? 0,
      ...f.varz?.(),
    };
  }
  return out;
}

/** The security counters (Weft's; nats-server has none of these in /varz). */
function securityVarz(node: MonitoredNode): Record<string, number> {
  const c = node.security.counters;
  const q = node.security.quotas;
  const t = node.security.throttle;
  return {
    auth_failures: c.authFailures,
    auth_throttled: t.delayed,
    auth_throttle_refused: t.refused,
    publish_violations: c.publishViolations,
    subscribe_violations: c.subscribeViolations,
    deliveries_denied: c.deliveriesDenied,
    connection_limit_refusals: c.connectionLimitRefusals,
    subscription_limit_refusals: c.subscriptionLimitRefusals,
    rate_waits: q.rateWaits,
    rate_drops: q.rateDrops,
    ...(node.operator === null
      ? {}
      : {
          jwt_account_reads: node.operator.resolver.reads,
          jwt_account_cache_evictions: node.operator.resolver.evictions,
          jwt_user_cache_resets: node.operator.userCacheResets,
        }),
  };
}

type Query = URLSearchParams;

function intParam(q: Query, key: string, dflt: number): number {
  const v = q.get(key);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : dflt;
}

function boolParam(q: Query, key: string): boolean {
  const v = q.get(key);
  return v === '1' || v === 'true' || v === 'detail';
}

const SORTS: Record<string, (c: Record<string, unknown>) => number> = {
  cid: (c) => c.cid as number,
  start: (c) => Date.parse(c.start as string),
  subs: (c) => c.subscriptions as number,
  pending: (c) => c.pending_bytes as number,
  msgs_to: (c) => c.out_msgs as number,
  msgs_from: (c) => c.in_msgs as number,
  bytes_to: (c) => c.out_bytes as number,
  bytes_from: (c) => c.in_bytes as number,
  last: (c) => Date.parse(c.last_activity as string),
};

export function connz(node: MonitoredNode, q: Query): Record<string, unknown> | { error: string } {
  const offset = intParam(q, 'offset', 0);
  const limit = intParam(q, 'limit', 1024);
  const withSubs = boolParam(q, 'subs');
  // As nats-server: user names only with ?auth=true.
  const withAuth = boolParam(q, 'auth');
  const state = q.get('state') ?? 'open';
  const sort = q.get('sort') ?? 'cid';
  if (!(sort in SORTS)) return { error: `invalid sort option "${sort}"` };
  if (state !== 'open' && state !== 'closed' && state !== 'all') {
    return { error: `invalid state "${state}": use open, closed or all` };
  }
  const now = new Date();
  const rows: Record<string, unknown>[] = [];
  if (state !== 'closed') {
    for (const s of node.connections.values()) {
      const c = s.client;
      const row: Record<string, unknown> = {
        cid: s.id,
        kind: 'Client',
        type: s.face,
        ip: s.remoteAddress,
        port: s.remotePort,
        start: s.created.toISOString(),
        last_activity: new Date(s.lastActivity).toISOString(),
        uptime: goDuration(now.getTime() - s.created.getTime()),
        idle: goDuration(now.getTime() - s.lastActivity),
        pending_bytes: s.pendingBytes,
        in_msgs: s.inMsgs,
        out_msgs: s.outMsgs,
        in_bytes: s.inBytes,
        out_bytes: s.outBytes,
        subscriptions: s.subscriptionCount,
        name: c?.name ?? '',
        lang: c?.lang ?? '',
        version: c?.version ?? '',
        account: s.identity?.account.name ?? '',
      };
      if (withAuth && s.identity !== null && s.identity.user !== '') {
        row.authorized_user = s.identity.user;
      }
      if (s.tls !== null) {
        row.tls_version = s.tls.version;
        row.tls_cipher_suite = s.tls.cipher;
        // As nats-server: the chain only with ?auth=1.
        if (withAuth && s.tls.cert !== null) row.tls_peer_certs = peerCertSummaries(s.tls.cert);
      }
      if (withSubs) row.subscriptions_list = s.subscriptionSubjects();
      rows.push(row);
    }
  }
  if (state !== 'open') {
    for (const c of node.connections.closedList) {
      const { authorized_user, ...rest } = c;
      rows.push({
        ...rest,
        ...(withAuth && authorized_user !== '' ? { authorized_user } : {}),
        kind: 'Client',
        start: c.start.toISOString(),
        stop: c.stop.toISOString(),
        subscriptions: 0,
      });
    }
  }
  const key = SORTS[sort];
  rows.sort(sort === 'cid' ? (a, b) => key(a) - key(b) : (a, b) => key(b) - key(a));
  const page = rows.slice(offset, offset + limit);
  return {
    server_id: node.serverId,
    now: now.toISOString(),
    num_connections: page.length,
    total: rows.length,
    offset,
    limit,
    connections: page,
  };
}

export function subsz(node: MonitoredNode, q: Query): Record<string, unknown> {
  let inserts = 0;
  let removes = 0;
  let matches = 0;
  let hits = 0;
  let cache = 0;
  let evictions = 0;
  let freezes = 0;
  let bypasses = 0;
  let uncached = 0;
  let ackRouted = 0;
  let ackEvictions = 0;
  for (const acc of node.accounts.all()) {
    const st = acc.sublist.stats;
    uncached += st.uncached;
    ackRouted += st.ackRouteHits;
    ackEvictions += st.ackRouteEvictions;
    evictions += st.cacheEvictions;
    freezes += st.cacheFreezes;
    bypasses += st.cacheBypasses;
    inserts += st.inserts;
    removes += st.removes;
    matches += st.matches;
    hits += st.cacheHits;
    cache += acc.sublist.cacheSize;
  }
  const out: Record<string, unknown> = {
    server_id: node.serverId,
    now: new Date().toISOString(),
    num_subscriptions: node.subscriptionCount,
    num_cache: cache,
    num_inserts: inserts,
    num_removes: removes,
    num_matches: matches,
    cache_hit_rate: matches === 0 ? 0 : hits / matches,
    cache_evictions: evictions,
    // Weft: times a full, thrashing cache kept its contents, and times it
    // hit so rarely that it was bypassed for a while (see match-cache.ts).
    cache_freezes: freezes,
    cache_bypasses: bypasses,
    // Weft: matches left out of the cache on purpose (one-off subjects such
    // as a consumer's `$JS.ACK.…` acks, see sublist.ts `oneOff`).
    cache_uncached: uncached,
    // Weft: of those, acks matched by their consumer's route without a walk,
    // and routes dropped when the table was full (core/ack-routes.ts).
    ack_route_hits: ackRouted,
    ack_route_evictions: ackEvictions,
  };
  if (boolParam(q, 'subs')) {
    const offset = intParam(q, 'offset', 0);
    const limit = intParam(q, 'limit', 1024);
    const all = [];
    for (const acc of node.accounts.all()) {
      for (const s of acc.sublist.all()) {
        all.push({
          account: acc.name,
          subject: s.subject,
          qgroup: s.queue || undefined,
          sid: s.sid,
          cid: s.owner.id,
        });
      }
    }
    out.total = all.length;
    out.offset = offset;
    out.limit = limit;
    out.subscriptions_list = all.slice(offset, offset + limit);
  }
  return out;
}
