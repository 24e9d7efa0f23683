/**
 * The Kafka face: the Kafka port (`kafka.port`, `kafka.host`), TLS from the
 * first byte when `kafka.tls` is set (mTLS with its `verify`, and
 * `verify_and_map` to log in by certificate), admission under the node's
 * max_connections, and the modules whose handlers serve the requests
 * (handlers/index.ts). The node is one Kafka broker to its clients: its
 * node id and cluster id are stable across restarts (node-id.ts). A face
 * like any other (docs/faces.md); docs/kafka.md describes it for operators.
 */

import os from 'node:os';
import type { Registry } from 'prom-client';
import type { ServerOptions } from '../../config/options.js';
import { TcpPort } from '../../connection/tcp-port.js';
import { StartError } from '../../errors.js';
import { scrapeReaders } from '../../monitor/metric-kit.js';
import type { Face, FaceHost, FaceListener } from '../face.js';
import {
  type ApiHandler,
  type BrokerAddress,
  handlerTable,
  type KafkaModule,
  type KafkaShared,
} from './api.js';
import { gatherPool } from './frames.js';
import { MODULES } from './handlers/index.js';
import { type KafkaCounters, type KafkaHost, newCounters } from './host.js';
import { brokerIdentity } from './node-id.js';
import { KafkaSession } from './session.js';
import { KafkaTopics } from './topics.js';

/** The broker address, filled in at start (the port is known once bound). */
class Broker implements BrokerAddress {
  nodeId = 0;
  host = '';
  port = 0;
  clusterId = '';
}

export class KafkaFace implements Face, KafkaHost {
  readonly name = 'kafka';
  listeners: FaceListener[] = [];
  readonly counters: KafkaCounters = newCounters();
  readonly shared: KafkaShared;
  readonly topics: KafkaTopics;
  table: ReadonlyMap<number, ApiHandler> = new Map();
  private readonly broker = new Broker();
  private readonly modules = new Map<string, KafkaModule>();
  private readonly live = new Set<KafkaSession>();
  private port: TcpPort | null = null;
  private started: KafkaModule[] = [];

  constructor(private readonly host: FaceHost) {
    this.topics = new KafkaTopics(host);
    this.shared = {
      host,
      broker: this.broker,
      topics: this.topics,
      modules: this.modules,
    };
  }

  get options(): ServerOptions {
    return this.host.options;
  }
  get log() {
    return this.host.log;
  }
  get security() {
    return this.host.security;
  }
  get flusher() {
    return this.host.flusher;
  }
  get outbound() {
    return this.host.outbound;
  }
  get stats() {
    return this.host.stats;
  }
  get connections() {
    return this.host.connections;
  }
  get tlsVerifyAndMap(): boolean {
    return this.options.kafkaTls?.verifyAndMap === true;
  }

  async start(): Promise<void> {
    const o = this.options;
    if (this.host.jetstream === null) {
      throw new StartError(
        'kafka.port',
        'the Kafka face keeps topics in streams and needs JetStream (jetstream: true)',
      );
    }
    // The workers of `--workers N` share worker 0's identity (src/workers/plan.ts).
    const id = o.kafkaBrokerIdentity ?? (await brokerIdentity(o.dataDir, o.name));
    this.broker.nodeId = id.nodeId;
    this.broker.clusterId = id.clusterId;
    for (const make of MODULES) {
      const m = make(this.shared);
      this.modules.set(m.name, m);
    }
    this.table = handlerTable(this.modules.values());
    for (const m of this.modules.values()) {
      this.started.push(m);
      await m.start?.();
    }
    // Kafka has no refusal message: past max_connections the broker just closes.
    const port = new TcpPort(this.host, {
      face: 'kafka',
      label: 'Kafka',
      setting: 'kafka.port',
      tlsSetting: 'kafka.tls',
      host: o.kafkaHost || o.host,
      port: o.kafkaPort,
      tls: o.kafkaTls,
      authRequired: this.security.required,
      open: (cid, socket, tls) => this.open(new KafkaSession(cid, socket, this, tls ?? undefined)),
      sharedRead: true,
    });
    this.port = port;
    const bound = await port.start();
    this.listeners = [bound];
    this.broker.port = bound.port;
    this.broker.host = advertisedHost(o.kafkaAdvertisedHost, bound.host);
    this.log.info(
      `Kafka broker advertised as ${this.broker.host}:${bound.port}, node id ${this.broker.nodeId}`,
    );
  }

  private open(c: KafkaSession): void {
    this.live.add(c);
    this.host.connections.opened(c);
  }

  sessionAuthenticated(c: KafkaSession): void {
    this.host.connections.authenticated(c);
  }

  sessionClosed(c: KafkaSession): void {
    this.live.delete(c);
    this.host.connections.closed(c);
  }

  reloadCertificates(next: ServerOptions): void {
    this.port?.reload(next.kafkaTls);
  }

  get tlsFailures(): ReadonlyMap<string, number> {
    return this.port?.tlsFailures ?? new Map();
  }

  varz(): Record<string, unknown> {
    const o = this.options;
    const out: Record<string, unknown> = {
      node_id: this.broker.nodeId,
      cluster_id: this.broker.clusterId,
      advertised: `${this.broker.host}:${this.broker.port}`,
      max_request_bytes: o.kafkaMaxRequestBytes,
      auto_create_topics: o.kafkaAutoCreateTopics,
      connections: this.live.size,
      topic_cache_clears: this.topics.cacheClears,
      frame_buffers_allocated: gatherPool.allocated,
      frame_buffers_dropped: gatherPool.dropped,
      ...Object.fromEntries(Object.entries(this.counters).map(([k, v]) => [snake(k), v])),
    };
    for (const m of this.modules.values()) Object.assign(out, m.varz?.());
    return out;
  }

  metrics(registry: Registry): void {
    const { counter, gauge } = scrapeReaders(registry);
    gauge('weft_kafka_connections', 'Kafka connections open now', () => this.live.size);
    for (const [k, help] of Object.entries(COUNTER_HELP)) {
      counter(`weft_kafka_${snake(k)}_total`, help, () => this.counters[k as keyof KafkaCounters]);
    }
    for (const m of this.modules.values()) m.metrics?.(registry);
  }

  async stop(): Promise<void> {
    await this.port?.stop();
    for (const m of this.started.reverse()) {
      await m.stop?.().catch((err: unknown) => {
        this.log.error(`kafka: module ${m.name} did not stop cleanly: ${(err as Error).message}`);
      });
    }
    this.started = [];
    await this.topics.close();
  }
}

const COUNTER_HELP: Record<keyof KafkaCounters, string> = {
  requests: 'Kafka requests handled',
  framesTooLarge: 'Kafka connections closed for a frame over kafka.max_request_bytes',
  badRequests: 'Kafka connections closed for a request that does not decode',
  unsupportedVersions: 'Kafka requests of an API or version not served',
  beforeSasl: 'Kafka connections closed for a request before SASL authentication',
  authTimeouts: 'Kafka connections closed for not authenticating within auth_timeout',
  handlerErrors: 'Kafka requests whose handler failed (a bug)',
};

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The host clients are told: the setting, else the bound address, else this machine's name. */
export function advertisedHost(setting: string, bound: string): string {
  if (setting !== '') return setting;
  if (bound !== '' && bound !== '0.0.0.0' && bound !== '::') return bound;
  return os.hostname();
}

/** The Kafka face, or null when `kafka.port` is -1 (the default). */
export function kafkaFace(host: FaceHost): Face | null {
  return host.options.kafkaPort === -1 ? null : new KafkaFace(host);
}
