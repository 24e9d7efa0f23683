/**
 * The security helpers of the CLI: `weft passwd` hashes a password that both
 * Weft and nats-server accept in a config, `weft nkey gen` makes a pair a
 * client authenticates with.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fromSeed } from '@nats-io/nkeys';
import bcrypt from 'bcryptjs';
import { nkeyAuthenticator } from 'nats';
import { clientPool } from '../helpers/clients.js';
import { startTarget } from '../helpers/harness.js';
import { startNatsServer } from '../helpers/nats-server.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function weft(args: string[], input = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('weft passwd and weft nkey', () => {
  test('passwd: a bcrypt hash from standard input that Weft and nats-server both accept', async (t) => {
    const r = weft(['passwd', '--cost', '4'], 'correct horse\n');
    assert.equal(r.code, 0, r.stderr);
    const hash = r.stdout.trim();
    assert.match(hash, /^\$2a\$04\$/);
    assert.ok(await bcrypt.compare('correct horse', hash));
    const doc = { authorization: { users: [{ user: 'u', password: hash }] } };
    for (const srv of [
      await startTarget({ securityDoc: doc }),
      await startNatsServer({ securityDoc: doc }),
    ]) {
      const pool = clientPool(srv.url);
      t.after(async () => {
        await pool.closeAll();
        await srv.close();
      });
      await (await pool.connect({ user: 'u', pass: 'correct horse' })).flush();
      await assert.rejects(pool.connect({ user: 'u', pass: 'wrong horse' }));
    }
  });

  test('passwd refuses a short password and a bad cost, with exit 2', () => {
    const short = weft(['passwd'], 'short\n');
    assert.equal(short.code, 2);
    assert.match(short.stderr, /at least 8 characters/);
    const cost = weft(['passwd', '--cost', '99', '--password', 'long enough']);
    assert.equal(cost.code, 2);
    assert.match(cost.stderr, /--cost: must be a whole number from 4 to 31/);
  });

  test('nkey gen user: a seed the client signs with and the public key the config names', async (t) => {
    const r = weft(['nkey', 'gen', 'user', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const { seed, public_key } = JSON.parse(r.stdout) as { seed: string; public_key: string };
    assert.match(public_key, /^U[A-Z2-7]{55}$/);
    assert.equal(fromSeed(new TextEncoder().encode(seed)).getPublicKey(), public_key);
    const srv = await startTarget({
      securityDoc: { authorization: { users: [{ nkey: public_key }] } },
    });
    const pool = clientPool(srv.url);
    t.after(async () => {
      await pool.closeAll();
      await srv.close();
    });
    await (
      await pool.connect({ authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) })
    ).flush();
    assert.equal(weft(['nkey', 'gen', 'server']).code, 2);
  });
});
