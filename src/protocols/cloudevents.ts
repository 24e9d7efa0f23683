/**
 * CloudEvents 1.0 (docs/cloudevents.md), the pure part every face shares: no
 * I/O. Inside Weft a binary-mode event is a message in the NATS protocol
 * binding (1.0.3): each attribute a header `ce-<name>` whose value is
 * percent-encoded (NATS binding 3.1.3.2, the same rule as HTTP's), the data
 * the payload. A structured-mode event (`Content-Type:
 * application/cloudevents+json`, the whole event as JSON in the payload)
 * passes every face untouched. Each face translates its own binding to and
 * from that canonical form at its edge with what is here:
 *
 *   - detect: `binaryAttributes` (a header list), `contentMode` (a Content-Type);
 *   - validate: `validateEvent`, `attributeNameProblem`;
 *   - convert: `canonicalHeaders` (attributes → `ce-*`),
 *     `structuredFromBinary` / `binaryFromStructured` (the JSON event format,
 *     `data_base64` for binary data), `percentEncode` / `percentDecode`;
 *   - batch: `splitBatch` (`application/cloudevents-batch+json`).
 */

import { headerPairs as readHeaderPairs } from '../core/headers.js';

/** The header prefix of an attribute in the NATS and HTTP bindings (names are case-insensitive). */
export const CE_PREFIX = 'ce-';
/** The JSON event format's media type (structured mode). */
export const STRUCTURED_TYPE = 'application/cloudevents+json';
/** The JSON batch format's media type. */
export const BATCH_TYPE = 'application/cloudevents-batch+json';
/** The only version spoken. */
export const SPEC_VERSION = '1.0';
/** Longest attribute name: the spec says SHOULD NOT exceed 20; Weft refuses longer ones. */
export const MAX_ATTRIBUTE_NAME = 20;
/** The attributes every event has (spec 3.1, "REQUIRED Attributes"). */
export const REQUIRED_ATTRIBUTES: readonly string[] = ['id', 'source', 'specversion', 'type'];

/** Attribute values as their canonical strings, by attribute name. */
export type Attributes = Record<string, string>;
/** A header list in order, names as sent. */
export type HeaderList = Array<[name: string, value: string]>;

const NAME = /^[a-z0-9]+$/;

/** Why `name` cannot be an attribute name (spec 3: lower-case a-z and 0-9, at most 20), or null. */
export function attributeNameProblem(name: string): string | null {
  if (name.length === 0) return 'an attribute name is empty';
  if (!NAME.test(name))
    return `attribute name "${clip(name)}" must be lower-case letters a-z and digits 0-9 only`;
  if (name.length > MAX_ATTRIBUTE_NAME)
    return `attribute name "${clip(name)}" is longer than ${MAX_ATTRIBUTE_NAME} characters`;
  return null;
}

export function validAttributeName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_ATTRIBUTE_NAME && NAME.test(name);
}

/** The media type of a Content-Type value: lower-cased, parameters dropped. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/**
 * The content mode a Content-Type announces: `structured` for an
 * `application/cloudevents` type (any event format), `batch` for a batch
 * format, null otherwise (binary mode if the attributes are headers).
 */
export function contentMode(contentType: string | undefined): 'structured' | 'batch' | null {
  if (contentType === undefined) return null;
  const t = mediaType(contentType);
  if (t.startsWith('application/cloudevents-batch')) return 'batch';
  if (t.startsWith('application/cloudevents')) return 'structured';
  return null;
}

/** True when a `datacontenttype` declares JSON: `*\/json` or `*\/*+json` (JSON format 3.1.1). */
export function isJsonType(contentType: string): boolean {
  const t = mediaType(contentType);
  const slash = t.indexOf('/');
  if (slash <= 0) return false;
  const sub = t.slice(slash + 1);
  return sub === 'json' || sub.endsWith('+json');
}

/** True when a `datacontenttype` declares text that a JSON string holds as it is. */
function isTextType(contentType: string): boolean {
  const t = mediaType(contentType);
  return (
    t.startsWith('text/') ||
    t === 'application/xml' ||
    t.endsWith('+xml') ||
    /;\s*charset\s*=/i.test(contentType)
  );
}

// --- percent-encoding (NATS binding 3.1.3.2, HTTP binding 3.1.3.2) ---------------------

const HEX = '0123456789ABCDEF';

/**
 * A header value for an attribute's canonical string: space, `"`, `%` and
 * every character outside printable ASCII are percent-encoded (upper-case
 * hex, UTF-8 bytes); the result is printable ASCII, so it fits any header.
 */
export function percentEncode(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (c > 0x20 && c < 0x7f && c !== 0x22 && c !== 0x25) {
      out += ch;
      continue;
    }
    for (const b of Buffer.from(ch, 'utf8')) out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * An attribute's value from its header value: a double-quoted string is
 * unquoted first (RFC 7230 3.2.6, for older senders), then one round of
 * percent-decoding. Null when a `%` is not followed by two hex digits or the
 * bytes are not UTF-8 (an overlong `%C0%A0` included).
 */
export function percentDecode(value: string): string | null {
  let v = value;
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    v = v.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  if (v.indexOf('%') < 0) return v;
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x25) {
      const h = parseHex(v.charCodeAt(i + 1));
      const l = parseHex(v.charCodeAt(i + 2));
      if (h < 0 || l < 0) return null;
      bytes.push((h << 4) | l);
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      const cp = v.codePointAt(i)!;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
      if (cp > 0xffff) i++;
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

function parseHex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

// --- the canonical form: NATS headers ----------------------------------------------------

/** The header lines of a NATS header block, in order (empty for null or a block that is not one). */
export function headerPairs(block: Buffer | null): HeaderList {
  return readHeaderPairs(block, 'utf8');
}

/** A NATS header block of `pairs` (null for none). Values must be on one line (encode first). */
export function headerBlock(pairs: HeaderList): Buffer | null {
  if (pairs.length === 0) return null;
  let s = 'NATS/1.0\r\n';
  for (const [k, v] of pairs) s += `${k}: ${v}\r\n`;
  return Buffer.from(`${s}\r\n`, 'utf8');
}

/** What a binary-mode event's headers say. */
export interface BinaryEvent {
  /** Decoded attribute values (a repeated header: the first). */
  attributes: Attributes;
  /** The first header whose value does not decode, or null: the event is then invalid. */
  problem: string | null;
}

/**
 * The attributes of a binary-mode event in NATS or HTTP headers — every
 * `ce-<name>` (case-insensitive), `datacontenttype` from `ce-datacontenttype`
 * or else from a `Content-Type` — or null when the headers are not one: no
 * `ce-specversion`, or a `Content-Type` that announces structured or batch
 * mode (NATS binding 3: the content type decides the mode).
 */
export function binaryAttributes(headers: Iterable<[string, string]>): BinaryEvent | null {
  let contentType: string | undefined;
  const attributes: Attributes = Object.create(null) as Attributes;
  let problem: string | null = null;
  for (const [k, v] of headers) {
    const lk = k.toLowerCase();
    if (lk === 'content-type') {
      contentType ??= v;
      continue;
    }
    if (!lk.startsWith(CE_PREFIX) || lk.length === CE_PREFIX.length) continue;
    const name = lk.slice(CE_PREFIX.length);
    if (attributes[name] !== undefined) continue;
    const value = percentDecode(v);
    if (value === null) {
      problem ??= `header ${k}: "${clip(v)}" is not a valid percent-encoded UTF-8 value`;
      continue;
    }
    attributes[name] = value;
  }
  if (attributes.specversion === undefined || contentMode(contentType) !== null) return null;
  if (attributes.datacontenttype === undefined && contentType !== undefined)
    attributes.datacontenttype = contentType;
  return { attributes, problem };
}

/** The canonical headers of `attributes`: `ce-<name>: <percent-encoded value>`, specversion first. */
export function canonicalHeaders(attributes: Attributes): HeaderList {
  const out: HeaderList = [];
  for (const name of orderedNames(attributes))
    out.push([CE_PREFIX + name, percentEncode(attributes[name]!)]);
  return out;
}

const FIRST = ['specversion', 'id', 'source', 'type'];

function orderedNames(attributes: Record<string, unknown>): string[] {
  const names = FIRST.filter((n) => attributes[n] !== undefined);
  for (const n of Object.keys(attributes)) if (!FIRST.includes(n)) names.push(n);
  return names;
}

const CE_SPECVERSION_LINE = /\r\nce-specversion[ \t]*:/i;

/**
 * For a face that carries no metadata with a message (MQTT 3.1.1, SSE's
 * text format): a canonical binary-mode event's JSON event format
 * (structured mode), or null for any other message, which goes as it is.
 */
export function structuredFromCanonical(headers: Buffer | null, payload: Buffer): Buffer | null {
  if (headers === null || !CE_SPECVERSION_LINE.test(headers.toString('latin1'))) return null;
  const event = binaryAttributes(headerPairs(headers));
  if (event === null) return null;
  return structuredFromBinary(event.attributes, payload);
}

const SPECVERSION_MEMBER = Buffer.from('"specversion"');

/**
 * Whether a payload with no content type (an MQTT 3.1.1 PUBLISH, where the
 * JSON event format is implied: MQTT binding 3.2.1) is a valid structured
 * event. Payloads without `"specversion"` are not parsed.
 */
export function impliedStructured(payload: Buffer): boolean {
  if (payload.length < 2 || payload.indexOf(SPECVERSION_MEMBER) < 0) return false;
  return 'event' in parseStructured(payload);
}

// --- the HTTP binding (binary mode) ---------------------------------------------------------

const CONTENT_TYPE_LOWER = 'content-type';
const CE_DATACONTENTTYPE = `${CE_PREFIX}datacontenttype`;

/**
 * An HTTP request's binary-mode event in the canonical form: its `ce-*`
 * headers as they are (names lower-cased; HTTP and NATS encode values
 * alike), its Content-Type as `ce-datacontenttype` (HTTP binding 3.1.1).
 * `problem` says why the event is invalid (answer 400). Null when the
 * headers are not a binary-mode event (no `ce-specversion`): they are then
 * not touched.
 */
export function canonicalFromHttp(
  headers: HeaderList,
): { headers: HeaderList; attributes: Attributes; problem: string | null } | null {
  const event = binaryAttributes(headers);
  if (event === null) return null;
  const out: HeaderList = [];
  let sawType = false;
  for (const [k, v] of headers) {
    const lk = k.toLowerCase();
    if (lk === CE_DATACONTENTTYPE) sawType = true;
    if (lk.startsWith(CE_PREFIX) && lk.length > CE_PREFIX.length) out.push([lk, v]);
  }
  const ct = event.attributes.datacontenttype;
  if (!sawType && ct !== undefined) out.push([CE_DATACONTENTTYPE, percentEncode(ct)]);
  const problem = event.problem ?? validateEvent(event.attributes, true);
  return { headers: out, attributes: event.attributes, problem };
}

/**
 * The HTTP binary-mode headers of a canonical binary-mode event (HTTP
 * binding 3.1): every `ce-*` header as it is, `ce-datacontenttype` as the
 * Content-Type. Null when the message is not a binary-mode event; a
 * structured one is sent as it is, with its Content-Type.
 */
export function httpFromCanonical(headers: HeaderList): HeaderList | null {
  const event = binaryAttributes(headers);
  if (event === null) return null;
  const out: HeaderList = [];
  for (const [k, v] of headers) {
    const lk = k.toLowerCase();
    if (lk === CE_DATACONTENTTYPE || lk === CONTENT_TYPE_LOWER) continue;
    if (lk.startsWith(CE_PREFIX) && lk.length > CE_PREFIX.length) out.push([lk, v]);
  }
  const ct = event.attributes.datacontenttype;
  if (ct !== undefined && !/[\r\n]/.test(ct)) out.push([CONTENT_TYPE_LOWER, ct]);
  return out;
}

/** The NATS headers of one event of a batch: published in structured mode. */
export const STRUCTURED_HEADERS: HeaderList = [['Content-Type', STRUCTURED_TYPE]];

// --- validation -------------------------------------------------------------------------

/** RFC 3339 date-time (spec "Timestamp"). */
const RFC3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Why an event is not a valid CloudEvents 1.0 event, or null. `event` is a
 * structured event (a JSON object: `data` / `data_base64` allowed) or the
 * decoded attributes of a binary one (all strings; `binary` set). The message names the
 * attribute and what is wrong with it.
 */
export function validateEvent(event: unknown, binary = false): string | null {
  if (event === null || typeof event !== 'object' || Array.isArray(event))
    return 'an event must be a JSON object';
  const e = event as Record<string, unknown>;
  for (const name of REQUIRED_ATTRIBUTES) {
    const v = e[name];
    if (v === undefined || v === null) return `required attribute "${name}" is missing`;
    if (typeof v !== 'string') return `attribute "${name}" must be a string`;
    if (v.length === 0) return `attribute "${name}" must not be empty`;
  }
  if (e.specversion !== SPEC_VERSION)
    return `specversion "${clip(e.specversion as string)}" is not supported: only "${SPEC_VERSION}"`;
  if ('data' in e && 'data_base64' in e && e.data_base64 !== null && e.data !== undefined)
    return 'an event has either "data" or "data_base64", not both';
  for (const [name, v] of Object.entries(e)) {
    if (binary && (name === 'data' || name === 'data_base64'))
      return `"${name}" is not an attribute: the data of a binary-mode event is the payload`;
    if (name === 'data') continue;
    if (name === 'data_base64') {
      if (v !== null && (typeof v !== 'string' || !BASE64.test(v) || v.length % 4 !== 0))
        return '"data_base64" must be a base64 string';
      continue;
    }
    const bad = attributeNameProblem(name);
    if (bad !== null) return bad;
    if (v === null) continue; // an omitted optional attribute (JSON format 2.2)
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX)
        return `attribute "${name}" must be a 32-bit integer, a boolean or a string`;
      continue;
    }
    if (typeof v === 'boolean') continue;
    if (typeof v !== 'string')
      return `attribute "${name}" must be a string, a boolean or a 32-bit integer`;
    const p = valueProblem(name, v);
    if (p !== null) return p;
  }
  return null;
}

/** The rules of the optional attributes the spec defines (3.1.1). */
function valueProblem(name: string, v: string): string | null {
  switch (name) {
    case 'time':
      return RFC3339.test(v)
        ? null
        : `attribute "time" must be an RFC 3339 timestamp, not "${clip(v)}"`;
    case 'datacontenttype':
      return /^[^/\s;]+\/[^/\s;]+/.test(v.trim())
        ? null
        : `attribute "datacontenttype" must be a media type (RFC 2046), not "${clip(v)}"`;
    case 'dataschema':
      return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(v)
        ? null
        : `attribute "dataschema" must be an absolute URI, not "${clip(v)}"`;
    case 'subject':
      return v.length > 0 ? null : 'attribute "subject" must not be empty';
    default:
      return null;
  }
}

// --- structured ⇄ binary (the JSON event format) ---------------------------------------------

/**
 * The JSON event format of a binary-mode event (JSON format 3): the
 * attributes as strings (their types are not known in binary mode), then
 * the data — as a JSON value when `datacontenttype` declares JSON and the
 * bytes are JSON, as a string when it declares text and the bytes are
 * UTF-8, else `data_base64`. No data member for an empty payload.
 */
export function structuredFromBinary(attributes: Attributes, data: Buffer): Buffer {
  const out: Record<string, unknown> = {};
  for (const name of orderedNames(attributes)) out[name] = attributes[name];
  if (data.length > 0) {
    const ct = attributes.datacontenttype;
    const text = ct !== undefined ? utf8Text(data) : null;
    let done = false;
    if (text !== null && isJsonType(ct!)) {
      try {
        out.data = JSON.parse(text);
        done = true;
      } catch {
        // not JSON after all: carried as bytes
      }
    } else if (text !== null && isTextType(ct!)) {
      out.data = text;
      done = true;
    }
    if (!done) out.data_base64 = data.toString('base64');
  }
  return Buffer.from(JSON.stringify(out), 'utf8');
}

function utf8Text(data: Buffer): string | null {
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

/**
 * A structured event (a parsed JSON object, valid by `validateEvent`) in
 * binary mode: the attributes as canonical strings (null ones omitted),
 * the data as bytes — `data_base64` decoded, JSON data serialized (and
 * `datacontenttype` set to the implied `application/json` when absent,
 * JSON format 3.1.2), a string of a non-JSON type as its UTF-8 bytes.
 */
export function binaryFromStructured(event: Record<string, unknown>): {
  attributes: Attributes;
  data: Buffer;
} {
  const attributes: Attributes = Object.create(null) as Attributes;
  for (const [name, v] of Object.entries(event)) {
    if (name === 'data' || name === 'data_base64' || v === null || v === undefined) continue;
    attributes[name] = String(v);
  }
  let data = Buffer.alloc(0);
  if (typeof event.data_base64 === 'string') {
    data = Buffer.from(event.data_base64, 'base64');
  } else if (event.data !== undefined) {
    const ct = attributes.datacontenttype;
    if (ct === undefined || isJsonType(ct)) {
      data = Buffer.from(JSON.stringify(event.data), 'utf8');
      attributes.datacontenttype ??= 'application/json';
    } else if (typeof event.data === 'string') {
      data = Buffer.from(event.data, 'utf8');
    } else {
      data = Buffer.from(JSON.stringify(event.data), 'utf8');
    }
  }
  return { attributes, data };
}

/** A structured event's JSON parsed and validated, or why not. */
export function parseStructured(
  body: Buffer,
): { event: Record<string, unknown> } | { error: string } {
  const text = utf8Text(body);
  if (text === null) return { error: 'a structured event must be UTF-8 JSON' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { error: `a structured event is not JSON: ${(err as Error).message}` };
  }
  const problem = validateEvent(v);
  return problem === null ? { event: v as Record<string, unknown> } : { error: problem };
}

/** One event of a batch: the event, or why it is not one. */
export type BatchItem = { event: Record<string, unknown> } | { error: string };

/**
 * The events of a JSON batch (`application/cloudevents-batch+json`, JSON
 * format 4): each validated on its own. `error` when the body is not a JSON
 * array at all, or holds more than `maxEvents`.
 */
export function splitBatch(
  body: Buffer,
  maxEvents: number,
): { items: BatchItem[] } | { error: string } {
  const text = utf8Text(body);
  if (text === null) return { error: 'a batch must be UTF-8 JSON' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { error: `a batch is not JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(v)) return { error: 'a batch must be a JSON array of events' };
  if (v.length > maxEvents)
    return { error: `a batch holds ${v.length} events, more than ${maxEvents}` };
  return {
    items: v.map((e: unknown, i): BatchItem => {
      const problem = validateEvent(e);
      return problem === null
        ? { event: e as Record<string, unknown> }
        : { error: `event ${i}: ${problem}` };
    }),
  };
}

/** The JSON text of a structured event (what a batch's element is published as). */
export function structuredBytes(event: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}
