/**
 * Server-Sent Events encoding of core messages (docs/http.md, "Server-Sent
 * Events"). Pure: a message in, the text of one event out; no socket.
 *
 * An event is `event: <subject>`, `id: <stream sequence>` (only when the
 * message comes from a stream) and the data, then a blank line
 * (WHATWG HTML, "Server-sent events", 9.2.6 "Interpreting an event stream").
 * Subjects never hold whitespace, so they are safe as an event type.
 *
 * Two data formats, chosen per request with `?format=`:
 *
 * - `text` (the default): the payload itself. A payload that is valid
 *   UTF-8, holds no CR and does not begin with `base64:` goes as it is,
 *   one `data:` line per LF-separated line (the client joins them with LF
 *   again, so the text arrives exactly). Any other payload (binary, CR, or
 *   one that starts with the marker itself) goes as `base64:` followed by
 *   its base64: a client decodes data that starts with `base64:` and takes
 *   any other data as text. Headers are not carried in this format, so a
 *   CloudEvent in binary mode (`ce-specversion`) goes as its JSON event
 *   format (structured mode, docs/cloudevents.md).
 * - `json`: the data is one line of JSON, `{"subject", "seq"?, "reply"?,
 *   "headers"?, "data" | "data_base64"}`: `headers` maps each header name
 *   (as published) to its values; the payload is `data` when it is valid
 *   UTF-8, else `data_base64`.
 */
import { isUtf8 } from 'node:buffer';
import { forEachHeader } from '../../core/headers.js';
import { structuredFromCanonical } from '../cloudevents.js';

export type SseFormat = 'text' | 'json';

/** What begins the data of a payload sent base64 in the text format. */
export const BASE64_MARKER = 'base64:';
const MARKER = Buffer.from(BASE64_MARKER, 'latin1');

/** A comment that keeps the response alive through proxies (and tells the client it is). */
export const HEARTBEAT = ': hb\n\n';

/** The reconnection delay hint the stream starts with (`retry:`, ms). */
export function retryField(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`;
}

export interface SseMessage {
  readonly subject: string;
  readonly reply: string;
  readonly headers: Buffer | null;
  readonly payload: Buffer;
}

/** One event's text; `seq` is the stream sequence (0: not from a stream, no `id:`). */
export function encodeEvent(msg: SseMessage, seq: number, format: SseFormat): string {
  const head = seq > 0 ? `event: ${msg.subject}\nid: ${seq}\n` : `event: ${msg.subject}\n`;
  if (format === 'json') return `${head}data: ${JSON.stringify(envelope(msg, seq))}\n\n`;
  // The text format carries no headers: a binary-mode CloudEvent goes in structured mode.
  const p = structuredFromCanonical(msg.headers, msg.payload) ?? msg.payload;
  if (!textSafe(p)) return `${head}data: ${BASE64_MARKER}${p.toString('base64')}\n\n`;
  const text = p.toString('utf8');
  if (text.indexOf('\n') < 0) return `${head}data: ${text}\n\n`;
  // A line starting with a space keeps it: the client strips only the one after `data:`.
  return `${head}data: ${text.split('\n').join('\ndata: ')}\n\n`;
}

/** Whether the text format sends `p` as it is (see the file comment). */
function textSafe(p: Buffer): boolean {
  if (p.indexOf(0x0d) >= 0) return false;
  if (p.length >= MARKER.length && p.compare(MARKER, 0, MARKER.length, 0, MARKER.length) === 0) {
    return false;
  }
  return isUtf8(p);
}

interface Envelope {
  subject: string;
  seq?: number;
  reply?: string;
  headers?: Record<string, string[]>;
  data?: string;
  data_base64?: string;
}

function envelope(msg: SseMessage, seq: number): Envelope {
  const out: Envelope = { subject: msg.subject };
  if (seq > 0) out.seq = seq;
  if (msg.reply !== '') out.reply = msg.reply;
  const headers = headerValues(msg.headers);
  if (headers !== null) out.headers = headers;
  if (isUtf8(msg.payload)) out.data = msg.payload.toString('utf8');
  else out.data_base64 = msg.payload.toString('base64');
  return out;
}

/**
 * The headers of a NATS header block by name, as published (names are
 * case-sensitive in NATS), each with its values in order; null when there
 * are none. The status line (`NATS/1.0 503`) is not a header and is left out.
 */
export function headerValues(block: Buffer | null): Record<string, string[]> | null {
  let out: Record<string, string[]> | null = null;
  forEachHeader(block, 'utf8', (name, value) => {
    out ??= Object.create(null) as Record<string, string[]>;
    const list = out[name];
    if (list === undefined) out[name] = [value];
    else list.push(value);
  });
  return out;
}
