/**
 * Starts a node of built tree <dist> under V8 trace flags, for the trace
 * tools (js-trace.mjs, kafka-trace.mjs): NF, or `defaultFlags`, before
 * main.js (NF=" " for none); its stdout and stderr go to `trace`; a fresh
 * data dir; NATS on `nport`, no monitoring or mesh, then `extraArgs`.
 * Returns the child, `lines()` (the trace's line count so far, for its
 * .keys marks) and `stop()` (SIGINT, wait, remove the data dir).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function startTracedNode(dist, trace, nport, defaultFlags, extraArgs = []) {
  const data = mkdtempSync(join(tmpdir(), 'weft-trace-'));
  const out = openSync(trace, 'w');
  const nf = (process.env.NF ?? defaultFlags).split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...nf,
      `${dist}/src/cli/main.js`,
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(nport),
      '--http-port',
      '-1',
      '--data-dir',
      data,
      '--mesh-port',
      '-1',
      ...extraArgs,
    ],
    { stdio: ['ignore', out, out] },
  );
  return {
    child,
    lines: () => readFileSync(trace, 'utf8').split('\n').length,
    async stop() {
      child.kill('SIGINT');
      await new Promise((r) => child.on('exit', r));
      rmSync(data, { recursive: true, force: true });
    },
  };
}
