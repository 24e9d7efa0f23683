/**
 * A nats-server configuration file, unchanged: `weft server --config
 * nats.conf` runs from it (includes, variables, units and all), and the same
 * file passes nats-server's own config test (`nats-server -t -c`), so both
 * servers read it. A file with keys Weft does not support exits 2 naming
 * every one of them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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

describe('a nats-server configuration file', () => {
  test('nats-server itself accepts the file (nats-server -t)', async () => {
    const data = tempDir('weft-natsconf-data-');
    const file = writeConf({ 'nats.conf': MAIN_CONF, 'limits.conf': LIMITS_CONF });
    const r = await natsServerTest(file, { WEFT_CONF_DATA: data });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /configuration file .*nats\.conf is valid/);
  });

  test('weft server --config runs from the same file', async () => {
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

      const varz = (await (await fetch(`http://127.0.0.1:${httpPort}/varz`)).json()) as Record<
        string,
        unknown
      >;
      assert.equal(varz.max_payload, 64 * 1024);
      assert.equal(varz.max_connections, 1000, 'max_connections 1K');
      assert.equal(varz.max_pending, 32 * 1024 * 1024, 'max_pending = 32MB');
      assert.equal(varz.max_control_line, 8 * 1024, 'max_control_line: 8KB from the include');
      assert.equal(varz.ping_max, 3);
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
