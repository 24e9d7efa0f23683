/**
 * The node's settings: one typed record shared by the embedding API, the
 * config file and the command line. Defaults match nats-server's where the
 * meaning is the same, so clients see familiar limits.
 */

import type { SecurityConfig, TlsConfig } from '../auth/types.js';
import { NO_SECURITY } from '../auth/types.js';
import type { WebhookSpec } from '../protocols/http/webhooks/spec.js';

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

export interface ServerOptions {
  /** Address the client (NATS) and monitoring listeners bind to. */
  host: string;
  /** NATS client port; 0 picks a free one. */
  port: number;
  /** Monitoring HTTP port; 0 picks a free one, -1 disables monitoring. */
  httpPort: number;
  /** Address the monitoring listener binds to; '' (the default): `host`. */
  httpHost: string;
  /**
   * Monitoring over HTTPS with the `tls` block's certificate (nats-server's
   * https_port); 0 picks a free one, -1 (the default) none. When set, it
   * replaces `httpPort`: monitoring is not also served in clear.
   */
  httpsPort: number;
  /** Bearer token every monitoring request must present (`Authorization: Bearer …`); '' for none. */
  monitorToken: string;
  /**
   * Processes serving clients (`weft server` only; docs/workers.md): 1 (the
   * default) is one node in this process; N > 1 runs N nodes, each in its
   * own process, sharing the client ports and linked by a loopback mesh.
   * The embedding API (startServer) always runs one node.
   */
  workers: number;
  /** Where durable data lives. */
  dataDir: string;
  /** This node's name (defaults to its generated id). */
  name: string;
  /** Largest message payload (headers + body) a client may publish, bytes. */
  maxPayload: number;
  /** Longest protocol control line (e.g. a PUB line), bytes. */
  maxControlLine: number;
  /** Bytes queued to one connection before it is closed as a slow consumer. */
  maxPending: number;
  /**
   * A client connection whose writes made no progress (the socket took none
   * of its queued bytes) for this long is closed as a slow consumer, ms
   * (nats-server's write_deadline, default 10s).
   */
  writeDeadlineMs: number;
  /**
   * Bytes queued to all client connections together; when passed, the
   * connections holding the most are closed as slow consumers first.
   */
  maxPendingTotal: number;
  /** Concurrent client connections; more are refused with -ERR. */
  maxConnections: number;
  /** Subscriptions per connection; 0 means unlimited. */
  maxSubscriptions: number;
  /** Time a new connection has to send CONNECT, ms. */
  authTimeoutMs: number;
  /** Interval between server PINGs to each client, ms. */
  pingIntervalMs: number;
  /** Unanswered PINGs after which a connection is closed as stale. */
  maxPingsOut: number;
  /** Time allowed to flush queued bytes on shutdown, ms. */
  shutdownGraceMs: number;
  logLevel: LogLevel;
  /**
   * Port for mesh links; 0 picks a free one, -1 listens for none (dial out
   * only); null (the default): 7422 when `links` are configured, else none.
   */
  meshPort: number | null;
  /** Address the mesh listener binds to; '' (the default): `host`. */
  meshHost: string;
  /** Allow a mesh listener on a non-loopback address without a token. */
  meshAllowInsecure: boolean;
  /** Time a new link has to complete its handshake, ms. */
  meshHandshakeTimeoutMs: number;
  /** Peers to dial: `weft://host:port[?cost=N]`. */
  links: string[];
  /** Shared secret every link must present. */
  meshToken: string;
  /** Link PING interval, ms. */
  meshHeartbeatMs: number;
  /** A link silent this long is dead, ms. */
  meshDeadAfterMs: number;
  /** Cap of the redial backoff, ms. */
  meshReconnectMaxMs: number;
  /** Bytes queued to one link before data messages are dropped. */
  meshMaxPending: number;
  /** Serve the JetStream API and streams (stored under `<dataDir>/streams`). */
  jetstream: boolean;
  /**
   * When file streams fsync: 0 before every publish ack (group commit, the
   * default: an ack means stable storage), else every this many ms (acks
   * then mean written to the OS, as nats-server's default of 2 min).
   */
  syncIntervalMs: number;
  /** Authentication, accounts and permissions (nats-server's blocks; src/auth/config.ts). */
  security: SecurityConfig;
  /** TLS on the client port (nats-server's `tls` block); null: plain TCP. */
  tls: TlsConfig | null;
  /** Mutual TLS on mesh links (`mesh.tls`); null: plain TCP (the token handshake still applies). */
  meshTls: TlsConfig | null;
  /** The WebSocket listener's port (faces' routes: MQTT at /mqtt); 0 picks a free one, -1 (the default) none. */
  websocketPort: number;
  /** Address the WebSocket listener binds to; '' (the default): `host`. */
  websocketHost: string;
  /** TLS on the WebSocket listener (`websocket.tls`): it then serves wss only; null: ws. */
  websocketTls: TlsConfig | null;
  /** Origins (`https://app.example.com`) a browser may connect from; empty: any. */
  websocketAllowedOrigins: string[];
  /** Offer permessage-deflate (compressed messages) to clients that ask. */
  websocketCompression: boolean;
  /** Time a WebSocket connection has for its TLS and HTTP upgrade handshakes, ms. */
  websocketHandshakeTimeoutMs: number;
  /** Largest WebSocket message a client may send, bytes; 0 (the default): max_payload + 64KiB. */
  websocketMaxMessage: number;
  /** Cookies of a WebSocket upgrade whose values log in a NATS client whose CONNECT leaves the field empty ('' none): a user JWT (operator mode), user, password, token. */
  websocketJwtCookie: string;
  websocketUserCookie: string;
  websocketPassCookie: string;
  websocketTokenCookie: string;
  /** The user a NATS client over WebSocket that presents no credentials logs in as ('' none: `no_auth_user` applies). */
  websocketNoAuthUser: string;
  /** MQTT port; 0 picks a free one, -1 (the default) none (src/protocols/mqtt). */
  mqttPort: number;
  /** Address the MQTT listener binds to; '' (the default): `host`. */
  mqttHost: string;
  /** TLS on the MQTT port (`mqtt.tls`), which is then TLS only; null: plain TCP. */
  mqttTls: TlsConfig | null;
  /** Redis port; 0 picks a free one, -1 (the default) none (src/protocols/redis). */
  redisPort: number;
  /** Address the Redis listener binds to; '' (the default): `host`. */
  redisHost: string;
  /** TLS on the Redis port (`redis.tls`), which is then TLS only; null: plain TCP. */
  redisTls: TlsConfig | null;
  /** Bytes queued for a Redis client in pub/sub mode before it is closed (client-output-buffer-limit pubsub). */
  redisPubsubOutputLimit: number;
  /** Largest MQTT packet a client may send, bytes (bounded by maxPayload + MQTT_PACKET_HEADROOM). */
  mqttMaxPacketSize: number;
  /** QoS 1/2 messages in flight to one MQTT client (the server's side of Receive Maximum). */
  mqttMaxInflight: number;
  /** Topic filters one MQTT session may hold. */
  mqttMaxSubscriptions: number;
  /** Longest MQTT topic name or filter, bytes. */
  mqttMaxTopicLength: number;
  /** Longest keep alive an MQTT 5 client may use, seconds (Server Keep Alive); 0: the client's. */
  mqttMaxKeepAlive: number;
  /** A binary-mode CloudEvent goes to MQTT 3.1.1 subscribers in structured mode (docs/cloudevents.md). */
  mqttCloudEventsStructured: boolean;
  /** Kafka port; 0 picks a free one, -1 (the default) none (src/protocols/kafka, docs/kafka.md). */
  kafkaPort: number;
  /** Address the Kafka listener binds to; '' (the default): `host`. */
  kafkaHost: string;
  /** TLS on the Kafka port (`kafka.tls`), which is then TLS only; null: plain TCP. */
  kafkaTls: TlsConfig | null;
  /** Host name Metadata tells clients to connect to; '' (the default): the listener's. */
  kafkaAdvertisedHost: string;
  /**
   * The Kafka broker identity to use instead of the one kept in the data
   * directory (src/protocols/kafka/node-id.ts): the workers of `--workers N`
   * are one broker to Kafka clients (src/workers/plan.ts). Not a setting.
   */
  kafkaBrokerIdentity: { readonly nodeId: number; readonly clusterId: string } | null;
  /** Create a missing topic (one partition) on Produce or Metadata. */
  kafkaAutoCreateTopics: boolean;
  /** Largest Kafka request frame, bytes (socket.request.max.bytes); larger closes the connection. */
  kafkaMaxRequestBytes: number;
  /** How long the first rebalance of an empty consumer group waits for more members (Kafka's group.initial.rebalance.delay.ms). */
  kafkaGroupInitialRebalanceDelayMs: number;
  /** Shortest session.timeout.ms a group member may ask (shorter: INVALID_SESSION_TIMEOUT). */
  kafkaGroupMinSessionTimeoutMs: number;
  /** Longest session.timeout.ms a group member may ask. */
  kafkaGroupMaxSessionTimeoutMs: number;
  /** Members per consumer group (more: GROUP_MAX_SIZE_REACHED). */
  kafkaGroupMaxSize: number;
  /** Consumer groups per account on this node (a new one past it: COORDINATOR_NOT_AVAILABLE). */
  kafkaMaxGroups: number;
  /** The HTTP API's port (`http.port`, src/protocols/http); 0 picks a free one, -1 (the default) none. */
  httpApiPort: number;
  /** Address the HTTP API binds to (`http.host`); '' (the default): `host`. */
  httpApiHost: string;
  /** TLS on the HTTP API (`http.tls`): it then serves HTTPS only; null: plain HTTP. */
  httpApiTls: TlsConfig | null;
  /** SSE: a `: hb` comment after this long without a write (`http.sse_heartbeat`, ms; 0: none). */
  httpSseHeartbeatMs: number;
  /** SSE: the reconnection delay hint sent first (`http.sse_retry`, ms). */
  httpSseRetryMs: number;
  /** SSE: bytes held for one response before it is closed as a slow consumer (`http.sse_max_pending`). */
  httpSseMaxPending: number;
  /** SSE: responses open at once on the node (`http.sse_max_streams`; 0: no limit). */
  httpSseMaxStreams: number;
  /** SSE: responses open at once per user of an account (`http.sse_max_per_identity`; 0: no limit). */
  httpSseMaxPerIdentity: number;
  /** CORS: browser origins the HTTP API answers (`http.allowed_origins`; `*` any; empty: none, same-origin only). */
  httpAllowedOrigins: string[];
  /**
   * A cookie whose value is read as `Authorization: Bearer <value>` (a
   * token or a bearer user JWT) when a request has no Authorization
   * header (`http.token_cookie`; '' none): `EventSource` cannot set headers.
   */
  httpTokenCookie: string;
  /** Webhooks defined in the config (`webhooks:`, docs/webhooks.md); run with or without `http.port`. */
  webhooks: WebhookSpec[];
}

export const DEFAULTS: Readonly<ServerOptions> = Object.freeze({
  host: '0.0.0.0',
  port: 4222,
  httpPort: 8222,
  httpHost: '',
  httpsPort: -1,
  monitorToken: '',
  workers: 1,
  dataDir: './data',
  name: '',
  maxPayload: 1024 * 1024,
  maxControlLine: 4096,
  maxPending: 64 * 1024 * 1024,
  writeDeadlineMs: 10_000,
  maxPendingTotal: 256 * 1024 * 1024,
  maxConnections: 64 * 1024,
  maxSubscriptions: 0,
  authTimeoutMs: 2000,
  pingIntervalMs: 120_000,
  maxPingsOut: 2,
  shutdownGraceMs: 5000,
  logLevel: 'info',
  meshPort: null,
  meshHost: '',
  meshAllowInsecure: false,
  meshHandshakeTimeoutMs: 2000,
  links: [],
  meshToken: '',
  meshHeartbeatMs: 500,
  meshDeadAfterMs: 2000,
  meshReconnectMaxMs: 1000,
  meshMaxPending: 64 * 1024 * 1024,
  jetstream: true,
  syncIntervalMs: 0,
  security: NO_SECURITY,
  tls: null,
  meshTls: null,
  websocketPort: -1,
  websocketHost: '',
  websocketTls: null,
  websocketAllowedOrigins: [],
  websocketCompression: false,
  websocketHandshakeTimeoutMs: 2000,
  websocketMaxMessage: 0,
  websocketJwtCookie: '',
  websocketUserCookie: '',
  websocketPassCookie: '',
  websocketTokenCookie: '',
  websocketNoAuthUser: '',
  mqttPort: -1,
  mqttHost: '',
  mqttTls: null,
  redisPort: -1,
  redisHost: '',
  redisTls: null,
  redisPubsubOutputLimit: 32 * 1024 * 1024,
  mqttMaxPacketSize: 1024 * 1024,
  mqttMaxInflight: 100,
  mqttMaxSubscriptions: 1000,
  mqttMaxTopicLength: 4096,
  mqttMaxKeepAlive: 0,
  mqttCloudEventsStructured: true,
  kafkaPort: -1,
  kafkaHost: '',
  kafkaTls: null,
  kafkaAdvertisedHost: '',
  kafkaBrokerIdentity: null,
  kafkaAutoCreateTopics: false,
  kafkaMaxRequestBytes: 100 * 1024 * 1024,
  kafkaGroupInitialRebalanceDelayMs: 3000,
  kafkaGroupMinSessionTimeoutMs: 6000,
  kafkaGroupMaxSessionTimeoutMs: 1_800_000,
  kafkaGroupMaxSize: 1000,
  kafkaMaxGroups: 10_000,
  httpApiPort: -1,
  httpApiHost: '',
  httpApiTls: null,
  httpSseHeartbeatMs: 15_000,
  httpSseRetryMs: 2_000,
  httpSseMaxPending: 4 * 1024 * 1024,
  httpSseMaxStreams: 10_000,
  httpSseMaxPerIdentity: 1_000,
  httpAllowedOrigins: [],
  httpTokenCookie: '',
  webhooks: [],
});

export function withDefaults(partial: Partial<ServerOptions> = {}): ServerOptions {
  const out: ServerOptions = { ...DEFAULTS };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}
