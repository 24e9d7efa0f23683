/**
 * What a Kafka connection needs from its face: the node's services, the
 * handler table, the shared state and the face's counters. The face
 * (face.ts) is one; tests may build another.
 */

import type { FaceHost } from '../face.js';
import type { ApiHandler, KafkaShared } from './api.js';
import type { KafkaSession } from './session.js';

/** The face's counters (`/varz` kafka section, `weft_kafka_*_total`). */
export interface KafkaCounters {
  /** Requests handed to a handler. */
  requests: number;
  /** Frames over kafka.max_request_bytes: the connection was closed. */
  framesTooLarge: number;
  /** Frames that did not decode (header or body), or with a negative size: closed. */
  badRequests: number;
  /** Requests of an API key or version not served (ApiVersions answered, others closed). */
  unsupportedVersions: number;
  /** Requests before SASL completed, other than ApiVersions and SASL: closed. */
  beforeSasl: number;
  /** Connections that did not authenticate within auth_timeout. */
  authTimeouts: number;
  /** Handlers that threw (a bug): answered with their error response or closed. */
  handlerErrors: number;
}

export function newCounters(): KafkaCounters {
  return {
    requests: 0,
    framesTooLarge: 0,
    badRequests: 0,
    unsupportedVersions: 0,
    beforeSasl: 0,
    authTimeouts: 0,
    handlerErrors: 0,
  };
}

export interface KafkaHost
  extends Pick<
    FaceHost,
    'options' | 'log' | 'security' | 'flusher' | 'outbound' | 'stats' | 'connections'
  > {
  readonly table: ReadonlyMap<number, ApiHandler>;
  readonly shared: KafkaShared;
  readonly counters: KafkaCounters;
  /** A verified client certificate names the user (`kafka.tls.verify_and_map`). */
  readonly tlsVerifyAndMap: boolean;
  sessionAuthenticated(c: KafkaSession): void;
  sessionClosed(c: KafkaSession): void;
}
