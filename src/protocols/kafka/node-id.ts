/**
 * The broker's identity as Kafka clients see it, stable across restarts:
 * the node id (Metadata's `nodeId`, FindCoordinator's) and the cluster id.
 * With `server_name` set, the node id is derived from it (the same name
 * gives the same id, even on a new data dir); the cluster id, and the node
 * id of a node without a name, are kept in `<data_dir>/kafka/broker.json`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface BrokerIdentity {
  readonly nodeId: number;
  readonly clusterId: string;
}

/** A node id from a name: 31 bits of its SHA-256 (Kafka's node ids are non-negative int32). */
export function nodeIdOfName(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0) & 0x7fffffff;
}

export async function brokerIdentity(dataDir: string, name: string): Promise<BrokerIdentity> {
  const dir = path.join(dataDir, 'kafka');
  const file = path.join(dir, 'broker.json');
  let kept: Partial<BrokerIdentity> = {};
  try {
    kept = JSON.parse(await readFile(file, 'utf8')) as Partial<BrokerIdentity>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError))
      throw err;
  }
  const nodeId =
    name !== ''
      ? nodeIdOfName(name)
      : typeof kept.nodeId === 'number' && Number.isInteger(kept.nodeId) && kept.nodeId >= 0
        ? kept.nodeId
        : randomBytes(4).readUInt32BE(0) & 0x7fffffff;
  const clusterId =
    typeof kept.clusterId === 'string' && /^[A-Za-z0-9_-]{22}$/.test(kept.clusterId)
      ? kept.clusterId
      : randomBytes(16).toString('base64url');
  if (kept.nodeId !== nodeId || kept.clusterId !== clusterId) {
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ nodeId, clusterId })}\n`);
    await rename(tmp, file);
  }
  return { nodeId, clusterId };
}
