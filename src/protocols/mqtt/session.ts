/**
 * An MQTT connection (3.1.1 and 5.0): reads packets, logs in through the
 * node's security, binds to its session state (state.ts) and turns packets
 * into core calls; what the core delivers comes back through the state as
 * PUBLISH. Packets are handled one at a time, in order: one that waits for
 * the store (a retained message, QoS 2 state, a session) holds the ones
 * after it, so acknowledgements keep the order of the publishes
 * [MQTT-4.6.0-2].
 */
import type { Socket } from 'node:net';
import { ConnectionIdentity } from '../../auth/connection-identity.js';
import type { AuthResult, Credentials, Identity } from '../../auth/types.js';
import { Connection } from '../../connection/connection.js';
import type { SlowReason } from '../../connection/outbound.js';
import { isSharedRead, onReads } from '../../connection/shared-read.js';
import type { TlsSessionInfo } from '../../connection/tls-accept.js';
import { CloseReason, socketErrorReason } from '../../errors.js';
import type { ClientDescription, FaceConnection } from '../face.js';
import { MqttParser, type Packet } from './codec.js';
import {
  type ConnectPacket,
  clientIdOf,
  connackProperties,
  connectProblem,
  credentialsOf,
  EXPIRY_NEVER,
} from './connect.js';
import {
  encodeConnack,
  encodeDisconnect,
  encodePingresp,
  encodePublish,
  encodePubrel,
  MqttEncodeError,
  type PublishOut,
} from './encoder.js';
import type { MqttHost, Will } from './host.js';
import { structuredForV311 } from './properties.js';
import { handlePublish, handlePubrel, type InboundHost, keptPublish } from './publish.js';
import { type ConnectRefusal, RC } from './reason.js';
import type { Attached, Outgoing, SessionState } from './state.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe.js';

/** Packets read and waiting for their turn before reading stops (backpressure). */
export const INBOX_MAX = 256;

type Phase = 'connect' | 'login' | 'open';

export class MqttSession extends Connection implements FaceConnection, Attached, InboundHost {
  readonly face = 'mqtt';
  version: 4 | 5 = 4;
  private phase: Phase = 'connect';
  readonly who: ConnectionIdentity;
  credentials: Credentials | null = null;
  client: ClientDescription | null = null;
  state: SessionState | null = null;
  will: Will | null = null;
  /** Seconds; 0: no keep alive. */
  private keepAlive = 0;
  /** CONNECT's deadline (auth_timeout), until it is answered. */
  private timer: NodeJS.Timeout | null = null;
  private readonly parser: MqttParser;
  /** Packets read while one is handled (made then, dropped when empty). */
  private inbox: Packet[] | null = null;
  /** The read being parsed is of the shared read buffer (valid only during it). */
  private transient = false;
  private busy = false;
  /** The client's Receive Maximum bounded by mqtt.max_inflight. */
  inflightMax: number;
  /** The client's Maximum Packet Size (0: the protocol's). */
  private clientMaxPacket = 0;
  /** Topic aliases: the client's (alias → topic) and ours (topic → alias). */
  // Made at first use: most clients use no aliases, and idle connections are many.
  private aliasesInMap: Map<number, string> | null = null;
  private aliasesOut: Map<string, number> | null = null;
  private aliasOutMax = 0;
  /** Ended by a DISCONNECT (no will) [MQTT-3.1.2-10]. */
  graceful = false;

  constructor(
    id: number,
    socket: Socket,
    readonly host: MqttHost,
    readonly tls: TlsSessionInfo | null = null,
    /** A verified client certificate names the user (verify_and_map of the TLS block it came through). */
    private readonly certNamesUser = host.tlsVerifyAndMap,
  ) {
    super(id, socket, host.flusher, host.options.maxPending, host.outbound);
    this.inflightMax = host.options.mqttMaxInflight;
    this.who = new ConnectionIdentity(host.security);
    this.parser = new MqttParser(this, { maxPacketSize: host.maxPacketSize });
    // Listeners shared by every session (no closures per connection): each finds its session on the socket.
    (socket as Carrier)[SESSION] = this;
    onReads(socket, (chunk: Buffer) => this.read(chunk));
    socket.on('end', onGone); // 'close' comes through Connection (onTransportClosed)
    socket.on('error', onError);
    // CONNECT must come within auth_timeout (the spec leaves the time to the server [MQTT-3.1.4-1]).
    this.timer = setTimeout(onAuthTimeout, host.options.authTimeoutMs, this);
  }

  /** A read: its packets, in order. */
  read(chunk: Buffer): void {
    const host = this.host;
    this.lastActivity = Date.now();
    const published = this.inMsgs;
    const stall = this.outbound.stall;
    host.flusher.begin();
    stall.producer = this;
    try {
      this.transient = isSharedRead(chunk);
      const err = this.closed ? null : this.parser.feed(chunk, this.transient);
      this.transient = false;
      if (err !== null) this.protocolError(err.reasonCode, err.message, CloseReason.ParseError);
    } finally {
      stall.producer = null;
      host.flusher.end();
    }
    // A publisher that fed a subscriber past half its max_pending waits (producer-stall.ts).
    stall.afterRead(this, this.socket);
    // A publisher waits while a queue it feeds (a mesh link, a session's
    // QoS 1/2 queue) is congested; not one whose own queue is: its reads
    // carry the acknowledgements that drain it.
    if (
      this.inMsgs !== published &&
      host.congestion.active &&
      !this.closed &&
      this.state?.stalling !== true
    ) {
      host.congestion.stall(this.socket);
    }
  }

  get aliasesIn(): Map<number, string> {
    this.aliasesInMap ??= new Map();
    return this.aliasesInMap;
  }

  tag(): string {
    return `cid:${this.id} ${this.remoteAddress}:${this.remotePort}`;
  }

  get identity(): Identity | null {
    return this.who.identity;
  }

  get subscriptionCount(): number {
    return this.state?.entries.size ?? 0;
  }

  subscriptionSubjects(): string[] {
    return [...(this.state?.entries.values() ?? [])].flatMap((e) => e.core.map((s) => s.subject));
  }

  // --- reading ---------------------------------------------------------------

  /** A whole packet from the parser. */
  onPacket(p: Packet): void {
    if (this.inbox === null && !this.busy) {
      this.run(p);
      return;
    }
    this.inbox ??= [];
    // Waits past the read: a PUBLISH read by reference from the shared buffer is kept as a copy.
    this.inbox.push(this.transient && p.cmd === 'publish' ? keptPublish(p) : p);
    if (this.inbox.length >= INBOX_MAX) this.socket.pause();
    this.run(null);
  }

  /** Handles `first`, then waiting packets, in order; one that returns a promise holds the rest. */
  private run(first: Packet | null): void {
    let p = first;
    while (!this.busy && !this.closed) {
      if (p === null) {
        const inbox = this.inbox;
        if (inbox === null || inbox.length === 0) break;
        p = inbox.shift()!;
      }
      const handled = p;
      const r = this.handle(handled);
      p = null;
      if (r instanceof Promise) {
        this.busy = true;
        r.catch((err: unknown) => this.host.storeFailed(`handle ${handled.cmd}`, err)).finally(
          () => {
            this.busy = false;
            this.run(null);
          },
        );
      }
    }
    // Packets wait in an array only while one is handled (an idle connection holds none).
    if (this.inbox !== null && this.inbox.length === 0) this.inbox = null;
    if (this.inbox === null && this.socket.isPaused() && !this.closed) this.socket.resume();
  }

  private handle(p: Packet): void | Promise<void> {
    if (this.phase !== 'open') {
      if (p.cmd !== 'connect' || this.phase === 'login') {
        // [MQTT-3.1.0-1]: the first packet must be CONNECT.
        this.host.log.warn(`${this.tag()} - ${p.cmd} before CONNECT [MQTT-3.1.0-1]`);
        this.host.counters.protocolErrors++;
        this.close(CloseReason.ProtocolViolation);
        return;
      }
      return this.onConnect(p);
    }
    switch (p.cmd) {
      case 'publish':
        this.inMsgs++;
        return handlePublish(this, p);
      case 'pubrel':
        return handlePubrel(this, p.messageId!);
      case 'puback':
        this.state!.acknowledged(p.messageId!, 1);
        return;
      case 'pubrec':
        if ((p.reasonCode ?? 0) >= 0x80) {
          // 5.0: the client refused it; the exchange ends here [MQTT-4.3.3-?].
          this.state!.received(p.messageId!);
          this.state!.acknowledged(p.messageId!, 2);
        } else this.state!.received(p.messageId!);
        return;
      case 'pubcomp':
        this.state!.acknowledged(p.messageId!, 2);
        return;
      case 'subscribe':
        return handleSubscribe(this, p);
      case 'unsubscribe':
        return handleUnsubscribe(this, p);
      case 'pingreq':
        this.send(encodePingresp);
        return;
      case 'disconnect':
        return this.onDisconnect(p);
      case 'connect':
        // [MQTT-3.1.0-2]: a second CONNECT is a protocol violation.
        this.protocolError(RC.ProtocolError, 'second CONNECT [MQTT-3.1.0-2]');
        return;
      default:
        this.protocolError(RC.ProtocolError, `unexpected ${p.cmd} from a client`);
    }
  }

  // --- CONNECT -----------------------------------------------------------------

  private async onConnect(p: ConnectPacket): Promise<void> {
    this.phase = 'login';
    this.version = p.protocolVersion === 5 ? 5 : 4;
    const problem = connectProblem(p);
    if (problem !== null) return this.refuse(problem);
    const { id: clientId, assigned } = clientIdOf(p);
    this.client = { name: clientId, lang: 'mqtt', version: this.version === 5 ? '5.0' : '3.1.1' };
    const h = this.host;
    const sec = h.security;
    const creds = credentialsOf(
      p,
      this.remoteAddress,
      sec.config.token !== '' && sec.config.users.length === 0,
      this.tls,
      this.certNamesUser,
    );
    this.credentials = creds;
    let r: AuthResult;
    try {
      r = await sec.login(creds);
    } catch (err) {
      r = { ok: false, why: (err as Error).message };
    }
    if (this.closed) return;
    if (!r.ok) {
      const presented = creds.user !== '' || creds.pass !== '' || creds.token !== '';
      return this.refuse({
        v4: presented ? 4 : 5,
        v5: presented ? RC.BadUserNameOrPassword : RC.NotAuthorized,
        why: 'authorization violation',
        reason: CloseReason.AuthViolation,
      });
    }
    const refused = this.who.admit(r.identity, () => this.close(CloseReason.AuthExpired));
    if (refused !== null) {
      return this.refuse({
        v4: 3,
        v5: RC.QuotaExceeded,
        why: `${refused === 'account_connections' ? 'account' : 'user'} max_connections reached`,
        reason:
          refused === 'account_connections'
            ? CloseReason.MaxAccountConnections
            : CloseReason.MaxUserConnections,
      });
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const props = p.properties;
    if (this.version === 5) {
      const rm = props?.receiveMaximum;
      if (rm !== undefined) this.inflightMax = Math.min(rm, this.inflightMax);
      this.clientMaxPacket = props?.maximumPacketSize ?? 0;
      this.aliasOutMax = props?.topicAliasMaximum ?? 0;
    }
    this.will = willOf(p);
    const clean = p.clean !== false;
    const expiry =
      (this.version === 5 ? (props?.sessionExpiryInterval ?? 0) : clean ? 0 : EXPIRY_NEVER) >>> 0;
    const bound = await h.bindSession(this, clientId, clean, expiry);
    this.state = bound.state;
    if (this.closed) {
      // Gone while its session was bound: the session ends or waits as after any close.
      h.connectionEnded(this);
      return;
    }
    this.phase = 'open';
    this.keepAlive = p.keepalive ?? 0;
    // 5.0: a keep alive longer than mqtt.max_keep_alive (or none) is replaced [MQTT-3.2.2-21].
    const kaMax = h.options.mqttMaxKeepAlive;
    let serverKeepAlive: number | null = null;
    if (this.version === 5 && kaMax > 0 && (this.keepAlive === 0 || this.keepAlive > kaMax)) {
      serverKeepAlive = kaMax;
      this.keepAlive = kaMax;
    }
    const max = h.options.mqttMaxInflight;
    const props5 =
      this.version === 5
        ? connackProperties({
            assignedId: assigned ? clientId : null,
            receiveMaximum: max,
            maximumPacketSize: h.maxPacketSize,
            serverKeepAlive,
          })
        : undefined;
    this.send(() => encodeConnack(this.version, bound.present, 0, props5));
    h.sessionAuthenticated(this);
    bound.state.attach(this, bound.present);
  }

  /** CONNACK with a refusal, then the close [MQTT-3.2.2-5]. */
  private refuse(r: ConnectRefusal & { reason?: CloseReason }): void {
    this.host.log.warn(`${this.tag()} - CONNECT refused: ${r.why}`);
    this.send(() =>
      this.version === 5
        ? encodeConnack(5, false, r.v5, { reasonString: r.why.slice(0, 200) })
        : encodeConnack(this.version, false, r.v4),
    );
    this.close(r.reason ?? CloseReason.ProtocolViolation);
  }

  /**
   * Keep alive: nothing from the client for 1.5 times it closes the
   * connection [MQTT-3.1.2-24]. The face calls this for every connection
   * every KEEPALIVE_SWEEP_MS (one timer for all, none per connection).
   */
  checkKeepAlive(now: number): void {
    if (this.keepAlive === 0 || this.phase !== 'open' || this.closed) return;
    if (now - this.lastActivity < this.keepAlive * 1500) return;
    this.host.log.debug(`${this.tag()} - keep alive of ${this.keepAlive}s passed`);
    this.disconnect(RC.KeepAliveTimeout, CloseReason.StaleConnection);
  }

  private onDisconnect(p: Extract<Packet, { cmd: 'disconnect' }>): void {
    const s = this.state!;
    const next = p.properties?.sessionExpiryInterval;
    if (next !== undefined) {
      if (s.expiryInterval === 0 && next !== 0) {
        // [MQTT-3.14.2-2]: a session that expired at once cannot be made to last.
        this.protocolError(
          RC.ProtocolError,
          'DISCONNECT sets a session expiry after 0 [MQTT-3.14.2-2]',
        );
        return;
      }
      s.expiryInterval = next;
    }
    // A normal DISCONNECT discards the will [MQTT-3.1.2-10]; 5.0's 0x04 asks for it.
    this.graceful = p.reasonCode !== RC.DisconnectWithWill;
    this.close(CloseReason.ClientClosed);
  }

  // --- writing -----------------------------------------------------------------

  /** Queues one encoded packet; a value the encoder refuses is logged and the packet dropped. */
  send(encode: () => Buffer | null): boolean {
    if (this.closed) return false;
    let buf: Buffer | null;
    try {
      buf = encode();
    } catch (err) {
      if (!(err instanceof MqttEncodeError)) throw err;
      this.host.log.warn(`${this.tag()} - ${err.message}`);
      return false;
    }
    return buf === null || this.queueBytes(buf);
  }

  sendPublish(o: Outgoing): boolean {
    if (this.closed) return true;
    let topic = o.topic;
    let payload = o.payload;
    // Properties only for 5.0, the packet without spreads (Issue 16 — mqtt1, bench/PROFILE.md).
    let props: Record<string, unknown> | undefined;
    if (this.version !== 5) {
      if (this.host.options.mqttCloudEventsStructured)
        payload = structuredForV311(o.properties, payload) ?? payload;
    } else {
      const mp = o.properties;
      props = {};
      if (mp !== undefined) {
        if (mp.payloadFormatIndicator !== undefined)
          props.payloadFormatIndicator = mp.payloadFormatIndicator;
        if (mp.contentType !== undefined) props.contentType = mp.contentType;
        if (mp.responseTopic !== undefined) props.responseTopic = mp.responseTopic;
        if (mp.correlationData !== undefined) props.correlationData = mp.correlationData;
        if (mp.userProperties !== undefined) props.userProperties = mp.userProperties;
      }
      if (o.expiryLeft !== undefined) props.messageExpiryInterval = o.expiryLeft;
      if (o.subscriptionIds !== undefined)
        props.subscriptionIdentifier =
          o.subscriptionIds.length === 1 ? o.subscriptionIds[0] : o.subscriptionIds;
      if (this.aliasOutMax > 0) {
        this.aliasesOut ??= new Map();
        const alias = this.aliasesOut.get(topic);
        if (alias !== undefined) {
          props.topicAlias = alias;
          topic = '';
        } else if (this.aliasesOut.size < this.aliasOutMax) {
          const a = this.aliasesOut.size + 1;
          this.aliasesOut.set(topic, a);
          props.topicAlias = a;
        }
      }
      if (Object.keys(props).length === 0) props = undefined;
    }
    const out: PublishOut = { topic, payload, qos: o.qos, retain: o.retain, dup: o.dup };
    if (o.packetId !== undefined) out.messageId = o.packetId;
    if (props !== undefined) out.properties = props;
    let buf: Buffer;
    try {
      buf = encodePublish(this.version, out);
    } catch (err) {
      if (!(err instanceof MqttEncodeError)) throw err;
      this.host.log.warn(`${this.tag()} - ${err.message}`);
      return false;
    }
    if (this.clientMaxPacket > 0 && buf.length > this.clientMaxPacket) {
      this.host.counters.tooLargeForClient++;
      return false;
    }
    this.outMsgs++;
    this.outBytes += payload.length;
    this.host.stats.outMsgs++;
    this.host.stats.outBytes += payload.length;
    this.queueBytes(buf);
    return true;
  }

  sendPubrel(packetId: number): void {
    this.send(() => encodePubrel(this.version, packetId));
  }

  // --- closing -----------------------------------------------------------------

  protected override onTransportClosed(): void {
    this.close(CloseReason.ClientClosed);
  }

  /** A protocol violation or malformed packet: 5.0 says why in a DISCONNECT first [MQTT-4.13.1-1]. */
  protocolError(
    rc: number,
    detail: string,
    reason: CloseReason = CloseReason.ProtocolViolation,
  ): void {
    if (this.closed) return;
    this.host.counters.protocolErrors++;
    this.host.log.warn(`${this.tag()} - protocol error: ${detail}`);
    this.disconnect(rc, reason, detail);
  }

  /** Closes with a 5.0 DISCONNECT carrying `rc` (once CONNECT was answered; 3.1.1 just closes). */
  disconnect(rc: number, reason: CloseReason, reasonString?: string): void {
    if (this.closed) return;
    if (this.version === 5 && this.phase === 'open') {
      const props =
        reasonString !== undefined ? { reasonString: reasonString.slice(0, 200) } : undefined;
      this.send(() => encodeDisconnect(5, rc, props));
    }
    this.close(reason);
  }

  slowAcks(): void {
    if (this.closed) return;
    this.host.stats.slowConsumers++;
    this.host.log.warn(
      `${this.tag()} - slow consumer: publishers waited more than write_deadline ${this.host.options.writeDeadlineMs} ms for its acknowledgements`,
    );
    this.disconnect(RC.QuotaExceeded, CloseReason.SlowConsumerWriteDeadline);
  }

  /** A newer connection with the same client id takes the session [MQTT-3.1.4-3]. */
  takenOver(): void {
    this.host.counters.takeovers++;
    this.disconnect(RC.SessionTakenOver, CloseReason.MqttTakeover);
  }

  reauthorized(identity: Identity): number {
    this.who.replace(identity);
    const s = this.state;
    if (s === null) return 0;
    s.guard = this.who.guard;
    let removed = 0;
    for (const e of [...s.entries.values()]) {
      const g = this.who.guard;
      if (g !== null && !e.core.every((c) => g.subscribe(c.subject, c.queue).ok)) {
        s.unsubscribe(e.filter);
        removed++;
      }
    }
    return removed;
  }

  revoked(why: string): void {
    this.host.log.warn(`${this.tag()} - credentials revoked: ${why}`);
    this.disconnect(RC.NotAuthorized, CloseReason.AuthRevoked);
  }

  protected onSlowConsumer(reason: SlowReason): void {
    if (this.closed) return;
    this.host.stats.slowConsumers++;
    this.host.log.warn(`${this.tag()} - slow consumer: ${this.slowConsumerText(reason)}`);
    this.discardQueued();
    this.close(reason, true);
  }

  close(reason: CloseReason, abort = false): void {
    if (this.closed) return;
    if (reason === CloseReason.ServerShutdown && this.version === 5 && this.phase === 'open') {
      this.send(() => encodeDisconnect(5, RC.ServerShuttingDown));
    }
    this.closeReason = reason;
    this.inbox = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.who.release();
    this.host.stats.closed(reason);
    if (abort || this.socket.destroyed) this.socket.destroy();
    else {
      this.flush(true);
      this.socket.end();
      setTimeout(() => this.socket.destroy(), this.host.options.shutdownGraceMs).unref();
    }
    this.host.sessionClosed(this);
    if (this.phase === 'open') this.host.connectionEnded(this);
  }
}

/** The session a socket carries: set by the session's constructor, read by the shared listeners. */
const SESSION = Symbol('weft.mqtt.session');
type Carrier = Socket & { [SESSION]: MqttSession };

function onGone(this: Carrier): void {
  this[SESSION].close(CloseReason.ClientClosed);
}

function onError(this: Carrier, err: NodeJS.ErrnoException): void {
  this[SESSION].close(socketErrorReason(err), true);
}

function onAuthTimeout(c: MqttSession): void {
  c.close(CloseReason.AuthTimeout);
}

/** The will of a CONNECT, if any. */
function willOf(p: ConnectPacket): Will | null {
  const w = p.will;
  if (w === undefined || w === null) return null;
  const { willDelayInterval, ...properties } = w.properties ?? {};
  return {
    topic: w.topic,
    payload: Buffer.from(w.payload),
    qos: (w.qos ?? 0) as 0 | 1 | 2,
    retain: w.retain === true,
    delay: willDelayInterval ?? 0,
    properties,
  };
}
