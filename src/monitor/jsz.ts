/**
 * JetStream monitoring: `/jsz` and the `jetstream` section of `/varz`, in
 * nats-server 2.9's shapes (field names where the meaning is the same).
 * This node's streams only, as nats-server reports its own; a stream that
 * lives on another node of the mesh is in that node's `/jsz`.
 *
 * `/jsz` options, as nats-server's: `accounts=1` adds `account_details`,
 * `streams=1` each account's `stream_detail`, `consumers=1` each stream's
 * `consumer_detail`, `config=1` their configs; `offset`/`limit` page the
 * accounts.
 */

import { limitsInfo } from '../jetstream/account-limits.js';
import type { AccountJetStream, CapturedStream } from '../jetstream/service.js';
import { streamState } from '../jetstream/shapes.js';
import type { MonitoredNode } from './node-view.js';

/** nats-server's default page of accounts in /jsz. */
const JSZ_LIMIT = 1024;

interface Stats {
  memory: number;
  storage: number;
  reserved_memory: number;
  reserved_storage: number;
  accounts: number;
  ha_assets: number;
  api: { total: number; errors: number };
}

function accountsOf(node: MonitoredNode): AccountJetStream[] {
  return node.jetstream === null ? [] : [...node.jetstream.accounts()];
}

/** Bytes held by memory and by file streams, and totals, of one account. */
function usage(js: AccountJetStream): {
  memory: number;
  storage: number;
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
} {
  const u = { memory: 0, storage: 0, streams: 0, consumers: 0, messages: 0, bytes: 0 };
  for (const cs of js.streams.values()) {
    const st = cs.stream.state();
    if (cs.stream.config.storage === 'memory') u.memory += st.bytes;
    else u.storage += st.bytes;
    u.streams++;
    u.consumers += cs.consumers.size;
    u.messages += st.messages;
    u.bytes += st.bytes;
  }
  return u;
}

/**
 * An account's reservation in `account_details`, as nats-server 2.9
 * reports it: its limit (`max_mem`/`max_file`); 0 without one (nats-server
 * prints -1 cast to an unsigned 64-bit number there). The node's totals
 * (`reserved_memory`/`reserved_storage` of /jsz and /varz) are, as
 * nats-server's, the sum of its streams' `max_bytes`.
 */
function reserved(limit: number): number {
  return Math.max(limit, 0);
}

/**
 * nats-server's JetStreamConfig. Weft sets no memory or storage limit
 * (-1: none; nats-server reports the limits it computed).
 */
function config(node: MonitoredNode): Record<string, unknown> {
  if (node.jetstream === null) return { max_memory: 0, max_storage: 0 };
  return { max_memory: -1, max_storage: -1, store_dir: node.jetstream.storeDir };
}

function stats(accounts: AccountJetStream[]): Stats {
  const s: Stats = {
    memory: 0,
    storage: 0,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts: accounts.length,
    ha_assets: 0,
    api: { total: 0, errors: 0 },
  };
  for (const js of accounts) {
    const u = usage(js);
    s.memory += u.memory;
    s.storage += u.storage;
    for (const cs of js.streams.values()) {
      const b = cs.stream.config.max_bytes;
      if (b <= 0) continue;
      if (cs.stream.config.storage === 'memory') s.reserved_memory += b;
      else s.reserved_storage += b;
    }
    s.api.total += js.apiTotal;
    s.api.errors += js.apiErrors;
  }
  return s;
}

/** `/varz`'s `jetstream`: `{config, stats}`, or `{}` with JetStream off (as nats-server). */
export function jetstreamVarz(node: MonitoredNode): Record<string, unknown> {
  if (node.jetstream === null) return {};
  return { config: config(node), stats: stats(accountsOf(node)) };
}

function flag(q: URLSearchParams, key: string): boolean {
  const v = q.get(key);
  return v === '1' || v === 'true';
}

function intParam(q: URLSearchParams, key: string, dflt: number): number {
  const v = q.get(key);
  const n = v === null || v === '' ? Number.NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : dflt;
}

export async function jsz(
  node: MonitoredNode,
  q: URLSearchParams,
): Promise<Record<string, unknown>> {
  const accounts = accountsOf(node);
  const out: Record<string, unknown> = {
    server_id: node.serverId,
    now: new Date().toISOString(),
  };
  if (node.jetstream === null) out.disabled = true;
  const totals = { streams: 0, consumers: 0, messages: 0, bytes: 0 };
  for (const js of accounts) {
    const u = usage(js);
    totals.streams += u.streams;
    totals.consumers += u.consumers;
    totals.messages += u.messages;
    totals.bytes += u.bytes;
  }
  Object.assign(out, { config: config(node), ...stats(accounts), ...totals });
  const withConsumers = flag(q, 'consumers');
  const withStreams = withConsumers || flag(q, 'streams');
  if (!withStreams && !flag(q, 'accounts')) return out;
  const withConfig = flag(q, 'config');
  const offset = intParam(q, 'offset', 0);
  const limit = intParam(q, 'limit', JSZ_LIMIT);
  const details: Record<string, unknown>[] = [];
  for (const js of accounts.slice(offset, offset + limit)) {
    const u = usage(js);
    const d: Record<string, unknown> = {
      name: js.account.name,
      id: js.account.name,
      memory: u.memory,
      storage: u.storage,
      reserved_memory: reserved(js.limits.maxMemory),
      reserved_storage: reserved(js.limits.maxStore),
      accounts: 0,
      ha_assets: 0,
      api: { total: js.apiTotal, errors: js.apiErrors },
      // Weft's own: the account's limits (as $JS.API.INFO) and what they refused.
      weft: { limits: limitsInfo(js.limits), limits_hit: { ...js.limitsHit } },
    };
    if (withStreams) {
      const names = [...js.streams.keys()].sort();
      d.stream_detail = await Promise.all(
        names.map((n) => streamDetail(js.streams.get(n)!, withConfig, withConsumers)),
      );
    }
    details.push(d);
  }
  out.account_details = details;
  return out;
}

async function streamDetail(
  cs: CapturedStream,
  withConfig: boolean,
  withConsumers: boolean,
): Promise<Record<string, unknown>> {
  const d: Record<string, unknown> = {
    name: cs.stream.name,
    created: cs.stream.created.toISOString(),
  };
  if (withConfig) d.config = cs.stream.config;
  d.state = streamState(cs.stream);
  if (withConsumers && cs.consumers.size > 0) {
    const all = [...cs.consumers.byName.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    d.consumer_detail = await Promise.all(
      all.map(async (c) => {
        const info = await c.info();
        if (!withConfig) delete info.config;
        return info;
      }),
    );
  }
  return d;
}
