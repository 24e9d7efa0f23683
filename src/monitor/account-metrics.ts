/**
 * The accounts' Prometheus metrics (`/metrics`): connections and subject
 * index entries per account, and the imports' counters. Apart from
 * accountz.ts (the JSON endpoints), so serving those does not load
 * prom-client: the registry is made at the first scrape (http.ts).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Importer } from '../core/imports.js';
import { scrapeReaders } from './metric-kit.js';
import type { MonitoredNode } from './node-view.js';

/** Per-account gauges: `weft_account_connections{account}`, `weft_account_subscriptions{account}`. */
export function addAccountMetrics(registry: Registry, node: MonitoredNode): void {
  new Gauge({
    name: 'weft_account_connections',
    help: 'Client connections open now, per account',
    labelNames: ['account'],
    registers: [registry],
    collect() {
      this.reset();
      const n = new Map<string, number>();
      for (const a of node.accounts.all()) n.set(a.name, 0);
      for (const s of node.connections.values()) {
        const name = s.identity?.account.name;
        if (name !== undefined) n.set(name, (n.get(name) ?? 0) + 1);
      }
      for (const [account, v] of n) this.set({ account }, v);
    },
  });
  new Gauge({
    name: 'weft_account_subscriptions',
    help: 'Entries of the account subject index now (clients, streams, mesh interest, imports)',
    labelNames: ['account'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of node.accounts.all()) this.set({ account: a.name }, a.sublist.count);
    },
  });
  const { counter } = scrapeReaders(registry);
  const sum = (f: (i: Importer) => number) => () =>
    [...node.imports.streams, ...node.imports.services].reduce((n, i) => n + f(i), 0);
  counter(
    'weft_import_loops_total',
    'Messages an import did not forward because they had already been in its target account',
    sum((i) => i.counters.loops),
  );
  counter(
    'weft_import_responses_dropped_total',
    'Service import response mappings dropped at the per-import bound (10,000), oldest first',
    sum((i) => i.counters.responsesDropped),
  );
  counter(
    'weft_import_responses_expired_total',
    'Service import response mappings that expired unanswered (2 min)',
    sum((i) => i.counters.responsesExpired),
  );
  counter(
    'weft_import_responses_unknown_total',
    'Responses to a service import reply subject no request was waiting for (late, duplicate or forged)',
    () => node.imports.unknownResponses(),
  );
  new Gauge({
    name: 'weft_import_responses_open',
    help: 'Service import response mappings waiting for their response (bounded per import)',
    registers: [registry],
    collect() {
      this.set(node.imports.openResponses);
    },
  });
}
