/**
 * The Kafka face: the Kafka port (`kafka.port`, `kafka.host`), TLS from the
 * first byte when `kafka.tls` is set (mTLS with its `verify`, and
 * `verify_and_map` to log in by certificate), admission under the node's
 * max_connections, and the modules whose handlers serve the requests
 * (handlers/index.ts). The node is one Kafka broker to its clients: its
 * node id and cluster id are stable across restarts (node-id.ts). A face
 * like any other (docs/faces.md); docs/kafka.md describes it for operators.
 */

import { createServer, type Server as NetServer, type Socket } from 'node:net';
import os from 'node:os';
import type { Registry } from 'prom-client';
import type { ServerOptions } from '../../config/options.js';
import { TlsFiles } from '../../connection/tls.js';
import { TlsAcceptor } from '../../connection/tls-accept.js';
import { CloseReason, StartError } from '../../errors.js';
import { isLoopback } from '../../mesh/settings.js';
import { scrapeReaders } from '../../monitor/metric-kit.js';
import { listen } from '../../util/listen.js';
import type { Face, FaceHost, FaceListener } from '../face.js';
import {
  type ApiHandler,
  type BrokerAddress,
  handlerTable,
  type KafkaModule,
  type KafkaShared,
} from './api.js';
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
  private listener: NetServer | null = null;
  private tlsFiles: TlsFiles | null = null;
  private tlsAcceptor: TlsAcceptor | null = null;
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
    const id = await brokerIdentity(o.dataDir, o.name);
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
    if (o.kafkaTls !== null) {
      this.tlsFiles = new TlsFiles('kafka.tls', o.kafkaTls);
      this.tlsAcceptor = this.newTlsAcceptor(this.tlsFiles);
    }
    const host = o.kafkaHost || o.host;
    const listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener = listener;
    const port = await listen(listener, o.kafkaPort, host, 'kafka');
    listener.on('error', (err) => this.log.error(`kafka listener: ${err.message}`));
    this.broker.port = port;
    this.broker.host = advertisedHost(o.kafkaAdvertisedHost, host);
    this.listeners = [{ setting: 'kafka.port', host, port, tls: o.kafkaTls !== null }];
    this.log.info(
      `Listening for Kafka clients on ${host}:${port}${o.kafkaTls !== null ? ' (TLS only)' : ''}, advertised as ${this.broker.host}:${port}, node id ${this.broker.nodeId}`,
    );
    if (!this.security.required && !isLoopback(host)) {
      this.log.warn(
        `no authentication is configured and the Kafka port listens on ${host}: anyone who can reach it may produce and consume (set authorization or accounts)`,
      );
    }
  }

  private accept(socket: Socket): void {
    const h = this.host;
    if (h.shuttingDown) {
      socket.destroy();
      return;
    }
    if (!h.connections.admit('kafka', socket.remoteAddress ?? '', socket.remotePort ?? 0)) {
      // Kafka has no refusal message: the broker closes (max.connections).
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const cid = h.connections.nextId();
    if (this.tlsAcceptor !== null) {
      h.connections.handshake(true);
      this.tlsAcceptor.accept(socket, cid);
      return;
    }
    this.open(new KafkaSession(cid, socket, this));
  }

  private open(c: KafkaSession): void {
    this.live.add(c);
    this.host.connections.opened(c);
  }

  private newTlsAcceptor(files: TlsFiles): TlsAcceptor {
    const h = this.host;
    return new TlsAcceptor(
      files,
      {
        secure: (p, socket, info) => {
          h.connections.handshake(false);
          if (h.shuttingDown) {
            socket.destroy();
            return;
          }
          this.open(new KafkaSession(p.cid, socket, this, info));
        },
        failed: (p) => {
          h.connections.handshake(false);
          h.connections.closedEarly({
            id: p.cid,
            face: 'kafka',
            remoteAddress: p.remoteAddress,
            remotePort: p.remotePort,
            started: p.started,
            reason: CloseReason.TlsHandshake,
          });
        },
      },
      this.log,
    );
  }

  sessionAuthenticated(c: KafkaSession): void {
    this.host.connections.authenticated(c);
  }

  sessionClosed(c: KafkaSession): void {
    this.live.delete(c);
    this.host.connections.closed(c);
  }

  reloadCertificates(next: ServerOptions): void {
    if (this.tlsFiles !== null && next.kafkaTls !== null) {
      this.tlsFiles.reload(next.kafkaTls);
      this.tlsAcceptor?.reload();
    }
  }

  get tlsFailures(): ReadonlyMap<string, number> {
    return this.tlsAcceptor?.failures ?? new Map();
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
    this.tlsAcceptor?.closeAll();
    const listener = this.listener;
    if (listener?.listening) {
      await new Promise<void>((r) => listener.close(() => r()));
    }
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
