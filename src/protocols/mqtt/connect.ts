/**
 * CONNECT, read and answered: the checks a CONNECT must pass before its
 * credentials are looked at, the client identifier, the credentials the
 * node's security is given, the session expiry, and the CONNACK.
 */
import { randomBytes } from 'node:crypto';
import type { Credentials } from '../../auth/types.js';
import type { TlsSessionInfo } from '../../connection/tls-accept.js';
import type { Packet } from './codec.js';
import { type ConnectRefusal, RC, V4 } from './reason.js';
import { topicNameProblem } from './topics.js';

export type ConnectPacket = Extract<Packet, { cmd: 'connect' }>;

/** A session that never expires (3.1.1 clean session 0; 5.0 0xFFFFFFFF) [MQTT-3.1.2-4]. */
export const EXPIRY_NEVER = 0xffffffff;
/** Topic aliases a client may use towards the node (CONNACK Topic Alias Maximum). */
export const TOPIC_ALIAS_MAX = 64;
/** Longest client identifier accepted, bytes (the spec requires 23 at least [MQTT-3.1.3-5]). */
export const CLIENT_ID_MAX = 256;

/** Why the CONNECT cannot be served, before any credential is checked; null when it can. */
export function connectProblem(p: ConnectPacket): ConnectRefusal | null {
  const v = p.protocolVersion;
  if (v !== 4 && v !== 5) {
    // [MQTT-3.1.2-2]: an unsupported level gets return code 1, then the close.
    return {
      v4: V4.UnacceptableProtocolVersion,
      v5: RC.UnsupportedProtocolVersion,
      why: `protocol level ${v} is not supported (3.1.1 and 5.0 are)`,
    };
  }
  if (p.protocolId !== 'MQTT') {
    return {
      v4: V4.UnacceptableProtocolVersion,
      v5: RC.UnsupportedProtocolVersion,
      why: `protocol name ${p.protocolId} is not MQTT [MQTT-3.1.2-1]`,
    };
  }
  if (Buffer.byteLength(p.clientId ?? '') > CLIENT_ID_MAX) {
    return {
      v4: V4.IdentifierRejected,
      v5: RC.ClientIdentifierNotValid,
      why: `client identifier longer than ${CLIENT_ID_MAX} bytes`,
    };
  }
  if ((p.clientId ?? '') === '' && v === 4 && p.clean === false) {
    // [MQTT-3.1.3-8]: a zero-byte id with clean session 0 is rejected.
    return {
      v4: V4.IdentifierRejected,
      v5: RC.ClientIdentifierNotValid,
      why: 'empty client identifier with clean session 0 [MQTT-3.1.3-8]',
    };
  }
  const method = v === 5 ? p.properties?.authenticationMethod : undefined;
  if (method !== undefined) {
    // Enhanced authentication (AUTH exchanges) is not offered: refused, then
    // the close [MQTT-4.12.0-1].
    return {
      v4: V4.NotAuthorized,
      v5: RC.BadAuthenticationMethod,
      why: `authentication method "${method}" is not supported (user name and password, tokens and client certificates are)`,
    };
  }
  if (p.will !== undefined && p.will !== null) {
    const problem = topicNameProblem(p.will.topic);
    if (problem !== null)
      return { v4: V4.ServerUnavailable, v5: RC.TopicNameInvalid, why: `will ${problem}` };
  }
  return null;
}

/** The client identifier: as sent, or one assigned when empty [MQTT-3.1.3-6]. */
export function clientIdOf(p: ConnectPacket): { id: string; assigned: boolean } {
  const id = p.clientId ?? '';
  if (id !== '') return { id, assigned: false };
  return { id: `weft-${randomBytes(12).toString('hex')}`, assigned: true };
}

/**
 * The credentials of a CONNECT for the node's security: user name and
 * password; a node configured with a token alone takes the password as the
 * token; a client certificate names the user under verify_and_map.
 */
export function credentialsOf(
  p: ConnectPacket,
  remoteAddress: string,
  tokenOnly: boolean,
  tls: TlsSessionInfo | null,
  certNamesUser: boolean,
): Credentials {
  const pass = p.password === undefined ? '' : Buffer.from(p.password).toString('utf8');
  return {
    face: 'mqtt',
    remoteAddress,
    // With a token alone the user name means nothing (clients must send one to send a password).
    user: tokenOnly ? '' : (p.username ?? ''),
    pass: tokenOnly ? '' : pass,
    token: tokenOnly ? pass : '',
    nkey: '',
    sig: '',
    jwt: '',
    nonce: '',
    cert: certNamesUser ? (tls?.cert ?? null) : null,
  };
}

/**
 * Seconds the session outlives the connection: 3.1.1 clean session 0 never
 * expires, 1 ends with the connection; 5.0 says it in Session Expiry
 * Interval (absent: 0) [MQTT-3.1.2-11].
 */
export function expiryOf(p: ConnectPacket): number {
  if (p.protocolVersion === 5) return p.properties?.sessionExpiryInterval ?? 0;
  return p.clean === false ? EXPIRY_NEVER : 0;
}

/** 5.0 CONNACK properties: what this node supports and bounds. */
export function connackProperties(opts: {
  assignedId: string | null;
  receiveMaximum: number;
  maximumPacketSize: number;
  serverKeepAlive: number | null;
}): Record<string, unknown> {
  return {
    receiveMaximum: opts.receiveMaximum,
    maximumPacketSize: opts.maximumPacketSize,
    topicAliasMaximum: TOPIC_ALIAS_MAX,
    retainAvailable: true,
    wildcardSubscriptionAvailable: true,
    subscriptionIdentifiersAvailable: true,
    sharedSubscriptionAvailable: true,
    ...(opts.assignedId !== null ? { assignedClientIdentifier: opts.assignedId } : {}),
    ...(opts.serverKeepAlive !== null ? { serverKeepAlive: opts.serverKeepAlive } : {}),
  };
}
