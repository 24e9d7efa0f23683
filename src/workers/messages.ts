/**
 * The messages between the primary and its workers over the cluster's IPC
 * channel (docs/workers.md). Every message carries `weft` (its kind), so
 * the cluster module's own messages are never taken for ours.
 */

/** What a worker reports when its node has started. */
export interface ReadyMsg {
  readonly weft: 'ready';
  readonly index: number;
  readonly name: string;
  readonly serverId: string;
}

/** A worker asks the primary to collect `what` from every worker (its monitor's totals). */
export interface GatherMsg {
  readonly weft: 'gather';
  readonly id: number;
  readonly what: string;
}

/** The primary asks a worker for its `what`. */
export interface CollectMsg {
  readonly weft: 'collect';
  readonly id: number;
  readonly what: string;
}

/** A worker's answer to a CollectMsg; `body` null when it serves no such thing. */
export interface CollectedMsg {
  readonly weft: 'collected';
  readonly id: number;
  readonly index: number;
  readonly body: unknown;
}

/** One worker's part of a gather. */
export interface WorkerPart {
  readonly index: number;
  readonly pid: number;
  readonly body: unknown;
}

/** The primary's answer to a GatherMsg. */
export interface GatheredMsg {
  readonly weft: 'gathered';
  readonly id: number;
  readonly parts: readonly WorkerPart[];
  /** Workers that did not answer in time (down, restarting, busy). */
  readonly missing: readonly number[];
  /** Workers the primary has restarted since it started. */
  readonly restarts: number;
  readonly count: number;
}

/** The primary tells a worker to shut down (SIGINT/SIGTERM to the server) or reload (SIGHUP). */
export interface ControlMsg {
  readonly weft: 'stop' | 'reload';
}

export type ToPrimary = ReadyMsg | GatherMsg | CollectedMsg;
export type ToWorker = CollectMsg | GatheredMsg | ControlMsg;

/** Whether `m` is one of ours (the cluster module sends its own messages too). */
export function isWeftMessage(m: unknown): m is { weft: string } {
  return typeof m === 'object' && m !== null && typeof (m as { weft?: unknown }).weft === 'string';
}
