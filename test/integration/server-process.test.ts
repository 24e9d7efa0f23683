/**
 * `weft server` as a process, the way an operator runs it: the log names the
 * bound port, the config file and flags combine, bad settings exit 2 naming
 * the key, and signals shut it down gracefully (a second one at once).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { checkFor, within } from '../helpers/poll.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weft-proc-'));
  dirs.push(d);
  return d;
}

interface Proc {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startProcess(args: string[]): Proc {
  const child = spawn(process.execPath, [MAIN, 'server', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

/** Starts a node on free ports and reads the bound ports from its log. */
async function startNode(extra: string[] = []): Promise<Proc & { port: number; httpPort: number }> {
  const p = startProcess([
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--http-port',
    '0',
    '--data-dir',
    tempDir(),
    '--mesh-port=-1',
    ...extra,
  ]);
  const ports = await checkFor(() => {
    const c = /client connections on [^\s]+:(\d+)/.exec(p.stderr());
    const h = /monitoring on http:\/\/[^\s]+:(\d+)/.exec(p.stderr());
    if (c === null || h === null) throw new Error(`not listening yet: ${p.stderr()}`);
    return { port: Number(c[1]), httpPort: Number(h[1]) };
  }, 10_000);
  return { ...p, ...ports };
}

/** A raw connection: CONNECT, SUB, and a PONG proving the SUB is in place. */
async function rawSubscriber(
  port: number,
  subject: string,
): Promise<{ sock: Socket; got: () => number }> {
  const sock = tcpConnect(port, '127.0.0.1');
  let text = '';
  let bytes = 0;
  sock.on('data', (b: Buffer) => {
    bytes += b.length;
    if (text.length < 4096) text += b.toString('latin1');
  });
  sock.write(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${subject} 1\r\nPING\r\n`);
  await checkFor(() => text.includes('PONG'), 5000);
  return { sock, got: () => bytes };
}

describe('weft server process', () => {
  test('logs the ports it bound with --port 0 and serves clients and monitoring', async () => {
    const node = await startNode(['--name', 'proc-a']);
    try {
      const nc = await connect({ servers: `127.0.0.1:${node.port}` });
      assert.equal(nc.info?.server_name, 'proc-a');
      const sub = nc.subscribe('x', { max: 1 });
      nc.publish('x', new TextEncoder().encode('hi'));
      for await (const m of sub) assert.equal(new TextDecoder().decode(m.data), 'hi');
      await nc.close();
      const health = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`);
      assert.equal(health.status, 200);
    } finally {
      node.child.kill('SIGTERM');
      assert.equal(await within(node.exited, 10_000, 'exit after SIGTERM'), 0);
    }
    assert.match(node.stderr(), /Server shutdown complete/);
  });

  test('the config file sets options and flags override it', async () => {
    const dir = tempDir();
    const file = join(dir, 'weft.yaml');
    writeFileSync(file, 'name: from-file\nmax_payload: 2KB\nlog_level: info\n');
    const node = await startNode(['--config', file, '--name', 'from-flag']);
    try {
      const nc = await connect({ servers: `127.0.0.1:${node.port}` });
      assert.equal(nc.info?.server_name, 'from-flag', 'the flag wins over the file');
      assert.equal(nc.info?.max_payload, 2048, 'the file sets max_payload');
      await nc.close();
    } finally {
      node.child.kill('SIGTERM');
      await within(node.exited, 10_000, 'exit');
    }
  });

  test('a bad setting in the file exits 2 naming the key', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'port: 4222\nhttp_port: many\n');
    const p = startProcess(['--config', file]);
    assert.equal(await within(p.exited, 10_000, 'exit'), 2);
    assert.match(p.stderr(), /http_port: must be a port number/);
  });

  test('an unknown key, a bad flag value and a missing file exit 2 naming them', async () => {
    const dir = tempDir();
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'max_paylod: 1MB\n');
    const typo = startProcess(['--config', file]);
    assert.equal(await within(typo.exited, 10_000, 'exit'), 2);
    assert.match(typo.stderr(), /max_paylod: unknown setting/);

    const flag = startProcess(['--max-payload', '5GB']);
    assert.equal(await within(flag.exited, 10_000, 'exit'), 2);
    assert.match(flag.stderr(), /max.payload: must be at most/);

    const missing = startProcess(['--config', join(dir, 'nope.yaml')]);
    assert.equal(await within(missing.exited, 10_000, 'exit'), 2);
    assert.match(missing.stderr(), /--config: cannot read .*nope\.yaml: no such file/);
  });

  test('jetstream: false in the file or --no-jetstream turn JetStream off', async () => {
    const dir = tempDir();
    const file = join(dir, 'nojs.yaml');
    writeFileSync(file, 'jetstream: false\n');
    /** Whether the node answers the JetStream API (else: no responders). */
    const served = async (extra: string[]): Promise<boolean> => {
      const node = await startNode(extra);
      try {
        const nc = await connect({ servers: `127.0.0.1:${node.port}` });
        try {
          const r = await nc.request('$JS.API.INFO', new Uint8Array(), { timeout: 2000 });
          const info = JSON.parse(new TextDecoder().decode(r.data)) as { type?: string };
          assert.equal(info.type, 'io.nats.jetstream.api.v1.account_info_response');
          return true;
        } catch (err) {
          assert.equal((err as { code?: string }).code, '503', String(err));
          return false;
        } finally {
          await nc.close();
        }
      } finally {
        node.child.kill('SIGTERM');
        await within(node.exited, 10_000, 'exit');
      }
    };
    assert.equal(await served([]), true, 'on by default');
    assert.equal(await served(['--config', file]), false, 'jetstream: false');
    assert.equal(await served(['--config', file, '--jetstream']), true, 'the flag wins');
    assert.equal(await served(['--no-jetstream']), false, '--no-jetstream');
    const both = startProcess(['--jetstream', '--no-jetstream']);
    assert.equal(await within(both.exited, 10_000, 'exit'), 2);
    assert.match(both.stderr(), /--jetstream: contradicts --no-jetstream/);
  });

  test('SIGTERM flushes what is queued to a client before closing it', async () => {
    // A subscriber that does not read while ~8 MiB are queued for it; after
    // SIGTERM it starts reading and must get every byte before the close.
    const node = await startNode(['--max-pending', '64MB', '--shutdown-grace', '10s']);
    const { sock, got } = await rawSubscriber(node.port, 'flood');
    sock.pause();
    const nc = await connect({ servers: `127.0.0.1:${node.port}` });
    const payload = new Uint8Array(8 * 1024).fill(65);
    const N = 1024;
    for (let i = 0; i < N; i++) nc.publish('flood', payload);
    await nc.flush();
    await nc.close();
    const frame = `MSG flood 1 ${payload.length}\r\n`.length + payload.length + 2;
    node.child.kill('SIGTERM');
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.resume();
    await within(closed, 10_000, 'the subscriber to be closed');
    // Everything after the PONG of the handshake is the N messages.
    assert.ok(got() >= N * frame, `received ${got()} bytes, expected at least ${N * frame}`);
    assert.equal(await within(node.exited, 10_000, 'exit'), 0);
  });

  test('a second signal exits at once, without waiting for the grace period', async () => {
    const node = await startNode(['--shutdown-grace', '60s']);
    // A paused subscriber with a backlog keeps the graceful shutdown waiting.
    const { sock } = await rawSubscriber(node.port, 'hold');
    sock.pause();
    const nc = await connect({ servers: `127.0.0.1:${node.port}` });
    const payload = new Uint8Array(64 * 1024);
    for (let i = 0; i < 256; i++) nc.publish('hold', payload);
    await nc.flush();
    await nc.close();
    node.child.kill('SIGTERM');
    await checkFor(() => /Received SIGTERM, shutting down/.test(node.stderr()), 5000);
    node.child.kill('SIGTERM');
    const code = await within(node.exited, 5000, 'exit after the second signal');
    assert.equal(code, 1);
    assert.match(node.stderr(), /again, exiting now/);
    sock.destroy();
  });
});
