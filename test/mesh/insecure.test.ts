/**
 * Not open by default (issue 10, item 4): a mesh listener on a
 * non-loopback address without a token refuses to start, with exit status
 * 2 and a message that says how to fix it, unless explicitly allowed; bound
 * to loopback, or with a token, it starts. The rules themselves
 * (meshListenPort, isLoopback) are checked without processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withDefaults } from '../../src/config/options.js';
import { ConfigError } from '../../src/errors.js';
import {
  checkMeshSettings,
  DEFAULT_MESH_PORT,
  isLoopback,
  MAX_NODE_NAME,
  meshListenPort,
} from '../../src/mesh/settings.js';
import { checkFor } from '../helpers/poll.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weft-insecure-'));
  dirs.push(d);
  return d;
}

/** Runs `weft server` with `args` until it exits or logs "Server is ready" (then stops it). */
async function run(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(
    process.execPath,
    [MAIN, 'server', '--port', '0', '--http-port', '-1', '--data-dir', tempDir(), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let code: number | null | undefined;
  void exited.then((c) => {
    code = c;
  });
  await checkFor(() => code !== undefined || /Server is ready/.test(out), 10_000);
  if (code === undefined) {
    child.kill('SIGTERM');
    code = await exited;
    return { code: -1, out };
  }
  return { code, out };
}

describe('mesh listener settings', () => {
  test('meshListenPort: only when asked, or when links are configured', () => {
    assert.equal(meshListenPort(withDefaults({})), -1);
    assert.equal(meshListenPort(withDefaults({ links: ['weft://h:1'] })), DEFAULT_MESH_PORT);
    assert.equal(meshListenPort(withDefaults({ meshPort: 0 })), 0);
    assert.equal(meshListenPort(withDefaults({ meshPort: -1, links: ['weft://h:1'] })), -1);
  });

  test('isLoopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'])
      assert.ok(isLoopback(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.example.com'])
      assert.ok(!isLoopback(h), h);
  });

  test('checkMeshSettings refuses an open listener without a token, naming three fixes', () => {
    const open = withDefaults({ host: '0.0.0.0', meshPort: 7422 });
    assert.throws(
      () => checkMeshSettings(open),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.key === 'mesh.token' &&
        /mesh\.token/.test(e.message) &&
        /127\.0\.0\.1/.test(e.message) &&
        /mesh\.allow_insecure/.test(e.message),
    );
    checkMeshSettings({ ...open, meshToken: 's' });
    checkMeshSettings({ ...open, meshHost: '127.0.0.1' });
    checkMeshSettings({ ...open, meshAllowInsecure: true });
    checkMeshSettings({ ...open, meshPort: -1 });
    checkMeshSettings(withDefaults({ host: '0.0.0.0' })); // no listener at all
    assert.throws(() => checkMeshSettings(withDefaults({ links: ['weft://h:1'] })), ConfigError);
  });

  test('node names on a mesh: at most 512 bytes, no whitespace or control characters', () => {
    const on = withDefaults({ host: '127.0.0.1', meshPort: 0 });
    checkMeshSettings({ ...on, name: 'n'.repeat(MAX_NODE_NAME) });
    checkMeshSettings({ ...on, name: 'é'.repeat(MAX_NODE_NAME / 2) });
    checkMeshSettings({ ...on, name: '' }); // the generated id is used
    for (const bad of [
      'n'.repeat(MAX_NODE_NAME + 1),
      'é'.repeat(MAX_NODE_NAME / 2) + 'x',
      'a b',
      'a\tb',
      'a\u0000b',
    ]) {
      assert.throws(
        () => checkMeshSettings({ ...on, name: bad }),
        (e: unknown) => e instanceof ConfigError && e.key === 'name',
        JSON.stringify(bad.slice(0, 20)),
      );
    }
    // Without a mesh, the name is only a name.
    checkMeshSettings(withDefaults({ name: 'a b' }));
  });

  test('weft server: non-loopback mesh without a token exits 2 and says how to fix it', async () => {
    const r = await run(['--host', '0.0.0.0', '--mesh-port', '0']);
    assert.equal(r.code, 2, r.out);
    assert.match(
      r.out,
      /invalid configuration: mesh\.token: the mesh would listen on 0\.0\.0\.0:0/,
    );
    assert.match(r.out, /--mesh-token/);
    assert.match(r.out, /--mesh-host 127\.0\.0\.1/);
    assert.match(r.out, /--mesh-allow-insecure/);
    // The same from a config file.
    const file = join(tempDir(), 'weft.yaml');
    writeFileSync(file, 'host: 0.0.0.0\nmesh:\n  port: 0\n');
    const f = await run(['--config', file]);
    assert.equal(f.code, 2, f.out);
    assert.match(f.out, /mesh\.token/);
  });

  test('weft server: with a token, on loopback, or explicitly allowed, it starts', async () => {
    for (const args of [
      ['--host', '0.0.0.0', '--mesh-port', '0', '--mesh-token', 's3cret'],
      ['--host', '0.0.0.0', '--mesh-port', '0', '--mesh-host', '127.0.0.1'],
      ['--host', '0.0.0.0', '--mesh-port', '0', '--mesh-allow-insecure'],
      ['--host', '127.0.0.1', '--mesh-port', '0'],
    ]) {
      const r = await run(args);
      assert.equal(r.code, -1, `${args.join(' ')} started: ${r.out}`);
      assert.match(r.out, /Listening for mesh links on [^\s]+:\d+/);
    }
  });

  test('weft server: a default node has no mesh listener', async () => {
    const r = await run(['--host', '0.0.0.0']);
    assert.equal(r.code, -1, r.out);
    assert.doesNotMatch(r.out, /mesh/i);
  });
});
