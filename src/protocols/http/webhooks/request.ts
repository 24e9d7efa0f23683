/**
 * What a webhook POSTs for one message: the payload as the body, the
 * message's NATS headers as HTTP headers (the rule below), the subject
 * and the delivery's identity in `Weft-*` headers, and the signature
 * (docs/webhooks.md, "Verifying the signature"):
 *
 *   Weft-Signature: v1=<hex HMAC-SHA256(secret, `${Weft-Timestamp}.${body}`)>
 *
 * as Stripe signs `timestamp.body` (its `Stripe-Signature: t=…,v1=…`):
 * the timestamp (Unix seconds) lets a receiver refuse a replay, and
 * several `v1=` values separated by spaces may come (a secret being
 * rotated) — a receiver accepts the message when one matches.
 *
 * Headers, as the HTTP API maps a reply's NATS headers (docs/http.md,
 * "Headers"), so a receiver reads them the same way:
 * - a NATS header named `Nats-…` goes as it is (`Nats-Msg-Id`);
 * - `Content-Type` and CloudEvents' `ce-…` go as they are, so a CloudEvent
 *   in the NATS binding arrives as one in the HTTP binary mode (its
 *   `ce-datacontenttype` as the Content-Type, docs/cloudevents.md);
 * - any other `<Name>` goes as `X-Nats-Header-<Name>` (so a publisher
 *   cannot set `Weft-Signature`, `Host` or `Content-Length`);
 * - a name that is not an HTTP token, or a value with a control character
 *   or outside Latin-1, is left out.
 * Without a NATS `Content-Type`, the body is `application/octet-stream`.
 */
import { createHmac } from 'node:crypto';
import { headerPairs } from '../../../core/headers.js';
import { httpFromCanonical } from '../../cloudevents.js';

/** The headers a webhook sets itself (lower-case). */
export const WEFT_HEADERS = {
  signature: 'weft-signature',
  timestamp: 'weft-timestamp',
  id: 'weft-delivery-id',
  subject: 'weft-subject',
  attempt: 'weft-attempt',
  webhook: 'weft-webhook',
} as const;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value may hold no control character but tab, and only Latin-1. */
const BAD_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f\u0100-\uffff]/;

/** The signature header's value for one delivery. */
export function sign(secret: string, timestamp: number, body: Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `v1=${mac.digest('hex')}`;
}

/** One delivery's identity: the same id on every attempt of one message. */
export interface Delivery {
  readonly id: string;
  readonly webhook: string;
  readonly subject: string;
  readonly headers: Buffer | null;
  readonly payload: Buffer;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

/**
 * The HTTP headers of one attempt (a fresh timestamp and signature each
 * time), by lower-case name; a name given twice has its values joined
 * with `, ` (as `Headers.append` does).
 */
export function requestHeaders(
  d: Delivery,
  secret: string,
  now = Date.now(),
): Record<string, string> {
  const h: Record<string, string> = {};
  let type = 'application/octet-stream';
  if (d.headers !== null && d.headers.length > 0) {
    const lines = headerPairs(d.headers, 'latin1');
    // A binary-mode CloudEvent goes in HTTP binary mode: datacontenttype is the Content-Type.
    const event = httpFromCanonical(lines);
    const eventType = event?.find(([k]) => k === 'content-type')?.[1];
    if (eventType !== undefined && !BAD_VALUE.test(eventType)) type = eventType;
    for (const [name, value] of lines) {
      if (!TOKEN.test(name) || BAD_VALUE.test(value)) continue;
      const lower = name.toLowerCase();
      if (event !== null && (lower === 'content-type' || lower === 'ce-datacontenttype')) continue;
      if (lower === 'content-type') type = value;
      else {
        const key =
          lower.startsWith('nats-') || lower.startsWith('ce-') ? lower : `x-nats-header-${lower}`;
        const had = h[key];
        h[key] = had === undefined ? value : `${had}, ${value}`;
      }
    }
  }
  h['content-type'] = type;
  const ts = Math.floor(now / 1000);
  h[WEFT_HEADERS.webhook] = d.webhook;
  h[WEFT_HEADERS.subject] = d.subject;
  h[WEFT_HEADERS.id] = d.id;
  h[WEFT_HEADERS.attempt] = String(d.attempt);
  h[WEFT_HEADERS.timestamp] = String(ts);
  if (secret !== '') h[WEFT_HEADERS.signature] = sign(secret, ts, d.payload);
  return h;
}
