/**
 * The node's webhooks: those of the config (`webhooks:`, read at start)
 * and those created through the API (kept in JetStream, store.ts, and
 * started again after a restart). Needs no listener: the HTTP face starts
 * it whether or not `http.port` is on, and mounts its API
 * (`/v1/webhooks`, routes.ts) when it is.
 *
 * Names are unique on the node (they name the consumer, the metrics and
 * the dead-letter subject); each webhook runs in its account.
 */
import { randomBytes } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import type { Accounts } from '../../../core/account.js';
import type { Router } from '../../../core/router.js';
import type { JetStream } from '../../../jetstream/service.js';
import { scrapeReaders } from '../../../monitor/metric-kit.js';
import type { Health } from '../../../util/health.js';
import { specRecord, type WebhookSpec } from './spec.js';
import { WebhookStore } from './store.js';
import { Webhook, type WebhookHost } from './webhook.js';

/** Webhooks on one node, at most (config and API together); a create past it is refused. */
export const MAX_WEBHOOKS = 1000;

/** An API refusal: the HTTP status, a code for programs, a precise description. */
export class WebhookError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

export interface WebhooksHost {
  readonly router: Router;
  readonly accounts: Accounts;
  readonly jetstream: JetStream | null;
  readonly health: Health;
  readonly log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  /** The node's name (`server_name`), '' when unnamed: names the definitions' stream. */
  readonly node: string;
}

export class Webhooks {
  private readonly byName = new Map<string, Webhook>();
  /** Each account's store of API webhooks, by account name (opened at start or at its first create). */
  private readonly stores = new Map<string, WebhookStore>();
  private readonly runHost: WebhookHost;
  private stopped = false;

  constructor(
    private readonly host: WebhooksHost,
    private configured: readonly WebhookSpec[],
  ) {
    this.runHost = {
      router: host.router,
      jetstream: host.jetstream,
      log: host.log,
      account: (name) => host.accounts.getOrCreate(name),
      // A stopped webhook (410) makes the node degraded until it is deleted.
      stopped: (w) =>
        host.health.report(healthKey(w.spec.name), `webhook ${w.spec.name}`, w.lastError),
    };
  }

  /** Starts the config's webhooks, then the API's (read back from each account's JetStream). */
  async start(): Promise<void> {
    for (const spec of this.configured) await this.run(spec, 'config');
    const specs: WebhookSpec[] = [];
    for (const js of this.host.jetstream?.accounts() ?? []) {
      const store = new WebhookStore(js, this.host.node);
      const read = await store.open(false);
      for (const why of read.bad) {
        this.host.log.error(`webhook definition of account ${store.account} not restored: ${why}`);
      }
      if (read.specs.length > 0) this.stores.set(store.account, store);
      specs.push(...read.specs);
    }
    for (const spec of specs) {
      if (this.byName.has(spec.name)) {
        this.host.log.warn(
          `webhook ${spec.name} of account ${spec.account} created through the API is not started: the name is taken (by the config's, or another account's)`,
        );
        continue;
      }
      await this.run(spec, 'api');
    }
    if (specs.length > 0)
      this.host.log.info(`Restored ${specs.length} webhook(s) created through the API`);
  }

  /** The store of an account's API webhooks, opened (and its stream made) on first use. */
  private async storeOf(account: string): Promise<WebhookStore> {
    const have = this.stores.get(account);
    if (have !== undefined) return have;
    const js = this.host.jetstream?.account(account);
    if (js === undefined) {
      throw new WebhookError(
        409,
        'jetstream_off',
        `webhooks are created through the API only where JetStream is on for the account (${account}): it keeps them across restarts; define this one in the config (webhooks:) instead`,
      );
    }
    const store = new WebhookStore(js, this.host.node);
    await store.open(true);
    this.stores.set(account, store);
    return store;
  }

  /**
   * The config's webhooks after a reload (SIGHUP): one no longer listed is
   * removed (a stream webhook's durable consumer with it, as a delete);
   * one whose definition changed is closed and started again on the new
   * one (a stream webhook binds its durable consumer again, keeping its
   * place); a new one starts, unless an API webhook has its name (logged).
   * The others go on untouched, their deliveries in flight included.
   */
  async reconfigure(specs: readonly WebhookSpec[]): Promise<void> {
    if (this.stopped) return;
    const next = new Map(specs.map((s) => [s.name, s]));
    const same = (a: WebhookSpec, b: WebhookSpec) =>
      JSON.stringify(specRecord(a, true)) === JSON.stringify(specRecord(b, true));
    this.configured = specs;
    for (const [name, w] of [...this.byName]) {
      if (w === null || w.origin !== 'config') continue;
      const spec = next.get(name);
      if (spec !== undefined && same(spec, w.spec)) continue;
      this.byName.delete(name);
      this.host.health.clear(healthKey(name));
      if (spec === undefined) {
        await w.remove();
        this.host.log.info(`webhook ${name} removed: no longer in the config`);
      } else {
        w.close();
        await this.run(spec, 'config');
        this.host.log.info(`webhook ${name} restarted with its new definition`);
      }
    }
    for (const [name, spec] of next) {
      if (this.byName.has(name)) {
        const w = this.byName.get(name);
        if (w !== undefined && w !== null && w.origin === 'api') {
          this.host.log.error(
            `webhook ${name} of the config is not started: an API webhook of account ${w.spec.account} has that name`,
          );
        }
        continue;
      }
      await this.run(spec, 'config');
      this.host.log.info(`webhook ${name} started from the reloaded config`);
    }
  }

  private async run(spec: WebhookSpec, origin: 'config' | 'api'): Promise<Webhook> {
    const w = new Webhook(spec, this.runHost, origin);
    this.byName.set(spec.name, w);
    await w.start();
    return w;
  }

  /** A new webhook from the API (already checked, with its caller's account). */
  async create(spec: WebhookSpec): Promise<{ webhook: Webhook; secret: string }> {
    if (this.stopped) throw new WebhookError(503, 'shutting_down', 'the node is shutting down');
    if (this.byName.has(spec.name)) {
      throw new WebhookError(409, 'exists', `a webhook named ${spec.name} exists`);
    }
    if (this.byName.size >= MAX_WEBHOOKS) {
      throw new WebhookError(
        409,
        'too_many',
        `this node has ${MAX_WEBHOOKS} webhooks, the most it runs`,
      );
    }
    const secret =
      spec.secret === '' ? `whsec_${randomBytes(24).toString('base64url')}` : spec.secret;
    const full: WebhookSpec = { ...spec, secret };
    // Reserved at once, so two creates of one name cannot both pass the check above.
    this.byName.set(spec.name, null as unknown as Webhook);
    try {
      await (await this.storeOf(spec.account)).put(full);
    } catch (err) {
      this.byName.delete(spec.name);
      if (err instanceof WebhookError) throw err;
      this.host.log.error(`webhook ${spec.name} not stored: ${(err as Error).message}`);
      throw new WebhookError(
        500,
        'store_failed',
        'the webhook could not be stored (see the node log)',
      );
    }
    const w = await this.run(full, 'api');
    this.host.log.info(
      `webhook ${spec.name} created in account ${spec.account}: ${spec.subject} → ${spec.url}`,
    );
    return { webhook: w, secret };
  }

  /** The webhook named so, if `account` may see it (null: any account). */
  get(name: string, account: string | null): Webhook | undefined {
    const w = this.byName.get(name);
    if (w === undefined || w === null) return undefined;
    if (account !== null && w.spec.account !== account) return undefined;
    return w;
  }

  list(account: string | null): Webhook[] {
    return [...this.byName.values()].filter(
      (w) => w !== null && (account === null || w.spec.account === account),
    );
  }

  async delete(name: string, account: string | null): Promise<void> {
    const w = this.get(name, account);
    if (w === undefined) throw new WebhookError(404, 'not_found', `no webhook named ${name}`);
    if (w.origin === 'config') {
      throw new WebhookError(
        409,
        'in_config',
        `webhook ${name} is defined in the config: remove it there`,
      );
    }
    this.byName.delete(name);
    this.host.health.clear(healthKey(name));
    await w.remove();
    await this.stores.get(w.spec.account)?.delete(name);
    this.host.log.info(`webhook ${name} deleted`);
  }

  /** A webhook as the API shows it: its definition (no secret) and its status. */
  describe(w: Webhook): Record<string, unknown> {
    return { ...specRecord(w.spec, false), origin: w.origin, status: w.status() };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.byName.values()) w?.close();
  }

  /** The `/varz` section (under the HTTP face's): each webhook's status. */
  varz(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const w of this.list(null)) out[w.spec.name] = { account: w.spec.account, ...w.status() };
    return { count: this.list(null).length, webhooks: out };
  }

  /** `weft_webhook_*{webhook}`, read at each scrape. */
  metrics(registry: Registry): void {
    const kit = scrapeReaders(registry);
    const each = (read: (w: Webhook) => number) => () =>
      this.list(null).map((w) => [w.spec.name, read(w)] as const);
    const counter = (name: string, help: string, read: (w: Webhook) => number): void =>
      kit.labelledCounter(name, help, 'webhook', each(read));
    const gauge = (name: string, help: string, read: (w: Webhook) => number): void =>
      kit.labelledGauge(name, help, 'webhook', each(read));
    counter(
      'weft_webhook_delivered_total',
      'Messages a webhook receiver took (2xx)',
      (w) => w.counters.delivered,
    );
    counter(
      'weft_webhook_failed_total',
      'Webhook POSTs that failed (not 2xx, timeout, connection error)',
      (w) => w.counters.failed,
    );
    counter(
      'weft_webhook_dead_lettered_total',
      'Messages published to the dead-letter subject after max_deliver attempts',
      (w) => w.counters.deadLettered,
    );
    counter(
      'weft_webhook_dropped_total',
      'Core webhook messages dropped: queue full, or webhook stopped',
      (w) => w.counters.dropped,
    );
    gauge('weft_webhook_retrying', 'Messages waiting for their next attempt', (w) =>
      w.retryingNow(),
    );
    gauge('weft_webhook_in_flight', 'Webhook POSTs in flight', (w) => w.inFlight);
    counter(
      'weft_webhook_connections_total',
      'Connections opened to the receiver (kept alive between POSTs)',
      (w) => w.connections(),
    );
    gauge(
      'weft_webhook_lag',
      'Messages not yet delivered: the queue (core) or the consumer pending and unacknowledged (stream)',
      (w) => w.lag(),
    );
    gauge(
      'weft_webhook_running',
      '1 when the webhook delivers, 0 when waiting for its stream or stopped (410)',
      (w) => (w.state === 'running' ? 1 : 0),
    );
    const list = () => this.list(null);
    new Gauge({
      name: 'weft_webhook_last_error_info',
      help: "A webhook's last error (label error), value: when it happened (Unix seconds)",
      labelNames: ['webhook', 'error'],
      registers: [registry],
      collect() {
        this.reset();
        for (const w of list()) {
          if (w.lastErrorAt > 0)
            this.set(
              { webhook: w.spec.name, error: w.lastError },
              Math.floor(w.lastErrorAt / 1000),
            );
        }
      },
    });
  }
}

function healthKey(name: string): string {
  return `webhook:${name}`;
}
