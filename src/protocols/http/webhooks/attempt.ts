/**
 * One POST of a webhook and what its answer means, and the delay before
 * the next attempt.
 *
 * Bounded in time and memory whatever the receiver does: one deadline
 * (`timeout`) covers connecting, the answer's headers and reading its
 * body; at most RESPONSE_BODY_MAX bytes of the body are read (and thrown
 * away) before the connection is dropped; redirects are not followed
 * (a 3xx is a failure: a webhook's URL is where it delivers).
 */

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

/** POSTs `body` to `url`; never throws. `abort` cancels it (the webhook closed). */
export async function attempt(
  url: string,
  headers: Headers,
  body: Buffer,
  timeoutMs: number,
  abort: AbortSignal,
): Promise<Outcome> {
  if (abort.aborted)
    return { kind: 'failed', status: 0, error: 'webhook closed', retryAfterMs: null };
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, timeoutMs);
  const onAbort = (): void => ctl.abort();
  abort.addEventListener('abort', onAbort);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: ctl.signal,
    });
    await drain(res);
    const status = res.status;
    if (status >= 200 && status < 300) return { kind: 'ok', status };
    if (status === 410) return { kind: 'gone', status };
    const retryAfter = parseRetryAfter(res.headers.get('retry-after'), Date.now());
    return {
      kind: 'failed',
      status,
      error: `HTTP ${status}${res.statusText === '' ? '' : ` ${res.statusText}`}`.slice(
        0,
        ERROR_TEXT_MAX,
      ),
      retryAfterMs: retryAfter,
    };
  } catch (err) {
    const error = timedOut
      ? `timed out after ${timeoutMs}ms`
      : abort.aborted
        ? 'webhook closed'
        : describe(err);
    return { kind: 'failed', status: 0, error, retryAfterMs: null };
  } finally {
    clearTimeout(timer);
    abort.removeEventListener('abort', onAbort);
  }
}

/** Reads at most RESPONSE_BODY_MAX bytes of the answer, keeping none; cancels the rest. */
async function drain(res: Response): Promise<void> {
  const body = res.body;
  if (body === null) return;
  const reader = body.getReader();
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    read += value.byteLength;
    if (read > RESPONSE_BODY_MAX) {
      await reader.cancel().catch(() => {});
      return;
    }
  }
}

/** A fetch error's cause, as short as it is precise (`connect ECONNREFUSED 127.0.0.1:9`). */
function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  const cause = e?.cause?.message ?? e?.cause?.code;
  const text = cause !== undefined ? cause : (e?.message ?? String(err));
  return text.slice(0, ERROR_TEXT_MAX);
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
