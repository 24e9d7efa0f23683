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
