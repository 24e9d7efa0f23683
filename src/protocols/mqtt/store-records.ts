/**
 * How the durable MQTT store (store-streams.ts) writes its records into
 * stream messages, and reads them back. Decoders never throw: a record that
 * does not decode (damaged, or published into a `$MQTT.` subject by a
 * client) is skipped, and the store says how many it skipped.
 *
 * A message (queued or retained) is `[u32 meta length][meta JSON][payload]`
 * so the payload is kept as it is, without base64. Sessions, in-flight marks
 * and QoS 2 packet identifiers are small JSON documents.
 */
import { createHash } from 'node:crypto';
import type { MessageProperties, StoredMessage, StoredSession } from './store.js';

/** The stream-subject token for a client id or topic: 132 bits of its SHA-256, base64url. */
export function keyOf(s: string): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, 22);
}

interface MessageMeta {
  /** The client whose queue holds it; absent for a retained message. */
  c?: string;
  t: string;
  q: 0 | 1 | 2;
  r: boolean;
  e?: number;
  p?: Omit<MessageProperties, 'correlationData'> & { correlationData?: string };
}

export function encodeMessage(m: StoredMessage, clientId?: string): Buffer {
  const meta: MessageMeta = { t: m.topic, q: m.qos, r: m.retain };
  if (clientId !== undefined) meta.c = clientId;
  if (m.expiresAt !== undefined) meta.e = m.expiresAt;
  if (m.properties !== undefined) {
    const { correlationData, ...rest } = m.properties;
    meta.p =
      correlationData === undefined
        ? rest
        : { ...rest, correlationData: correlationData.toString('base64') };
  }
  const json = Buffer.from(JSON.stringify(meta));
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(json.length, 0);
  return Buffer.concat([head, json, m.payload]);
}

/** The message in a record, with the client id it was queued for (''), or null. */
export function decodeMessage(data: Buffer): { message: StoredMessage; clientId: string } | null {
  if (data.length < 4) return null;
  const n = data.readUInt32BE(0);
  if (4 + n > data.length) return null;
  const meta = parseJson(data.subarray(4, 4 + n)) as Partial<MessageMeta> | null;
  if (meta === null || typeof meta.t !== 'string') return null;
  if (meta.q !== 0 && meta.q !== 1 && meta.q !== 2) return null;
  const { correlationData, ...rest } = meta.p ?? {};
  const message: StoredMessage = {
    topic: meta.t,
    payload: Buffer.from(data.subarray(4 + n)),
    qos: meta.q,
    retain: meta.r === true,
    ...(meta.p === undefined
      ? {}
      : {
          properties: {
            ...rest,
            ...(typeof correlationData === 'string'
              ? { correlationData: Buffer.from(correlationData, 'base64') }
              : {}),
          },
        }),
    ...(typeof meta.e === 'number' ? { expiresAt: meta.e } : {}),
  };
  return { message, clientId: typeof meta.c === 'string' ? meta.c : '' };
}

export function encodeSession(s: StoredSession): Buffer {
  return Buffer.from(JSON.stringify(s));
}

export function decodeSession(data: Buffer): StoredSession | null {
  const s = parseJson(data) as Partial<StoredSession> | null;
  if (s === null || typeof s.clientId !== 'string' || !Array.isArray(s.subscriptions)) return null;
  if (s.protocol !== 4 && s.protocol !== 5) return null;
  if (typeof s.expiryInterval !== 'number') return null;
  if (s.disconnectedAt !== null && typeof s.disconnectedAt !== 'number') return null;
  return s as StoredSession;
}

/** An in-flight mark: queue entry `id` went out as `packetId` (and, QoS 2, was released). */
export interface Mark {
  id: number;
  packetId: number;
  released: boolean;
}

export function encodeMark(m: Mark): Buffer {
  return Buffer.from(JSON.stringify({ i: m.id, k: m.packetId, ...(m.released ? { r: 1 } : {}) }));
}

export function decodeMark(data: Buffer): Mark | null {
  const j = parseJson(data) as { i?: unknown; k?: unknown; r?: unknown } | null;
  if (j === null || typeof j.i !== 'number' || typeof j.k !== 'number') return null;
  return { id: j.i, packetId: j.k, released: j.r === 1 };
}

/** A QoS 2 packet identifier received from a client and not yet released. */
export function encodeIncoming(clientId: string, packetId: number): Buffer {
  return Buffer.from(JSON.stringify({ c: clientId, p: packetId }));
}

export function decodeIncoming(data: Buffer): { clientId: string; packetId: number } | null {
  const j = parseJson(data) as { c?: unknown; p?: unknown } | null;
  if (j === null || typeof j.c !== 'string' || typeof j.p !== 'number') return null;
  return { clientId: j.c, packetId: j.p };
}

function parseJson(b: Buffer): unknown {
  try {
    const v: unknown = JSON.parse(b.toString('utf8'));
    return typeof v === 'object' && v !== null ? v : null;
  } catch {
    return null;
  }
}
