/**
 * What a route's handler is given for one request (`HttpContext`), and the
 * JSON answers every route uses: `{"error":{"code":<status>,"description":…}}`
 * for an error (docs/http.md, "Errors"), plain JSON otherwise.
 *
 * A handler runs after the route was found, the request logged in (unless
 * the route is public) and the identity admitted: `ctx.who` holds the
 * guard, the payload limit and the rate; `ctx.mayPublish` and
 * `ctx.maySubscribe` ask the guard (and the reserved subjects) and answer
 * 403 with nats-server's text when refused. It reads the body with
 * `ctx.body()` (bounded by max_payload: 413) and answers once, with
 * `ctx.json`, `ctx.error` or `ctx.res` itself (a stream of events).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ConnectionIdentity } from '../../auth/connection-identity.js';
import type { Identity } from '../../auth/types.js';
import type { Account } from '../../core/account.js';
import type { FaceHost } from '../face.js';
import type { HttpConnection } from './connection.js';
import type { HttpRoute } from './routes.js';

/** Extra members of an error body, beside code and description (JetStream's `err_code`). */
export interface ErrorExtra {
  readonly err_code?: number;
  readonly [key: string]: unknown;
}

export interface HttpContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The node: router, accounts, security, jetstream, options, log, stats. */
  readonly host: FaceHost;
  readonly route: HttpRoute;
  /** The path's `{name}` parameters, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /**
   * The keep-alive connection the request came on (`/connz` type `http`):
   * its counters, `subjects` (subscriptions a long-lived answer holds, for
   * /connz) and `reauthorizeHooks` (a reload narrowed the permissions).
   */
  readonly conn: HttpConnection;
  /** The identity at work: guard, payloadMax, admitMessage, subscription quota. */
  readonly who: ConnectionIdentity;
  readonly identity: Identity;
  /** The identity's account: publish into it, subscribe in it. */
  readonly account: Account;
  /** The largest body (payload and NATS headers) this request may send: max_payload, or the identity's own. */
  readonly maxPayload: number;
  /** Aborted when the client goes away before the answer is complete. */
  readonly signal: AbortSignal;
  /**
   * The whole body, at most `maxPayload` bytes (Content-Length checked
   * first, then counted as it streams). Null when it was refused: the
   * answer (413, 400) has been sent.
   */
  body(): Promise<Buffer | null>;
  /** The body as JSON; null when it was refused (400 `bad JSON`, 413): the answer has been sent. */
  bodyJson(): Promise<{ value: unknown } | null>;
  /** Answers `status` with `value` as JSON. */
  json(status: number, value: unknown, headers?: OutgoingHttpHeaders): void;
  /** Answers `{"error":{"code":status,"description":…}}`. */
  error(
    status: number,
    description: string,
    extra?: ErrorExtra,
    headers?: OutgoingHttpHeaders,
  ): void;
  /** Whether the identity may publish to `subject`; when not, 403 has been sent and counted. */
  mayPublish(subject: string): boolean;
  /**
   * Whether the identity may subscribe to `subject` (in `queue`): null when
   * not (403 sent and counted), else whether each delivery must pass
   * `who.guard.receive` (`check`).
   */
  maySubscribe(subject: string, queue?: string): { check: boolean } | null;
}

/** An error body. */
export function errorBody(status: number, description: string, extra?: ErrorExtra): string {
  return JSON.stringify({ error: { code: status, description, ...extra } });
}

/** Answers `status` with a JSON body (nothing when the answer is already under way). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers?: OutgoingHttpHeaders,
): void {
  if (res.headersSent || res.writableEnded) {
    if (!res.writableEnded) res.end();
    return;
  }
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendError(
  res: ServerResponse,
  status: number,
  description: string,
  extra?: ErrorExtra,
  headers?: OutgoingHttpHeaders,
): void {
  sendJson(res, status, errorBody(status, description, extra), headers);
}
