/**
 * PUBLISH from a client into the core, and the QoS 1/2 acknowledgements it
 * gets: topic aliases, the topic's subject, permissions, the retained
 * message, MQTT 5 properties as headers, QoS 2's exactly-once bookkeeping.
 */
import type { ConnectionIdentity } from '../../auth/connection-identity.js';
import { reservedSubject } from '../../auth/reserved.js';
import type { Message } from '../../core/message.js';
import { CloseReason } from '../../errors.js';
import { impliedStructured, STRUCTURED_TYPE } from '../cloudevents.js';
import type { Packet } from './codec.js';
import { TOPIC_ALIAS_MAX } from './connect.js';
import { encodePuback, encodePubcomp, encodePubrec } from './encoder.js';
import type { MqttHost } from './host.js';
import { toHeaders } from './properties.js';
import { RC } from './reason.js';
import type { SessionState } from './state.js';
import type { MessageProperties, StoredMessage } from './store.js';
import { topicNameProblem, topicToSubject } from './topics.js';
import { routeCollectingWrites } from './write-collector.js';

/** The Content Type of a structured CloudEvent from an MQTT 3.1.1 client [MQTT binding 3.2.1]. */
const V311_EVENT: MessageProperties = Object.freeze({ contentType: STRUCTURED_TYPE });

type PublishPacket = Extract<Packet, { cmd: 'publish' }>;

/** What publishing needs of the connection. */
export interface InboundHost {
  readonly host: MqttHost;
  readonly version: 4 | 5;
  readonly who: ConnectionIdentity;
  readonly state: SessionState | null;
  readonly aliasesIn: Map<number, string>;
  inBytes: number;
  tag(): string;
  /** Queues what `encode` makes (an encoding error is logged, the packet dropped). */
  send(encode: () => Buffer | null): boolean;
  protocolError(rc: number, detail: string, reason?: CloseReason): void;
}

function ack(c: InboundHost, qos: number, id: number, rc: number, reason?: string): void {
  if (qos === 0) return;
  const props =
    c.version === 5 && rc >= 0x80 && reason !== undefined ? { reasonString: reason } : undefined;
  const encode = qos === 1 ? encodePuback : encodePubrec;
  c.send(() => encode(c.version, id, rc, props));
}

export function handlePublish(c: InboundHost, p: PublishPacket): void | Promise<void> {
  const h = c.host;
  const s = c.state!;
  const qos = p.qos;
  const id = p.messageId ?? 0;
  let topic = p.topic;
  const alias = c.version === 5 ? p.properties?.topicAlias : undefined;
  if (alias !== undefined) {
    if (alias === 0 || alias > TOPIC_ALIAS_MAX) {
      c.protocolError(
        RC.TopicAliasInvalid,
        `topic alias ${alias} outside 1..${TOPIC_ALIAS_MAX} [MQTT-3.3.2-9]`,
      );
      return;
    }
    if (topic === '') {
      const known = c.aliasesIn.get(alias);
      if (known === undefined) {
        c.protocolError(RC.ProtocolError, `topic alias ${alias} was never set`);
        return;
      }
      topic = known;
    } else c.aliasesIn.set(alias, topic);
  }
  const problem = topicNameProblem(topic);
  if (problem !== null) {
    // [MQTT-3.3.2-2]: a wildcard in a topic name (or none at all) closes the connection.
    c.protocolError(RC.TopicNameInvalid, problem);
    return;
  }
  const payload = Buffer.isBuffer(p.payload) ? p.payload : Buffer.from(p.payload);
  c.inBytes += payload.length;
  h.stats.inMsgs++;
  h.stats.inBytes += payload.length;
  if (Buffer.byteLength(topic) > h.options.mqttMaxTopicLength) {
    h.counters.topicTooLong++;
    h.log.warn(
      `${c.tag()} - topic of ${Buffer.byteLength(topic)} bytes exceeds mqtt.max_topic_length ${h.options.mqttMaxTopicLength}`,
    );
    ack(c, qos, id, RC.TopicNameInvalid, 'topic longer than mqtt.max_topic_length');
    return;
  }
  if (
    payload.length > h.options.maxPayload ||
    (c.who.payloadMax > 0 && payload.length > c.who.payloadMax)
  ) {
    c.protocolError(
      RC.PacketTooLarge,
      `payload of ${payload.length} bytes exceeds max_payload`,
      CloseReason.MaxPayload,
    );
    return;
  }
  if (qos === 2 && s.incoming.has(id)) {
    // A resent QoS 2 PUBLISH not yet released: acknowledged, not delivered again [MQTT-4.3.3-2].
    ack(c, 2, id, 0);
    return;
  }
  if (qos === 2 && s.incoming.size >= h.options.mqttMaxInflight) {
    h.counters.receiveMaximumExceeded++;
    c.protocolError(
      RC.ReceiveMaximumExceeded,
      `more than ${h.options.mqttMaxInflight} QoS 2 messages unreleased [MQTT-3.3.4-9]`,
    );
    return;
  }
  const subject = topicToSubject(topic);
  const guard = c.who.guard;
  if ((guard !== null && !guard.publish(subject)) || reservedSubject(subject)) {
    h.counters.publishDenied++;
    h.security.counters.publishViolations++;
    h.log.warn(
      `${c.tag()} user "${c.who.identity!.user}" - publish to "${topic}" (${subject}) not permitted`,
    );
    // 5.0 says so; 3.1.1 has no word for it: acknowledged and dropped, as mosquitto does.
    if (c.version === 5) ack(c, qos, id, RC.NotAuthorized, `publish to ${topic} not permitted`);
    else if (qos === 2) return remember(c, s, id);
    else ack(c, qos, id, 0);
    return;
  }
  const wait = c.who.admitMessage(payload.length);
  if (wait === false) {
    ack(c, qos, id, RC.QuotaExceeded, 'rate exceeded');
    return;
  }
  // 3.1.1 has no Content Type: a structured CloudEvent's is implied, and given to the other faces.
  const props =
    c.version === 5
      ? propertiesOf(p)
      : mayBeJsonObject(payload) && impliedStructured(payload)
        ? V311_EVENT
        : undefined;
  let reply = '';
  const response = props?.responseTopic;
  if (response !== undefined) {
    const bad = topicNameProblem(response);
    if (bad !== null) {
      c.protocolError(RC.ProtocolError, `response topic: ${bad} [MQTT-3.3.2-13]`);
      return;
    }
    reply = topicToSubject(response);
  }
  const interval = c.version === 5 ? p.properties?.messageExpiryInterval : undefined;
  const expiresAt = interval !== undefined ? Date.now() + interval * 1000 : undefined;
  const dropped = { count: 0 };
  let carried: MessageProperties | undefined;
  if (props !== undefined) {
    const { responseTopic: _r, ...rest } = props;
    carried = rest;
  }
  const headers = toHeaders(qos, p.retain, carried, expiresAt, dropped);
  h.counters.propertiesDropped += dropped.count;
  const msg: Message = { subject, reply, headers, payload };
  s.ownMsg = msg;
  let routed: { n: number; writes: Promise<unknown>[] };
  try {
    routed = routeCollectingWrites(() => h.router.publish(s.account, msg, s));
  } finally {
    s.ownMsg = null;
  }
  const rc = routed.n === 0 ? RC.NoMatchingSubscribers : 0;
  // The publisher is acknowledged once the copies queued for persistent
  // sessions on this node are durable: a crash after PUBACK loses none.
  if (qos > 0 && routed.writes.length > 0) {
    // A retained message is stored after the wait: the payload and its
    // properties may be views of a read valid only in this turn (shared-read.ts).
    const kept = p.retain ? Buffer.from(payload) : payload;
    const keptProps =
      p.retain && props?.correlationData !== undefined
        ? { ...props, correlationData: Buffer.from(props.correlationData) }
        : props;
    return Promise.all(routed.writes).then(() =>
      settle(c, s, p, qos, id, rc, topic, kept, keptProps, expiresAt),
    );
  }
  return settle(c, s, p, qos, id, rc, topic, payload, props, expiresAt);
}

/**
 * A PUBLISH read by reference (its payload and correlation data views of a
 * read valid only in this turn) as a copy, to wait past it.
 */
export function keptPublish(p: PublishPacket): PublishPacket {
  const props = p.properties;
  return {
    ...p,
    payload: Buffer.from(p.payload),
    ...(props?.correlationData !== undefined
      ? { properties: { ...props, correlationData: Buffer.from(props.correlationData) } }
      : {}),
  };
}

/** After routing: the retained message (if any), then PUBACK / PUBREC. */
function settle(
  c: InboundHost,
  s: SessionState,
  p: PublishPacket,
  qos: 0 | 1 | 2,
  id: number,
  rc: number,
  topic: string,
  payload: Buffer,
  props: MessageProperties | undefined,
  expiresAt: number | undefined,
): void | Promise<void> {
  const h = c.host;
  if (!p.retain) {
    if (qos === 2) return remember(c, s, id, rc);
    ack(c, qos, id, rc);
    return;
  }
  // [MQTT-3.3.1-5]: kept as the topic's retained message; an empty payload clears it [MQTT-3.3.1-10].
  const stored: StoredMessage | null =
    payload.length === 0
      ? null
      : {
          topic,
          payload: Buffer.from(payload),
          qos,
          retain: true,
          ...(props !== undefined ? { properties: props } : {}),
          ...(expiresAt !== undefined ? { expiresAt } : {}),
        };
  return s.store.setRetained(topic, stored).then((refused) => {
    // Past the account's retained bounds the old message stays; 5.0 says so.
    const code = refused !== null ? RC.QuotaExceeded : rc;
    if (refused !== null)
      h.log.warn(
        `${c.tag()} - retained message on "${topic}" refused: the account's retained ${refused} bound`,
      );
    if (qos === 2) return remember(c, s, id, code);
    ack(c, qos, id, code);
  });
}

/** QoS 2: the packet id is kept until PUBREL, durably for a persistent session, then PUBREC. */
function remember(c: InboundHost, s: SessionState, id: number, rc = 0): void | Promise<void> {
  s.incoming.add(id);
  if (!s.persistent) {
    ack(c, 2, id, rc);
    return;
  }
  return c.state!.store.rememberIncoming(s.clientId, id).then(() => ack(c, 2, id, rc));
}

/** PUBREL: the QoS 2 id is released, then PUBCOMP [MQTT-4.3.3-2]. */
export function handlePubrel(c: InboundHost, id: number): void | Promise<void> {
  const s = c.state!;
  const known = s.incoming.delete(id);
  const comp = (): void => {
    c.send(() => encodePubcomp(c.version, id, known ? 0 : RC.PacketIdentifierNotFound));
  };
  if (!known || !s.persistent) {
    comp();
    return;
  }
  return c.state!.store.releaseIncoming(s.clientId, id).then(comp);
}

/** The MQTT 5 properties a PUBLISH carries on to its receivers. */
function propertiesOf(p: PublishPacket): MessageProperties | undefined {
  const q = p.properties;
  if (q === undefined) return undefined;
  const out: MessageProperties = {
    ...(q.payloadFormatIndicator !== undefined
      ? { payloadFormatIndicator: q.payloadFormatIndicator }
      : {}),
    ...(q.contentType !== undefined ? { contentType: q.contentType } : {}),
    ...(q.responseTopic !== undefined ? { responseTopic: q.responseTopic } : {}),
    ...(q.correlationData !== undefined ? { correlationData: Buffer.from(q.correlationData) } : {}),
    ...(q.userProperties !== undefined ? { userProperties: q.userProperties } : {}),
  };
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * False when `payload` cannot be a JSON object: its first byte after an
 * optional UTF-8 BOM (the decoder drops it) and JSON whitespace is not `{`.
 * Saves impliedStructured's native search on most 3.1.1 payloads (5% of the
 * server's CPU in mqtt-pubsub, bench/PROFILE.md, Issue 16 — mqtt0); it
 * answers the same for every payload.
 */
export function mayBeJsonObject(payload: Buffer): boolean {
  let i =
    payload.length >= 3 && payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf
      ? 3
      : 0;
  while (i < payload.length) {
    const b = payload[i++];
    if (b === 0x7b) return true;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  }
  return false;
}
