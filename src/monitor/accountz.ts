/**
 * Accounts on the monitoring port, in nats-server 2.9's shapes:
 *
 * - `/accountz`: `{server_id, now, system_account, accounts: [names]}`;
 *   `/accountz?acc=NAME`: `account_detail` — connections, subscriptions,
 *   exports, imports, JetStream on or off, subject index stats — with a
 *   `weft` section: each import's counters (forwarded, loops, responses,
 *   dropped, expired, open) and the account's JetStream use (streams,
 *   consumers, messages, bytes).
 * - `/accstatz`: `account_statz`, one entry per account with connections
 *   (`unused=1` adds those without): `conns`, `total_conns`, and `sent` /
 *   `received` summed over the connections open now (nats-server counts
 *   since start).
 *
 * `subscriptions` is every entry of the account's subject index, as
 * nats-server's: its clients', its streams', other nodes' interest (the
 * mesh) and the internal subscriptions of imports — a stream import holds
 * one in the exporting account while the importer has interest, a service
 * import one in the importing account, and each exporting account with
 * service imports one `_R_.<prefix>.>` for responses.
 */
import type { Account } from '../core/account.js';
import { type Importer, StreamImport } from '../core/imports.js';
import type { AccountJetStream } from '../jetstream/service.js';
import type { MonitoredNode } from './node-view.js';

/** Open connections of an account, and what they sent and received. */
function connections(node: MonitoredNode, account: Account) {
  const c = { conns: 0, inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0, slow: 0 };
  for (const s of node.connections.values()) {
    if (s.identity?.account !== account) continue;
    c.conns++;
    c.inMsgs += s.inMsgs;
    c.inBytes += s.inBytes;
    c.outMsgs += s.outMsgs;
    c.outBytes += s.outBytes;
  }
  return c;
}

function jetstreamUse(js: AccountJetStream | undefined): Record<string, number> | null {
  if (js === undefined) return null;
  const u = { streams: 0, consumers: 0, messages: 0, bytes: 0, memory: 0, storage: 0 };
  for (const cs of js.streams.values()) {
    const st = cs.stream.state();
    u.streams++;
    u.consumers += cs.consumers.size;
    u.messages += st.messages;
    u.bytes += st.bytes;
    if (cs.stream.config.storage === 'memory') u.memory += st.bytes;
    else u.storage += st.bytes;
  }
  return u;
}

function importRow(i: Importer): Record<string, unknown> {
  const stream = i instanceof StreamImport;
  const local = stream ? i.mapping.to : i.spec.to || i.spec.subject;
  const c = i.counters;
  // nats-server 2.9's rows: a stream import's `subject` is the exported one
  // and `local_subject` its local name; a service import's `subject` is the
  // local one and `to` the exported one.
  return {
    subject: stream ? i.spec.subject : local,
    account: i.spec.account,
    type: i.spec.kind,
    ...(stream ? { local_subject: local } : { to: i.spec.subject }),
    invalid: false,
    share: false,
    tracking: false,
    weft: {
      installed: i.installed,
      forwarded: c.forwarded,
      loops: c.loops,
      ...(stream
        ? {}
        : {
            responses: c.responses,
            responses_open: 'open' in i ? (i.open as Map<string, unknown>).size : 0,
            responses_dropped: c.responsesDropped,
            responses_expired: c.responsesExpired,
          }),
    },
  };
}

function detail(node: MonitoredNode, account: Account): Record<string, unknown> {
  const cfg = node.options.security.accounts.find((a) => a.name === account.name);
  const conns = connections(node, account);
  const st = account.sublist.stats;
  const js = node.jetstream?.account(account.name);
  return {
    account_name: account.name,
    update_time: node.started.toISOString(),
    is_system: account === node.systemAccount,
    expired: false,
    complete: true,
    jetstream_enabled: js !== undefined,
    leafnode_connections: 0,
    client_connections: conns.conns,
    subscriptions: account.sublist.count,
    exports: (cfg?.exports ?? []).map((e) => ({
      subject: e.subject,
      type: e.kind,
      ...(e.kind === 'service' ? { response_type: 'Singleton' } : {}),
      ...(e.accounts === null ? {} : { approved_accounts: [...e.accounts] }),
    })),
    imports: node.imports.of(account.name).map(importRow),
    sublist_stats: {
      num_subscriptions: account.sublist.count,
      num_cache: account.sublist.cacheSize,
      num_inserts: st.inserts,
      num_removes: st.removes,
      num_matches: st.matches,
      cache_hit_rate: st.matches === 0 ? 0 : st.cacheHits / st.matches,
    },
    weft: {
      jetstream: jetstreamUse(js),
      // Responses to this account's `_R_` reply subjects that no request was waiting for.
      responses_unknown: node.imports.unknownResponses(account),
    },
  };
}

export function accountz(
  node: MonitoredNode,
  q: URLSearchParams,
): Record<string, unknown> | { error: string } {
  const out: Record<string, unknown> = {
    server_id: node.serverId,
    now: new Date().toISOString(),
    system_account: node.systemAccount.name,
  };
  const name = q.get('acc');
  if (name === null || name === '') {
    out.accounts = [...node.accounts.all()].map((a) => a.name).sort();
    return out;
  }
  const account = node.accounts.get(name);
  if (account === undefined) return { error: `Account ${name} does not exist` };
  out.account_detail = detail(node, account);
  return out;
}

export function accstatz(node: MonitoredNode, q: URLSearchParams): Record<string, unknown> {
  const unused = q.get('unused') === '1' || q.get('unused') === 'true';
  const rows: Record<string, unknown>[] = [];
  for (const account of [...node.accounts.all()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const c = connections(node, account);
    if (c.conns === 0 && !unused) continue;
    rows.push({
      acc: account.name,
      conns: c.conns,
      leafnodes: 0,
      total_conns: c.conns,
      sent: { msgs: c.outMsgs, bytes: c.outBytes },
      received: { msgs: c.inMsgs, bytes: c.inBytes },
      slow_consumers: 0,
    });
  }
  return { server_id: node.serverId, now: new Date().toISOString(), account_statz: rows };
}
