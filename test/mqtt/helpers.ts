/**
 * MQTT test helpers: a node with the MQTT face on a random port, MQTT.js
 * clients that resolve once connected, and a collector of received messages.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ServerOptions } from '../../src/config/options.js';
import type { WeftServer } from '../../src/server/server.js';
import { startFaceNode } from '../helpers/face-node.js';
import { within } from '../helpers/poll.js';

export interface MqttNode {
  readonly srv: WeftServer;
  readonly mqttPort: number;
  readonly url: string;
  close(): Promise<void>;
}

/** A node on random ports with MQTT on (JetStream off unless asked). */
export async function startMqttNode(opts: Partial<ServerOptions> = {}): Promise<MqttNode> {
  const n = await startFaceNode('mqtt', { jetstream: false, mqttPort: 0 }, opts);
  return { srv: n.srv, mqttPort: n.port, url: `mqtt://127.0.0.1:${n.port}`, close: n.close };
}

/** An MQTT.js client, connected (rejects on the first error or a refused CONNACK). */
export async function mqttConnect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
        c.once('close', () => reject(new Error('closed before CONNACK')));
      }),
      4000,
      'MQTT CONNACK',
    );
  } catch (err) {
    c.end(true);
    throw err;
  }
  return c;
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  properties: Record<string, unknown> | undefined;
}

/** Collects what a client receives. */
export function collect(c: MqttClient): Received[] {
  const out: Received[] = [];
  c.on('message', (topic, payload, packet) => {
    out.push({
      topic,
      payload: payload.toString(),
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
      properties: packet.properties as Record<string, unknown> | undefined,
    });
  });
  return out;
}

export function end(...clients: MqttClient[]): Promise<void> {
  return Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.connected) c.end(false, {}, () => r());
          else {
            c.end(true);
            r();
          }
        }),
    ),
  ).then(() => undefined);
}
