/**
 * A small reader of NATS header blocks (`NATS/1.0[ status]\r\nKey: value\r\n…\r\n\r\n`),
 * enough for the stream layer to find `Nats-Msg-Id`, the `Nats-Expected-*`
 * and `Nats-Rollup` headers. Keys are matched case-insensitively (clients canonicalise them,
 * but a raw publisher may not); the first value of a key wins, as in
 * nats-server's `getHeader`.
 */

import { forEachHeader } from '../core/headers.js';

/** The headers of a block, keyed by lower-cased name; empty when `block` is null or malformed. */
export function parseHeaders(block: Buffer | null): Map<string, string> {
  const out = new Map<string, string>();
  forEachHeader(block, 'latin1', (name, value) => {
    const key = name.toLowerCase();
    if (!out.has(key)) out.set(key, value);
  });
  return out;
}

/** Header names the stream layer reads, lower-cased. */
export const H = {
  msgId: 'nats-msg-id',
  expectedStream: 'nats-expected-stream',
  expectedLastSeq: 'nats-expected-last-sequence',
  expectedLastSubjectSeq: 'nats-expected-last-subject-sequence',
  expectedLastMsgId: 'nats-expected-last-msg-id',
  /** `sub` or `all` (streams with allow_rollup_hdrs). */
  rollup: 'nats-rollup',
} as const;

/**
 * The publish headers `Stream.store` reads, each undefined when absent.
 * A caller in the node that built the message (a face) can hand them to
 * `store` itself, so the header block is not read again;
 * `NO_PUB_HEADERS` says there are none.
 */
export interface PubHeaders {
  readonly msgId?: string | undefined;
  readonly expectedStream?: string | undefined;
  readonly expectedLastSeq?: string | undefined;
  readonly expectedLastMsgId?: string | undefined;
  readonly expectedLastSubjectSeq?: string | undefined;
  readonly rollup?: string | undefined;
}

export const NO_PUB_HEADERS: PubHeaders = Object.freeze({});

/**
 * The publish headers of a block: `NO_PUB_HEADERS` without reading it
 * further when no header name starts with `Nats-` (any case), which is
 * most messages with headers; else read as `parseHeaders` reads them.
 */
export function readPubHeaders(block: Buffer | null): PubHeaders {
  if (block === null || !mentionsNats(block)) return NO_PUB_HEADERS;
  const m = parseHeaders(block);
  if (m.size === 0) return NO_PUB_HEADERS;
  return {
    msgId: m.get(H.msgId),
    expectedStream: m.get(H.expectedStream),
    expectedLastSeq: m.get(H.expectedLastSeq),
    expectedLastMsgId: m.get(H.expectedLastMsgId),
    expectedLastSubjectSeq: m.get(H.expectedLastSubjectSeq),
    rollup: m.get(H.rollup),
  };
}

/** Whether `nats-` (ASCII, any case) occurs anywhere in `block`. */
function mentionsNats(block: Buffer): boolean {
  const end = block.length - 4;
  for (let i = 0; i < end; i++) {
    if ((block[i]! | 0x20) !== 0x6e) continue; // n
    if (
      (block[i + 1]! | 0x20) === 0x61 && // a
      (block[i + 2]! | 0x20) === 0x74 && // t
      (block[i + 3]! | 0x20) === 0x73 && // s
      block[i + 4] === 0x2d // -
    ) {
      return true;
    }
  }
  return false;
}
