/**
 * Browser origins, as `websocket.allowed_origins` lists them and as a
 * browser sends them in its `Origin` header: scheme, host and port, with the
 * scheme's default port implied (`https://a.example` is
 * `https://a.example:443`), as nats-server compares them.
 */

/** The origin `text` names (`https://a.example:8443`), normalised; null when it is not an http(s) origin. */
export function originOf(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // URL.origin lower-cases the host and drops a default port.
  return url.origin;
}

/**
 * Whether a request with `origin` (its Origin header, or undefined) may
 * upgrade: always when the list is empty or the request has no Origin (not
 * a browser); else only an origin in the list.
 */
export function originAllowed(allowed: ReadonlySet<string>, origin: string | undefined): boolean {
  if (allowed.size === 0 || origin === undefined) return true;
  const o = originOf(origin);
  return o !== null && allowed.has(o);
}
