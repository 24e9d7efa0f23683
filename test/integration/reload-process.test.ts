/**
 * SIGHUP to a `weft server` process reloads its config file, as nats-server
 * does: a user added can log in, a user removed is closed, a bad file
 * changes nothing and says why in the log, and the process keeps serving.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { clientPool } from '../helpers/clients.js';
import { checkFor, RawClient } from '../helpers/harness.js';
import { startNode, stopWeftProcess, tempDir } from '../helpers/weft-process.js';

const config = (users: string[]) =>
  `authorization:\n  users:\n${users.map((u) => `    - { user: ${u}, password: ${u}-pass }`).join('\n')}\n`;

describe('SIGHUP', () => {
  test('reloads users from the config file; a bad file changes nothing', async (t) => {
    const dir = tempDir();
    const file = path.join(dir, 'weft.yaml');
    writeFileSync(file, config(['alice', 'bob']));
    const node = await startNode(['--config', file]);
    const pool = clientPool(`nats://127.0.0.1:${node.port}`);
    t.after(async () => {
      await pool.closeAll();
      if (node.child.exitCode === null) await stopWeftProcess(node, 'after');
    });
    const alice = await pool.connect({ user: 'alice', pass: 'alice-pass' });
    const bob = await RawClient.handshake(node.port, { user: 'bob', pass: 'bob-pass' });
    t.after(() => bob.destroy());
    await assert.rejects(pool.connect({ user: 'carol', pass: 'carol-pass' }));

    writeFileSync(file, config(['alice', 'carol']));
    node.child.kill('SIGHUP');
    await bob.expectClosed(5000, [/^-ERR 'Authorization Violation'$/]);
    await (await pool.connect({ user: 'carol', pass: 'carol-pass' })).flush();
    await alice.flush();
    assert.match(node.stderr(), /Reloaded configuration: 1 connection\(s\) closed/);

    writeFileSync(file, 'authorization: { users: [ { user: x, password: y, colour: red } ] }\n');
    node.child.kill('SIGHUP');
    await checkFor(
      () =>
        /reload failed, nothing changed: authorization\.users\[0\]\.colour: not supported/.test(
          node.stderr(),
        )
          ? true
          : undefined,
      5000,
    );
    await (await pool.connect({ user: 'carol', pass: 'carol-pass' })).flush();
    await alice.flush();
    assert.equal(node.child.exitCode, null);
  });
});
