/**
 * `weft server` (the CLI, from dist) as a child process, for tests that kill
 * and restart a node: started on given ports and data, ready once it says it
 * listens, with its stderr kept for failure messages.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkFor, within } from './poll.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface WeftProcess {
  readonly proc: ChildProcess;
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the node wrote to stderr so far. */
  stderr(): string;
}

/** Children still running, killed if the test process exits abruptly. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * Starts `weft server` with `args` (after `--host 127.0.0.1`) and waits until
 * it listens for clients (streams are restored before that).
 */
export async function startWeftProcess(
  args: readonly string[],
  readyMs = 20_000,
): Promise<WeftProcess> {
  const proc = spawn(process.execPath, [MAIN, 'server', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(proc);
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    proc.on('close', (code, signal) => {
      live.delete(proc);
      res({ code, signal });
    });
  });
  const node = { proc, closed, stderr: () => err };
  await checkFor(() => {
    if (proc.exitCode !== null) throw new Error(`weft server exited: ${err}`);
    return /Listening for client connections/.test(err);
  }, readyMs);
  return node;
}

/** SIGKILLs the node and checks it was the kill, not an exit of its own, that ended it. */
export async function killWeftProcess(node: WeftProcess, where: string): Promise<void> {
  node.proc.kill('SIGKILL');
  const { code, signal } = await within(node.closed, 10_000, `${where}: the node to die`);
  assert.equal(
    signal,
    'SIGKILL',
    `${where}: the node exited by itself (${code}): ${node.stderr()}`,
  );
}

/** SIGTERMs the node and checks it shut down cleanly (status 0) within `ms`. */
export async function stopWeftProcess(
  node: WeftProcess,
  where: string,
  ms = 15_000,
): Promise<void> {
  node.proc.kill('SIGTERM');
  const { code, signal } = await within(node.closed, ms, `${where}: the node to stop`);
  assert.equal(code, 0, `${where}: exit ${code} (${signal}) after SIGTERM: ${node.stderr()}`);
}
