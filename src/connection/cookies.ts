/**
 * The `Cookie` request header (RFC 6265 §4.2, §5.4), read for the few
 * cookies a node looks for (`websocket.jwt_cookie`, …): a browser cannot set
 * headers on a WebSocket, but it sends its cookies with the upgrade request.
 * Pure: a header in, values out.
 *
 * Parsed as leniently as browsers send it and as nats-server reads it (Go's
 * net/http): pairs split on `;`, spaces and tabs around them ignored; a
 * pair without `=`, with a name that is not an RFC 7230 token, or with a
 * value holding a byte outside 0x20–0x7E or one of `"` `;` `\` (after one
 * pair of surrounding double quotes is removed) is skipped, not an error.
 * A cookie named twice: the last one wins, as in nats-server. The header's
 * size is bounded by the HTTP server (Node's 16 KiB max header size); the
 * work here is linear in it and keeps only the names asked for.
 */

/** RFC 7230 `tchar`: the bytes of a token (a cookie's name). */
function isTokenByte(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x21 || // !
    (c >= 0x23 && c <= 0x27) || // # $ % & '
    c === 0x2a || // *
    c === 0x2b || // +
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5e || // ^
    c === 0x5f || // _
    c === 0x60 || // `
    c === 0x7c || // |
    c === 0x7e // ~
  );
}

/** Whether `name` may name a cookie (a non-empty token). */
export function isCookieName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) if (!isTokenByte(name.charCodeAt(i))) return false;
  return true;
}

/** A value byte as Go's net/http accepts it (RFC 6265's cookie-octet, plus space and comma). */
function isValueByte(c: number): boolean {
  return c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x3b && c !== 0x5c;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09;

/**
 * The values of the cookies in `wanted` that the header carries (a name
 * not sent is absent from the map). `header` is Node's: a string, or a
 * list when the request had several Cookie lines.
 */
export function cookieValues(
  header: string | readonly string[] | undefined,
  wanted: ReadonlySet<string>,
): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined || wanted.size === 0) return out;
  const lines = typeof header === 'string' ? [header] : header;
  for (const line of lines) {
    let i = 0;
    while (i < line.length) {
      let end = line.indexOf(';', i);
      if (end < 0) end = line.length;
      pair(line, i, end, wanted, out);
      i = end + 1;
    }
  }
  return out;
}

/** One `name=value` between `start` and `end` (exclusive). */
function pair(
  s: string,
  start: number,
  end: number,
  wanted: ReadonlySet<string>,
  out: Map<string, string>,
): void {
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  const eq = s.indexOf('=', start);
  if (eq < 0 || eq >= end) return;
  let nameEnd = eq;
  while (nameEnd > start && isSpace(s.charCodeAt(nameEnd - 1))) nameEnd--;
  const name = s.slice(start, nameEnd);
  if (!wanted.has(name) || !isCookieName(name)) return;
  let v0 = eq + 1;
  while (v0 < end && isSpace(s.charCodeAt(v0))) v0++;
  let v1 = end;
  if (v1 - v0 >= 2 && s.charCodeAt(v0) === 0x22 && s.charCodeAt(v1 - 1) === 0x22) {
    v0++;
    v1--;
  }
  for (let i = v0; i < v1; i++) if (!isValueByte(s.charCodeAt(i))) return;
  out.set(name, s.slice(v0, v1));
}
