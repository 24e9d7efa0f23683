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
import type { Account } from '../../core/account.js';
import { publishViolation, subscribeViolation } from '../../errors.js';
import type { FaceHost } from '../face.js';
import { credentialsOf, WWW_AUTHENTICATE } from './auth.js';
import { readBody, TOO_LARGE_LINGER_MS } from './body.js';
import type { HttpConnection } from './connection.js';
import { type ErrorExtra, errorBody, type HttpContext, sendError, sendJson } from './context.js';
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
  | 'shutting_down';

export const HTTP_REFUSALS: readonly HttpRefusal[] = [
  'not_found',
  'method_not_allowed',
  'bad_path',
  'unauthorized',
  'connection_limit',
  'forbidden',
  'too_large',
  'bad_body',
  'shutting_down',
];

export class Dispatcher {
  readonly table = new RouteTable();
  /** Requests by route (`POST /v1/publish/{subject}`). */
  readonly requests = new Map<string, number>();
  /** Answers by status code. */
  readonly statuses = new Map<number, number>();
  readonly refused = new Map<HttpRefusal, number>();
  /** Handlers that threw (answered 500, logged). */
  failures = 0;

  constructor(
    private readonly host: FaceHost,
    modules: readonly HttpModule[],
    /** Client certificates name users (`http.tls.verify_and_map`). */
    private readonly certLogin: () => boolean,
  ) {
    for (const m of modules) for (const r of m.routes) this.table.add(r);
  }

  refuse(reason: HttpRefusal): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }

  /** Serves one request that came on `conn`. */
  serve(conn: HttpConnection, req: IncomingMessage, res: ServerResponse): void {
    conn.lastActivity = Date.now();
    conn.active++;
    res.once('close', () => {
      conn.active--;
      this.statuses.set(res.statusCode, (this.statuses.get(res.statusCode) ?? 0) + 1);
      if (conn.closeReason !== null && conn.active === 0) conn.socket.destroy();
    });
    if (this.host.shuttingDown || conn.closeReason !== null) {
      this.refuse('shutting_down');
      sendError(res, 503, 'the node is shutting down', undefined, { Connection: 'close' });
      return;
    }
    const { path, query } = splitTarget(req.url);
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
    const key = `${found.route.method} ${found.route.path}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let params: URLSearchParams;
    try {
      params = new URLSearchParams(query);
    } catch {
      params = new URLSearchParams();
    }
    if (found.route.auth === false) {
      this.run(conn, req, res, found.route, found.params, params, null);
      return;
    }
    const creds = credentialsOf(
      req.headers.authorization,
      conn.remoteAddress,
      this.certLogin() ? conn.peerCert : null,
    );
    if (typeof creds === 'string') {
      this.refuse('unauthorized');
      sendError(res, 401, creds, undefined, { 'WWW-Authenticate': WWW_AUTHENTICATE });
      return;
    }
    conn.login(req.headers.authorization, creds).then(
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
        this.run(conn, req, res, found.route, found.params, params, who);
      },
      (err: Error) => this.failed(res, found.route, err),
    );
  }

  private run(
    conn: HttpConnection,
    req: IncomingMessage,
    res: ServerResponse,
    route: HttpRoute,
    params: Record<string, string>,
    query: URLSearchParams,
    who: ConnectionIdentity | null,
  ): void {
    const ctx = this.context(conn, req, res, route, params, query, who);
    try {
      const r = route.handle(ctx);
      if (r instanceof Promise) r.catch((err: Error) => this.failed(res, route, err));
    } catch (err) {
      this.failed(res, route, err as Error);
    }
  }

  private failed(res: ServerResponse, route: HttpRoute, err: Error): void {
    this.failures++;
    this.host.log.error(`http ${route.method} ${route.path}: ${err.stack ?? err.message}`);
    if (!res.headersSent) sendError(res, 500, 'internal error (the node logged it)');
    else res.destroy();
  }

  private context(
    conn: HttpConnection,
    req: IncomingMessage,
    res: ServerResponse,
    route: HttpRoute,
    params: Record<string, string>,
    query: URLSearchParams,
    who: ConnectionIdentity | null,
  ): HttpContext {
    const host = this.host;
    const dispatcher = this;
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const need = (): ConnectionIdentity => {
      if (who === null) throw new Error(`${route.path} is public: it has no identity`);
      return who;
    };
    const o = host.options;
    const own = who?.payloadMax ?? 0;
    const maxPayload = own > 0 ? Math.min(own, o.maxPayload) : o.maxPayload;
    /** A body refused: the answer closes the connection, whose unread rest is not read. */
    const refuseBody = (status: number, why: string): null => {
      this.refuse(status === 413 ? 'too_large' : 'bad_body');
      sendError(res, status, why, undefined, { Connection: 'close' });
      res.once('finish', () => {
        req.socket.end();
        setTimeout(() => req.socket.destroy(), TOO_LARGE_LINGER_MS).unref();
      });
      return null;
    };
    const ctx: HttpContext = {
      req,
      res,
      host,
      route,
      params,
      query,
      conn,
      get who(): ConnectionIdentity {
        return need();
      },
      get identity(): Identity {
        return need().identity!;
      },
      get account(): Account {
        return need().identity!.account;
      },
      maxPayload,
      signal: abort.signal,
      async body() {
        const r = await readBody(req, maxPayload);
        if (r.ok) return r.body;
        return refuseBody(r.status, r.why);
      },
      async bodyJson() {
        const body = await ctx.body();
        if (body === null) return null;
        try {
          return { value: JSON.parse(body.toString('utf8')) as unknown };
        } catch (err) {
          dispatcher.refuse('bad_body');
          sendError(res, 400, `the body is not JSON: ${(err as Error).message}`);
          return null;
        }
      },
      json(status: number, value: unknown, headers?: OutgoingHttpHeaders) {
        sendJson(res, status, JSON.stringify(value), headers);
      },
      error(
        status: number,
        description: string,
        extra?: ErrorExtra,
        headers?: OutgoingHttpHeaders,
      ) {
        sendJson(res, status, errorBody(status, description, extra), headers);
      },
      mayPublish(subject: string): boolean {
        const w = need();
        if ((w.guard === null || w.guard.publish(subject)) && !reservedSubject(subject)) {
          return true;
        }
        host.security.counters.publishViolations++;
        dispatcher.refuse('forbidden');
        host.log.warn(
          `http ${conn.remoteAddress}:${conn.remotePort} user "${w.identity!.user}" - publish to "${subject}" not permitted`,
        );
        sendError(res, 403, publishViolation(subject));
        return false;
      },
      maySubscribe(subject: string, queue = ''): { check: boolean } | null {
        const w = need();
        const reserved = reservedSubject(subject);
        if (!reserved && w.guard === null) return { check: false };
        const verdict = reserved ? { ok: false, check: false } : w.guard!.subscribe(subject, queue);
        if (verdict.ok) return { check: verdict.check };
        host.security.counters.subscribeViolations++;
        dispatcher.refuse('forbidden');
        host.log.warn(
          `http ${conn.remoteAddress}:${conn.remotePort} user "${w.identity!.user}" - subscription to "${subject}" not permitted`,
        );
        sendError(res, 403, subscribeViolation(subject, queue));
        return null;
      },
    };
    return ctx;
  }
}
