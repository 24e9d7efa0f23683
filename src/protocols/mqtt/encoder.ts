/**
 * The packets an MQTT server sends, as bytes: thin, typed helpers around
 * mqtt-packet's `generate` for protocol versions 3/4 (3.1/3.1.1) and 5.
 * Pure, no I/O. Each returns a Buffer holding exactly one packet.
 *
 * MQTT 5 fields (reason codes other than success, properties) are dropped
 * for 3.1.1, which has no place for them; a 3.1.1 server sends no
 * DISCONNECT and no AUTH (those helpers return null for v < 5).
 *
 * `generate` throws on values outside the protocol (a packet identifier of
 * 0, a reason string too long, …). Every helper turns that into an
 * MqttEncodeError, so the session can log it and drop one packet instead of
 * taking the process down.
 */
import mqttPacket, {
  type IAuthPacket,
  type IConnackPacket,
  type IDisconnectPacket,
  type IPublishPacket,
  type ISubackPacket,
  type IUnsubackPacket,
  type Packet,
  type QoS,
  type UserProperties,
} from 'mqtt-packet';
import { copyInto } from '../../util/bytes.js';
import type { ProtocolVersion } from './codec.js';

export class MqttEncodeError extends Error {
  constructor(
    readonly packetType: string,
    message: string,
  ) {
    super(`cannot encode ${packetType}: ${message}`);
    this.name = 'MqttEncodeError';
  }
}

function generate(packet: Packet, version: ProtocolVersion): Buffer {
  try {
    return mqttPacket.generate(packet, { protocolVersion: version });
  } catch (e) {
    throw new MqttEncodeError(packet.cmd.toUpperCase(), (e as Error).message);
  }
}

/** Reason string and user properties: what most MQTT 5 acks may carry. */
export interface AckProperties {
  reasonString?: string;
  userProperties?: UserProperties;
}

export function encodeConnack(
  version: ProtocolVersion,
  sessionPresent: boolean,
  /** 5.0 reason code; for 3.1.1 the return code (0..5) [MQTT-3.2.2-4]. */
  code: number,
  properties?: IConnackPacket['properties'],
): Buffer {
  const packet: IConnackPacket =
    version === 5
      ? { cmd: 'connack', sessionPresent, reasonCode: code, properties }
      : { cmd: 'connack', sessionPresent, returnCode: code };
  return generate(packet, version);
}

/**
 * 3.1.1 CONNACK return code for a 5.0 reason code (MQTT 5.0 §3.2.2.2 lists
 * both): 0x84 → 1, 0x85 → 2, 0x88/0x89/0x8a … → 3, 0x86 → 4, 0x87 → 5.
 */
export function connackReturnCodeV4(reasonCode: number): number {
  switch (reasonCode) {
    case 0x00:
      return 0;
    case 0x84:
      return 1; // unacceptable protocol version
    case 0x85:
      return 2; // identifier rejected
    case 0x86:
      return 4; // bad user name or password
    case 0x87:
      return 5; // not authorized
    default:
      return 3; // server unavailable
  }
}

export interface PublishOut {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain?: boolean;
  dup?: boolean;
  /** Required for QoS 1 and 2 (1..65535). */
  messageId?: number;
  properties?: IPublishPacket['properties'];
}

export function encodePublish(version: ProtocolVersion, p: PublishOut): Buffer {
  if (version !== 5 || p.properties === undefined) {
    const direct = encodePublishDirect(version, p);
    if (direct !== null) return direct;
  }
  const packet: IPublishPacket = {
    cmd: 'publish',
    topic: p.topic,
    payload: p.payload,
    qos: p.qos,
    retain: p.retain ?? false,
    dup: p.dup ?? false,
  };
  if (p.qos > 0) packet.messageId = p.messageId;
  if (version === 5 && p.properties !== undefined) packet.properties = p.properties;
  return generate(packet, version);
}

/** Remaining Length's largest value (MQTT 5.0 §1.5.5: four bytes of varint). */
const MAX_REMAINING = 268_435_455;

/**
 * A PUBLISH with no properties (every 3.1.1 one; 5.0's with none), written
 * straight into one buffer: the same bytes mqtt-packet's generate writes, at
 * a fraction of its cost (it was 19% of the server's CPU in mqtt-pubsub,
 * bench/PROFILE.md, Issue 16 — mqtt0). Null for what only mqtt-packet
 * should judge (a missing or out-of-range packet id, a packet too long): the
 * caller then takes the generic path, whose error stays what it was.
 */
/** The last topic written and its bytes (one entry, the bound; utf8Write was 9%: Issue 16 — mqtt1). */
let encTopic = '';
let encTopicBytes = Buffer.alloc(0);

function encodePublishDirect(version: ProtocolVersion, p: PublishOut): Buffer | null {
  const qos = p.qos;
  const id = p.messageId;
  if (qos !== 0 && (typeof id !== 'number' || !(id >= 0 && id <= 0xffff) || id % 1 !== 0))
    return null;
  if (typeof p.topic !== 'string' || !Buffer.isBuffer(p.payload)) return null;
  if (p.topic !== encTopic) {
    encTopic = p.topic;
    encTopicBytes = Buffer.from(p.topic);
  }
  const topicLen = encTopicBytes.length;
  if (topicLen > 0xffff) return null;
  const remaining = 2 + topicLen + (qos !== 0 ? 2 : 0) + (version === 5 ? 1 : 0) + p.payload.length;
  if (remaining > MAX_REMAINING) return null;
  const lenBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  const buf = Buffer.allocUnsafe(1 + lenBytes + remaining);
  buf[0] = 0x30 | (p.dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0);
  let at = 1;
  let rest = remaining;
  do {
    let b = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) b |= 0x80;
    buf[at++] = b;
  } while (rest > 0);
  buf[at++] = topicLen >> 8;
  buf[at++] = topicLen & 0xff;
  at = copyInto(encTopicBytes, buf, at);
  if (qos !== 0) {
    buf[at++] = (id as number) >> 8;
    buf[at++] = (id as number) & 0xff;
  }
  if (version === 5) buf[at++] = 0; // property length 0
  p.payload.copy(buf, at);
  return buf;
}

type AckCmd = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';

/** Packet type and flags of each acknowledgement (PUBREL's flags are 0b0010 [MQTT-3.6.1-1]). */
const ACK_FIRST_BYTE: Record<AckCmd, number> = {
  puback: 0x40,
  pubrec: 0x50,
  pubrel: 0x62,
  pubcomp: 0x70,
};

function encodeAck(
  cmd: AckCmd,
  version: ProtocolVersion,
  messageId: number,
  reasonCode: number,
  properties: AckProperties | undefined,
): Buffer {
  if (properties === undefined && (version !== 5 || reasonCode === 0)) {
    // The common case, one per QoS 1/2 message: fixed header and packet id
    // only (5.0 may leave out a reason code 0 with no properties [MQTT-3.4.2-1]).
    return Buffer.from([ACK_FIRST_BYTE[cmd], 2, messageId >> 8, messageId & 0xff]);
  }
  const packet = { cmd, messageId } as Packet & { reasonCode?: number; properties?: AckProperties };
  if (version === 5) {
    packet.reasonCode = reasonCode;
    if (properties !== undefined) packet.properties = properties;
  }
  return generate(packet, version);
}

export function encodePuback(
  version: ProtocolVersion,
  messageId: number,
  reasonCode = 0,
  properties?: AckProperties,
): Buffer {
  return encodeAck('puback', version, messageId, reasonCode, properties);
}

export function encodePubrec(
  version: ProtocolVersion,
  messageId: number,
  reasonCode = 0,
  properties?: AckProperties,
): Buffer {
  return encodeAck('pubrec', version, messageId, reasonCode, properties);
}

export function encodePubrel(
  version: ProtocolVersion,
  messageId: number,
  reasonCode = 0,
  properties?: AckProperties,
): Buffer {
  return encodeAck('pubrel', version, messageId, reasonCode, properties);
}

export function encodePubcomp(
  version: ProtocolVersion,
  messageId: number,
  reasonCode = 0,
  properties?: AckProperties,
): Buffer {
  return encodeAck('pubcomp', version, messageId, reasonCode, properties);
}

/**
 * SUBACK: one code per subscription, in order [MQTT-3.8.4-6]: the granted
 * QoS (0..2) or a failure (3.1.1: 0x80; 5.0: a reason code ≥ 0x80).
 */
export function encodeSuback(
  version: ProtocolVersion,
  messageId: number,
  codes: number[],
  properties?: AckProperties,
): Buffer {
  const granted = version === 5 ? codes : codes.map((c) => Math.min(c, 0x80));
  const packet: ISubackPacket = { cmd: 'suback', messageId, granted };
  if (version === 5 && properties !== undefined) packet.properties = properties;
  return generate(packet, version);
}

/** UNSUBACK: 3.1.1 has no payload; 5.0 has one reason code per topic filter [MQTT-3.11.3-1]. */
export function encodeUnsuback(
  version: ProtocolVersion,
  messageId: number,
  codes: number[],
  properties?: AckProperties,
): Buffer {
  const packet: IUnsubackPacket = { cmd: 'unsuback', messageId, granted: [] };
  if (version === 5) {
    packet.granted = codes;
    if (properties !== undefined) packet.properties = properties;
  }
  return generate(packet, version);
}

const PINGRESP = Buffer.from([0xd0, 0x00]);

export function encodePingresp(): Buffer {
  return PINGRESP;
}

/** 5.0 only: a server DISCONNECT with a reason [MQTT-3.14.2-1]; null for 3.1.1 (just close). */
export function encodeDisconnect(
  version: ProtocolVersion,
  reasonCode: number,
  properties?: IDisconnectPacket['properties'],
): Buffer | null {
  if (version !== 5) return null;
  const packet: IDisconnectPacket = { cmd: 'disconnect', reasonCode };
  if (properties !== undefined) packet.properties = properties;
  return generate(packet, version);
}

/** 5.0 only: AUTH (enhanced authentication); null for 3.1.1. */
export function encodeAuth(
  version: ProtocolVersion,
  reasonCode: number,
  properties?: IAuthPacket['properties'],
): Buffer | null {
  if (version !== 5) return null;
  const packet: IAuthPacket = { cmd: 'auth', reasonCode };
  if (properties !== undefined) packet.properties = properties;
  return generate(packet, version);
}
