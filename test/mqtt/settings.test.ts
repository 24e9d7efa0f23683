/**
 * The MQTT face's settings (YAML, nats-server's `mqtt {}` block, flags,
 * checks) and what it reports: /varz weft.faces.mqtt, /connz, /metrics.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  optionsFromDocument,
  optionsFromFlags,
  parseConfigText,
  validateOptions,
} from '../../src/config/config.js';
import { natsConfTextToDocument } from '../../src/config/natsconf-map.js';
import { withDefaults } from '../../src/config/options.js';
import { ConfigError } from '../../src/errors.js';
import { checkFor } from '../helpers/poll.js';
import { end, mqttConnect, startMqttNode } from './helpers.js';

describe('MQTT settings', () => {
  test('defaults: MQTT off; YAML mqtt block; flags', () => {
    assert.equal(withDefaults().mqttPort, -1);
    const o = parseConfigText(
      'mqtt:\n  port: 1883\n  host: 127.0.0.1\n  max_packet_size: 64KB\n  max_inflight: 10\n  max_subscriptions: 5\n  max_topic_length: 100\n',
    );
    assert.deepEqual(o, {
      mqttPort: 1883,
      mqttHost: '127.0.0.1',
      mqttMaxPacketSize: 65536,
      mqttMaxInflight: 10,
      mqttMaxSubscriptions: 5,
      mqttMaxTopicLength: 100,
    });
    assert.deepEqual(optionsFromFlags({ 'mqtt-port': '0' }), { mqttPort: 0 });
  });

  test("nats-server's mqtt block: port -1 is any free port, listen, tls, max_ack_pending", () => {
    const doc = natsConfTextToDocument(
      'mqtt {\n  listen: "127.0.0.1:-1"\n  max_ack_pending: 50\n}\n',
      'x.conf',
    );
    const o = optionsFromDocument(doc, 'x.conf');
    assert.equal(o.mqttPort, 0);
    assert.equal(o.mqttHost, '127.0.0.1');
    assert.equal(o.mqttMaxInflight, 50);
    assert.throws(
      () => natsConfTextToDocument('mqtt {\n  port: 1883\n  ack_wait: "30s"\n}\n', 'x.conf'),
      (e: Error) => e instanceof ConfigError && /mqtt\.ack_wait/.test(e.message),
    );
  });

  test('checks name the setting', () => {
    assert.throws(
      () => validateOptions(withDefaults({ mqttMaxInflight: 0 })),
      (e: Error) => e instanceof ConfigError && e.message.includes('mqtt.max_inflight'),
    );
    assert.throws(
      () => validateOptions(withDefaults({ mqttPort: -2 })),
      (e: Error) => e instanceof ConfigError && e.message.includes('mqtt.port'),
    );
    assert.throws(
      () => parseConfigText('mqtt:\n  tls: {}\n'),
      (e: Error) => e instanceof ConfigError && e.message.includes('mqtt.tls'),
    );
  });
});

describe('MQTT in the monitor', () => {
  test('/varz weft.faces.mqtt, /connz type mqtt with the client id, weft_mqtt_* metrics', async () => {
    const node = await startMqttNode({ httpPort: 0 });
    try {
      const c = await mqttConnect(node.url, { protocolVersion: 5, clientId: 'watched' });
      await c.subscribeAsync('mon/#');
      const base = `http://127.0.0.1:${node.srv.httpPort}`;
      const varz = (await (await fetch(`${base}/varz`)).json()) as {
        weft: { faces: Record<string, Record<string, unknown>> };
      };
      const m = varz.weft.faces.mqtt!;
      assert.equal(m.connections, 1);
      assert.equal(m.sessions, 1);
      assert.equal(m.max_inflight, 100);
      assert.equal((m.listeners as { port: number }[])[0]!.port, node.mqttPort);
      const connz = (await (await fetch(`${base}/connz?subs=1`)).json()) as {
        connections: { type?: string; name?: string; subscriptions_list?: string[] }[];
      };
      const mine = connz.connections.find((x) => x.name === 'watched');
      assert.equal(mine?.type, 'mqtt');
      assert.deepEqual(mine?.subscriptions_list?.sort(), ['mon', 'mon.>']);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /weft_mqtt_connections\{[^}]*\} 1/);
      assert.match(metrics, /weft_mqtt_takeovers_total/);
      await end(c);
      await checkFor(async () => {
        const v = (await (await fetch(`${base}/varz`)).json()) as typeof varz;
        return v.weft.faces.mqtt!.connections === 0;
      });
    } finally {
      await node.close();
    }
  });
});
