/**
 * A second file store in a process does not throw away the optimised append
 * path of the first (bench/PROFILE.md, "Issue 16 — store4 (round 10)"): no
 * field of the index or its parts changes representation after a store is
 * made (double-first.ts), the index's start-of-stream branches have type
 * feedback (file-index-prime.ts), and the arena free list keeps its
 * hidden class. Checked on V8's own deoptimisation trace of a child
 * (append-deopt-child.ts): after the second store opens, none of the
 * append path's functions is deoptimised or marked for it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./append-deopt-child.js', import.meta.url));

/** The append path: the store's, the index's, the writer queue's. */
const APPEND_PATH = /\b(appendNotify|appendRecord|add|claim|push|notify|wait|get firstSeq)\b/;

test('a second store leaves the first one’s optimised append path alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-deopt-'));
  try {
    const proc = spawn(process.execPath, ['--trace-deopt', '--allow-natives-syntax', CHILD], {
      env: { ...process.env, WEFT_DEOPT_DIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (s: string) => {
      out += s;
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    assert.equal(code, 0);
    const at = out.indexOf('second store');
    const end = out.indexOf('closing', at);
    assert.ok(at > 0 && end > at, 'the child printed its markers');
    const after = out
      .slice(at, end)
      .split('\n')
      .filter((l) => /^\[(bailout|marking dependent code)/.test(l))
      .filter((l) => {
        const fn = /<(?:JSFunction|SharedFunctionInfo) ([^ >]*)/.exec(l)?.[1] ?? '';
        return APPEND_PATH.test(fn);
      });
    assert.deepEqual(after, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
