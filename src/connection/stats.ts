/**
 * Node-wide counters: what /varz and /metrics report. Connections add to
 * them as traffic flows; every bound that is hit has a counter here.
 */
import type { CloseReason } from '../errors.js';

export class ServerStats {
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  totalConnections = 0;
  slowConsumers = 0;
  /** Connections refused because max_connections was reached. */
  refusedConnections = 0;
  /** SUBs refused because a connection reached max_subscriptions. */
  refusedSubscriptions = 0;
  /** Uncaught exceptions and unhandled rejections (internal errors; see fatal.ts). */
  uncaughtErrors = 0;
  /** Reads cut at SLICE_MS, the rest parsed in a later turn. */
  readSlices = 0;
  /** Times a publisher's next slice waited for others (FAIR_SHARE). */
  fairShareWaits = 0;
  /** Monitoring requests refused for a missing or wrong monitor_token. */
  monitorUnauthorized = 0;
  readonly closedByReason = new Map<CloseReason, number>();

  closed(reason: CloseReason): void {
    this.closedByReason.set(reason, (this.closedByReason.get(reason) ?? 0) + 1);
  }
}
