/**
 * One request through the HTTP API: its route (404, 405 with `Allow`, 400
 * for a path that does not decode), its login (401 with
 * `WWW-Authenticate`; the identity kept per keep-alive connection), its
 * `HttpContext`, the route's handler, and the counting of what was
 * answered. Used by the face's own listener and by the WebSocket
 * listener's plain requests under `/v1/` (one port for a browser app).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ConnectionIdentity } from '../../auth/connection-identity.js';
import { reservedSubject } from '../../auth/reserved.js';
import type { Identity } from '../../auth/types.js';
import { cookieValues } from '../../connection/cookies.js';
import type { Account } from '../../core/account.js';
import { publishViolation, subscribeViolation } from '../../errors.js';
import type { FaceHost } from '../face.js';
import { credentialsOf, WWW_AUTHENTICATE } from './auth.js';
import { readBody, TOO_LARGE_LINGER_MS } from './body.js';
import type { HttpConnection } from './connection.js';
import { type ErrorExtra, errorBody, type HttpContext, sendError, sendJson } from './context.js';
import { answerPreflight, applyCors, CorsPolicy, crossOriginWrite, isPreflight } from './cors.js';
import type { HttpModule } from './module.js';
import { type HttpRoute, RouteTable, splitTarget } from './routes.js';

/** Why a request was answered before its handler: the `reason` label of weft_http_refused_total. */
export type HttpRefusal =
  | 'not_found'
  | 'method_not_allowed'
  | 'bad_path'
  | 'unauthorized'
  | 'connection_limit'
  | 'forbidden'
  | 'too_large'
  | 'bad_body'
  | 'bad_request'
  | 'shutting_down'
  | 'origin_not_allowed';

export const HTTP_REFUSALS: readonly HttpRefusal[] = [
  'not_found',
  'method_not_allowed',
  'bad_path',
  'unauthorized',
  'connection_limit',
  'forbidden',
  'too_large',
  'bad_body',
  'bad_request',
  'shutting_down',
  'origin_not_allowed',
];

/**
 * The request's Authorization, or — when it sends none and
 * `http.token_cookie` names a cookie it does send — that cookie's value
 * as a Bearer credential (a browser's `EventSource` cannot set headers,
 * but sends its cookies). The header wins over the cookie.
 */
function authorizationOf(req: IncomingMessage, cookie: string): string | undefined {
  const header = req.headers.authorization;
  if (cookie === '' || (header !== undefined && header !== '')) return header;
  const value = cookieValues(req.headers.cookie, new Set([cookie])).get(cookie);
  return value === undefined || value === '' ? header : `Bearer ${value}`;
}

export class Dispatcher {
  readonly table = new RouteTable();
  /** Requests by route. */
  readonly requests = new Map<HttpRoute, number>();
  /** Answers by status code. */
  readonly statuses = new Map<number, number>();
  readonly refused = new Map<HttpRefusal, number>();
  /** Handlers that threw (answered 500, logged). */
  failures = 0;
  /** CORS preflights answered 204 (refused ones count as `origin_not_allowed`). */
  preflights = 0;
  /** `http.allowed_origins`, read per request (a reload applies to the next one). */
  private readonly cors: CorsPolicy;

  constructor(
    readonly host: FaceHost,
    modules: readonly HttpModule[],
    /** Client certificates name users (`http.tls.verify_and_map`). */
    private readonly certLogin: () => boolean,
  ) {
    for (const m of modules) for (const r of m.routes) this.table.add(r);
    this.cors = new CorsPolicy(() => host.options.httpAllowedOrigins);
  }

  refuse(reason: HttpRefusal): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }

  /** Serves one request that came on `conn`. */
  serve(conn: HttpConnection, req: IncomingMessage, res: ServerResponse): void {
    conn.lastActivity = Date.now();
    conn.active++;
    const done = new Done(this, conn, res);
    res.once('close', done.closed);
    const cors = this.cors.verdict(req.headers.origin);
    applyCors(res, cors);
    if (this.host.shuttingDown || conn.closeReason !== null) {
      this.refuse('shutting_down');
      const why = this.host.shuttingDown
        ? 'the node is shutting down'
        : `the connection is closing: ${conn.closeReason}`;
      sendError(res, 503, why, undefined, { Connection: 'close' });
      return;
    }
    const { path, query } = splitTarget(req.url);
    if (isPreflight(req)) {
      this.preflight(req, res, path, cors.kind === 'allowed');
      return;
    }
    const found = this.table.lookup(req.method ?? 'GET', path);
    switch (found.kind) {
      case 'bad_path':
        this.refuse('bad_path');
        sendError(res, 400, found.why);
        return;
      case 'not_found':
        this.refuse('not_found');
        sendError(res, 404, `no route ${path}`);
        return;
      case 'method_not_allowed':
        this.refuse('method_not_allowed');
        sendError(res, 405, `${req.method} is not allowed on ${path}`, undefined, {
          Allow: found.allow.join(', '),
        });
        return;
    }
    if (crossOriginWrite(req, cors)) {
      this.refuse('origin_not_allowed');
      this.host.log.debug(
        `http: refused ${req.method} ${path} from origin ${req.headers.origin} (not in http.allowed_origins)`,
      );
      sendError(
        res,
        403,
        `a ${req.method} from origin ${req.headers.origin ?? '(another site)'} is not allowed (http.allowed_origins)`,
      );
      return;
    }
    const route = found.route;
    this.requests.set(route, (this.requests.get(route) ?? 0) + 1);
    if (route.auth === false) {
      this.run(new RequestContext(this, conn, req, res, route, found.params, query, null, done));
      return;
    }
    const header = authorizationOf(req, this.host.options.httpTokenCookie);
    // The identity kept for this connection and header: no login, no promise.
    const kept = conn.kept(header);
    if (kept !== null) {
      this.run(new RequestContext(this, conn, req, res, route, found.params, query, kept, done));
      return;
    }
    const creds = credentialsOf(
      header,
      conn.remoteAddress,
      this.certLogin() ? conn.peerCert : null,
    );
    if (typeof creds === 'string') {
      this.refuse('unauthorized');
      sendError(res, 401, creds, undefined, { 'WWW-Authenticate': WWW_AUTHENTICATE });
      return;
    }
    conn.login(header, creds).then(
      (who) => {
        if ('status' in who) {
          this.refuse(who.status === 401 ? 'unauthorized' : 'connection_limit');
          sendError(
            res,
            who.status,
            who.why,
            undefined,
            who.status === 401 ? { 'WWW-Authenticate': WWW_AUTHENTICATE } : undefined,
          );
          return;
        }
        this.run(new RequestContext(this, conn, req, res, route, found.params, query, who, done));
      },
      (err: Error) => this.failed(res, route, err),
    );
  }

  /**
   * A CORS preflight: 204 on a path the table has, from an allowed origin;
   * 403 from another (counted); 404 or 400 as any request. No login.
   */
  private preflight(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    allowed: boolean,
  ): void {
    // No route has OPTIONS: a path the table has answers "method not allowed" with its methods.
    const found = this.table.lookup('OPTIONS', path);
    if (found.kind === 'bad_path') {
      this.refuse('bad_path');
      sendError(res, 400, found.why);
    } else if (found.kind !== 'method_not_allowed') {
      this.refuse('not_found');
      sendError(res, 404, `no route ${path}`);
    } else if (!allowed) {
      this.refuse('origin_not_allowed');
      this.host.log.debug(
        `http: refused a CORS preflight from origin ${req.headers.origin} (not in http.allowed_origins)`,
      );
      sendError(res, 403, `origin ${req.headers.origin} is not allowed (http.allowed_origins)`);
    } else {
      this.preflights++;
      answerPreflight(req, res, found.allow);
    }
  }

  private run(ctx: RequestContext): void {
    try {
      const r = ctx.route.handle(ctx);
      if (r instanceof Promise) r.catch((err: Error) => this.failed(ctx.res, ctx.route, err));
    } catch (err) {
      this.failed(ctx.res, ctx.route, err as Error);
    }
  }

  private failed(res: ServerResponse, route: HttpRoute, err: Error): void {
    this.failures++;
    this.host.log.error(`http ${route.method} ${route.path}: ${err.stack ?? err.message}`);
    if (!res.headersSent) sendError(res, 500, 'internal error (the node logged it)');
    else res.destroy();
  }
}

/** The end of one request: counted, the connection's count of active requests, the context's signal. */
class Done {
  abort: AbortController | null = null;
  constructor(
    private readonly d: Dispatcher,
    private readonly conn: HttpConnection,
    private readonly res: ServerResponse,
  ) {}

  readonly closed = (): void => {
    const { conn, res, d } = this;
    conn.active--;
    d.statuses.set(res.statusCode, (d.statuses.get(res.statusCode) ?? 0) + 1);
    if (!res.writableFinished) this.abort?.abort();
    if (conn.closeReason !== null && conn.active === 0) conn.socket.destroy();
  };
}

const NO_QUERY = new URLSearchParams();

/** A request's context (context.ts): one object per request, its methods on the prototype. */
class RequestContext implements HttpContext {
  readonly host: FaceHost;
  readonly maxPayload: number;
  private q: URLSearchParams | null = null;

  constructor(
    private readonly d: Dispatcher,
    readonly conn: HttpConnection,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly route: HttpRoute,
    readonly params: Record<string, string>,
    private readonly queryText: string,
    private readonly whoOrNull: ConnectionIdentity | null,
    private readonly done: Done,
  ) {
    this.host = d.host;
    const max = d.host.options.maxPayload;
    const own = whoOrNull?.payloadMax ?? 0;
    this.maxPayload = own > 0 && own < max ? own : max;
  }

  get query(): URLSearchParams {
    if (this.q === null)
      this.q = this.queryText === '' ? NO_QUERY : new URLSearchParams(this.queryText);
    return this.q;
  }

  get signal(): AbortSignal {
    this.done.abort ??= new AbortController();
    return this.done.abort.signal;
  }

  get who(): ConnectionIdentity {
    if (this.whoOrNull === null)
      throw new Error(`${this.route.path} is public: it has no identity`);
    return this.whoOrNull;
  }

  get identity(): Identity {
    return this.who.identity!;
  }

  get account(): Account {
    return this.who.identity!.account;
  }

  body(): Promise<Buffer | null> {
    return readBody(this.req, this.maxPayload, this.refuseBody);
  }

  /** A body refused: the answer closes the connection, whose unread rest is not read. */
  private readonly refuseBody = (status: 413 | 400, why: string): void => {
    const { req, res } = this;
    this.d.refuse(status === 413 ? 'too_large' : 'bad_body');
    sendError(res, status, why, undefined, { Connection: 'close' });
    res.once('finish', () => {
      req.socket.end();
      setTimeout(() => req.socket.destroy(), TOO_LARGE_LINGER_MS).unref();
    });
  };

  async bodyJson(): Promise<{ value: unknown } | null> {
    const body = await this.body();
    if (body === null) return null;
    try {
      return { value: JSON.parse(body.toString('utf8')) as unknown };
    } catch (err) {
      this.d.refuse('bad_body');
      sendError(this.res, 400, `the body is not JSON: ${(err as Error).message}`);
      return null;
    }
  }

  json(status: number, value: unknown, headers?: OutgoingHttpHeaders): void {
    sendJson(this.res, status, JSON.stringify(value), headers);
  }

  error(
    status: number,
    description: string,
    extra?: ErrorExtra,
    headers?: OutgoingHttpHeaders,
  ): void {
    sendJson(this.res, status, errorBody(status, description, extra), headers);
  }

  mayPublish(subject: string): boolean {
    const w = this.who;
    if ((w.guard === null || w.guard.publish(subject)) && !reservedSubject(subject)) return true;
    this.host.security.counters.publishViolations++;
    this.d.refuse('forbidden');
    this.host.log.warn(
      `http ${this.conn.remoteAddress}:${this.conn.remotePort} user "${w.identity!.user}" - publish to "${subject}" not permitted`,
    );
    sendError(this.res, 403, publishViolation(subject));
    return false;
  }

  maySubscribe(subject: string, queue = ''): { check: boolean } | null {
    const w = this.who;
    const reserved = reservedSubject(subject);
    if (!reserved && w.guard === null) return { check: false };
    const verdict = reserved ? { ok: false, check: false } : w.guard!.subscribe(subject, queue);
    if (verdict.ok) return { check: verdict.check };
    this.host.security.counters.subscribeViolations++;
    this.d.refuse('forbidden');
    this.host.log.warn(
      `http ${this.conn.remoteAddress}:${this.conn.remotePort} user "${w.identity!.user}" - subscription to "${subject}"${queue === '' ? '' : ` in queue "${queue}"`} not permitted`,
    );
    sendError(this.res, 403, subscribeViolation(subject, queue));
    return null;
  }
}
