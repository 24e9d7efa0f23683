/**
 * MQTT test helpers: a node with the MQTT face on a random port, MQTT.js
 * clients that resolve once connected, and a collector of received messages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ServerOptions } from '../../src/config/options.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { within } from '../helpers/poll.js';

export interface MqttNode {
  readonly srv: WeftServer;
  readonly mqttPort: number;
  readonly url: string;
  close(): Promise<void>;
}

/** A node on random ports with MQTT on (JetStream off unless asked). */
export async function startMqttNode(opts: Partial<ServerOptions> = {}): Promise<MqttNode> {
  const dir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'weft-mqtt-'));
  const srv = await startServer({
    dataDir: dir,
    port: 0,
    httpPort: -1,
    host: '127.0.0.1',
    logLevel: 'error',
    jetstream: false,
    mqttPort: 0,
    ...opts,
  });
  const face = srv.node.faces.find((f) => f.name === 'mqtt');
  const mqttPort = face?.listeners[0]?.port ?? -1;
  return {
    srv,
    mqttPort,
    url: `mqtt://127.0.0.1:${mqttPort}`,
    close: async () => {
      await srv.close();
      if (opts.dataDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
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
