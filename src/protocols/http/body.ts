/**
 * Reading a request body under a byte bound (max_payload): a
 * `Content-Length` over it is refused before a byte of the body is read; a
 * chunked body is counted as it streams and cut off at the bound. Either
 * way the answer is 413 and the connection closes after it (the rest of
 * the body is not read: the socket is ended, then dropped after
 * TOO_LARGE_LINGER_MS), so nothing of it is published and no more than
 * the bound is ever held.
 */
import type { IncomingMessage } from 'node:http';

/** How long a connection refused for its body size may linger (to read its 413) before it is dropped. */
export const TOO_LARGE_LINGER_MS = 2000;

export type BodyResult =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly status: 413 | 400; readonly why: string };

/** The declared length, -1 when absent; null when malformed. */
export function contentLength(req: IncomingMessage): number | null {
  const v = req.headers['content-length'];
  if (v === undefined) return -1;
  if (!/^\d{1,15}$/.test(v)) return null;
  return Number(v);
}

/** Reads the whole body of `req`, at most `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = contentLength(req);
  if (declared === null) {
    return Promise.resolve({ ok: false, status: 400, why: 'malformed Content-Length' });
  }
  if (declared > limit) {
    return Promise.resolve({
      ok: false,
      status: 413,
      why: `the body of ${declared} bytes is over max_payload (${limit} bytes)`,
    });
  }
  if (req.readableEnded) return Promise.resolve({ ok: true, body: Buffer.alloc(0) });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (r: BodyResult): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      resolve(r);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.pause();
        done({
          ok: false,
          status: 413,
          why: `the body is over max_payload (${limit} bytes)`,
        });
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void =>
      done({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    const onError = (err: Error): void =>
      done({ ok: false, status: 400, why: `the body could not be read: ${err.message}` });
    const onAborted = (): void => done({ ok: false, status: 400, why: 'the client went away' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
