/**
 * Kafka test helpers: a node with the Kafka face (and JetStream) on random
 * ports in a temp dir, and kafkajs clients with their logs quiet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import type { NatsConnection } from 'nats';
import type { ServerOptions } from '../../src/config/options.js';
import { encodeBatch } from '../../src/protocols/kafka/records.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { clientPool } from '../helpers/clients.js';

export interface KafkaNode {
  readonly srv: WeftServer;
  readonly kafkaPort: number;
  readonly broker: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** A node on random ports with the Kafka face and JetStream on. */
export async function startKafkaNode(opts: Partial<ServerOptions> = {}): Promise<KafkaNode> {
  const dir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'weft-kafka-'));
  const srv = await startServer({
    dataDir: dir,
    port: 0,
    httpPort: -1,
    host: '127.0.0.1',
    logLevel: 'error',
    jetstream: true,
    kafkaPort: 0,
    ...opts,
  });
  const face = srv.node.faces.find((f) => f.name === 'kafka');
  const kafkaPort = face?.listeners[0]?.port ?? -1;
  return {
    srv,
    kafkaPort,
    broker: `127.0.0.1:${kafkaPort}`,
    dataDir: dir,
    close: async () => {
      await srv.close();
      if (opts.dataDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A kafkajs client of `broker`, logging nothing, retrying little. */
export function kafkajs(broker: string, cfg: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'weft-test',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 50 },
    ...cfg,
  });
}

/** A Kafka node and a NATS client of it, shared by a suite. */
export interface KafkaAndNats {
  n: KafkaNode;
  nc: NatsConnection;
}

/**
 * Starts a Kafka node and connects a NATS client to it before the enclosing
 * suite, and closes both after it (call inside `describe`). The fields are
 * set once the suite's `before` hooks have run.
 */
export function kafkaAndNats(opts: Partial<ServerOptions> = {}): KafkaAndNats {
  const live = {} as KafkaAndNats;
  let pool: ReturnType<typeof clientPool> | undefined;
  before(async () => {
    live.n = await startKafkaNode(opts);
    pool = clientPool(`nats://127.0.0.1:${live.n.srv.port}`);
    live.nc = await pool.connect();
  });
  after(async () => {
    await pool?.closeAll();
    await live.n?.close();
  });
  return live;
}

/** A Produce request (acks=all) of `values` to one partition of topic `name`. */
export function produceRequest(name: string, values: string[], partition = 0) {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      {
        name,
        partitionData: [
          {
            index: partition,
            records: encodeBatch({
              baseTimestamp: Date.now(),
              records: values.map((v) => ({ value: Buffer.from(v) })),
            }),
          },
        ],
      },
    ],
  };
}
