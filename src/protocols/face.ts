/**
 * A face: one wire protocol a node speaks (NATS, MQTT, WebSocket, HTTP,
 * Kafka, Redis). The node gives each face a `FaceHost` — the core, the
 * node's security, the shared connection base and its bounds, the
 * connection registry — and a face gives back its listeners, its
 * connections (through the registry) and a way to stop. docs/faces.md is
 * the contract; a face is built against that page alone.
 *
 * Nothing here is protocol-specific, and nothing here imports the node
 * (src/server/): the node imports the faces, never the reverse.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Security } from '../auth/security.js';
import type { ServerOptions } from '../config/options.js';
import type { Congestion } from '../connection/congestion.js';
import type { Flusher } from '../connection/connection.js';
import type { Outbound } from '../connection/outbound.js';
import type { ConnectionRegistry } from '../connection/registry.js';

export type { ClientDescription, FaceConnection } from '../connection/face-connection.js';
export type { Transport } from '../connection/transport.js';

import type { ServerStats } from '../connection/stats.js';
import type { TlsFiles } from '../connection/tls.js';
import type { TlsSessionInfo } from '../connection/tls-accept.js';
import type { Transport } from '../connection/transport.js';
import type { Accounts } from '../core/account.js';
import type { Router } from '../core/router.js';
import type { JetStream } from '../jetstream/service.js';
import type { Health } from '../util/health.js';
import type { Logger } from '../util/logger.js';

/** What the node gives every face. */
export interface FaceHost {
  readonly serverId: string;
  /** The node's name (`server_name`). */
  readonly name: string;
  /** The whole configuration; a face reads its own section and the shared limits. */
  readonly options: ServerOptions;
  readonly log: Logger;
  /** The core: publish into an account, subscribe a `Subscriber`. */
  readonly router: Router;
  readonly accounts: Accounts;
  /** Login, connection limits, permissions, quotas (docs/security.md). */
  readonly security: Security;
  /** Batches every connection's writes per read batch. */
  readonly flusher: Flusher;
  /** Bytes held for all peers, bounded by max_pending_total and write_deadline. */
  readonly outbound: Outbound;
  /** Publishers pause while a subscriber's socket is full. */
  readonly congestion: Congestion;
  /** Node-wide counters (`/varz`, `/metrics`). */
  readonly stats: ServerStats;
  /** What is wrong now (`/healthz`). */
  readonly health: Health;
  /** Every open connection of every face, max_connections, closed connections, advisories. */
  readonly connections: ConnectionRegistry;
  /** The client port's TLS files (`tls`), null when plain. A face may share them or load its own. */
  readonly tlsFiles: TlsFiles | null;
  /** JetStream when on: where a face keeps durable state (sessions, retained messages, topics). */
  readonly jetstream: JetStream | null;
  /** True once shutdown began: accept nothing new. */
  readonly shuttingDown: boolean;
  /**
   * The node's WebSocket listener (`websocket.port`), shared by faces: a
   * face registers a route (a path and subprotocols) and gets each
   * connection upgraded on it. Null when `websocket.port` is -1 (off).
   */
  readonly websocket: WebSocketRoutes | null;
}

/** A face's place on the WebSocket listener (docs/faces.md, "WebSocket"). */
export interface WebSocketRoute {
  /** The face that serves it (`mqtt`, `nats`): the log, the counters. */
  readonly face: string;
  /** The request path, exactly (`/mqtt`); the query string is ignored. */
  readonly path: string;
  /**
   * Subprotocols the route speaks, in order of preference. When not empty,
   * the client must offer one of them (the first it offers that is here is
   * selected) or the upgrade is refused with 400. Empty: none is selected.
   */
  readonly subprotocols: readonly string[];
  /** Text frames close the connection with 1003 (MQTT: [MQTT-6.0.0-1]). */
  readonly binaryOnly: boolean;
  /**
   * A connection was upgraded on this route. The listener has already
   * counted it under `max_connections`; the face takes an id
   * (`connections.nextId()`), builds its session on `transport` as on a TCP
   * socket, and calls `connections.opened` — synchronously.
   */
  onConnection(transport: Transport, upgrade: WebSocketUpgrade): void;
}

/** What a face learns about an upgraded WebSocket connection. */
export interface WebSocketUpgrade {
  /** The request path (`/mqtt`) and the subprotocol selected ('' for none). */
  readonly path: string;
  readonly protocol: string;
  /** The request's headers (Origin, Cookie, User-Agent, …), lower-case names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** wss: the TLS handshake (and the verified client certificate, with `websocket.tls.verify`). */
  readonly tls: TlsSessionInfo | null;
}

/**
 * Serves a plain HTTP request (not an upgrade) that came on the WebSocket
 * listener. The listener has admitted its connection (it held a place under
 * `max_connections`, given back now): the handler takes the socket
 * (`req.socket`) as a connection of its face, synchronously.
 */
export type PlainRequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  tls: TlsSessionInfo | null,
) => void;

/** The WebSocket listener as a face sees it. */
export interface WebSocketRoutes {
  /** Adds a route; throws when its path and a subprotocol are already taken. */
  route(route: WebSocketRoute): void;
  /**
   * Plain HTTP requests (not upgrades) whose path starts with `prefix`
   * (`/v1/`) go to `handler` (the HTTP API, so a browser app needs one
   * port); others are refused as before (404, 426). Throws when the prefix
   * is taken.
   */
  requests(prefix: string, handler: PlainRequestHandler): void;
  /** True when the listener serves wss only (`websocket.tls`). */
  readonly tls: boolean;
}

/** A listening socket of a face, as the log, `/varz` and `startServer` report it. */
export interface FaceListener {
  /** The setting that configures it: `port`, `mqtt.port`, `websocket.port`, … */
  readonly setting: string;
  readonly host: string;
  readonly port: number;
  /** Connections on it are TLS. */
  readonly tls: boolean;
}

/** A face of a node. */
export interface Face {
  /** `nats`, `mqtt`, … */
  readonly name: string;
  /**
   * Opens the listeners. Throws a StartError naming the setting (e.g.
   * `mqtt.port`) when one cannot be opened; the node then stops whatever
   * was opened, this face included (stop must cope with a partial start).
   */
  start(): Promise<void>;
  /** Bound listeners (empty before start). */
  readonly listeners: readonly FaceListener[];
  /**
   * Stops accepting: closes the listeners and the face's timers. The node
   * closes the connections themselves through the registry.
   */
  stop(): Promise<void>;
  /**
   * A reload (SIGHUP) with the new options: load new certificates, throwing
   * a ConfigError naming the setting, with nothing changed, if one cannot
   * be used. Called before anything else of the reload is applied.
   */
  reloadCertificates?(next: ServerOptions): void;
  /** A reload was applied: `host.options` and `host.security` are the new ones. */
  reloaded?(): void;
  /** TLS handshakes refused, by reason (summed into `weft_tls_handshake_failures_total`). */
  readonly tlsFailures?: ReadonlyMap<string, number>;
  /** The face's own `/varz` fields, under its name. */
  varz?(): Record<string, unknown>;
  /** Registers the face's own metrics (`weft_<face>_…`). */
  metrics?(registry: Registry): void;
}

/** Builds a face for a node, or null when its configuration turns it off. */
export type FaceFactory = (host: FaceHost) => Face | null;
