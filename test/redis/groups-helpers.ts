/** Helpers of the consumer-group tests: a node with the Redis face, and redis-server beside it. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import type { ServerOptions } from '../../src/config/options.js';
import { encodeEntry, redisSubject, type StreamId } from '../../src/protocols/redis/stream-map.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';

export const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;
if (!HAVE_REDIS && process.env.CI) throw new Error('redis-server is missing (.ci/run installs it)');

/** A node with the Redis face on a free port and JetStream in a temp dir. */
export interface RedisNode {
  srv: WeftServer;
  port: number;
  readonly dir: string;
  /** Stops the node and starts it again on the same data (a new port). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startRedisNode(extra: Partial<ServerOptions> = {}): Promise<RedisNode> {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-redis-groups-'));
  const start = () =>
    startServer({
      port: 0,
      httpPort: -1,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      jetstream: true,
      redisPort: 0,
      ...extra,
    });
  const portOf = (s: WeftServer) =>
    s.node.faces.find((f) => f.name === 'redis')!.listeners[0]!.port;
  const node: RedisNode = {
    srv: await start(),
    port: 0,
    dir,
    async restart() {
      await node.srv.close();
      node.srv = await start();
      node.port = portOf(node.srv);
    },
    async close() {
      await node.srv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  node.port = portOf(node.srv);
  return node;
}

/**
 * The enclosing describe's node and an ioredis client on it: started before
 * its tests, closed after them. A test that restarts the node sets `r` anew.
 */
export function nodeAndClient(): { node: RedisNode; r: Redis } {
  const s = {} as { node: RedisNode; r: Redis };
  before(async () => {
    s.node = await startRedisNode();
    s.r = new Redis({ port: s.node.port, host: '127.0.0.1' });
  });
  after(async () => {
    s.r.disconnect();
    await s.node.close();
  });
  return s;
}

/**
 * Adds an entry with an explicit ID to the stream of `key` (made when
 * missing) by publishing what XADD stores to the stream's subject.
 */
export async function addEntry(
  node: RedisNode,
  key: string,
  id: [number, number],
  fields: string[],
): Promise<void> {
  const js = node.srv.node.jetstream!.account('$G')!;
  let cs = js.streams.get(key);
  if (cs === undefined) {
    const { normalizeConfig } = await import('../../src/streams/stream-config.js');
    cs = await js.create(
      normalizeConfig({ name: key, subjects: [redisSubject(key)], storage: 'file' }, key),
    );
  }
  const sid: StreamId = { ms: BigInt(id[0]), seq: BigInt(id[1]) };
  const { headers, payload } = encodeEntry(
    sid,
    fields.map((f) => Buffer.from(f)),
  );
  const before = cs.stream.state().lastSeq;
  node.srv.node.router.publish(
    node.srv.node.accounts.get('$G')!,
    { subject: redisSubject(key), reply: '', headers, payload },
    null,
  );
  await checkFor(() => cs!.stream.state().lastSeq > before, 5000);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** redis-server on a free port, without persistence. */
export async function startRedisServer(): Promise<{ port: number; stop(): void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const { Redis } = await import('ioredis');
  const probe = new Redis({
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
  });
  probe.on('error', () => {});
  await checkFor(async () => {
    try {
      if (probe.status !== 'ready') await probe.connect().catch(() => {});
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    }
  }, 10_000);
  probe.disconnect();
  return { port, stop: () => child.kill() };
}
