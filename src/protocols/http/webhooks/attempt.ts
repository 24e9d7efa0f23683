/**
 * One POST of a webhook and what its answer means, and the delay before
 * the next attempt.
 *
 * Bounded in time and memory whatever the receiver does: one deadline
 * (`timeout`) covers connecting, the answer's headers and reading its
 * body; at most RESPONSE_BODY_MAX bytes of the body are read (and thrown
 * away) before the connection is dropped; redirects are not followed
 * (a 3xx is a failure: a webhook's URL is where it delivers).
 *
 * Sent with `node:http`/`node:https` over the webhook's keep-alive agent
 * (client.ts), not `fetch`: undici's Request/Headers objects, web streams
 * and AbortSignals cost more CPU than the rest of a delivery
 * (BENCHMARKS.md, "Webhooks").
 */
import type { ClientRequest, OutgoingHttpHeaders } from 'node:http';
import type { WebhookClient } from './client.js';

/** Bytes of a receiver's answer read (then discarded) before the connection is dropped. */
export const RESPONSE_BODY_MAX = 64 * 1024;
/** Characters of an error kept for the status and the dead letter. */
const ERROR_TEXT_MAX = 200;

export type Outcome =
  /** 2xx: delivered. */
  | { readonly kind: 'ok'; readonly status: number }
  /** 410 Gone: the receiver asks never to be called again. */
  | { readonly kind: 'gone'; readonly status: number }
  /** Anything else: retried (Retry-After, when the answer had one, in ms from now). */
  | {
      readonly kind: 'failed';
      readonly status: number;
      readonly error: string;
      readonly retryAfterMs: number | null;
    };

const CLOSED: Outcome = {
  kind: 'failed',
  status: 0,
  error: 'webhook closed',
  retryAfterMs: null,
};

/**
 * POSTs `body` with `client` (its URL, its keep-alive agent); never
 * throws. `client.close()` ends it (the webhook closed).
 */
export function attempt(
  client: WebhookClient,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  timeoutMs: number,
): Promise<Outcome> {
  if (client.closed) return Promise.resolve(CLOSED);
  if (client.refusal !== '') return Promise.resolve(failed(0, client.refusal, null));
  return new Promise((resolve) => {
    let settled = false;
    // Ends the attempt with `out`; the request is destroyed (with its socket)
    // unless its answer was read to the end (then the socket is kept alive).
    const finish = (out: Outcome, destroy: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.done(closed);
      if (destroy) req?.destroy();
      resolve(out);
    };
    const closed = (): void => finish(CLOSED, true);
    const timer = setTimeout(
      () => finish(failed(0, `timed out after ${timeoutMs}ms`, null), true),
      timeoutMs,
    );
    headers['content-length'] = body.length;
    let req: ClientRequest | null = null;
    try {
      // Throws on a header value Node refuses (a subject with a control character).
      req = client.open(headers, closed);
    } catch (err) {
      finish(failed(0, describe(err), null), false);
      return;
    }
    req.on('error', (err) => finish(failed(0, describe(err), null), true));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const outcome = (): Outcome => {
        if (status >= 200 && status < 300) return { kind: 'ok', status };
        if (status === 410) return { kind: 'gone', status };
        const text = res.statusMessage ?? '';
        return failed(
          status,
          `HTTP ${status}${text === '' ? '' : ` ${text}`}`,
          parseRetryAfter(res.headers['retry-after'] ?? null, Date.now()),
        );
      };
      // At most RESPONSE_BODY_MAX bytes read (kept: none); past it the socket goes.
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > RESPONSE_BODY_MAX) finish(outcome(), true);
      });
      res.on('end', () => finish(outcome(), false));
      res.on('error', (err) => finish(failed(0, describe(err), null), true));
    });
    req.end(body);
  });
}

function failed(status: number, error: string, retryAfterMs: number | null): Outcome {
  return { kind: 'failed', status, error: error.slice(0, ERROR_TEXT_MAX), retryAfterMs };
}

/** A request's error, as short as it is precise (`connect ECONNREFUSED 127.0.0.1:9`). */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string };
  return e?.message ?? e?.code ?? String(err);
}

/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, as ms
 * from `now` (0 for a date past); null when absent or not one of them.
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v), 2 ** 31 / 1000) * 1000;
  const when = Date.parse(v);
  if (Number.isNaN(when) || !/[a-z]/i.test(v)) return null;
  return Math.max(0, when - now);
}

/**
 * The delay before attempt `next` (2 for the first retry): exponential
 * backoff with full jitter (a uniform pick in [0, min(max, base·2^(next-2))])
 * so receivers that failed together are not retried together; the
 * receiver's Retry-After instead when it sent one, capped at `retryAfterMax`.
 */
export function retryDelay(
  next: number,
  o: { retryBaseMs: number; retryMaxMs: number; retryAfterMaxMs: number },
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== null) return Math.min(retryAfterMs, o.retryAfterMaxMs);
  const exp = Math.min(30, Math.max(0, next - 2));
  const ceiling = Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** exp);
  return Math.round(random() * ceiling);
}
