/**
 * HTTP headers ⇄ NATS headers, one rule each way (docs/http.md, "Headers"):
 *
 * - a request header named `Nats-…` (`Nats-Msg-Id`, `Nats-Expected-Stream`,
 *   `Nats-Expected-Last-Sequence`, …) becomes that NATS header, its name in
 *   canonical form (`nats-msg-id` → `Nats-Msg-Id`, as Go's and nats.js's
 *   clients write them), so streams and clients find it;
 * - a request header `X-Nats-Header-<Name>` becomes the NATS header
 *   `<Name>`, with `<Name>` as sent;
 * - every other request header stays on HTTP.
 *
 * The other way (a reply's headers on the HTTP response): a NATS header
 * named `Nats-…` goes out as it is; any other `<Name>` as
 * `X-Nats-Header-<Name>`. A header value that HTTP cannot carry is left
 * out. Values of one name keep their order. Pure: no socket.
 */

import { headerPairs, headerStatus } from '../../core/headers.js';

/** The request header prefix that carries an arbitrary NATS header. */
export const HEADER_PREFIX = 'x-nats-header-';
const NATS_PREFIX = 'nats-';

/** `nats-msg-id` → `Nats-Msg-Id` (each dash-separated word capitalised). */
export function canonicalName(name: string): string {
  return name
    .toLowerCase()
    .split('-')
    .map((w) => (w === '' ? w : w[0]!.toUpperCase() + w.slice(1)))
    .join('-');
}

/** A name a NATS header may have: an HTTP token (RFC 9110 §5.6.2), so also no `:` and no space. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What an HTTP field value may not hold (RFC 9110 §5.5): controls but tab, and no character above a byte. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The NATS header block for a request's headers (`raw`: Node's
 * `rawHeaders`, name and value alternating, names as sent). Null when none
 * maps; a string saying why when one cannot be carried (answered 400).
 */
export function natsHeadersFromHttp(raw: readonly string[]): Buffer | null | string {
  let out = '';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    // Most headers start with neither n nor x: skip them without a lower-cased copy.
    const c0 = name.charCodeAt(0) | 0x20;
    if (c0 !== 0x6e && c0 !== 0x78) continue;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    let natsName: string;
    if (lower.startsWith(HEADER_PREFIX)) {
      natsName = name.slice(HEADER_PREFIX.length);
      if (natsName === '') return `the header ${name} names no NATS header`;
    } else if (lower.startsWith(NATS_PREFIX) && lower.length > NATS_PREFIX.length) {
      natsName = canonicalName(name);
    } else continue;
    if (!TOKEN.test(natsName)) return `${JSON.stringify(natsName)} is not a valid header name`;
    // Node gives a value's bytes one latin1 character each; CR, LF, NUL and
    // other control bytes are refused (no HTTP value has them).
    if (BAD_VALUE.test(value))
      return `the value of ${name} holds a character a header cannot carry`;
    out += `${natsName}: ${value}\r\n`;
  }
  // latin1: each character is the byte it came as, so UTF-8 values pass unchanged.
  return out === '' ? null : Buffer.from(`NATS/1.0\r\n${out}\r\n`, 'latin1');
}

/** A NATS header block read for HTTP: the status line's code and text, and the headers in order. */
export interface NatsHeaderView {
  /** `NATS/1.0 503` → 503; 0 when the block has no status. */
  readonly status: number;
  readonly description: string;
  readonly headers: readonly (readonly [string, string])[];
}

export function readNatsHeaders(block: Buffer | null): NatsHeaderView {
  // latin1: one character per byte, as Node writes header values (UTF-8 passes unchanged).
  return { ...headerStatus(block), headers: headerPairs(block, 'latin1') };
}

/**
 * The HTTP response headers for NATS headers: name → values. Names HTTP
 * cannot carry and values with control characters are left out.
 */
export function httpHeadersFromNats(
  headers: readonly (readonly [string, string])[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of headers) {
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) continue;
    const http = name.toLowerCase().startsWith(NATS_PREFIX) ? name : `X-Nats-Header-${name}`;
    const list = out[http];
    if (list === undefined) out[http] = [value];
    else list.push(value);
  }
  return out;
}
