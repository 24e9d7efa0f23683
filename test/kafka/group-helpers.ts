/**
 * Helpers for the consumer-group tests against a real node: a node with
 * the Kafka face and JetStream on random ports in a temp dir (restartable
 * on the same data), kafkajs clients that log nothing, and a kafkajs
 * consumer in a child process that a test can SIGKILL (a crash: no
 * LeaveGroup, the group learns of it by the session timeout).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { ServerOptions } from '../../src/config/options.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';

export interface KafkaNode {
  srv: WeftServer;
  port: number;
  brokers: string[];
  dataDir: string;
  /** Stops the node (its data stays until `remove`). */
  stop(): Promise<void>;
  /** Starts it again on the same data dir and port (clients reconnect). */
  restart(): Promise<void>;
  remove(): Promise<void>;
}

/** Group settings that keep tests fast: no initial delay, short sessions allowed. */
export const FAST_GROUPS = {
  kafkaGroupInitialRebalanceDelayMs: 0,
  kafkaGroupMinSessionTimeoutMs: 1000,
} as Partial<ServerOptions>;

export async function startKafkaNode(opts: Partial<ServerOptions> = {}): Promise<KafkaNode> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'weft-kafka-groups-'));
  const base = {
    dataDir,
    port: 0,
    httpPort: 0,
    host: '127.0.0.1',
    logLevel: 'error',
    jetstream: true,
    kafkaPort: 0,
    ...FAST_GROUPS,
    ...opts,
  } as Partial<ServerOptions>;
  const kafkaPortOf = (srv: WeftServer) =>
    srv.node.faces.find((f) => f.name === 'kafka')?.listeners[0]?.port ?? -1;
  let srv = await startServer(base);
  const port = kafkaPortOf(srv);
  const node: KafkaNode = {
    srv,
    port,
    brokers: [`127.0.0.1:${port}`],
    dataDir,
    stop: () => node.srv.close(),
    async restart() {
      srv = await startServer({ ...base, kafkaPort: port } as Partial<ServerOptions>);
      node.srv = srv;
    },
    async remove() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return node;
}

export function kafka(brokers: string[], clientId = 'groups-test', extra: object = {}): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 500 },
    ...extra,
  });
}

/** Creates `topic` with `partitions` through the admin API. */
export async function createTopic(k: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = k.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/** Produces `n` records `prefix-i`, round-robin over `partitions`. */
export async function produce(
  k: Kafka,
  topic: string,
  n: number,
  partitions: number,
  prefix = 'm',
): Promise<void> {
  const p = k.producer();
  await p.connect();
  try {
    const messages = Array.from({ length: n }, (_, i) => ({
      value: `${prefix}-${i}`,
      partition: i % partitions,
    }));
    await p.send({ topic, messages });
  } finally {
    await p.disconnect();
  }
}

/**
 * A kafkajs consumer in a child process: prints `ASSIGNED <json>` on each
 * group join and `MSG <partition> <offset> <value>` per record. Killing it
 * with SIGKILL is a crash.
 */
export function childConsumer(
  brokers: string[],
  group: string,
  topic: string,
  sessionTimeout: number,
): { proc: ChildProcess; out: () => string; assigned: () => number[] | null } {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-kafka-child-'));
  const script = path.join(dir, 'consumer.cjs');
  const kafkajsDir = path.dirname(require_resolve('kafkajs/package.json'));
  writeFileSync(
    script,
    `const { Kafka, logLevel } = require(${JSON.stringify(kafkajsDir)});
const k = new Kafka({ clientId: 'child', brokers: ${JSON.stringify(brokers)}, logLevel: logLevel.NOTHING });
const c = k.consumer({ groupId: ${JSON.stringify(group)}, sessionTimeout: ${sessionTimeout}, heartbeatInterval: 300, rebalanceTimeout: ${sessionTimeout} });
c.on(c.events.GROUP_JOIN, (e) => console.log('ASSIGNED ' + JSON.stringify(e.payload.memberAssignment[${JSON.stringify(topic)}] || [])));
(async () => {
  await c.connect();
  await c.subscribe({ topic: ${JSON.stringify(topic)}, fromBeginning: true });
  await c.run({ eachMessage: async ({ partition, message }) => console.log('MSG ' + partition + ' ' + message.offset + ' ' + message.value) });
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  const proc = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  proc.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return {
    proc,
    out: () => out,
    assigned: () => {
      const lines = out.split('\n').filter((l) => l.startsWith('ASSIGNED '));
      const last = lines.at(-1);
      return last === undefined ? null : (JSON.parse(last.slice(9)) as number[]);
    },
  };
}

function require_resolve(id: string): string {
  return createRequire(import.meta.url).resolve(id);
}

/** Waits for `fn` with a generous deadline (rebalances take a few session timeouts). */
export function eventually<T>(fn: () => T | Promise<T>, ms = 20_000): Promise<Exclude<T, false>> {
  return checkFor(fn, ms, 25);
}
