/**
 * The faces' settings (`mqtt.*`, `redis.*`, `kafka.*`, `http.*`), checked
 * whatever their source (flags, YAML, a nats-server .conf): each bad value
 * is a ConfigError naming its key. Called by validateOptions (config.ts).
 */
import { originOf } from '../connection/websocket-origin.js';
import type { ServerOptions } from './options.js';
import {
  KAFKA_MAX_REQUEST_LIMIT,
  MAX_PAYLOAD_LIMIT,
  MQTT_PACKET_HEADROOM,
  MQTT_PACKET_SIZE_MIN,
} from './settings-table.js';

type Bad = (key: string, why: string, value: unknown) => never;
type Int = (key: string, v: number, min: number, max: number, why: string) => void;

/** Every face's settings. */
export function checkFaceSettings(o: ServerOptions, bad: Bad, int: Int): void {
  checkMqttSettings(o, bad, int);
  int('redis.port', o.redisPort, -1, 65535, 'must be a port number from -1 to 65535');
  if (typeof o.redisHost !== 'string') bad('redis.host', 'must be a string', o.redisHost);
  int(
    'redis.pubsub_output_limit',
    o.redisPubsubOutputLimit,
    1024,
    2 ** 31 - 1,
    'must be from 1KiB to 2GiB',
  );
  int('kafka.port', o.kafkaPort, -1, 65535, 'must be a port number from -1 to 65535');
  if (typeof o.kafkaHost !== 'string') bad('kafka.host', 'must be a string', o.kafkaHost);
  if (typeof o.kafkaAdvertisedHost !== 'string')
    bad('kafka.advertised_host', 'must be a string', o.kafkaAdvertisedHost);
  if (typeof o.kafkaAutoCreateTopics !== 'boolean')
    bad('kafka.auto_create_topics', 'must be true or false', o.kafkaAutoCreateTopics);
  int(
    'kafka.max_request_bytes',
    o.kafkaMaxRequestBytes,
    1024,
    KAFKA_MAX_REQUEST_LIMIT,
    'must be from 1KiB to 1GiB',
  );
  int('http.port', o.httpApiPort, -1, 65535, 'must be a port number from -1 to 65535');
  if (typeof o.httpApiHost !== 'string') bad('http.host', 'must be a string', o.httpApiHost);
  checkKafkaGroupSettings(o, bad, int);
  checkSseSettings(o, int);
  checkCorsSettings(o, bad);
}

/** The `mqtt.*` settings (src/protocols/mqtt). */
function checkMqttSettings(o: ServerOptions, bad: Bad, int: Int): void {
  int('mqtt.port', o.mqttPort, -1, 65535, 'must be a port number from -1 to 65535');
  if (typeof o.mqttHost !== 'string') bad('mqtt.host', 'must be a string', o.mqttHost);
  int(
    'mqtt.max_packet_size',
    o.mqttMaxPacketSize,
    MQTT_PACKET_SIZE_MIN,
    MAX_PAYLOAD_LIMIT + MQTT_PACKET_HEADROOM,
    `must be from ${MQTT_PACKET_SIZE_MIN} bytes to max_payload's limit + ${MQTT_PACKET_HEADROOM} bytes`,
  );
  // 65535: the largest Receive Maximum MQTT 5 can say.
  int('mqtt.max_inflight', o.mqttMaxInflight, 1, 65535, 'must be from 1 to 65535');
  int(
    'mqtt.max_subscriptions',
    o.mqttMaxSubscriptions,
    1,
    Number.MAX_SAFE_INTEGER,
    'must be a whole number, 1 or more',
  );
  int('mqtt.max_topic_length', o.mqttMaxTopicLength, 1, 65535, 'must be from 1 to 65535 bytes');
  // 65535: the largest Keep Alive MQTT can say.
  int('mqtt.max_keep_alive', o.mqttMaxKeepAlive, 0, 65535, 'must be from 0 to 65535 seconds');
  if (typeof o.mqttCloudEventsStructured !== 'boolean')
    bad('mqtt.cloudevents_structured', 'must be true or false', o.mqttCloudEventsStructured);
}

/** The `http.sse_*` settings (src/protocols/http/sse.ts). */
function checkSseSettings(o: ServerOptions, int: Int): void {
  const day = 24 * 3600 * 1000;
  int('http.sse_heartbeat', o.httpSseHeartbeatMs, 0, day, 'must be from 0 to 24h');
  int('http.sse_retry', o.httpSseRetryMs, 0, day, 'must be from 0 to 24h');
  int('http.sse_max_pending', o.httpSseMaxPending, 1024, 1024 ** 3, 'must be from 1KiB to 1GiB');
  int('http.sse_max_streams', o.httpSseMaxStreams, 0, 1e9, 'must be 0 or more');
  int('http.sse_max_per_identity', o.httpSseMaxPerIdentity, 0, 1e9, 'must be 0 or more');
}

/** `http.allowed_origins` (src/protocols/http/cors.ts): origins, or `*` alone. */
function checkCorsSettings(o: ServerOptions, bad: Bad): void {
  const cors = o.httpAllowedOrigins;
  if (!Array.isArray(cors)) bad('http.allowed_origins', 'must be a list of origins', cors);
  for (const v of cors) {
    if (typeof v !== 'string' || (v !== '*' && originOf(v) === null)) {
      bad(
        'http.allowed_origins',
        'must list http(s) origins such as https://app.example.com, or *',
        v,
      );
    }
  }
  if (cors.includes('*') && cors.length > 1) {
    bad('http.allowed_origins', '* allows every origin and stands alone', cors);
  }
}

/** The Kafka face's consumer-group settings (docs/kafka.md, "Consumer groups"). */
function checkKafkaGroupSettings(o: ServerOptions, bad: Bad, int: Int): void {
  const day = 86_400_000;
  int(
    'kafka.group_initial_rebalance_delay',
    o.kafkaGroupInitialRebalanceDelayMs,
    0,
    day,
    'must be from 0 to 1 day',
  );
  int(
    'kafka.group_min_session_timeout',
    o.kafkaGroupMinSessionTimeoutMs,
    1,
    day,
    'must be from 1ms to 1 day',
  );
  int(
    'kafka.group_max_session_timeout',
    o.kafkaGroupMaxSessionTimeoutMs,
    1,
    day,
    'must be from 1ms to 1 day',
  );
  if (o.kafkaGroupMaxSessionTimeoutMs < o.kafkaGroupMinSessionTimeoutMs) {
    bad(
      'kafka.group_max_session_timeout',
      'must not be less than kafka.group_min_session_timeout',
      o.kafkaGroupMaxSessionTimeoutMs,
    );
  }
  int('kafka.group_max_size', o.kafkaGroupMaxSize, 1, 1_000_000, 'must be from 1 to 1000000');
  int('kafka.max_groups', o.kafkaMaxGroups, 1, 10_000_000, 'must be from 1 to 10000000');
}
