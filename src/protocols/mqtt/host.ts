/**
 * What an MQTT connection needs from its face: the node's parts, the face's
 * store and counters, and the session registry (bind, end).
 */
import type { Security } from '../../auth/security.js';
import type { ServerOptions } from '../../config/options.js';
import type { Congestion } from '../../connection/congestion.js';
import type { Flusher } from '../../connection/connection.js';
import type { Outbound } from '../../connection/outbound.js';
import type { ServerStats } from '../../connection/stats.js';
import type { Router } from '../../core/router.js';
import type { Logger } from '../../util/logger.js';
import type { MqttSession } from './session.js';
import type { MqttCounters, SessionState } from './state.js';
import type { MessageProperties } from './store.js';

/** A CONNECT's will message [MQTT-3.1.2-8]. */
export interface Will {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** 5.0 Will Delay Interval, seconds. */
  readonly delay: number;
  readonly properties: MessageProperties;
}

export interface MqttHost {
  readonly options: ServerOptions;
  readonly router: Router;
  readonly flusher: Flusher;
  readonly stats: ServerStats;
  readonly log: Logger;
  readonly outbound: Outbound;
  /** Publishers pause while a queue they feed is congested. */
  readonly congestion: Congestion;
  readonly security: Security;
  readonly counters: MqttCounters;
  /** mqtt.max_packet_size, bounded by max_payload + MQTT_PACKET_HEADROOM. */
  readonly maxPacketSize: number;
  /** A verified client certificate names the user (mqtt.tls verify_and_map). */
  readonly tlsVerifyAndMap: boolean;
  /**
   * The session for a logged-in connection: an older connection with the
   * same client id is closed [MQTT-3.1.4-3]; clean start drops what was
   * kept [MQTT-3.1.2-6]; else the session resumes (present) [MQTT-3.2.2-2].
   */
  bindSession(
    c: MqttSession,
    clientId: string,
    clean: boolean,
    expiry: number,
  ): Promise<{ state: SessionState; present: boolean }>;
  /** A bound connection closed: its will, its session's expiry. */
  connectionEnded(c: MqttSession): void;
  sessionAuthenticated(c: MqttSession): void;
  sessionClosed(c: MqttSession): void;
  storeFailed(what: string, err: unknown): void;
}
