/**
 * A node's start, in-process through the embedding API: it succeeds whole
 * or fails holding nothing. A second node on a data directory in use is
 * refused; a listener that cannot bind fails start() after everything
 * opened before it (client and mesh listeners, the streams' files, the data
 * directory's lock) has been released, so the same process can bind those
 * ports and start a node on that directory again.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { connect } from 'nats';
import { StartError } from '../../src/errors.js';
import { startServer, WeftNode } from '../../src/server/server.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'weft-startup-'));
  dirs.push(d);
  return d;
}

const base = { host: '127.0.0.1', port: 0, httpPort: 0, meshPort: -1, logLevel: 'silent' } as const;

async function listenOn(port: number): Promise<Server> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', resolve);
  });
  return srv;
}

const closeServer = (srv: Server): Promise<void> => new Promise((r) => srv.close(() => r()));

/** Binds `port` and lets it go: proof that nothing in this process holds it. */
async function assertFree(port: number, what: string): Promise<void> {
  let srv: Server;
  try {
    srv = await listenOn(port);
  } catch (err) {
    assert.fail(`${what} port ${port} is still held: ${(err as Error).message}`);
  }
  await closeServer(srv);
}

/** Files of this process open under `dir` (Linux /proc), or null where it cannot tell. */
function openFilesUnder(dir: string): string[] | null {
  if (!existsSync('/proc/self/fd')) return null;
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir + path.sep)) open.push(target);
    } catch {
      // Closed while listing.
    }
  }
  return open;
}

describe('node start', () => {
  test('a second node in the same process on the same data directory is refused', async () => {
    const dataDir = await tempDir();
    const first = await startServer({ ...base, dataDir, name: 'first' });
    try {
      const second = new WeftNode({ ...base, dataDir, name: 'second' });
      await assert.rejects(second.start(), (err: Error) => {
        assert.ok(err instanceof StartError, String(err));
        assert.match(
          err.message,
          /is in use by node "first", pid \d+ on host .* \(in this process\)/,
        );
        return true;
      });
      assert.equal(second.port, 0, 'the refused node bound nothing');
      // The first serves on.
      const nc = await connect({ servers: `127.0.0.1:${first.port}` });
      await nc.flush();
      await nc.close();
    } finally {
      await first.close();
    }
    const third = await startServer({ ...base, dataDir });
    await third.close();
  });

  test('a taken monitoring port fails start() having released the listeners, the streams and the lock', async () => {
    const dataDir = await tempDir();
    // A stream with a message, so the failed start opens its files.
    const a = await startServer({ ...base, dataDir });
    let nc = await connect({ servers: `127.0.0.1:${a.port}` });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'KEPT', subjects: ['kept.>'] });
    await nc.jetstream().publish('kept.one', new TextEncoder().encode('1'));
    await nc.close();
    await a.close();

    const taken = await listenOn(0);
    const takenPort = (taken.address() as { port: number }).port;
    const b = new WeftNode({ ...base, dataDir, httpPort: takenPort, meshPort: 0 });
    try {
      await assert.rejects(b.start(), (err: Error) => {
        assert.ok(err instanceof StartError, String(err));
        assert.match(err.message, new RegExp(`^monitoring port ${takenPort}: address in use`));
        return true;
      });
    } finally {
      await closeServer(taken);
    }
    assert.ok(b.port > 0, 'the client listener had been bound');
    assert.ok(b.mesh !== null && b.mesh.port > 0, 'the mesh listener had been bound');
    await assertFree(b.port, 'client');
    await assertFree(b.mesh.port, 'mesh');
    const open = openFilesUnder(realpathSync(dataDir));
    if (open !== null) assert.deepEqual(open, [], 'no file of the data directory left open');
    assert.equal(existsSync(path.join(dataDir, 'LOCK')), false, 'the lock is released');

    const c = await startServer({ ...base, dataDir });
    try {
      nc = await connect({ servers: `127.0.0.1:${c.port}` });
      const info = await (await nc.jetstreamManager()).streams.info('KEPT');
      assert.equal(info.state.messages, 1);
      await nc.close();
    } finally {
      await c.close();
    }
  });

  test('a taken mesh port fails start() naming it, with the client port released', async () => {
    const dataDir = await tempDir();
    const taken = await listenOn(0);
    const takenPort = (taken.address() as { port: number }).port;
    const node = new WeftNode({ ...base, dataDir, meshPort: takenPort });
    try {
      await assert.rejects(
        node.start(),
        new RegExp(`^StartError: mesh port ${takenPort}: address in use`),
      );
    } finally {
      await closeServer(taken);
    }
    await assertFree(node.port, 'client');
    assert.equal(existsSync(path.join(dataDir, 'LOCK')), false, 'the lock is released');
  });

  test('a part that fails to stop does not keep the others open: shutdown stops them all, releases the lock, then fails', async () => {
    const dataDir = await tempDir();
    const node = new WeftNode({ ...base, dataDir, meshPort: 0 });
    await node.start();
    const ports = { client: node.port, mesh: node.mesh!.port, monitoring: node.httpPort };
    const js = node.jetstream!;
    const stop = js.stop.bind(js);
    js.stop = async () => {
      await stop();
      throw new Error('injected: JetStream failed to stop');
    };
    await assert.rejects(node.shutdown(), /injected: JetStream failed to stop/);
    for (const [what, port] of Object.entries(ports)) await assertFree(port, what);
    assert.equal(existsSync(path.join(dataDir, 'LOCK')), false, 'the lock is released');
  });
});
