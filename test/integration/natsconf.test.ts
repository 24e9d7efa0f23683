/**
 * A nats-server configuration file, unchanged: `weft server --config
 * nats.conf` runs from it (includes, variables, units and all), and the same
 * file passes nats-server's own config test (`nats-server -t -c`) and runs
 * nats-server with the same limits in /varz, so both servers read it alike.
 * A file with keys Weft does not support exits 2 naming every one of them.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { connect } from 'nats';
import { checkFor, within } from '../helpers/poll.js';
import { boundPorts, startProcess, stopWeftProcess, tempDir } from '../helpers/weft-process.js';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? 'nats-server';

/** Only keys both servers support; port -1 is any free port to both. */
const MAIN_CONF = `# Read unchanged by nats-server and by Weft
server_name: conf-node
listen: 127.0.0.1:-1
http: "127.0.0.1:-1"

PAYLOAD: 64KB            # a variable, used below
max_payload: $PAYLOAD
max_pending = 32MB
max_connections 1K
ping_interval: "30s"
ping_max: 3
write_deadline: "5s"
debug: false; trace: false
include ./limits.conf
jetstream {
  store_dir: $WEFT_CONF_DATA   // from the environment
}
`;
const LIMITS_CONF = 'max_subscriptions: 1000\nmax_control_line: 8KB\n';

/** Writes the files into a fresh directory; returns the main file's path. */
function writeConf(files: Record<string, string>): string {
  const dir = tempDir('weft-natsconf-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return join(dir, Object.keys(files)[0]!);
}

/** `nats-server -t -c file`: its exit code and output. */
function natsServerTest(
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      NATS_SERVER,
      ['-t', '-c', file],
      { env: { ...process.env, ...env }, timeout: 10_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : (err as NodeJS.ErrnoException & { code?: unknown }).code;
        if (typeof code !== 'number') return reject(err);
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

/** The /varz fields both servers take from the file. */
const VARZ_FIELDS = [
  'server_name',
  'max_payload',
  'max_connections',
  'max_pending',
  'max_control_line',
  'ping_max',
] as const;

async function varz(httpPort: number): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/varz`);
  return (await res.json()) as Record<string, unknown>;
}

/** Runs `nats-server -c file` until ready, returns its /varz, and stops it. */
async function natsServerVarz(
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<Record<string, unknown>> {
  const child = spawn(NATS_SERVER, ['-c', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const http = await checkFor(() => {
      if (child.exitCode !== null) throw new Error(`nats-server exited: ${log}`);
      const m = /Starting http monitor on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m === null || !/Server is ready/.test(log)) throw new Error(`not ready: ${log}`);
      return Number(m[1]);
    }, 10_000);
    return await varz(http);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

describe('a nats-server configuration file', () => {
  test('nats-server itself accepts the file (nats-server -t)', async () => {
    const data = tempDir('weft-natsconf-data-');
    const file = writeConf({ 'nats.conf': MAIN_CONF, 'limits.conf': LIMITS_CONF });
    const r = await natsServerTest(file, { WEFT_CONF_DATA: data });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /configuration file .*nats\.conf is valid/);
  });

  test('weft server --config runs from the same file, with the limits nats-server reads', async () => {
    const data = tempDir('weft-natsconf-data-');
    const file = writeConf({ 'nats.conf': MAIN_CONF, 'limits.conf': LIMITS_CONF });
    const node = startProcess(['--config', file], { env: { WEFT_CONF_DATA: data } });
    try {
      await checkFor(() => {
        if (node.child.exitCode !== null) {
          throw new Error(`exited with ${node.child.exitCode}: ${node.stderr()}`);
        }
        return /Server is ready/.test(node.stderr());
      }, 20_000);
      const log = node.stderr();
      assert.match(log, /Listening for client connections on 127\.0\.0\.1:\d+/);
      const { port, httpPort } = boundPorts(log);
      assert.ok(port !== undefined && port > 0, log);
      assert.ok(
        httpPort !== undefined && httpPort > 0,
        `http: 127.0.0.1:-1 serves monitoring: ${log}`,
      );

      const nc = await connect({ servers: `127.0.0.1:${port}` });
      try {
        assert.equal(nc.info?.server_name, 'conf-node');
        assert.equal(nc.info?.max_payload, 64 * 1024, 'max_payload: $PAYLOAD (64KB)');
        // jetstream { store_dir } turned JetStream on, with its data in store_dir.
        const r = await nc.request('$JS.API.INFO', new Uint8Array(), { timeout: 5000 });
        const info = JSON.parse(new TextDecoder().decode(r.data)) as { type?: string };
        assert.equal(info.type, 'io.nats.jetstream.api.v1.account_info_response');
      } finally {
        await nc.close();
      }
      assert.ok(existsSync(join(data, 'streams')), 'store_dir is the data directory');

      const weft = await varz(httpPort);
      assert.equal(weft.max_payload, 64 * 1024);
      assert.equal(weft.max_connections, 1000, 'max_connections 1K');
      assert.equal(weft.max_pending, 32 * 1024 * 1024, 'max_pending = 32MB');
      assert.equal(weft.max_control_line, 8 * 1024, 'max_control_line: 8KB from the include');
      assert.equal(weft.ping_max, 3);

      // nats-server, run from the same file, reports the same settings.
      const ref = await natsServerVarz(file, { WEFT_CONF_DATA: tempDir('weft-natsconf-ref-') });
      assert.equal(ref.server_name, 'conf-node', 'the reference read the file');
      for (const f of VARZ_FIELDS) assert.deepEqual(weft[f], ref[f], `/varz ${f}`);
    } finally {
      await stopWeftProcess(node, 'the node from nats.conf');
    }
  });

  test('keys Weft does not support: exit 2, every one named', async () => {
    const conf = `port: -1
cluster { name: c1, listen: 127.0.0.1:-1 }
leafnodes { listen: 127.0.0.1:-1 }
jetstream { store_dir: /tmp/x, max_memory_store: 1GB }
lame_duck_duration: "30s"
`;
    const file = writeConf({ 'unsupported.conf': conf });
    assert.equal((await natsServerTest(file, {})).code, 0, 'valid for nats-server');
    const p = startProcess(['--config', file]);
    assert.equal(await within(p.exited, 10_000, 'exit'), 2, p.stderr());
    assert.match(
      p.stderr(),
      /invalid configuration: .*unsupported\.conf: 4 settings Weft does not support: cluster, leafnodes, jetstream\.max_memory_store, lame_duck_duration\./,
    );
  });

  test('a syntax error exits 2 naming file:line:column', async () => {
    const file = writeConf({ 'broken.conf': 'port: 4222\nauthorization {\n  token: "open\n' });
    const p = startProcess(['--config', file]);
    assert.equal(await within(p.exited, 10_000, 'exit'), 2, p.stderr());
    assert.match(p.stderr(), /broken\.conf:3:10: unterminated string/);
  });
});
