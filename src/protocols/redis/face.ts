/**
 * The Redis face (issue 15): the Redis port (`redis.port`, `redis.host`),
 * TLS from the first byte when `redis.tls` is set (as Redis's tls-port),
 * admission under the node's max_connections, and its connections
 * (session.ts) running the command table (commands/index.ts). A face like
 * any other (docs/faces.md); docs/redis.md describes it for operators.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Registry } from 'prom-client';
import type { ServerOptions } from '../../config/options.js';
import { TlsFiles } from '../../connection/tls.js';
import { TlsAcceptor } from '../../connection/tls-accept.js';
import { CloseReason } from '../../errors.js';
import { isLoopback } from '../../mesh/settings.js';
import { scrapeReaders } from '../../monitor/metric-kit.js';
import { listen } from '../../util/listen.js';
import type { Face, FaceHost, FaceListener } from '../face.js';
import type { RedisClient } from './client.js';
import type { Command, RedisFaceState } from './command.js';
import { COMMANDS } from './commands/index.js';
import { buildTable, type CommandTable } from './dispatch.js';
import { groupsVarz, startGroupForwarding } from './groups/forward.js';
import { type FaceCore, newCounters, type RedisCounters, type RedisHost } from './host.js';
import { PubSubIndex } from './pubsub.js';
import { RedisSession } from './session.js';

/** How long a refused connection may take to read its -ERR before it is destroyed. */
const REFUSED_LINGER_MS = 2000;

export class RedisFace implements Face, RedisHost, FaceCore {
  readonly name = 'redis';
  listeners: FaceListener[] = [];
  readonly counters: RedisCounters = newCounters();
  readonly table: CommandTable;
  readonly state: RedisFaceState;
  readonly started = Date.now();
  private readonly live = new Set<RedisSession>();
  private readonly refused = new Set<Socket>();
  private listener: NetServer | null = null;
  private tlsFiles: TlsFiles | null = null;
  private tlsAcceptor: TlsAcceptor | null = null;

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
    if (o.redisTls !== null) {
      this.tlsFiles = new TlsFiles('redis.tls', o.redisTls);
      this.tlsAcceptor = this.newTlsAcceptor(this.tlsFiles);
    }
    const host = o.redisHost || o.host;
    const listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener = listener;
    const port = await listen(listener, o.redisPort, host, 'redis');
    listener.on('error', (err) => this.node.log.error(`redis listener: ${err.message}`));
    this.listeners = [{ setting: 'redis.port', host, port, tls: o.redisTls !== null }];
    this.node.log.info(
      `Listening for Redis clients on ${host}:${port}${o.redisTls !== null ? ' (TLS only)' : ''}`,
    );
    if (!this.node.security.required && !isLoopback(host)) {
      this.node.log.warn(
        `no authentication is configured and the Redis port listens on ${host}: anyone who can reach it may connect, publish and subscribe (set authorization or accounts)`,
      );
    }
  }

  private accept(socket: Socket): void {
    const h = this.node;
    if (h.shuttingDown) {
      socket.destroy();
      return;
    }
    if (!h.connections.admit('redis', socket.remoteAddress ?? '', socket.remotePort ?? 0)) {
      this.refuse(socket);
      return;
    }
    const cid = h.connections.nextId();
    if (this.tlsAcceptor !== null) {
      h.connections.handshake(true);
      this.tlsAcceptor.accept(socket, cid);
      return;
    }
    this.open(new RedisSession(cid, socket, this));
  }

  private open(c: RedisSession): void {
    this.live.add(c);
    this.node.connections.opened(c);
    c.begin();
  }

  /** max_connections reached: Redis's own words, then the close (on TLS, just the close). */
  private refuse(socket: Socket): void {
    this.counters.refused++;
    socket.on('error', () => {});
    this.refused.add(socket);
    socket.once('close', () => this.refused.delete(socket));
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
    if (this.tlsAcceptor !== null) {
      socket.destroy();
      return;
    }
    socket.end('-ERR max number of clients reached\r\n');
  }

  private newTlsAcceptor(files: TlsFiles): TlsAcceptor {
    const h = this.node;
    return new TlsAcceptor(
      files,
      {
        secure: (p, socket, info) => {
          h.connections.handshake(false);
          if (h.shuttingDown) {
            socket.destroy();
            return;
          }
          this.open(new RedisSession(p.cid, socket, this, info));
        },
        failed: (p) => {
          h.connections.handshake(false);
          h.connections.closedEarly({
            id: p.cid,
            face: 'redis',
            remoteAddress: p.remoteAddress,
            remotePort: p.remotePort,
            started: p.started,
            reason: CloseReason.TlsHandshake,
          });
        },
      },
      h.log,
    );
  }

  sessionAuthenticated(c: RedisSession): void {
    this.node.connections.authenticated(c);
  }

  sessionClosed(c: RedisSession): void {
    this.live.delete(c);
    this.node.connections.closed(c);
  }

  reloadCertificates(next: ServerOptions): void {
    if (this.tlsFiles !== null && next.redisTls !== null) {
      this.tlsFiles.reload(next.redisTls);
      this.tlsAcceptor?.reload();
    }
  }

  get tlsFailures(): ReadonlyMap<string, number> {
    return this.tlsAcceptor?.failures ?? new Map();
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
    this.tlsAcceptor?.closeAll();
    for (const sock of this.refused) sock.destroy();
    const listener = this.listener;
    if (listener?.listening) {
      await new Promise<void>((r) => listener.close(() => r()));
    }
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
