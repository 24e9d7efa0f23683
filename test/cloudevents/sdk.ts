/**
 * Both ends of the CloudEvents tests are the `cloudevents` SDK: events are
 * built with its `CloudEvent` class and serialized by its bindings (HTTP,
 * MQTT) or, for NATS (which the SDK has no binding for), by the NATS
 * binding's rules written out here independently of src/protocols/cloudevents.ts
 * (percent-encoding by `encodeURIComponent`, which encodes more than the
 * binding requires: a receiver must accept that). What is received is
 * parsed back into a `CloudEvent` and `validate()`d.
 */
import assert from 'node:assert/strict';
import { CloudEvent, type CloudEventV1, MQTT } from 'cloudevents';
import type { IPublishPacket } from 'mqtt';
import { type Msg, type MsgHdrs, headers as natsHeaders } from 'nats';

type Event = CloudEvent<unknown>;

/** The attributes of an event (no data), values as the SDK holds them, undefined ones left out. */
export function attributesOf(e: CloudEventV1<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'data' || k === 'data_base64' || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

/** The event's data as bytes, as a binary-mode message carries it. */
export function dataBytes(e: CloudEventV1<unknown>): Buffer {
  const d = e.data;
  if (d === undefined) return Buffer.alloc(0);
  if (d instanceof Uint8Array) return Buffer.from(d);
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  return Buffer.from(JSON.stringify(d), 'utf8');
}

/** NATS binding binary mode: every attribute a `ce-<name>` header, percent-encoded. */
export function natsBinary(e: Event): { headers: MsgHdrs; payload: Buffer } {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(attributesOf(e)))
    h.set(`ce-${k}`, encodeURIComponent(String(v)));
  return { headers: h, payload: dataBytes(e) };
}

/** A binary-mode NATS message as an SDK event (validated). */
export function fromNats(m: Msg): Event {
  const attrs: Record<string, unknown> = {};
  assert.ok(m.headers, 'a binary-mode event has headers');
  for (const [k, values] of m.headers) {
    const lk = k.toLowerCase();
    if (lk.startsWith('ce-')) attrs[lk.slice(3)] = decodeURIComponent(values[0]!);
  }
  const e = new CloudEvent<unknown>(
    { ...attrs, data: parseData(attrs, Buffer.from(m.data)) } as never,
    false,
  );
  e.validate();
  return e;
}

/** An SDK MQTT message (binary or structured) as mqtt.js publish arguments. */
export function mqttPublish(
  e: Event,
  mode: 'binary' | 'structured',
): {
  payload: Buffer;
  properties: { contentType?: string; userProperties?: Record<string, string> };
} {
  const m = mode === 'binary' ? MQTT.binary(e) : MQTT.structured(e);
  const user: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) user[k] = String(v);
  const ct = m.PUBLISH?.['Content Type'];
  const body = m.body;
  const payload =
    body === undefined
      ? Buffer.alloc(0)
      : body instanceof Uint8Array
        ? Buffer.from(body)
        : typeof body === 'string'
          ? Buffer.from(body)
          : Buffer.from(JSON.stringify(body));
  return {
    payload,
    properties: {
      ...(ct !== undefined ? { contentType: ct } : {}),
      ...(Object.keys(user).length > 0 ? { userProperties: user } : {}),
    },
  };
}

/** A received MQTT PUBLISH as an SDK event (MQTT.toEvent, validated); 3.1.1's implied content type is given. */
export function fromMqtt(p: IPublishPacket, v311 = false): Event {
  const props = (p.properties ?? {}) as {
    contentType?: string;
    userProperties?: Record<string, string>;
  };
  const contentType = v311 ? 'application/cloudevents+json' : props.contentType;
  const payload = Buffer.from(p.payload as Buffer);
  const structured = contentType?.startsWith('application/cloudevents') === true;
  const headers = { ...(props.userProperties ?? {}) };
  const body = structured ? payload.toString('utf8') : parseData(headers, payload);
  const e = MQTT.toEvent({
    PUBLISH: contentType !== undefined ? { 'Content Type': contentType } : undefined,
    headers,
    body,
    payload: body,
    'User Properties': headers,
  } as never) as Event;
  e.validate();
  return e;
}

/** Binary data as the SDK holds it: JSON parsed for a JSON content type, else bytes. */
function parseData(attrs: Record<string, unknown>, payload: Buffer): unknown {
  if (payload.length === 0) return undefined;
  const ct = String(attrs.datacontenttype ?? '');
  if (/\/(.*\+)?json\b/i.test(ct)) return JSON.parse(payload.toString('utf8'));
  if (ct.startsWith('text/')) return payload.toString('utf8');
  return payload;
}

/** Asserts `got` is `sent`: the same attributes (time compared as instants) and the same data. */
export function assertSameEvent(got: CloudEventV1<unknown>, sent: CloudEventV1<unknown>): void {
  const a = attributesOf(got);
  const b = attributesOf(sent);
  for (const x of [a, b]) {
    if (x.time !== undefined) x.time = new Date(String(x.time)).toISOString();
    // Weft gives datacontenttype explicitly where the JSON format implies it.
  }
  assert.deepEqual(a, b);
  assert.deepEqual(dataBytes(got), dataBytes(sent));
}
