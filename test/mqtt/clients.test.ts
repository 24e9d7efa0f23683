/**
 * A second, independent client (mosquitto_pub / mosquitto_sub, Debian's
 * mosquitto-clients) and MQTT over TLS (mqtt.tls: TLS from the first byte,
 * with MQTT.js and mosquitto's clients; a client certificate mapped to a
 * user under verify_and_map).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseConfigText } from '../../src/config/config.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { checkFor } from '../helpers/poll.js';
import { collect, end, type MqttNode, mqttConnect, startMqttNode } from './helpers.js';

const run = promisify(execFile);

/** mosquitto_sub printing `topic payload` lines; resolves its output once it exits. */
function mosquittoSub(args: string[]): {
  proc: ChildProcess;
  out: () => string;
  done: Promise<number | null>;
} {
  const proc = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  proc.stdout!.on('data', (b: Buffer) => {
    text += b.toString();
  });
  proc.stderr!.on('data', (b: Buffer) => {
    text += b.toString();
  });
  const done = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  return { proc, out: () => text, done };
}

/** Polls the node until client `id` holds a subscription (mosquitto_sub's output is buffered). */
function subscribed(node: MqttNode, id: string): Promise<unknown> {
  return checkFor(
    () =>
      [...node.srv.node.connections.values()].some(
        (c) => c.client?.name === id && c.subscriptionCount > 0,
      ),
    5000,
  );
}

describe('mosquitto clients', () => {
  let node: MqttNode;
  before(async () => {
    node = await startMqttNode();
  });
  after(() => node.close());

  for (const version of ['mqttv311', 'mqttv5'] as const) {
    test(`${version}: mosquitto_pub → mosquitto_sub (QoS 1, wildcard) and → MQTT.js`, async () => {
      const port = String(node.mqttPort);
      const id = `mosq-${version}`;
      const args = ['-h', '127.0.0.1', '-p', port, '-V', version, '-i', id, '-t', 'mq/#'];
      const sub = mosquittoSub([...args, '-q', '1', '-v', '-C', '2', '-W', '10']);
      await subscribed(node, id);
      const js = await mqttConnect(node.url, { protocolVersion: 4 });
      const got = collect(js);
      await js.subscribeAsync('mq/#', { qos: 1 });
      await run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        port,
        '-V',
        version,
        '-t',
        'mq/a/b',
        '-m',
        'hello',
        '-q',
        '1',
      ]);
      await run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        port,
        '-V',
        version,
        '-t',
        'mq',
        '-m',
        'root',
        '-q',
        '1',
      ]);
      assert.equal(await sub.done, 0, sub.out());
      assert.match(sub.out(), /mq\/a\/b hello/);
      assert.match(sub.out(), /mq root/);
      await checkFor(() => got.length === 2);
      await end(js);
    });
  }

  test('a retained message set by mosquitto_pub -r is what mosquitto_sub sees first', async () => {
    const port = String(node.mqttPort);
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'mr/state',
      '-m',
      'kept',
      '-r',
      '-q',
      '1',
    ]);
    const { stdout } = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'mr/#',
      '-v',
      '-C',
      '1',
      '-W',
      '5',
    ]);
    assert.equal(stdout.trim(), 'mr/state kept');
  });
});

describe('MQTT over TLS (mqtt.tls)', () => {
  let dir: string;
  let certs: TestCerts;
  let node: MqttNode;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-mqtt-tls-'));
    certs = await makeCerts(dir);
    const yaml = `
mqtt:
  tls:
    cert_file: ${certs.server.cert}
    key_file: ${certs.server.key}
    ca_file: ${certs.ca}
    verify_and_map: true
authorization:
  users:
    - user: alice
`;
    node = await startMqttNode(parseConfigText(yaml));
  });
  after(async () => {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('MQTT.js with a client certificate mapped to its user publishes and subscribes', async () => {
    const tls = {
      ca: await readFile(certs.ca),
      cert: await readFile(certs.client.cert),
      key: await readFile(certs.client.key),
      rejectUnauthorized: true,
    };
    const url = `mqtts://localhost:${node.mqttPort}`;
    const c = await mqttConnect(url, { protocolVersion: 5, ...tls });
    const got = collect(c);
    await c.subscribeAsync('secure/#', { qos: 1 });
    await c.publishAsync('secure/x', 'tls', { qos: 1 });
    await checkFor(() => got.length === 1);
    const connz = [...node.srv.node.connections.values()].find((x) => x.face === 'mqtt');
    assert.equal(connz?.identity?.user, 'alice');
    assert.equal(connz?.tls?.version !== undefined, true);
    await end(c);
  });

  test('mosquitto_pub/mosquitto_sub with --cafile, --cert and --key', async () => {
    const port = String(node.mqttPort);
    const auth = [
      '--cafile',
      certs.ca,
      '--cert',
      certs.client.cert,
      '--key',
      certs.client.key,
      '-h',
      'localhost',
      '-p',
      port,
    ];
    const sub = mosquittoSub([
      ...auth,
      '-i',
      'mosq-tls',
      '-t',
      'tm/#',
      '-v',
      '-C',
      '1',
      '-W',
      '10',
    ]);
    await subscribed(node, 'mosq-tls');
    await run('mosquitto_pub', [...auth, '-t', 'tm/x', '-m', 'over-tls']);
    const code = await sub.done;
    assert.equal(code, 0, `mosquitto_sub exited with ${code}: ${sub.out()}`);
    assert.match(sub.out(), /tm\/x over-tls/);
  });

  test('a plain-text client is refused (the port is TLS only), and counted', async () => {
    const before =
      node.srv.node.faces.find((f) => f.name === 'mqtt')!.tlsFailures?.get('plaintext') ?? 0;
    await assert.rejects(mqttConnect(`mqtt://127.0.0.1:${node.mqttPort}`, { protocolVersion: 4 }));
    await checkFor(
      () =>
        (node.srv.node.faces.find((f) => f.name === 'mqtt')!.tlsFailures?.get('plaintext') ?? 0) >
        before,
    );
  });
});
