/**
 * What makes worker k of `weft server --workers N` the node it is
 * (docs/workers.md): the primary hands each worker a plan in its
 * environment, and the worker turns the configured options into its own.
 *
 * - Worker 0 is the configured node itself: its name and `data_dir` are the
 *   configuration's, so going from `--workers 1` to N (and back) keeps its
 *   streams, MQTT sessions and Kafka identity where they were.
 * - Worker k ≥ 1 is `<name>-w<k>` (`weft-w<k>` without a name) and keeps
 *   its data in `<data_dir>/workers/<k>`.
 * - Every worker listens for mesh links on its own loopback port (chosen by
 *   the primary, kept for the server's life, so a restarted worker is found
 *   where it was) and dials every worker below it: a full mesh, each pair
 *   linked once, so a message crosses at most one link between workers.
 *   The links prove a token the primary generated for this run.
 * - With the Kafka face on, every worker is worker 0's broker (its node id
 *   and cluster id): Kafka clients see one broker, as they see one port.
 */
import path from 'node:path';
import type { ServerOptions } from '../config/options.js';
import { ConfigError } from '../errors.js';

/** The environment variable carrying a worker's plan (JSON). */
export const WORKER_ENV = 'WEFT_WORKER';
/** Where the workers' mesh listeners bind: never reachable from another host. */
export const WORKER_MESH_HOST = '127.0.0.1';

export interface WorkerPlan {
  /** This worker's index, 0 to count - 1. */
  readonly index: number;
  readonly count: number;
  /** Every worker's mesh port, by index. */
  readonly meshPorts: readonly number[];
  /** The token the workers' links prove (random per run). */
  readonly token: string;
  /**
   * Worker 0's Kafka broker identity, when the Kafka face is on: every
   * worker answers Kafka clients as that one broker (same node id and
   * cluster id, whichever worker a connection lands on).
   */
  readonly kafka: { readonly nodeId: number; readonly clusterId: string } | null;
}

/** This process's plan when it is a worker (cluster worker with WEFT_WORKER), else null. */
export function workerPlanFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerPlan | null {
  const text = env[WORKER_ENV];
  if (text === undefined || text === '') return null;
  const p = JSON.parse(text) as WorkerPlan;
  if (
    !Number.isInteger(p.index) ||
    !Number.isInteger(p.count) ||
    p.index < 0 ||
    p.index >= p.count ||
    !Array.isArray(p.meshPorts) ||
    p.meshPorts.length !== p.count ||
    typeof p.token !== 'string' ||
    (p.kafka !== null && typeof p.kafka?.nodeId !== 'number')
  ) {
    throw new Error(`${WORKER_ENV} is not a worker plan: ${text.slice(0, 200)}`);
  }
  return p;
}

/** Worker k's name: the configured node's for worker 0. */
export function workerName(name: string, index: number): string {
  if (index === 0) return name;
  return `${name === '' ? 'weft' : name}-w${index}`;
}

/** Worker k's data directory: the configured one for worker 0. */
export function workerDataDir(dataDir: string, index: number): string {
  return index === 0 ? dataDir : path.join(dataDir, 'workers', String(index));
}

/**
 * Settings a server with several workers cannot take yet, with the reason
 * (the workers' own mesh uses the node's one mesh listener and its links).
 */
export function checkWorkerSettings(o: ServerOptions): void {
  if (o.workers <= 1) return;
  const why =
    'the workers link to each other with the node mesh, which has one listener, one token and one TLS setting per node';
  if (o.meshPort !== null && o.meshPort >= 0) {
    throw new ConfigError(
      'workers',
      `cannot be combined with mesh.port (${o.meshPort}) yet: ${why}; run one worker per mesh node`,
    );
  }
  if (o.links.length > 0) {
    throw new ConfigError(
      'workers',
      `cannot be combined with mesh.links yet: ${why}; run one worker per mesh node`,
    );
  }
  if (o.meshTls !== null) {
    throw new ConfigError('workers', `cannot be combined with mesh.tls yet: ${why}`);
  }
}

/** The options worker `plan.index` runs with, from the configured ones. */
export function workerOptions(o: Partial<ServerOptions>, plan: WorkerPlan): Partial<ServerOptions> {
  const k = plan.index;
  const links: string[] = [];
  for (let j = 0; j < k; j++) links.push(`weft://${WORKER_MESH_HOST}:${plan.meshPorts[j]}`);
  return {
    ...o,
    name: workerName(o.name ?? '', k),
    dataDir: workerDataDir(o.dataDir ?? './data', k),
    meshPort: plan.meshPorts[k],
    meshHost: WORKER_MESH_HOST,
    meshToken: plan.token,
    links,
    kafkaBrokerIdentity: plan.kafka,
  };
}
