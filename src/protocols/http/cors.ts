/**
 * CORS (the Fetch standard's cross-origin protocol) for the HTTP API, so a
 * page served from another origin may call it: `http.allowed_origins`
 * lists the origins (normalised and matched by
 * src/connection/websocket-origin.ts, as `websocket.allowed_origins`), or
 * is `["*"]`. Empty (the default): no CORS header at all, same-origin only.
 *
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
 *   on a path the route table has, from an allowed origin: 204 with the
 *   path's methods, the requested headers the API reads, `Max-Age`. From
 *   another origin: 403. It needs no login (browsers send none).
 * - Every other answer to an allowed origin (errors included) carries
 *   `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers`
 *   naming the headers of that answer a script may need (`Nats-*`,
 *   `X-Nats-Header-*`, `ce-*`, `WWW-Authenticate`, `Retry-After`, `Allow`…).
 *   A named origin is echoed, with `Vary: Origin` and
 *   `Access-Control-Allow-Credentials: true`; `*` is sent as `*`, without
 *   credentials (the Fetch standard forbids both together).
 * - A request from an origin not listed that is not a preflight is answered
 *   as usual, without CORS headers: the browser keeps the answer from the
 *   page. Except a cross-origin write (`crossOriginWrite`): a page may send
 *   a "simple" POST (a form) to any origin without a preflight, with the
 *   browser's ambient credentials (a client certificate, cached Basic
 *   credentials, the network it is on); it is refused (403), so it has no
 *   effect (docs/http.md, "Browsers and CORS").
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { originAllowed } from '../../connection/websocket-origin.js';

/** `Access-Control-Max-Age` of a preflight, s: how long a browser may reuse it (Chromium caps it at 7200). */
export const CORS_MAX_AGE_S = 600;

/**
 * Request headers a preflight may ask for (lower case, as browsers send
 * them): those the API reads. Any other is left out of
 * `Access-Control-Allow-Headers`, so the browser refuses the request and
 * says which header.
 */
const TOKEN = "[!#$%&'*+.^_`|~0-9a-z-]+";
const READ_HEADERS = new RegExp(
  `^(?:authorization|content-type|accept|last-event-id|nats-${TOKEN}|x-nats-header-${TOKEN}|ce-${TOKEN})$`,
);

/** Response headers a script may read without being exposed (the Fetch standard), and hop-by-hop ones. */
const NOT_EXPOSED = new Set([
  'cache-control',
  'content-language',
  'content-length',
  'content-type',
  'expires',
  'last-modified',
  'pragma',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'date',
  'vary',
]);

/** What CORS says about one request. */
export type CorsVerdict =
  /** CORS is off, or the request is not from a browser (no Origin): no header. */
  | { readonly kind: 'none'; readonly vary: boolean }
  /** An origin not allowed: no header (a preflight is refused). */
  | { readonly kind: 'denied'; readonly vary: boolean }
  /** Allowed: `Access-Control-Allow-Origin: <allow>`. */
  | { readonly kind: 'allowed'; readonly allow: string };

const NONE: CorsVerdict = { kind: 'none', vary: false };

/** `http.allowed_origins`, as a set, rebuilt when a reload replaces the list. */
export class CorsPolicy {
  private list: readonly string[] | null = null;
  private any = false;
  private set: ReadonlySet<string> = new Set();

  constructor(private readonly origins: () => readonly string[]) {}

  /** The verdict for a request with this `Origin` header. */
  verdict(origin: string | undefined): CorsVerdict {
    const list = this.origins();
    if (list.length === 0) return NONE;
    if (list !== this.list) {
      this.list = list;
      this.any = list.includes('*');
      this.set = new Set(list);
    }
    if (this.any) return origin === undefined ? NONE : { kind: 'allowed', allow: '*' };
    // A named origin: every answer varies with Origin (a cache must not reuse it for another).
    if (origin === undefined) return { kind: 'none', vary: true };
    return originAllowed(this.set, origin)
      ? { kind: 'allowed', allow: origin }
      : { kind: 'denied', vary: true };
  }
}

/** Methods that change nothing: a cross-origin one is answered (its answer hidden from the page). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether `req` is a write (POST, DELETE…) a browser sent from a page of
 * another origin that `verdict` does not allow. The browser says so in
 * `Sec-Fetch-Site` (sent on secure contexts: HTTPS, localhost); without it,
 * the `Origin`'s host and port are compared with `Host` (a same-origin page,
 * or a proxy that keeps `Host`). No `Origin` and no `Sec-Fetch-Site`: not a
 * browser's cross-origin request (curl, servers, NATS tools).
 */
export function crossOriginWrite(req: IncomingMessage, verdict: CorsVerdict): boolean {
  if (verdict.kind === 'allowed' || SAFE_METHODS.has(req.method ?? 'GET')) return false;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return true;
  }
  return host === '' || host !== (req.headers.host ?? '').toLowerCase();
}

/** Whether `req` is a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(req: IncomingMessage): boolean {
  return (
    req.method === 'OPTIONS' &&
    req.headers.origin !== undefined &&
    req.headers['access-control-request-method'] !== undefined
  );
}

/**
 * Puts the verdict's headers on `res` before anything is written: they
 * join whatever the route writes, errors included. For an allowed origin,
 * `Access-Control-Expose-Headers` is computed when the head goes out, from
 * the headers the answer has (a reply's `Nats-*` and `X-Nats-Header-*`
 * names are known only then).
 */
export function applyCors(res: ServerResponse, v: CorsVerdict): void {
  if (v.kind !== 'allowed') {
    if (v.vary) res.setHeader('Vary', 'Origin');
    return;
  }
  res.setHeader('Access-Control-Allow-Origin', v.allow);
  if (v.allow !== '*') {
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
  }
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
    const last = args[args.length - 1];
    const names = new Set(res.getHeaderNames());
    if (typeof last === 'object' && last !== null && !Array.isArray(last)) {
      for (const k of Object.keys(last as OutgoingHttpHeaders)) names.add(k.toLowerCase());
    }
    const exposed: string[] = [];
    for (const n of names) {
      if (!NOT_EXPOSED.has(n) && !n.startsWith('access-control-')) exposed.push(n);
    }
    if (exposed.length > 0) res.setHeader('Access-Control-Expose-Headers', exposed.join(', '));
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];
}

/**
 * The answer to a preflight from an allowed origin (its verdict already
 * applied to `res`): 204 with `methods` (the path's, from the route table)
 * and the requested headers the API reads.
 */
export function answerPreflight(
  req: IncomingMessage,
  res: ServerResponse,
  methods: readonly string[],
): void {
  const asked = req.headers['access-control-request-headers'] ?? '';
  const headers = asked
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => READ_HEADERS.test(h));
  res.writeHead(204, {
    'Access-Control-Allow-Methods': methods.join(', '),
    ...(headers.length > 0 ? { 'Access-Control-Allow-Headers': headers.join(', ') } : {}),
    'Access-Control-Max-Age': String(CORS_MAX_AGE_S),
    Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  });
  res.end();
}
