/**
 * The table of settings: each one's config-file key, flag, option, kind and
 * help text. It drives the YAML and .conf readers, the `weft server` flags
 * and their help (config.ts reads and checks the values).
 */
import type { ServerOptions } from './options.js';

/** The most worker processes `workers` may ask for (src/workers). */
export const MAX_WORKERS = 64;

/** The largest max_payload allowed (nats-server warns above 8 MiB; a client must not make us allocate more). */
export const MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024;
/** The largest kafka.max_request_bytes: a request is held whole in memory. */
export const KAFKA_MAX_REQUEST_LIMIT = 1024 * 1024 * 1024;
/** Bounds on max_control_line: room for a PUB line, and not a second payload. */
export const MIN_CONTROL_LINE = 64;
export const MAX_CONTROL_LINE_LIMIT = 1024 * 1024;
/** What an MQTT packet may add to its payload (topic, properties): mqtt.max_packet_size is at most max_payload + this. */
export const MQTT_PACKET_HEADROOM = 64 * 1024;
/** The smallest mqtt.max_packet_size: room for a CONNECT with credentials. */
export const MQTT_PACKET_SIZE_MIN = 1024;

type Kind =
  | 'string'
  | 'port'
  | 'size'
  | 'duration'
  | 'count'
  | 'boolean'
  | 'loglevel'
  | 'links'
  | 'secret'
  | 'sync'
  | 'tls'
  | 'origins'
  | 'cors_origins'
  | 'webhooks';

export interface Setting {
  /** Key in the YAML file. */
  readonly file: string;
  /** Long flag name (without --). */
  readonly flag: string;
  readonly short?: string;
  readonly option: keyof ServerOptions;
  readonly kind: Kind;
  readonly help: string;
  /** For ports: the lowest value allowed (-1 disables monitoring). For sizes and counts: the smallest. */
  readonly min?: number;
  /** For sizes and counts: the largest value allowed. */
  readonly max?: number;
  /** Set only in the config file (a block): no command-line flag. */
  readonly fileOnly?: boolean;
}

/** The flag that turns a boolean setting off: `--no-jetstream` for `--jetstream`. */
export function negatedFlag(s: Setting): string {
  return `no-${s.flag}`;
}

export const SETTINGS: readonly Setting[] = [
  {
    file: 'host',
    flag: 'host',
    short: 'a',
    option: 'host',
    kind: 'string',
    help: 'address to bind (default 0.0.0.0)',
  },
  {
    file: 'port',
    flag: 'port',
    short: 'p',
    option: 'port',
    kind: 'port',
    help: 'NATS client port, 0 for any free port (default 4222)',
  },
  {
    file: 'workers',
    flag: 'workers',
    option: 'workers',
    kind: 'count',
    min: 1,
    max: MAX_WORKERS,
    help: `processes serving clients on the same ports, one core each, linked over loopback (1 to ${MAX_WORKERS}; default 1; docs/workers.md)`,
  },
  {
    file: 'http_port',
    flag: 'http-port',
    short: 'm',
    option: 'httpPort',
    kind: 'port',
    min: -1,
    help: 'monitoring HTTP port, 0 for any, -1 to disable (default 8222)',
  },
  {
    file: 'http_host',
    flag: 'http-host',
    option: 'httpHost',
    kind: 'string',
    help: 'address the monitoring listener binds to (default: --host)',
  },
  {
    file: 'https_port',
    flag: 'https-port',
    option: 'httpsPort',
    kind: 'port',
    min: -1,
    help: 'monitoring over HTTPS with the tls certificate, instead of http_port; 0 for any (default -1: off)',
  },
  {
    file: 'monitor_token',
    flag: 'monitor-token',
    option: 'monitorToken',
    kind: 'secret',
    help: 'bearer token every monitoring request must send (Authorization: Bearer TOKEN)',
  },
  {
    file: 'data_dir',
    flag: 'data-dir',
    option: 'dataDir',
    kind: 'string',
    help: 'directory for durable data (default ./data)',
  },
  {
    file: 'name',
    flag: 'name',
    short: 'n',
    option: 'name',
    kind: 'string',
    help: 'node name (default: the generated node id)',
  },
  {
    file: 'max_payload',
    flag: 'max-payload',
    option: 'maxPayload',
    kind: 'size',
    max: MAX_PAYLOAD_LIMIT,
    help: 'largest message a client may publish (default 1MiB)',
  },
  {
    file: 'max_control_line',
    flag: 'max-control-line',
    option: 'maxControlLine',
    kind: 'size',
    min: MIN_CONTROL_LINE,
    max: MAX_CONTROL_LINE_LIMIT,
    help: 'longest protocol line (default 4KiB)',
  },
  {
    file: 'max_pending',
    flag: 'max-pending',
    option: 'maxPending',
    kind: 'size',
    help: 'bytes queued to a client before it is a slow consumer (default 64MiB)',
  },
  {
    file: 'write_deadline',
    flag: 'write-deadline',
    option: 'writeDeadlineMs',
    kind: 'duration',
    help: 'a client whose writes make no progress this long is a slow consumer (default 10s)',
  },
  {
    file: 'max_pending_total',
    flag: 'max-pending-total',
    option: 'maxPendingTotal',
    kind: 'size',
    help: 'bytes queued to all clients; past it the biggest holders are slow consumers (default 256MiB)',
  },
  {
    file: 'max_connections',
    flag: 'max-connections',
    option: 'maxConnections',
    kind: 'count',
    help: 'most client connections at once (default 65536)',
  },
  {
    file: 'max_subscriptions',
    flag: 'max-subscriptions',
    option: 'maxSubscriptions',
    kind: 'count',
    help: 'most subscriptions per connection, 0 = no limit (default 0)',
  },
  {
    file: 'auth_timeout',
    flag: 'auth-timeout',
    option: 'authTimeoutMs',
    kind: 'duration',
    help: 'time a client has to send CONNECT (default 2s)',
  },
  {
    file: 'ping_interval',
    flag: 'ping-interval',
    option: 'pingIntervalMs',
    kind: 'duration',
    help: 'interval of server PINGs (default 2m)',
  },
  {
    file: 'ping_max',
    flag: 'ping-max',
    option: 'maxPingsOut',
    kind: 'count',
    help: 'unanswered PINGs before a client is stale (default 2)',
  },
  {
    file: 'shutdown_grace',
    flag: 'shutdown-grace',
    option: 'shutdownGraceMs',
    kind: 'duration',
    help: 'time to flush clients on shutdown (default 5s)',
  },
  {
    file: 'log_level',
    flag: 'log-level',
    option: 'logLevel',
    kind: 'loglevel',
    help: 'silent, error, warn, info or debug (default info)',
  },
  {
    file: 'jetstream',
    flag: 'jetstream',
    option: 'jetstream',
    kind: 'boolean',
    help: 'serve JetStream, streams and consumers under data_dir (default on)',
  },
  {
    file: 'sync_interval',
    flag: 'sync-interval',
    option: 'syncIntervalMs',
    kind: 'sync',
    help: 'when file streams fsync: always (before each publish ack, default) or every <duration>',
  },
  {
    file: 'mesh.port',
    flag: 'mesh-port',
    option: 'meshPort',
    kind: 'port',
    min: -1,
    help: 'port for mesh links, 0 for any, -1 for none (default: 7422 with --link, else none)',
  },
  {
    file: 'mesh.host',
    flag: 'mesh-host',
    option: 'meshHost',
    kind: 'string',
    help: 'address the mesh listener binds to (default: --host)',
  },
  {
    file: 'mesh.allow_insecure',
    flag: 'mesh-allow-insecure',
    option: 'meshAllowInsecure',
    kind: 'boolean',
    help: 'allow a mesh listener on a non-loopback address with no token (default off)',
  },
  {
    file: 'mesh.handshake_timeout',
    flag: 'mesh-handshake-timeout',
    option: 'meshHandshakeTimeoutMs',
    kind: 'duration',
    help: 'time a new link has to complete its handshake (default 2s)',
  },
  {
    file: 'mesh.links',
    flag: 'link',
    option: 'links',
    kind: 'links',
    help: 'peer to dial, weft://host:port[?cost=N] (repeatable)',
  },
  {
    file: 'mesh.token',
    flag: 'mesh-token',
    option: 'meshToken',
    kind: 'secret',
    help: 'shared secret for mesh links (default none)',
  },
  {
    file: 'mesh.heartbeat',
    flag: 'mesh-heartbeat',
    option: 'meshHeartbeatMs',
    kind: 'duration',
    help: 'link PING interval (default 500ms)',
  },
  {
    file: 'mesh.dead_after',
    flag: 'mesh-dead-after',
    option: 'meshDeadAfterMs',
    kind: 'duration',
    help: 'a link silent this long is dead (default 2s)',
  },
  {
    file: 'mesh.reconnect_max',
    flag: 'mesh-reconnect-max',
    option: 'meshReconnectMaxMs',
    kind: 'duration',
    help: 'cap of the redial backoff (default 1s)',
  },
  {
    file: 'mesh.max_pending',
    flag: 'mesh-max-pending',
    option: 'meshMaxPending',
    kind: 'size',
    help: 'bytes queued to a link before data is dropped (default 64MiB)',
  },
  {
    file: 'tls',
    flag: 'tls',
    option: 'tls',
    kind: 'tls',
    fileOnly: true,
    help: 'TLS on the client port: a block with cert_file, key_file, ca_file, verify, verify_and_map, timeout (config file only)',
  },
  {
    file: 'mesh.tls',
    flag: 'mesh-tls',
    option: 'meshTls',
    kind: 'tls',
    fileOnly: true,
    help: 'mutual TLS on mesh links: a block as tls, verify on (config file only)',
  },
  {
    file: 'websocket.port',
    flag: 'websocket-port',
    option: 'websocketPort',
    kind: 'port',
    min: -1,
    help: 'WebSocket port (MQTT at /mqtt), 0 for any, -1 for none (default -1)',
  },
  {
    file: 'websocket.host',
    flag: 'websocket-host',
    option: 'websocketHost',
    kind: 'string',
    help: 'address the WebSocket listener binds to (default: --host)',
  },
  {
    file: 'websocket.tls',
    flag: 'websocket-tls',
    option: 'websocketTls',
    kind: 'tls',
    fileOnly: true,
    help: 'TLS on the WebSocket port (wss only): a block as tls (config file only)',
  },
  {
    file: 'websocket.allowed_origins',
    flag: 'websocket-allowed-origins',
    option: 'websocketAllowedOrigins',
    kind: 'origins',
    fileOnly: true,
    help: 'origins browsers may connect from, e.g. [https://app.example.com]; empty: any (config file only)',
  },
  {
    file: 'websocket.compression',
    flag: 'websocket-compression',
    option: 'websocketCompression',
    kind: 'boolean',
    help: 'offer permessage-deflate to WebSocket clients (default off)',
  },
  {
    file: 'websocket.handshake_timeout',
    flag: 'websocket-handshake-timeout',
    option: 'websocketHandshakeTimeoutMs',
    kind: 'duration',
    help: 'time for the TLS and HTTP upgrade handshakes of a WebSocket connection (default 2s)',
  },
  {
    file: 'websocket.max_message',
    flag: 'websocket-max-message',
    option: 'websocketMaxMessage',
    kind: 'size',
    min: 1024,
    max: MAX_PAYLOAD_LIMIT + 1024 * 1024,
    help: 'largest WebSocket message a client may send (default: max_payload + 64KiB)',
  },
  {
    file: 'websocket.jwt_cookie',
    flag: 'websocket-jwt-cookie',
    option: 'websocketJwtCookie',
    kind: 'string',
    help: 'cookie of a WebSocket upgrade holding a user JWT (operator mode) for a NATS CONNECT without one (default none)',
  },
  {
    file: 'websocket.user_cookie',
    flag: 'websocket-user-cookie',
    option: 'websocketUserCookie',
    kind: 'string',
    help: 'cookie of a WebSocket upgrade holding the user name for a NATS CONNECT without one (default none)',
  },
  {
    file: 'websocket.pass_cookie',
    flag: 'websocket-pass-cookie',
    option: 'websocketPassCookie',
    kind: 'string',
    help: 'cookie of a WebSocket upgrade holding the password for a NATS CONNECT without one (default none)',
  },
  {
    file: 'websocket.token_cookie',
    flag: 'websocket-token-cookie',
    option: 'websocketTokenCookie',
    kind: 'string',
    help: 'cookie of a WebSocket upgrade holding the token for a NATS CONNECT without one (default none)',
  },
  {
    file: 'websocket.no_auth_user',
    flag: 'websocket-no-auth-user',
    option: 'websocketNoAuthUser',
    kind: 'string',
    help: 'user a NATS client over WebSocket without credentials logs in as (default: no_auth_user)',
  },
  {
    file: 'mqtt.port',
    flag: 'mqtt-port',
    option: 'mqttPort',
    kind: 'port',
    min: -1,
    help: 'MQTT port (1883 is the usual), 0 for any free port, -1 for none (default -1)',
  },
  {
    file: 'mqtt.host',
    flag: 'mqtt-host',
    option: 'mqttHost',
    kind: 'string',
    help: 'address the MQTT listener binds to (default: --host)',
  },
  {
    file: 'mqtt.tls',
    flag: 'mqtt-tls',
    option: 'mqttTls',
    kind: 'tls',
    fileOnly: true,
    help: 'TLS on the MQTT port (then TLS only): a block as tls (config file only)',
  },
  {
    file: 'mqtt.max_packet_size',
    flag: 'mqtt-max-packet-size',
    option: 'mqttMaxPacketSize',
    kind: 'size',
    min: MQTT_PACKET_SIZE_MIN,
    max: MAX_PAYLOAD_LIMIT + MQTT_PACKET_HEADROOM,
    help: 'largest MQTT packet a client may send, at most max_payload + 64KiB (default 1MiB)',
  },
  {
    file: 'mqtt.max_inflight',
    flag: 'mqtt-max-inflight',
    option: 'mqttMaxInflight',
    kind: 'count',
    help: 'QoS 1/2 messages sent to an MQTT client and not yet acknowledged (the Receive Maximum; default 100)',
  },
  {
    file: 'mqtt.max_subscriptions',
    flag: 'mqtt-max-subscriptions',
    option: 'mqttMaxSubscriptions',
    kind: 'count',
    help: 'topic filters per MQTT session (default 1000)',
  },
  {
    file: 'mqtt.max_keep_alive',
    flag: 'mqtt-max-keep-alive',
    option: 'mqttMaxKeepAlive',
    kind: 'count',
    help: 'longest keep alive an MQTT 5 client may use, seconds; longer or none gets this as Server Keep Alive (default 0: the client chooses)',
  },
  {
    file: 'mqtt.max_topic_length',
    flag: 'mqtt-max-topic-length',
    option: 'mqttMaxTopicLength',
    kind: 'count',
    help: 'longest MQTT topic name or filter, bytes (default 4096)',
  },
  {
    file: 'mqtt.cloudevents_structured',
    flag: 'mqtt-cloudevents-structured',
    option: 'mqttCloudEventsStructured',
    kind: 'boolean',
    help: 'deliver binary-mode CloudEvents to MQTT 3.1.1 subscribers in structured mode, JSON (default on)',
  },
  {
    file: 'redis.port',
    flag: 'redis-port',
    option: 'redisPort',
    kind: 'port',
    min: -1,
    help: 'Redis port (6379 is the usual), 0 for any free port, -1 for none (default -1; docs/redis.md)',
  },
  {
    file: 'redis.host',
    flag: 'redis-host',
    option: 'redisHost',
    kind: 'string',
    help: 'address the Redis listener binds to (default: --host)',
  },
  {
    file: 'redis.tls',
    flag: 'redis-tls',
    option: 'redisTls',
    kind: 'tls',
    fileOnly: true,
    help: 'TLS on the Redis port (then TLS only): a block as tls (config file only)',
  },
  {
    file: 'redis.pubsub_output_limit',
    flag: 'redis-pubsub-output-limit',
    option: 'redisPubsubOutputLimit',
    kind: 'size',
    help: "bytes queued for a Redis client in pub/sub mode before it is closed, as Redis's client-output-buffer-limit pubsub (default 32MiB)",
  },
  {
    file: 'kafka.port',
    flag: 'kafka-port',
    option: 'kafkaPort',
    kind: 'port',
    min: -1,
    help: 'Kafka port (9092 is the usual; docs/kafka.md), 0 for any free port, -1 for none (default -1)',
  },
  {
    file: 'kafka.host',
    flag: 'kafka-host',
    option: 'kafkaHost',
    kind: 'string',
    help: 'address the Kafka listener binds to (default: --host)',
  },
  {
    file: 'kafka.tls',
    flag: 'kafka-tls',
    option: 'kafkaTls',
    kind: 'tls',
    fileOnly: true,
    help: 'TLS on the Kafka port (then TLS only): a block as tls (config file only)',
  },
  {
    file: 'kafka.advertised_host',
    flag: 'kafka-advertised-host',
    option: 'kafkaAdvertisedHost',
    kind: 'string',
    help: "host name Kafka clients are told to connect to in Metadata (default: kafka.host, or this machine's name when it listens on every address)",
  },
  {
    file: 'kafka.auto_create_topics',
    flag: 'kafka-auto-create-topics',
    option: 'kafkaAutoCreateTopics',
    kind: 'boolean',
    help: 'create a topic (one partition) when a client produces to or asks Metadata for one that does not exist (default off)',
  },
  {
    file: 'kafka.max_request_bytes',
    flag: 'kafka-max-request-bytes',
    option: 'kafkaMaxRequestBytes',
    kind: 'size',
    min: 1024,
    max: KAFKA_MAX_REQUEST_LIMIT,
    help: "largest Kafka request frame (Kafka's socket.request.max.bytes); a larger one closes the connection (default 100MiB)",
  },
  {
    file: 'kafka.group_initial_rebalance_delay',
    flag: 'kafka-group-initial-rebalance-delay',
    option: 'kafkaGroupInitialRebalanceDelayMs',
    kind: 'duration',
    help: "how long a consumer group's first rebalance waits for more members (Kafka's group.initial.rebalance.delay.ms; default 3s)",
  },
  {
    file: 'kafka.group_min_session_timeout',
    flag: 'kafka-group-min-session-timeout',
    option: 'kafkaGroupMinSessionTimeoutMs',
    kind: 'duration',
    help: 'shortest session timeout a consumer group member may ask; shorter is INVALID_SESSION_TIMEOUT (default 6s)',
  },
  {
    file: 'kafka.group_max_session_timeout',
    flag: 'kafka-group-max-session-timeout',
    option: 'kafkaGroupMaxSessionTimeoutMs',
    kind: 'duration',
    help: 'longest session timeout a consumer group member may ask (default 30m)',
  },
  {
    file: 'kafka.group_max_size',
    flag: 'kafka-group-max-size',
    option: 'kafkaGroupMaxSize',
    kind: 'count',
    help: 'members per consumer group; more are refused GROUP_MAX_SIZE_REACHED (default 1000)',
  },
  {
    file: 'kafka.max_groups',
    flag: 'kafka-max-groups',
    option: 'kafkaMaxGroups',
    kind: 'count',
    help: 'consumer groups per account on this node; a new one past it is refused COORDINATOR_NOT_AVAILABLE (default 10000)',
  },
  {
    file: 'http.port',
    flag: 'http-api-port',
    option: 'httpApiPort',
    kind: 'port',
    min: -1,
    help: 'HTTP API port (publish, request, subscribe, webhooks; docs/http.md), 0 for any, -1 for none (default -1)',
  },
  {
    file: 'http.host',
    flag: 'http-api-host',
    option: 'httpApiHost',
    kind: 'string',
    help: 'address the HTTP API binds to (default: --host)',
  },
  {
    file: 'http.tls',
    flag: 'http-api-tls',
    option: 'httpApiTls',
    kind: 'tls',
    fileOnly: true,
    help: 'TLS on the HTTP API port (then HTTPS only): a block as tls (config file only)',
  },
  {
    file: 'http.sse_heartbeat',
    flag: 'http-api-sse-heartbeat',
    option: 'httpSseHeartbeatMs',
    kind: 'duration',
    help: 'SSE: a ": hb" comment after this long without an event, 0 for none (default 15s)',
  },
  {
    file: 'http.sse_retry',
    flag: 'http-api-sse-retry',
    option: 'httpSseRetryMs',
    kind: 'duration',
    help: 'SSE: the reconnection delay a client is told (retry:) (default 2s)',
  },
  {
    file: 'http.sse_max_pending',
    flag: 'http-api-sse-max-pending',
    option: 'httpSseMaxPending',
    kind: 'size',
    help: 'SSE: bytes held for one response before it is closed as a slow consumer (default 4MiB)',
  },
  {
    file: 'http.sse_max_streams',
    flag: 'http-api-sse-max-streams',
    option: 'httpSseMaxStreams',
    kind: 'count',
    help: 'SSE: responses open at once on the node, 0 for no limit; past it 503 (default 10000)',
  },
  {
    file: 'http.sse_max_per_identity',
    flag: 'http-api-sse-max-per-identity',
    option: 'httpSseMaxPerIdentity',
    kind: 'count',
    help: 'SSE: responses open at once per user, 0 for no limit; past it 429 (default 1000)',
  },
  {
    file: 'http.allowed_origins',
    flag: 'http-api-allowed-origins',
    option: 'httpAllowedOrigins',
    kind: 'cors_origins',
    help: 'CORS: browser origins that may call the HTTP API, comma-separated (https://app.example.com), or * for any; default none (same-origin only; docs/http.md)',
  },
  {
    file: 'http.token_cookie',
    flag: 'http-api-token-cookie',
    option: 'httpTokenCookie',
    kind: 'string',
    help: 'cookie read as Authorization: Bearer <value> (a token or a bearer user JWT) when a request has none, for EventSource (default none)',
  },
  {
    file: 'webhooks',
    flag: 'webhooks',
    option: 'webhooks',
    kind: 'webhooks',
    fileOnly: true,
    help: 'webhooks: a list of {name, url, subject, stream, secret, concurrency, timeout, retry_base, retry_max, max_deliver, dead_letter, …} (config file only; docs/webhooks.md)',
  },
];
