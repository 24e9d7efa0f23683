/**
 * What an MQTT message carries besides topic and payload, as NATS headers,
 * so it crosses faces and the mesh: MQTT 5 user properties are headers of
 * their own name (a NATS subscriber sees them; a NATS publisher's headers
 * become user properties), and the rest travel in `Mqtt-…` headers:
 *
 *   Mqtt-Qos: 1|2            the QoS it was published with (absent: 0)
 *   Mqtt-Retain: 1           published with RETAIN (retain-as-published)
 *   Mqtt-Format: 1           payload format indicator: UTF-8
 *   Mqtt-Expires: <ms>       when it expires (message expiry interval), ms since the epoch
 *   Mqtt-Correlation: <b64>  correlation data
 *   Content-Type: <text>     content type
 *
 * The response topic is the message's reply subject. A message with none of
 * these has no header block at all (the common QoS 0 case costs nothing).
 *
 * A CloudEvent in binary mode (docs/cloudevents.md) is the one exception to
 * "headers of their own name": the MQTT binding carries attributes as user
 * properties named as the attribute (`specversion`, `id`, …) and
 * `datacontenttype` as the Content Type, the canonical form (NATS binding)
 * as `ce-<name>` headers, percent-encoded. So a PUBLISH whose user
 * properties hold `specversion` (and whose Content Type is not
 * `application/cloudevents…`: structured mode passes as it is) gets `ce-`
 * on every user property whose name can be an attribute, and its Content
 * Type becomes `ce-datacontenttype`; the way out takes them off again, and
 * gives `datacontenttype` as the Content Type and as a user property (both,
 * as the binding's example, so a receiver reading either finds it).
 */
import { forEachHeader } from '../../core/headers.js';
import type { Message } from '../../core/message.js';
import {
  CE_PREFIX,
  contentMode,
  percentDecode,
  percentEncode,
  structuredFromBinary,
  validAttributeName,
} from '../cloudevents.js';
import type { MessageProperties, StoredMessage } from './store.js';

const QOS = 'Mqtt-Qos';
const RETAIN = 'Mqtt-Retain';
const FORMAT = 'Mqtt-Format';
const EXPIRES = 'Mqtt-Expires';
const CORRELATION = 'Mqtt-Correlation';
const CONTENT_TYPE = 'Content-Type';
const RESERVED = new Set([QOS, RETAIN, FORMAT, EXPIRES, CORRELATION, CONTENT_TYPE].map(lower));
const CE_DATACONTENTTYPE = `${CE_PREFIX}datacontenttype`;
/** The header that makes a message a binary-mode CloudEvent (NATS binding), lower-cased. */
const CE_SPECVERSION = `${CE_PREFIX}specversion`;

/** An MQTT 5 message that is a binary-mode CloudEvent: `specversion` in its user properties [MQTT binding 3]. */
function isBinaryEvent(p: MessageProperties): boolean {
  return p.userProperties?.specversion !== undefined && contentMode(p.contentType) === null;
}

function lower(s: string): string {
  return s.toLowerCase();
}

/** A header name NATS can carry: printable, no `:` or space. */
function validName(k: string): boolean {
  return k.length > 0 && /^[!-9;-~]+$/.test(k);
}

/** A header value NATS can carry on one line. */
function validValue(v: string): boolean {
  return !/[\r\n]/.test(v);
}

/**
 * The header block for an MQTT message (null when it needs none). User
 * properties a NATS header cannot hold (a name with `:` or spaces, a
 * value with a line break) are left out and counted in `dropped`.
 */
export function toHeaders(
  qos: number,
  retain: boolean,
  p: MessageProperties | undefined,
  expiresAt: number | undefined,
  dropped: { count: number },
): Buffer | null {
  if (p === undefined && expiresAt === undefined) {
    const fixed = FIXED[qos * 2 + (retain ? 1 : 0)];
    return fixed === null ? null : Buffer.from(fixed.block);
  }
  const lines: string[] = [];
  if (qos > 0) lines.push(`${QOS}: ${qos}`);
  if (retain) lines.push(`${RETAIN}: 1`);
  if (p !== undefined) {
    const event = isBinaryEvent(p);
    if (p.payloadFormatIndicator === true) lines.push(`${FORMAT}: 1`);
    if (p.contentType !== undefined && event)
      lines.push(`${CE_DATACONTENTTYPE}: ${percentEncode(p.contentType)}`);
    else if (p.contentType !== undefined && validValue(p.contentType))
      lines.push(`${CONTENT_TYPE}: ${p.contentType}`);
    if (p.correlationData !== undefined)
      lines.push(`${CORRELATION}: ${p.correlationData.toString('base64')}`);
    for (const [k, v] of Object.entries(p.userProperties ?? {})) {
      const attribute = event && validAttributeName(k);
      // The Content Type property is the binding's datacontenttype [MQTT binding 3.1.1].
      if (attribute && k === 'datacontenttype' && p.contentType !== undefined) continue;
      for (const value of Array.isArray(v) ? v : [v]) {
        if (attribute) lines.push(`${CE_PREFIX}${k}: ${percentEncode(value)}`);
        else if (validName(k) && !RESERVED.has(lower(k)) && validValue(value))
          lines.push(`${k}: ${value}`);
        else dropped.count++;
      }
    }
  }
  if (expiresAt !== undefined) lines.push(`${EXPIRES}: ${expiresAt}`);
  if (lines.length === 0) return null;
  return Buffer.from(`NATS/1.0\r\n${lines.join('\r\n')}\r\n\r\n`, 'utf8');
}

/** What the headers of a core message say in MQTT terms. */
export interface MqttView {
  qos: 0 | 1 | 2;
  retain: boolean;
  expiresAt: number | undefined;
  properties: MessageProperties | undefined;
}

const PLAIN: MqttView = Object.freeze({
  qos: 0,
  retain: false,
  expiresAt: undefined,
  properties: undefined,
}) as MqttView;

/**
 * The header blocks of a message with only a QoS and retain flag, by
 * qos * 2 + retain, and their views: made once, not per message (the
 * string building and header parsing were ~12% of QoS 1: Issue 16 — mqtt1).
 */
const FIXED = [0, 1, 2].flatMap((qos) =>
  [false, true].map((retain) => {
    const lines = [...(qos > 0 ? [`${QOS}: ${qos}`] : []), ...(retain ? [`${RETAIN}: 1`] : [])];
    if (lines.length === 0) return null;
    const view = Object.freeze({ qos, retain, expiresAt: undefined, properties: undefined });
    return {
      block: Buffer.from(`NATS/1.0\r\n${lines.join('\r\n')}\r\n\r\n`),
      view: view as MqttView,
    };
  }),
);

/** Reads a core message's headers (any face's) as MQTT fields. */
export function fromHeaders(headers: Buffer | null): MqttView {
  if (headers === null || headers.length === 0) return PLAIN;
  for (let i = 1; i < FIXED.length; i++) {
    const f = FIXED[i]!;
    if (headers.length === f.block.length && headers.equals(f.block)) return f.view;
  }
  const out: MqttView = { qos: 0, retain: false, expiresAt: undefined, properties: undefined };
  const props: MessageProperties = {};
  let user: Record<string, string | string[]> | undefined;
  let any = false;
  let sawSpecversion = false;
  forEachHeader(headers, 'utf8', (k, v) => {
    const lk = lower(k);
    switch (lk) {
      case 'mqtt-qos': {
        const q = Number(v);
        out.qos = q === 1 || q === 2 ? q : 0;
        break;
      }
      case 'mqtt-retain':
        out.retain = v === '1';
        break;
      case 'mqtt-format':
        props.payloadFormatIndicator = v === '1';
        any = true;
        break;
      case 'mqtt-expires': {
        const ms = Number(v);
        if (Number.isSafeInteger(ms)) out.expiresAt = ms;
        break;
      }
      case 'mqtt-correlation':
        props.correlationData = Buffer.from(v, 'base64');
        any = true;
        break;
      case 'content-type':
        props.contentType = v;
        any = true;
        break;
      default: {
        if (lk === CE_SPECVERSION) sawSpecversion = true;
        user ??= {};
        const prev = user[k];
        user[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        any = true;
      }
    }
  });
  if (sawSpecversion && user !== undefined && contentMode(props.contentType) === null)
    user = eventProperties(user, props);
  if (user !== undefined) props.userProperties = user;
  if (any) out.properties = props;
  return out;
}

/**
 * A binary-mode CloudEvent's headers as MQTT 5 user properties: `ce-<name>`
 * becomes `<name>` (percent-decoded); `datacontenttype` (from
 * `ce-datacontenttype`, else the Content-Type) becomes the Content Type and
 * the user property `datacontenttype`. Other headers stay as they are.
 */
function eventProperties(
  headers: Record<string, string | string[]>,
  props: MessageProperties,
): Record<string, string | string[]> {
  const user: Record<string, string | string[]> = {};
  let eventType: string | undefined;
  for (const [k, v] of Object.entries(headers)) {
    const attribute = lower(k).slice(CE_PREFIX.length);
    if (lower(k.slice(0, CE_PREFIX.length)) !== CE_PREFIX || !validAttributeName(attribute)) {
      user[k] = v;
      continue;
    }
    const values = (Array.isArray(v) ? v : [v]).map((x) => percentDecode(x) ?? x);
    if (attribute === 'datacontenttype') {
      eventType ??= values[0];
      continue;
    }
    const prev = user[attribute];
    const all = prev === undefined ? values : [...(Array.isArray(prev) ? prev : [prev]), ...values];
    user[attribute] = all.length === 1 ? all[0]! : all;
  }
  // ce-datacontenttype wins over a Content-Type; either is the Content Type and a user property.
  if (eventType !== undefined) props.contentType = eventType;
  if (props.contentType !== undefined) user.datacontenttype = props.contentType;
  return user;
}

/** A core message's copy as the store keeps it (payload copied: the read buffer is reused). */
export function storedFrom(
  topic: string,
  msg: Message,
  view: MqttView,
  qos: 0 | 1 | 2,
  retain: boolean,
  responseTopic: string | null,
): StoredMessage {
  let properties = view.properties;
  if (responseTopic !== null) properties = { ...properties, responseTopic };
  return {
    topic,
    payload: Buffer.from(msg.payload),
    qos,
    retain,
    ...(properties !== undefined ? { properties } : {}),
    ...(view.expiresAt !== undefined ? { expiresAt: view.expiresAt } : {}),
  };
}

/**
 * MQTT 3.1.1 has no properties, so a binary-mode CloudEvent reaches a 3.1.1
 * subscriber in structured mode, the only mode the MQTT binding gives 3.1.1
 * [MQTT binding 1.3, 3.2]: the payload becomes the JSON event format, its
 * attributes the user properties an attribute can be named by, its
 * `datacontenttype` the Content Type. Null for any other message (left as it is).
 */
export function structuredForV311(
  p: MessageProperties | undefined,
  payload: Buffer,
): Buffer | null {
  if (p === undefined || !isBinaryEvent(p)) return null;
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.userProperties ?? {})) {
    if (!validAttributeName(k)) continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) attributes[k] = first;
  }
  if (p.contentType !== undefined) attributes.datacontenttype = p.contentType;
  return structuredFromBinary(attributes, payload);
}
