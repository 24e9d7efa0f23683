/**
 * Weft nodes for the partition tests: `weft server` processes, one per
 * network namespace (see netns.ts), with fast mesh timers, and what to print
 * when an assertion fails.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from 'nats';
import { checkFor } from '../helpers/poll.js';
import type { Lab, Node } from './netns.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export const HEARTBEAT_MS = 200;
export const DEAD_AFTER_MS = 1000;
export const RECONNECT_MAX_MS = 500;
/** Each node has its own namespace, so every node uses the same ports. */
export const CLIENT_PORT = 4222;
export const HTTP_PORT = 8222;
export const MESH_PORT = 7422;

// ---------------------------------------------------------------- nodes

export interface WeftProc {
  node: Node;
  child: ChildProcess;
  dataDir: string;
  output: () => string;
  alive: () => boolean;
}

const dataDirs: string[] = [];
after(() => {
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

/** Starts a node on a fresh data directory, or on `dataDir` (a restart). */
export async function startWeft(
  lab: Lab,
  node: Node,
  links: string[],
  dataDir = mkdtempSync(join(tmpdir(), 'weft-partition-')),
): Promise<WeftProc> {
  if (!dataDirs.includes(dataDir)) dataDirs.push(dataDir);
  const args = [
    MAIN,
    'server',
    '--name',
    node.name,
    '--host',
    '0.0.0.0',
    '--port',
    String(CLIENT_PORT),
    '--http-port',
    String(HTTP_PORT),
    '--data-dir',
    dataDir,
    '--mesh-port',
    String(MESH_PORT),
    '--mesh-token',
    't',
    '--mesh-heartbeat',
    `${HEARTBEAT_MS}ms`,
    '--mesh-dead-after',
    `${DEAD_AFTER_MS}ms`,
    '--mesh-reconnect-max',
    `${RECONNECT_MAX_MS}ms`,
  ];
  for (const l of links) args.push('--link', l);
  const child = lab.spawnIn(node, process.execPath, args);
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const alive = () => child.exitCode === null && child.signalCode === null;
  await checkFor(() => {
    if (!alive()) throw new Error(`${node.name} exited (${child.exitCode}): ${out.slice(-2000)}`);
    if (!/client connections on/.test(out)) throw new Error(`${node.name} not listening yet`);
  }, 10_000);
  return { node, child, dataDir, output: () => out, alive };
}

export async function meshz(p: WeftProc): Promise<string> {
  try {
    const res = await fetch(`http://${p.node.addr}:${HTTP_PORT}/meshz`, {
      signal: AbortSignal.timeout(1000),
    });
    return (await res.text()).slice(0, 4000);
  } catch (err) {
    return `(no /meshz: ${(err as Error).message})`;
  }
}

/** What to read when an assertion fails: each node's /meshz and log tail. */
export async function diagnostics(procs: WeftProc[]): Promise<string> {
  const parts: string[] = [];
  for (const p of procs) {
    parts.push(
      `--- ${p.node.name} (${p.alive() ? 'running' : `exited ${p.child.exitCode ?? p.child.signalCode}`})`,
      `/meshz: ${await meshz(p)}`,
      `log tail:\n${p.output().slice(-3000)}`,
    );
  }
  return parts.join('\n');
}

/** A client of a node, from the root namespace, that never reconnects. */
export async function clientTo(node: Node): Promise<NatsConnection> {
  return connect({
    servers: `nats://${node.addr}:${CLIENT_PORT}`,
    reconnect: false,
    ignoreClusterUpdates: true,
    timeout: 5000,
  });
}
