/**
 * A small reader of NATS header blocks (`NATS/1.0[ status]\r\nKey: value\r\n…\r\n\r\n`),
 * enough for the stream layer to find `Nats-Msg-Id`, the `Nats-Expected-*`
 * and `Nats-Rollup` headers. Keys are matched case-insensitively (clients canonicalise them,
 * but a raw publisher may not); the first value of a key wins, as in
 * nats-server's `getHeader`.
 */

/** The headers of a block, keyed by lower-cased name; empty when `block` is null or malformed. */
export function parseHeaders(block: Buffer | null): Map<string, string> {
  const out = new Map<string, string>();
  if (block === null || block.length === 0) return out;
  const text = block.toString('latin1');
  if (!text.startsWith('NATS/1.0')) return out;
  const lines = text.split('\r\n');
  // lines[0] is the version line (with an optional status); the block ends with an empty line.
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    if (!out.has(key)) out.set(key, line.slice(colon + 1).trim());
  }
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
