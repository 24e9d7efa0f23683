/**
 * The Redis face (issue 15): the Redis port (`redis.port`, `redis.host`),
 * TLS from the first byte when `redis.tls` is set (as Redis's tls-port),
 * admission under the node's max_connections, and its connections
 * (session.ts) running the command table (commands/index.ts). A face like
 * any other (docs/faces.md); docs/redis.md describes it for operators.
 */
import type { Registry } from 'prom-client';
import type { ServerOptions } from '../../config/options.js';
import { TcpPort } from '../../connection/tcp-port.js';
import { scrapeReaders } from '../../monitor/metric-kit.js';
import type { Face, FaceHost, FaceListener } from '../face.js';
import type { RedisClient } from './client.js';
import type { Command, RedisFaceState } from './command.js';
import { COMMANDS } from './commands/index.js';
import { buildTable, type CommandTable } from './dispatch.js';
import { groupsVarz, startGroupForwarding } from './groups/forward.js';
import { type FaceCore, newCounters, type RedisCounters, type RedisHost } from './host.js';
import { PubSubIndex } from './pubsub.js';
import { RedisSession } from './session.js';

export class RedisFace implements Face, RedisHost, FaceCore {
  readonly name = 'redis';
  listeners: FaceListener[] = [];
  readonly counters: RedisCounters = newCounters();
  readonly table: CommandTable;
  readonly state: RedisFaceState;
  readonly started = Date.now();
  private readonly live = new Set<RedisSession>();
  private port: TcpPort | null = null;

  constructor(
    readonly node: FaceHost,
    /** The command table (tests add their own commands). */
    commands: readonly Command[] = COMMANDS,
  ) {
    this.table = buildTable(commands);
    this.state = { host: node, pubsub: new PubSubIndex(), core: this };
  }

  clients(): Iterable<RedisClient> {
    return this.live;
  }

  async start(): Promise<void> {
    const o = this.node.options;
    // Consumer-group commands other nodes forward for the streams this node holds.
    startGroupForwarding(this.state, this.table);
    const port = new TcpPort(this.node, {
      face: 'redis',
      label: 'Redis',
      setting: 'redis.port',
      tlsSetting: 'redis.tls',
      host: o.redisHost || o.host,
      port: o.redisPort,
      tls: o.redisTls,
      authRequired: this.node.security.required,
      open: (cid, socket, tls) => this.open(new RedisSession(cid, socket, this, tls)),
      refuse: (socket) => socket.end('-ERR max number of clients reached\r\n'),
      sharedRead: true,
      refused: () => {
        this.counters.refused++;
      },
    });
    this.port = port;
    this.listeners = [await port.start()];
  }

  private open(c: RedisSession): void {
    this.live.add(c);
    this.node.connections.opened(c);
    c.begin();
  }

  sessionAuthenticated(c: RedisSession): void {
    this.node.connections.authenticated(c);
  }

  sessionClosed(c: RedisSession): void {
    this.live.delete(c);
    this.node.connections.closed(c);
  }

  reloadCertificates(next: ServerOptions): void {
    this.port?.reload(next.redisTls);
  }

  get tlsFailures(): ReadonlyMap<string, number> {
    return this.port?.tlsFailures ?? new Map();
  }

  varz(): Record<string, unknown> {
    return {
      connections: this.live.size,
      pubsub_output_limit_bytes: this.node.options.redisPubsubOutputLimit,
      ...Object.fromEntries(Object.entries(this.counters).map(([k, v]) => [snake(k), v])),
      groups: groupsVarz(this.state),
    };
  }

  metrics(registry: Registry): void {
    const { counter, gauge } = scrapeReaders(registry);
    gauge('weft_redis_connections', 'Redis connections open now', () => this.live.size);
    for (const [k, help] of Object.entries(COUNTER_HELP)) {
      counter(`weft_redis_${snake(k)}_total`, help, () => this.counters[k as keyof RedisCounters]);
    }
    // Consumer groups (src/protocols/redis/groups/): the same as /varz's redis.groups.
    for (const k of Object.keys(groupsVarz(this.state))) {
      const read = () => groupsVarz(this.state)[k] ?? 0;
      if (k === 'groups') gauge('weft_redis_groups', 'Redis consumer groups in service', read);
      else
        counter(
          `weft_redis_groups_${k}_total`,
          `Redis consumer groups: ${k.replace(/_/g, ' ')}`,
          read,
        );
    }
  }

  async stop(): Promise<void> {
    await this.port?.stop();
  }
}

const COUNTER_HELP: Record<keyof RedisCounters, string> = {
  commands: 'Redis commands run',
  badCommands: 'Redis commands refused: unknown command or subcommand, wrong number of arguments',
  protocolErrors: 'Redis connections closed for malformed RESP',
  authFailures: 'Redis AUTH / HELLO AUTH refused',
  noauth: 'Redis commands refused before AUTH (NOAUTH)',
  messagesOut: 'Pub/sub messages delivered to Redis clients',
  publishDenied: 'Redis PUBLISH refused by permissions',
  subscribeDenied: 'Redis subscriptions refused by permissions',
  pubsubOutputLimitCloses: 'Redis pub/sub clients closed past redis.pubsub_output_limit',
  pipelineStalls: 'Times a Redis connection stopped reading at PENDING_REPLIES_MAX replies waiting',
  inputStalls:
    'Times a Redis connection stopped reading at HELD_INPUT_MAX bytes behind a blocked command',
  refused: 'Redis connections refused at max_connections',
};

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The Redis face, or null when `redis.port` is -1 (the default). */
export function redisFace(host: FaceHost): Face | null {
  return host.options.redisPort === -1 ? null : new RedisFace(host);
}
