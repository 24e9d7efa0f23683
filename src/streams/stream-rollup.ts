/** The `Nats-Rollup` header, as a stream's publish reads it (stream.ts). */
import type { StreamConfig } from './stream-config.js';
import { StreamApiError } from './stream-errors.js';

/**
 * The `Nats-Rollup` header's meaning: 'sub' (replace the subject), 'all'
 * (replace the stream), null (none), or the error nats-server answers
 * (500/10111) when the stream does not allow rollups. nats-server leaves a
 * rollup of an unknown kind unanswered; Weft says why.
 */
export function rollupOf(
  value: string | undefined,
  cfg: StreamConfig,
): 'sub' | 'all' | null | StreamApiError {
  if (value === undefined || value === '') return null;
  if (!cfg.allow_rollup_hdrs || cfg.deny_purge) {
    return new StreamApiError(500, 10111, 'rollup not permitted');
  }
  const kind = value.toLowerCase();
  if (kind === 'sub' || kind === 'all') return kind;
  return new StreamApiError(500, 10111, `rollup value invalid: "${value}"`);
}
