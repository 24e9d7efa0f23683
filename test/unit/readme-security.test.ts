/**
 * The README's complete security example stays true: it is read as a config
 * file, a node starts on it, and its users log in with what the comments say.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../src/config/config.js';
import { startServer } from '../../src/server/server.js';
import { clientPool } from '../helpers/clients.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

test("the README's security example is a valid config its users log in with", async (t) => {
  const text = readFileSync(README, 'utf8');
  const section = text.slice(text.indexOf('## Security'));
  const m = /```yaml\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'no yaml example under ## Security');
  const options = parseConfigText(m[1], 'README example');
  assert.deepEqual(
    options.security?.accounts.map((a) => a.name),
    ['SHOP', 'ANALYTICS'],
  );
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-readme-'));
  const srv = await startServer({
    ...options,
    host: '127.0.0.1',
    port: 0,
    httpPort: -1,
    dataDir,
    logLevel: 'silent',
    meshPort: -1,
    // The example's bcrypt hash (cost 11) is checked while auth_timeout runs;
    // on a loaded 2-core machine that can take longer than the 2 s default,
    // and this test is about the example, not the deadline (tested elsewhere).
    authTimeoutMs: 60_000,
  });
  const pool = clientPool(`nats://127.0.0.1:${srv.port}`);
  t.after(async () => {
    await pool.closeAll();
    await srv.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  await (await pool.connect({ user: 'orders', pass: 'orders-secret' })).flush();
  await (await pool.connect({ user: 'worker', pass: 'worker-secret' })).flush();
  await (await pool.connect({ user: 'admin', pass: 'admin-secret' })).flush();
  await assert.rejects(pool.connect({ user: 'orders', pass: 'worker-secret' }));
});
