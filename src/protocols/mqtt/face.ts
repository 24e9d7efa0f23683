/**
 * The MQTT face (3.1.1 and 5.0): the MQTT port (`mqtt.port`, `mqtt.host`),
 * TLS from the first byte when `mqtt.tls` is set (MQTT has no clear-text
 * greeting), admission under the node's max_connections, and the sessions
 * of its clients (sessions.ts), in the stores of their accounts. A face like
 * any other (docs/faces.md); docs/mqtt.md describes it for operators.
 */
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';
import type { ServerOptions } from '../../config/options.js';
import { MQTT_PACKET_HEADROOM } from '../../config/settings-table.js';
import { TcpPort } from '../../connection/tcp-port.js';
import { scrapeReaders } from '../../monitor/metric-kit.js';
import type { Face, FaceHost, FaceListener } from '../face.js';
import { encodeConnack } from './encoder.js';
import type { MqttHost } from './host.js';
import { RC, V4 } from './reason.js';
import { MqttSession } from './session.js';
import { Sessions } from './sessions.js';
import { type MqttCounters, newCounters } from './state.js';
import type { TakeoverCounters } from './takeover.js';

/**
 * How often keep alive is checked, for every connection at once (one timer,
 * none per connection): a silent client is closed between 1.5 × its keep
 * alive [MQTT-3.1.2-24] and this much later.
 */
export const KEEPALIVE_SWEEP_MS = 500;

export class MqttFace extends Sessions implements Face, MqttHost {
  readonly name = 'mqtt';
  listeners: FaceListener[] = [];
  readonly counters: MqttCounters = newCounters();
  readonly maxPacketSize: number;
  /** Connections open now. */
  private readonly live = new Set<MqttSession>();
  private port: TcpPort | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;

  constructor(host: FaceHost) {
    super(host);
    const o = host.options;
    this.maxPacketSize = Math.min(o.mqttMaxPacketSize, o.maxPayload + MQTT_PACKET_HEADROOM);
  }

  get tlsVerifyAndMap(): boolean {
    return this.options.mqttTls?.verifyAndMap === true;
  }

  async start(): Promise<void> {
    const o = this.options;
    await this.startSessions();
    this.keepAliveTimer = setInterval(() => {
      const now = Date.now();
      for (const c of this.live) c.checkKeepAlive(now);
    }, KEEPALIVE_SWEEP_MS);
    this.keepAliveTimer.unref();
    const port = new TcpPort(this.host, {
      face: 'mqtt',
      label: 'MQTT',
      setting: 'mqtt.port',
      tlsSetting: 'mqtt.tls',
      host: o.mqttHost || o.host,
      port: o.mqttPort,
      tls: o.mqttTls,
      authRequired: this.security.required,
      open: (cid, socket, tls) => this.open(new MqttSession(cid, socket, this, tls ?? undefined)),
      refuse: (socket) => this.refuse(socket),
      sharedRead: true,
    });
    this.port = port;
    this.listeners = [await port.start()];
    // MQTT over WebSocket: /mqtt on the node's listener, subprotocol "mqtt" [MQTT-6.0.0-3]
    // [MQTT-6.0.0-4], binary frames only [MQTT-6.0.0-1]. The session is the same (Transport).
    this.host.websocket?.route({
      face: 'mqtt',
      path: '/mqtt',
      subprotocols: ['mqtt'],
      binaryOnly: true,
      onConnection: (t, u) =>
        this.open(
          new MqttSession(
            this.host.connections.nextId(),
            t as Socket,
            this,
            u.tls,
            o.websocketTls?.verifyAndMap === true,
          ),
        ),
    });
  }

  private open(c: MqttSession): void {
    this.live.add(c);
    this.host.connections.opened(c);
  }

  /**
   * max_connections reached: the client's CONNECT is read for its version
   * and answered "Server unavailable" (3.1.1, 3) or "Quota exceeded" (5.0,
   * 0x97), then the connection closes [MQTT-3.2.2-5]. On a TLS port there
   * is no handshake for it: the socket is just closed.
   */
  private refuse(socket: Socket): void {
    socket.once('data', (chunk: Buffer) => {
      const v5 = protocolLevel(chunk) === 5;
      socket.end(
        v5
          ? encodeConnack(5, false, RC.QuotaExceeded)
          : encodeConnack(4, false, V4.ServerUnavailable),
      );
    });
  }

  sessionAuthenticated(c: MqttSession): void {
    this.host.connections.authenticated(c);
  }

  sessionClosed(c: MqttSession): void {
    this.live.delete(c);
    this.host.connections.closed(c);
  }

  reloadCertificates(next: ServerOptions): void {
    this.port?.reload(next.mqttTls);
  }

  get tlsFailures(): ReadonlyMap<string, number> {
    return this.port?.tlsFailures ?? new Map();
  }

  varz(): Record<string, unknown> {
    const o = this.options;
    const c = this.counters;
    return {
      max_packet_size: this.maxPacketSize,
      max_inflight: o.mqttMaxInflight,
      max_subscriptions: o.mqttMaxSubscriptions,
      max_topic_length: o.mqttMaxTopicLength,
      max_keep_alive: o.mqttMaxKeepAlive,
      connections: this.live.size,
      sessions: this.sessionCount,
      ...Object.fromEntries(Object.entries(c).map(([k, v]) => [snake(k), v])),
      ...Object.fromEntries(
        Object.entries(this.mesh?.counters ?? {}).map(([k, v]) => [snake(k), v]),
      ),
    };
  }

  metrics(registry: Registry): void {
    const { counter, gauge } = scrapeReaders(registry);
    gauge('weft_mqtt_connections', 'MQTT connections open now', () => this.live.size);
    gauge('weft_mqtt_sessions', 'MQTT sessions held (connected or not)', () => this.sessionCount);
    for (const [k, help] of Object.entries(COUNTER_HELP)) {
      counter(`weft_mqtt_${snake(k)}_total`, help, () => this.counters[k as keyof MqttCounters]);
    }
    for (const [k, help] of Object.entries(TAKEOVER_HELP)) {
      counter(
        `weft_mqtt_${snake(k)}_total`,
        help,
        () => this.mesh?.counters[k as keyof TakeoverCounters] ?? 0,
      );
    }
  }

  async stop(): Promise<void> {
    if (this.keepAliveTimer !== null) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = null;
    this.stopSessions();
    await this.port?.stop();
    await this.closeStores();
  }
}

const COUNTER_HELP: Record<keyof MqttCounters, string> = {
  queueOverflows: 'QoS 1/2 messages refused by a session queue bound',
  queueStalls: 'Times a connected session queue made publishers wait (QUEUE_STALL_AT)',
  untranslatable: 'Messages whose subject has no MQTT topic',
  tooLargeForClient: "Messages not sent: larger than the client's Maximum Packet Size",
  expired: 'Messages expired before they were sent',
  propertiesDropped: 'User properties NATS headers cannot hold',
  subscriptionLimit: 'Subscriptions refused at mqtt.max_subscriptions',
  topicTooLong: 'Topics or filters refused past mqtt.max_topic_length',
  receiveMaximumExceeded: 'Connections closed for exceeding the Receive Maximum',
  takeovers: 'Connections closed by a newer one with the same client id',
  willsPublished: 'Will messages published',
  publishDenied: 'MQTT publishes refused by permissions',
  subscribeDenied: 'MQTT subscriptions refused by permissions',
  protocolErrors: 'MQTT connections closed for a malformed packet or a protocol violation',
  storeErrors: 'MQTT store operations that failed',
};

const TAKEOVER_HELP: Record<keyof TakeoverCounters, string> = {
  sessionsMovedIn: 'MQTT sessions taken over from another node of the mesh',
  sessionsMovedOut: 'MQTT sessions handed to another node of the mesh',
  remoteTakeovers: 'MQTT takeovers across nodes (either side)',
  takeoverTimeouts: 'MQTT takeovers across nodes not answered or confirmed in time',
  takeoverRefused: 'MQTT takeovers across nodes refused at TAKEOVER_PENDING_MAX',
  answerRetries: 'MQTT takeover answers sent again: no route to the asking node yet',
  badAnswers: 'MQTT session handoffs from another node refused as malformed (nothing stored)',
};

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The protocol level of a CONNECT's first bytes (4 when they do not say). */
export function protocolLevel(b: Buffer): number {
  let i = 1;
  while (i < 5 && i < b.length && (b[i]! & 0x80) !== 0) i++;
  i++;
  if (i + 2 > b.length) return 4;
  const nameLen = b.readUInt16BE(i);
  const at = i + 2 + nameLen;
  return at < b.length ? b[at]! : 4;
}

/** The MQTT face, or null when `mqtt.port` is -1 (the default). */
export function mqttFace(host: FaceHost): Face | null {
  return host.options.mqttPort === -1 ? null : new MqttFace(host);
}
