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

/** The declared length, -1 when absent; null when malformed. */
export function contentLength(req: IncomingMessage): number | null {
  const v = req.headers['content-length'];
  if (v === undefined) return -1;
  if (!/^\d{1,15}$/.test(v)) return null;
  return Number(v);
}

/**
 * Reads the whole body of `req`, at most `limit` bytes: the body, or null
 * after `refused` was called with the reason (and nothing more is read).
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  refused: (status: 413 | 400, why: string) => void,
): Promise<Buffer | null> {
  const declared = contentLength(req);
  if (declared === null) {
    refused(400, 'malformed Content-Length');
    return Promise.resolve(null);
  }
  if (declared > limit) {
    refused(413, `the body of ${declared} bytes is over max_payload (${limit} bytes)`);
    return Promise.resolve(null);
  }
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve) => {
    let first: Buffer | null = null;
    let chunks: Buffer[] | null = null;
    let size = 0;
    let settled = false;
    const fail = (status: 413 | 400, why: string): void => {
      if (settled) return;
      settled = true;
      req.pause();
      req.removeListener('data', onData);
      refused(status, why);
      resolve(null);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        fail(413, `the body is over max_payload (${limit} bytes)`);
        return;
      }
      if (first === null) first = c;
      else if (chunks === null) chunks = [first, c];
      else chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks !== null ? Buffer.concat(chunks, size) : (first ?? Buffer.alloc(0)));
    });
    // A client that goes away mid-body: the request is destroyed with an error.
    req.once('error', (err: Error) => fail(400, `the body could not be read: ${err.message}`));
  });
}
