/**
 * Start-up and failure as an operator sees them, with `weft server` as a
 * child process: a node that cannot start (its data directory held by
 * another node or not writable, a port taken) exits 1 saying why, holding
 * nothing; a stale lock is taken over; an internal error (an uncaught
 * exception or rejection) is logged with its stack, counted, and ends in a
 * clean shutdown with exit status 70.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { connect } from 'nats';
import { checkFor, within } from '../helpers/poll.js';
import {
  boundPorts,
  type RunningNode,
  startNode,
  startProcess,
  tempDir,
} from '../helpers/weft-process.js';

const EXIT_INTERNAL = 70;

/** Resolves to the error code of a TCP connect to `port` (or 'connected'). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * How to start a node for which `dir` is read-only, or why that cannot be
 * built here. Root writes through permission bits, so for root it is a
 * read-only tmpfs mounted over `dir` in a mount namespace of the child's own
 * (gone with it); for others, mode 0555.
 */
function readOnly(dir: string): { wrap?: string[] } | string {
  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o555);
    return {};
  }
  const mount = `mount -t tmpfs -o ro tmpfs '${dir}'`;
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', mount], { encoding: 'utf8' });
  if (probe.status !== 0) {
    return `as root, a read-only directory needs a mount namespace: ${probe.error ?? probe.stderr}`;
  }
  return { wrap: ['unshare', '-m', 'sh', '-c', `${mount} && exec "$0" "$@"`] };
}

async function stop(node: RunningNode): Promise<number | null> {
  node.child.kill('SIGTERM');
  return within(node.exited, 10_000, 'exit after SIGTERM');
}

/** A listener holding a port, so a node cannot bind it. */
async function occupy(): Promise<{ port: number; close: () => void }> {
  const { createServer } = await import('node:net');
  const srv = createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as { port: number }).port, close: () => srv.close() };
}

describe('weft server start-up', () => {
  test('a second node on the same data directory exits 1 naming the holder', async () => {
    const first = await startNode(['--name', 'holder']);
    try {
      const second = startProcess([
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--http-port',
        '0',
        '--mesh-port=-1',
        '--data-dir',
        first.dataDir,
      ]);
      assert.equal(await within(second.exited, 10_000, 'the second node to exit'), 1);
      const msg = second.stderr();
      assert.match(msg, /weft server: cannot start: data_dir: .* is in use by node "holder"/);
      assert.match(msg, new RegExp(`pid ${first.child.pid} on host ${hostname()}, since 20`));
      assert.doesNotMatch(msg, /Listening for client connections/, 'it opened nothing');
      // The first is undisturbed.
      const nc = await connect({ servers: `127.0.0.1:${first.port}` });
      await nc.flush();
      await nc.close();
    } finally {
      assert.equal(await stop(first), 0);
    }
    assert.equal(existsSync(join(first.dataDir, 'LOCK')), false, 'released on shutdown');
  });

  test('the lock of a node that was killed is taken over with a warning', async () => {
    const dataDir = tempDir();
    const killed = await startNode([], { dataDir });
    killed.child.kill('SIGKILL');
    await within(killed.exited, 10_000, 'the killed node to exit');
    assert.ok(lstatSync(join(dataDir, 'LOCK')).isSymbolicLink(), 'a SIGKILL leaves the lock');
    const next = await startNode([], { dataDir });
    try {
      assert.match(
        next.stderr(),
        new RegExp(`took over the stale lock of .*pid ${killed.child.pid} .*that process is gone`),
      );
    } finally {
      assert.equal(await stop(next), 0);
    }
  });

  test('a taken monitoring port exits 1 naming it, and the client and mesh ports are closed', async () => {
    const taken = await occupy();
    try {
      const p = startProcess([
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--mesh-port',
        '0',
        '--http-port',
        String(taken.port),
        '--data-dir',
        tempDir(),
      ]);
      // It exits by itself: nothing it opened keeps it alive.
      assert.equal(await within(p.exited, 10_000, 'the node to exit'), 1);
      assert.match(
        p.stderr(),
        new RegExp(`cannot start: monitoring port ${taken.port}: address in use`),
      );
      const { port, meshPort } = boundPorts(p.stderr());
      assert.ok(port !== undefined && meshPort !== undefined, p.stderr());
      assert.equal(await tryConnect(port), 'ECONNREFUSED');
      assert.equal(await tryConnect(meshPort), 'ECONNREFUSED');
    } finally {
      taken.close();
    }
  });

  test('a taken client port exits 1 naming it', async () => {
    const taken = await occupy();
    try {
      const p = startProcess([
        '--host',
        '127.0.0.1',
        '--port',
        String(taken.port),
        '--http-port',
        '0',
        '--mesh-port=-1',
        '--data-dir',
        tempDir(),
      ]);
      assert.equal(await within(p.exited, 10_000, 'the node to exit'), 1);
      assert.match(
        p.stderr(),
        new RegExp(`cannot start: client port ${taken.port}: address in use`),
      );
    } finally {
      taken.close();
    }
  });

  test('a data directory under a regular file exits 1 naming it and the errno', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    const p = startProcess(['-p', '0', '-m', '-1', '--mesh-port=-1', '--data-dir', `${file}/data`]);
    assert.equal(await within(p.exited, 10_000, 'the node to exit'), 1);
    assert.match(p.stderr(), /cannot start: data_dir: cannot create .*a-file\/data: ENOTDIR/);
  });

  test('a read-only data directory exits 1 naming it and the errno', async (t) => {
    const dir = tempDir();
    const wrap = readOnly(dir);
    if (typeof wrap === 'string') {
      t.skip(wrap);
      return;
    }
    const p = startProcess(['-p', '0', '-m', '-1', '--mesh-port=-1', '--data-dir', dir], wrap);
    assert.equal(await within(p.exited, 10_000, 'the node to exit'), 1);
    assert.match(
      p.stderr(),
      new RegExp(
        `cannot start: data_dir: ${reEscape(realpathSync(dir))} is not writable: (EROFS|EACCES) \\(`,
      ),
    );
    assert.doesNotMatch(p.stderr(), /Listening for/);
  });

  test('a read-only stream directory exits 1 naming it, and the lock is released', async (t) => {
    const dir = tempDir();
    const streams = join(dir, 'streams', '$G');
    mkdirSync(streams, { recursive: true });
    const wrap = readOnly(streams);
    if (typeof wrap === 'string') {
      t.skip(wrap);
      return;
    }
    const p = startProcess(['-p', '0', '-m', '-1', '--mesh-port=-1', '--data-dir', dir], wrap);
    assert.equal(await within(p.exited, 10_000, 'the node to exit'), 1);
    assert.match(
      p.stderr(),
      new RegExp(
        `cannot start: data_dir: ${reEscape(streams)} is not writable: (EROFS|EACCES) \\(`,
      ),
    );
    assert.equal(existsSync(join(dir, 'LOCK')), false, 'the lock taken before is released');
  });

  test('an uncaught exception is logged and counted, and the node shuts down cleanly with 70', async () => {
    const node = await startNode(['--shutdown-grace', '30s'], {
      env: { WEFT_TEST_FAULT: 'uncaught' },
    });
    // A subscriber that does not read, with a backlog, holds the graceful
    // shutdown open while the monitor still answers.
    const sock = tcpConnect(node.port, '127.0.0.1');
    let got = '';
    sock.on('data', (b: Buffer) => {
      if (got.length < 4096) got += b.toString('latin1');
    });
    sock.write('CONNECT {"verbose":false}\r\nSUB hold 1\r\nPING\r\n');
    await checkFor(() => got.includes('PONG'), 5000);
    sock.pause();
    const nc = await connect({ servers: `127.0.0.1:${node.port}` });
    const payload = new Uint8Array(64 * 1024);
    for (let i = 0; i < 256; i++) nc.publish('hold', payload);
    await nc.flush();
    await nc.close();

    node.child.kill('SIGUSR2');
    await checkFor(async () => {
      const varz = (await (await fetch(`http://127.0.0.1:${node.httpPort}/varz`)).json()) as {
        weft: { uncaught_errors: number };
      };
      return varz.weft.uncaught_errors === 1;
    }, 10_000);
    const health = (await (await fetch(`http://127.0.0.1:${node.httpPort}/healthz`)).json()) as {
      status: string;
      problems: { detail: string }[];
    };
    assert.equal(health.status, 'degraded');
    assert.match(health.problems[0]!.detail, /uncaught exception: test fault/);
    const metrics = await (await fetch(`http://127.0.0.1:${node.httpPort}/metrics`)).text();
    assert.match(metrics, /weft_uncaught_errors_total\{[^}]*\} 1/);
    sock.destroy();

    assert.equal(await within(node.exited, 10_000, 'the node to exit'), EXIT_INTERNAL);
    const log = node.stderr();
    assert.match(log, /\[ERR\] uncaught exception \(internal error #1\): Error: test fault/);
    assert.match(log, /\n\s+at /, 'the stack is logged');
    assert.match(log, /Server shutdown complete/);
    assert.equal(existsSync(join(node.dataDir, 'LOCK')), false, 'the lock is released');
  });

  test('an unhandled rejection ends the same way', async () => {
    const node = await startNode([], { env: { WEFT_TEST_FAULT: 'rejection' } });
    node.child.kill('SIGUSR2');
    assert.equal(await within(node.exited, 10_000, 'the node to exit'), EXIT_INTERNAL);
    assert.match(node.stderr(), /unhandled rejection \(internal error #1\): Error: test fault/);
    assert.match(node.stderr(), /Server shutdown complete/);
  });
});
