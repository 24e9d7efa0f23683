/**
 * `weft server` as a child process, for tests of what an operator sees (the
 * exit status, the log, the ports it bound, read from the log) and for tests
 * that kill a node and start it again on the same ports and data.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkFor, within } from './poll.js';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const dirs: string[] = [];
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory, removed after the file's tests. */
export function tempDir(prefix = 'weft-proc-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export interface Proc {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr: () => string;
  /** Resolves to the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * Runs `weft server ARGS`; with `wrap`, the command line is handed to it
 * (e.g. `['unshare', '-m', 'sh', '-c', 'mount … && exec "$0" "$@"']`).
 */
export function startProcess(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; wrap?: string[] } = {},
): Proc {
  const argv = [process.execPath, MAIN, 'server', ...args];
  const [cmd, ...rest] = opts.wrap !== undefined ? [...opts.wrap, ...argv] : argv;
  const child = spawn(cmd!, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  children.add(child);
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      children.delete(child);
      r(code);
    }),
  );
  return { child, stderr: () => err, exited };
}

export interface RunningNode extends Proc {
  port: number;
  httpPort: number;
  /** The mesh port, or -1 when it listens for no links. */
  meshPort: number;
  dataDir: string;
}

/** The ports a node's log says it bound so far. */
export function boundPorts(log: string): { port?: number; httpPort?: number; meshPort?: number } {
  const c = /client connections on [^\s]+:(\d+)/.exec(log);
  const h = /monitoring on http:\/\/[^\s]+:(\d+)/.exec(log);
  const m = /mesh links on [^\s]+:(\d+)/.exec(log);
  return {
    ...(c ? { port: Number(c[1]) } : {}),
    ...(h ? { httpPort: Number(h[1]) } : {}),
    ...(m ? { meshPort: Number(m[1]) } : {}),
  };
}

/**
 * Runs `weft server --host 127.0.0.1 ARGS` and waits until it is ready
 * (streams restored, every listener bound); rejects with its log if it exits.
 */
export async function startWeftProcess(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; readyMs?: number } = {},
): Promise<Proc> {
  const p = startProcess(
    ['--host', '127.0.0.1', ...args],
    opts.env !== undefined ? { env: opts.env } : {},
  );
  await checkFor(() => {
    if (p.child.exitCode !== null)
      throw new Error(`exited with ${p.child.exitCode}: ${p.stderr()}`);
    if (!/Server is ready/.test(p.stderr())) throw new Error(`not ready yet: ${p.stderr()}`);
    return true;
  }, opts.readyMs ?? 20_000);
  return p;
}

/** SIGKILLs the node and checks it was the kill, not an exit of its own, that ended it. */
export async function killWeftProcess(node: Proc, where: string): Promise<void> {
  node.child.kill('SIGKILL');
  const code = await within(node.exited, 10_000, `${where}: the node to die`);
  assert.equal(
    node.child.signalCode,
    'SIGKILL',
    `${where}: the node exited by itself (${code}): ${node.stderr()}`,
  );
}

/** SIGTERMs the node and checks it shut down cleanly (status 0) within `ms`. */
export async function stopWeftProcess(node: Proc, where: string, ms = 15_000): Promise<void> {
  node.child.kill('SIGTERM');
  const code = await within(node.exited, ms, `${where}: the node to stop`);
  assert.equal(code, 0, `${where}: exit ${code} after SIGTERM: ${node.stderr()}`);
}

/**
 * Starts a node on free ports (no mesh listener unless `extra` asks) and
 * waits until it is ready. `dataDir` defaults to a fresh directory.
 */
export async function startNode(
  extra: string[] = [],
  opts: { dataDir?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningNode> {
  const dataDir = opts.dataDir ?? tempDir();
  const p = await startWeftProcess(
    ['--port', '0', '--http-port', '0', '--data-dir', dataDir, '--mesh-port=-1', ...extra],
    opts.env !== undefined ? { env: opts.env } : {},
  );
  const b = boundPorts(p.stderr());
  return { ...p, port: b.port!, httpPort: b.httpPort!, meshPort: b.meshPort ?? -1, dataDir };
}
