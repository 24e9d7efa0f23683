/**
 * Streams whose records are a face's bookkeeping, not messages anyone
 * published, and whose fsync need not come before each record is
 * acknowledged: they are written to the OS before the append resolves
 * (a killed process loses nothing) and fsynced on a short timer, so a
 * power loss can take the last moments of them — what their owner must
 * tolerate as at-least-once (a redelivery), never as a lost message.
 *
 * - `$REDIS_groups…`: the Redis face's consumer groups (PELs, consumers,
 *   last IDs: src/protocols/redis/groups/store.ts). Losing a change means
 *   an entry is delivered again or stays pending, as Redis with AOF
 *   `everysec` and nats-server's consumer state (not fsynced per ack).
 *
 * A node already on `sync_interval` keeps its own interval for them.
 * Read when a stream's store opens (created, or loaded at start), so the
 * rule is static: the faces load after JetStream has loaded its streams.
 */
import type { SyncPolicy } from '../streams/store.js';

/** How often a bookkeeping stream is fsynced under the default policy (fsync per ack), ms. */
export const STATE_STREAM_SYNC_MS = 100;

/** Name prefixes of the bookkeeping streams. */
const STATE_STREAM_PREFIXES: readonly string[] = ['$REDIS_groups'];

/** The sync policy of stream `name` on a node whose policy is `base`. */
export function syncFor(name: string, base: SyncPolicy): SyncPolicy {
  if (base.kind !== 'always') return base;
  for (const p of STATE_STREAM_PREFIXES) {
    if (name.startsWith(p)) return { kind: 'interval', intervalMs: STATE_STREAM_SYNC_MS };
  }
  return base;
}
