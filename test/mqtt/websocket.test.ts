/**
 * MQTT over WebSocket (MQTT 5 §6, 3.1.1 §6): MQTT.js over ws:// and wss://
 * at /mqtt on the node's WebSocket listener, protocol versions 4 and 5:
 * connect, subscribe, publish QoS 0 and 1, to and from NATS, and with a TCP
 * MQTT client; the subprotocol "mqtt" selected [MQTT-6.0.0-4], a client
 * that does not offer it refused [MQTT-6.0.0-3], a text frame closes the
 * connection [MQTT-6.0.0-1], packets split over frames and several in one
 * frame are read [MQTT-6.0.0-2].
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { connect as natsConnect, StringCodec } from 'nats';
import { WebSocket } from 'ws';
import { parseConfigText } from '../../src/config/config.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { checkFor, within } from '../helpers/poll.js';
import { collect, end, type MqttNode, mqttConnect, startMqttNode } from './helpers.js';

const sc = StringCodec();

function wsPort(node: MqttNode): number {
  return node.srv.node.websocket!.listeners[0]!.port;
}

for (const protocolVersion of [4, 5] as const) {
  describe(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'} over ws://`, () => {
    let node: MqttNode;
    let url = '';
    before(async () => {
      node = await startMqttNode({ websocketPort: 0 });
      url = `ws://127.0.0.1:${wsPort(node)}/mqtt`;
    });
    after(() => node.close());

    test('connect, subscribe, publish QoS 0 and 1 between WebSocket and TCP clients', async () => {
      const wsSub = await mqttConnect(url, { protocolVersion });
      const tcpSub = await mqttConnect(node.url, { protocolVersion });
      const wsGot = collect(wsSub);
      const tcpGot = collect(tcpSub);
      await wsSub.subscribeAsync('ws/+', { qos: 1 });
      await tcpSub.subscribeAsync('ws/+', { qos: 1 });
      const wsPub = await mqttConnect(url, { protocolVersion });
      await wsPub.publishAsync('ws/0', 'zero', { qos: 0 });
      await wsPub.publishAsync('ws/1', 'one', { qos: 1 });
      await checkFor(() => wsGot.length === 2 && tcpGot.length === 2);
      for (const got of [wsGot, tcpGot]) {
        assert.deepEqual(
          got.map((m) => [m.topic, m.payload, m.qos]),
          [
            ['ws/0', 'zero', 0],
            ['ws/1', 'one', 1],
          ],
        );
      }
      const conns = [...node.srv.node.connections.values()].filter((c) => c.face === 'mqtt');
      assert.equal(conns.length, 3, 'WebSocket connections are MQTT connections in the registry');
      await end(wsSub, tcpSub, wsPub);
    });

    test('cross-face: an MQTT publish over WebSocket reaches a NATS subscriber, and back', async () => {
      const nc = await natsConnect({ port: node.srv.port });
      try {
        const sub = nc.subscribe('cross.>');
        const natsGot: string[] = [];
        (async () => {
          for await (const m of sub) natsGot.push(`${m.subject}=${sc.decode(m.data)}`);
        })();
        await nc.flush();
        const c = await mqttConnect(url, { protocolVersion });
        const got = collect(c);
        await c.subscribeAsync('back/#', { qos: 1 });
        await c.publishAsync('cross/a', 'from-ws', { qos: 1 });
        await checkFor(() => natsGot.length === 1);
        assert.deepEqual(natsGot, ['cross.a=from-ws']);
        nc.publish('back.b', sc.encode('from-nats'));
        await checkFor(() => got.length === 1);
        assert.deepEqual([got[0]!.topic, got[0]!.payload], ['back/b', 'from-nats']);
        await end(c);
      } finally {
        await nc.close();
      }
    });
  });
}

describe('MQTT over WebSocket: the transport rules of MQTT §6', () => {
  let node: MqttNode;
  let url = '';
  before(async () => {
    node = await startMqttNode({ websocketPort: 0 });
    url = `ws://127.0.0.1:${wsPort(node)}/mqtt`;
  });
  after(() => node.close());

  /** A raw WebSocket at /mqtt; resolves once open, or rejects with the refusing status. */
  function rawWs(protocols: string[]): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  const connectPacket = (clientId: string) =>
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId,
      keepalive: 30,
    });

  test('the subprotocol "mqtt" is selected [MQTT-6.0.0-4]; none offered is refused [MQTT-6.0.0-3]', async () => {
    const ws = await rawWs(['mqttv3.1', 'mqtt']);
    assert.equal(ws.protocol, 'mqtt');
    ws.close();
    await assert.rejects(rawWs([]), /HTTP 400/);
    await assert.rejects(rawWs(['mqttv3.1']), /HTTP 400/);
  });

  test('a packet split over frames, and packets sharing a frame, are read [MQTT-6.0.0-2]', async () => {
    const ws = await rawWs(['mqtt']);
    const frames: Buffer[] = [];
    ws.on('message', (d, binary) => {
      assert.equal(binary, true, 'the server sends binary frames [MQTT-6.0.0-1]');
      frames.push(d as Buffer);
    });
    const connect = connectPacket('split');
    ws.send(connect.subarray(0, 3));
    ws.send(connect.subarray(3));
    await checkFor(() => Buffer.concat(frames).length >= 4);
    assert.equal(Buffer.concat(frames)[0], 0x20, 'CONNACK');
    // SUBSCRIBE and PINGREQ in one frame: SUBACK and PINGRESP.
    const subscribe = mqttPacket.generate({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 't', qos: 0 }],
    });
    const ping = mqttPacket.generate({ cmd: 'pingreq' });
    ws.send(Buffer.concat([subscribe, ping]));
    await checkFor(() => Buffer.concat(frames).includes(Buffer.from([0xd0, 0x00])));
    assert.ok(Buffer.concat(frames).includes(Buffer.from([0x90, 0x03, 0x00, 0x01, 0x00])));
    ws.close();
  });

  test('a text frame closes the connection [MQTT-6.0.0-1]', async () => {
    const ws = await rawWs(['mqtt']);
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.send(connectPacket('text').toString('latin1'));
    assert.equal(await within(closed, 3000, 'close'), 1003);
    const v = node.srv.node.websocket!.varz() as { frame_errors: Record<string, number> };
    assert.equal(v.frame_errors.text_frame, 1);
  });
});

describe('MQTT over wss://', () => {
  let certs: TestCerts;
  let node: MqttNode;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-mqtt-wss-'));
    certs = await makeCerts(dir);
    node = await startMqttNode({
      websocketPort: 0,
      websocketTls: {
        certFile: certs.server.cert,
        keyFile: certs.server.key,
        caFile: '',
        verify: false,
        verifyAndMap: false,
        timeoutMs: 2000,
      },
    });
  });
  after(async () => {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const protocolVersion of [4, 5] as const) {
    test(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}: subscribe and publish QoS 1 over TLS`, async () => {
      const url = `wss://localhost:${wsPort(node)}/mqtt`;
      const ca = readFileSync(certs.ca);
      const sub = await mqttConnect(url, { protocolVersion, ca });
      const got = collect(sub);
      await sub.subscribeAsync('secure/#', { qos: 1 });
      const pub = await mqttConnect(url, { protocolVersion, ca });
      await pub.publishAsync('secure/x', 'tls', { qos: 1 });
      await checkFor(() => got.length === 1);
      assert.deepEqual([got[0]!.topic, got[0]!.payload, got[0]!.qos], ['secure/x', 'tls', 1]);
      const tls = [...node.srv.node.connections.values()].map((c) => c.tls?.version);
      assert.ok(
        tls.every((v) => v === '1.3' || v === '1.2'),
        `TLS on every connection: ${tls}`,
      );
      await end(sub, pub);
    });
  }
});

describe('MQTT over wss:// with a client certificate mapped to its user (websocket.tls verify_and_map)', () => {
  let certs: TestCerts;
  let node: MqttNode;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-mqtt-wss-map-'));
    certs = await makeCerts(dir);
    node = await startMqttNode(
      parseConfigText(`
websocket:
  port: 0
  tls:
    cert_file: ${certs.server.cert}
    key_file: ${certs.server.key}
    ca_file: ${certs.ca}
    verify_and_map: true
authorization:
  users:
    - user: alice
`),
    );
  });
  after(async () => {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the certificate logs the client in as its user; no certificate is refused', async () => {
    const url = `wss://localhost:${wsPort(node)}/mqtt`;
    const ca = readFileSync(certs.ca);
    const c = await mqttConnect(url, {
      protocolVersion: 5,
      ca,
      cert: readFileSync(certs.client.cert),
      key: readFileSync(certs.client.key),
    });
    const got = collect(c);
    await c.subscribeAsync('mapped/#', { qos: 1 });
    await c.publishAsync('mapped/x', 'hi', { qos: 1 });
    await checkFor(() => got.length === 1);
    const conn = [...node.srv.node.connections.values()].find((x) => x.face === 'mqtt');
    assert.equal(conn?.identity?.user, 'alice');
    await end(c);
    // Without a certificate the TLS handshake (verify) refuses it before MQTT starts.
    await assert.rejects(mqttConnect(url, { protocolVersion: 5, ca, reconnectPeriod: 0 }));
  });
});
