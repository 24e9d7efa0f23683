/**
 * A Weft node: owns its options, accounts, router and listeners, and its
 * lifecycle (start, shutdown). Faces and the monitor plug into it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { JwtAuthenticator } from '../auth/jwt-auth.js';
import { Security } from '../auth/security.js';
import type { TlsConfig } from '../auth/types.js';
import { validateOptions } from '../config/config.js';
import { type ServerOptions, withDefaults } from '../config/options.js';
import { Advisories } from '../connection/advisories.js';
import { Congestion } from '../connection/congestion.js';
import { Flusher } from '../connection/connection.js';
import { Outbound } from '../connection/outbound.js';
import { ConnectionRegistry } from '../connection/registry.js';
import { ServerStats } from '../connection/stats.js';
import { TlsFiles } from '../connection/tls.js';
import { type Account, Accounts } from '../core/account.js';
import { Imports } from '../core/imports.js';
import { Router } from '../core/router.js';
import { CloseReason, ConfigError, StartError } from '../errors.js';
import { JetStream, type JetStreamAccounts } from '../jetstream/service.js';
import type { Mesh } from '../mesh/mesh.js';
import { isLoopback, meshListenHost, meshListenPort } from '../mesh/settings.js';
import type { MonitorServer } from '../monitor/http.js';
import type { Face, FaceHost } from '../protocols/face.js';
import type { WebSocketListener } from '../protocols/websocket/listener.js';
import { Health } from '../util/health.js';
import { createLogger, type Logger } from '../util/logger.js';
import { VERSION } from '../version.js';
import type { WorkerChannel } from '../workers/channel.js';
import { DataDirLock, errnoText, probeWritable } from './data-lock.js';
import { FACES } from './faces.js';
import { IdleCollector } from './idle-gc.js';
import { type ReloadReport, reloadNode } from './reload.js';

/** How often expired service-import response mappings are dropped, ms. */
const IMPORT_SWEEP_MS = 10_000;

/** A server id in the style of nats-server's (an nkey-like base32 string). */
function newServerId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(55);
  let id = 'N';
  for (const b of bytes) id += alphabet[b & 31];
  return id;
}

export class WeftNode implements FaceHost {
  readonly options: ServerOptions;
  readonly serverId = newServerId();
  readonly name: string;
  readonly accounts = new Accounts();
  readonly router = new Router();
  readonly flusher = new Flusher();
  readonly congestion = new Congestion();
  readonly stats = new ServerStats();
  /** Bytes held for all clients, bounded by max_pending_total and write_deadline. */
  readonly outbound: Outbound;
  /** Gives V8's grown young generation back when the node goes quiet (idle-gc.ts). */
  readonly idleGc = new IdleCollector();
  /** What is wrong now, as the node's parts report it (`/healthz`). */
  readonly health = new Health();
  readonly log: Logger;
  /** Authentication, accounts' limits and permissions: what every face is given. */
  readonly security: Security;
  readonly started = new Date();
  /** Every open connection of every face (and the closed ones /connz remembers). */
  readonly connections: ConnectionRegistry;
  /** The faces this node hosts (NATS first), once started. */
  readonly faces: Face[] = [];
  /**
   * The WebSocket listener faces share (`websocket.port`), null when off:
   * made at start, before the faces (they add their routes to it in their
   * own start), and started after them.
   */
  websocket: WebSocketListener | null = null;
  private monitor: MonitorServer | null = null;
  /** The client port's certificates (`tls`), reloaded by reloadTls(); null on plain TCP. */
  readonly tlsFiles: TlsFiles | null;
  /** The mesh, when this node listens for or dials links. */
  mesh: Mesh | null = null;
  /** JetStream, unless turned off by the `jetstream` option. */
  jetstream: JetStream | null = null;
  /** Operator mode's authenticator (JWT users), or null. */
  operator: JwtAuthenticator | null = null;
  /**
   * The channel to the primary when this node is a worker of `weft server
   * --workers N` (set before start; src/workers), else null.
   */
  workers: WorkerChannel | null = null;
  /** The data directory's lock, held from start to the end of shutdown. */
  private lock: DataDirLock | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private importTimer: NodeJS.Timeout | null = null;
  /** Exports and imports between the configured accounts (core/imports.ts). */
  imports: Imports;
  /** The account that receives advisories (`$SYS` or `system_account`). */
  readonly systemAccount: Account;
  /** Connect, disconnect and auth-failure advisories into the system account. */
  readonly advisories: Advisories;
  private shuttingDownPromise: Promise<void> | null = null;
  httpPort = -1;
  /** The monitoring port when served over HTTPS (`https_port`), else -1. */
  httpsPort = -1;

  constructor(options: Partial<ServerOptions> = {}) {
    this.options = withDefaults(options);
    validateOptions(this.options);
    this.name = this.options.name || this.serverId;
    this.log = createLogger(this.options.logLevel);
    const sec = this.options.security;
    const operator =
      sec.operator === null
        ? null
        : new JwtAuthenticator(sec.operator, this.accounts, sec.systemAccount);
    this.security = new Security(sec, this.accounts, this.log, operator);
    this.useOperator(operator);
    // Every configured account exists from the start (its interest, streams and imports).
    for (const a of this.options.security.accounts) this.accounts.getOrCreate(a.name);
    this.accounts.getOrCreate(operator?.systemAccount ?? sec.systemAccount);
    this.tlsFiles = this.options.tls === null ? null : new TlsFiles('tls', this.options.tls);
    this.systemAccount = this.accounts.getOrCreate(operator?.systemAccount ?? sec.systemAccount);
    this.imports = new Imports(this.accounts, this.router, this.jetstreamAccounts().accounts);
    this.advisories = new Advisories(this, this.systemAccount);
    this.connections = new ConnectionRegistry(
      () => this.options.maxConnections,
      this.stats,
      this.log,
      this.advisories,
    );
    this.outbound = new Outbound(this.options.maxPendingTotal, this.options.writeDeadlineMs, () =>
      this.connections.values(),
    );
  }

  /** True once shutdown began: faces accept nothing new. */
  get shuttingDown(): boolean {
    return this.shuttingDownPromise !== null;
  }

  /** The NATS client port (the first listener of the NATS face). */
  get port(): number {
    return this.faces.find((f) => f.name === 'nats')?.listeners[0]?.port ?? 0;
  }

  async start(): Promise<void> {
    const o = this.options;
    try {
      mkdirSync(o.dataDir, { recursive: true });
    } catch (err) {
      throw new StartError('data_dir', `cannot create ${o.dataDir}: ${errnoText(err)}`);
    }
    // Before anything is opened: a second node on this directory stops here.
    this.lock = DataDirLock.acquire(o.dataDir, this.name, this.log);
    try {
      await this.open();
    } catch (err) {
      // One way down for every failure: shutdown closes whatever was opened
      // (listeners, links, streams) and releases the lock.
      this.log.info('Start failed: releasing what was opened');
      await this.shutdown().catch((e: unknown) =>
        this.log.error(`after a failed start, shutdown failed: ${(e as Error).message}`),
      );
      throw err;
    }
  }

  /** Operator mode (null: off): JetStream starts in a JWT account when its JWT is read. */
  useOperator(operator: JwtAuthenticator | null): void {
    if (this.operator !== null && operator !== null) operator.carryCounters(this.operator);
    this.operator = operator;
    if (operator !== null) {
      this.log.info(`Operator mode: ${operator.describe()}`);
      // A JWT account read: its exporters too, then its imports and JetStream.
      operator.resolver.onRead = async (acc) => {
        await operator.loadExporters(acc);
        if (this.operator !== operator) return;
        this.replaceImports({ ...this.options.security, ...this.jetstreamAccounts() });
        await this.jetstream?.apply(this.jetstreamAccounts());
      };
    }
  }

  /** The accounts served (JetStream, imports): the configured ones, or in operator mode the JWT accounts read. */
  jetstreamAccounts(): JetStreamAccounts {
    const op = this.operator;
    if (op === null) return this.options.security;
    return { accounts: op.knownAccounts(), systemAccount: op.systemAccount };
  }

  /** Opens the streams and the listeners, in that order. */
  private async open(): Promise<void> {
    const o = this.options;
    this.imports.install();
    this.importTimer = setInterval(() => this.imports.sweep(), IMPORT_SWEEP_MS);
    this.importTimer.unref();
    if (o.jetstream) {
      // Where streams are written (JetStream's <data_dir>/streams/<account>)
      // is proved writable now, not at the first stream create.
      const dir = path.join(o.dataDir, 'streams');
      probeWritable(path.join(dir, this.accounts.default.name), 'data_dir');
      // Streams are restored before the first client can publish to them.
      this.jetstream = new JetStream(
        this,
        dir,
        o.syncIntervalMs === 0
          ? { kind: 'always' }
          : { kind: 'interval', intervalMs: o.syncIntervalMs },
        this.jetstreamAccounts(),
      );
      await this.jetstream.start();
    }
    this.log.info(`Starting weft ${VERSION} (node "${this.name}", id ${this.serverId})`);
    if (o.websocketPort >= 0) {
      // Imported only when on (websocket.port): a node without it does not load it.
      const { WebSocketListener } = await import('../protocols/websocket/listener.js');
      this.websocket = new WebSocketListener(this);
    }
    // A face's module is imported only when its settings may turn it on (faces.ts).
    for (const slot of FACES) {
      if (!slot.wanted(this)) continue;
      const face = (await slot.load())(this);
      if (face === null) continue;
      // Added before it starts, so a failed start stops what it opened.
      this.faces.push(face);
      await face.start();
    }
    // Last: the faces have registered their routes on it.
    if (this.websocket !== null) {
      this.faces.push(this.websocket);
      await this.websocket.start();
    }
    const meshPort = meshListenPort(o);
    if (meshPort >= 0 || o.links.length > 0) {
      // Imported only when the node links: a node alone does not load the mesh.
      const [{ Mesh }, { parseLinkUrl }, { nodeAccounts }] = await Promise.all([
        import('../mesh/mesh.js'),
        import('../mesh/dialer.js'),
        import('../mesh/accounts.js'),
      ]);
      const mesh = new Mesh(this, {
        name: this.name,
        id: this.serverId,
        boot: this.started.getTime(),
        host: meshListenHost(o),
        port: meshPort,
        links: o.links.map((l) => parseLinkUrl(l)),
        token: o.meshToken,
        heartbeatMs: o.meshHeartbeatMs,
        deadAfterMs: o.meshDeadAfterMs,
        reconnectMaxMs: o.meshReconnectMaxMs,
        maxPending: o.meshMaxPending,
        handshakeTimeoutMs: o.meshHandshakeTimeoutMs,
        tls: o.meshTls === null ? null : new TlsFiles('mesh.tls', o.meshTls),
        accounts: nodeAccounts(o.security),
      });
      // Set before it starts, so a failed start stops what it opened.
      this.mesh = mesh;
      await mesh.start();
      if (o.meshToken === '' && o.meshTls === null && meshPort >= 0) {
        this.log.warn('mesh links need no token (set mesh.token / --mesh-token to require one)');
      }
    }
    // Monitoring binds to the client port's host unless http_host says otherwise.
    const httpHost = o.httpHost === '' ? o.host : o.httpHost;
    // Imported only when monitoring is on (http_port or https_port).
    const startMonitor = async (port: number, tls: TlsFiles | null) =>
      (await import('../monitor/http.js')).startMonitor(this, httpHost, port, tls);
    if (o.httpsPort >= 0) {
      // nats-server serves one of the two; https_port wins over http_port.
      this.monitor = await startMonitor(o.httpsPort, this.tlsFiles);
      this.httpsPort = this.monitor.port;
      this.log.info(`Listening for monitoring on https://${httpHost}:${this.httpsPort}`);
    } else if (o.httpPort >= 0) {
      this.monitor = await startMonitor(o.httpPort, null);
      this.httpPort = this.monitor.port;
      this.log.info(`Listening for monitoring on http://${httpHost}:${this.httpPort}`);
    }
    if (this.monitor !== null && o.monitorToken === '' && !isLoopback(httpHost)) {
      this.log.warn(
        `monitoring on ${httpHost} answers anyone: set monitor_token to require a bearer token`,
      );
    }
    // A blocked client is closed at most 1/8 of write_deadline (and 250 ms) after it.
    const sweepMs = Math.max(5, Math.min(250, Math.floor(o.writeDeadlineMs / 8)));
    this.deadlineTimer = setInterval(() => this.outbound.sweep(Date.now()), sweepMs);
    this.deadlineTimer.unref();
    this.idleGc.start();
    this.log.info('Server is ready');
  }

  /**
   * Reloads the client port's certificates (SIGHUP): new handshakes use the
   * new ones, established connections keep going. A file that cannot be
   * used keeps the old certificates and is logged naming its key; false then.
   * `config`: the `tls` block as the config file now has it (new paths, a
   * new timeout); a change of `verify` needs a restart (it is logged).
   */
  reloadTls(config?: TlsConfig): boolean {
    if (this.tlsFiles === null) return true;
    const was = this.tlsFiles.settings;
    try {
      this.tlsFiles.reload(config);
    } catch (err) {
      this.log.error(
        `TLS reload failed, keeping the current certificates: ${(err as Error).message}`,
      );
      return false;
    }
    if (config !== undefined && config.verify !== was.verify) {
      this.log.warn('tls.verify changed: it takes effect at the next restart');
    }
    this.monitor?.reloadTls();
    this.log.info(`Reloaded TLS certificates (${this.tlsFiles.settings.certFile})`);
    return true;
  }

  /** TLS handshakes refused by every face, by reason. */
  get tlsHandshakeFailures(): ReadonlyMap<string, number> {
    const sum = new Map<string, number>();
    for (const f of this.faces) {
      for (const [k, n] of f.tlsFailures ?? []) sum.set(k, (sum.get(k) ?? 0) + n);
    }
    return sum;
  }

  /**
   * Reloads the mesh's TLS certificate files (SIGHUP): new links use the
   * new ones, links up keep theirs. Throws (a ConfigError naming mesh.tls)
   * and keeps the old ones when a file cannot be used. No-op without mesh TLS.
   */
  reloadMeshTls(): void {
    if (this.mesh !== null && this.options.meshTls !== null) this.mesh.reloadTls();
  }

  /** Loads the certificates `o` names, replacing the ones in use (a reload); throws, changing nothing, when one cannot be used. */
  reloadCertificates(o: ServerOptions): void {
    // The mesh's files are read again at the paths it started with (a change
    // of path needs a restart); a file that cannot be used throws here.
    this.reloadMeshTls();
    if (this.tlsFiles !== null && o.tls !== null && !this.reloadTls(o.tls)) {
      throw new ConfigError(
        'tls',
        'its certificates cannot be loaded (the log says why); nothing was reloaded',
      );
    }
    for (const f of this.faces) f.reloadCertificates?.(o);
  }

  /** Takes the settings a reload applies (see reload.ts RELOADABLE). */
  setReloadable(o: ServerOptions): void {
    const mine = this.options as { -readonly [K in keyof ServerOptions]: ServerOptions[K] };
    mine.security = o.security;
    mine.authTimeoutMs = o.authTimeoutMs;
    mine.tls = o.tls;
    mine.logLevel = o.logLevel;
    mine.webhooks = o.webhooks;
    this.log.setLevel(o.logLevel);
    for (const f of this.faces) f.reloaded?.();
  }

  /**
   * Installs the imports of `security` in place of the current ones (a
   * reload), when they changed; open service responses of replaced imports
   * are dropped.
   */
  replaceImports(security: ServerOptions['security']): void {
    const next = new Imports(this.accounts, this.router, security.accounts);
    const shape = (x: Imports) =>
      JSON.stringify([...x.streams, ...x.services].map((i) => [i.home.name, i.spec]));
    if (shape(next) === shape(this.imports)) return;
    this.imports.uninstall();
    this.imports = next;
    next.install();
    this.log.info(
      `reload: imports replaced (${next.streams.length + next.services.length} in all)`,
    );
  }

  /** Applies a new configuration (SIGHUP): see reload.ts. */
  reload(next: Partial<ServerOptions>): Promise<ReloadReport> {
    return reloadNode(this, next);
  }

  get subscriptionCount(): number {
    let n = 0;
    for (const acc of this.accounts.all()) n += acc.sublist.count;
    return n;
  }

  /**
   * Stops accepting, closes every connection after flushing what is queued
   * (waiting at most shutdownGraceMs), then stops the monitor.
   */
  shutdown(): Promise<void> {
    this.shuttingDownPromise ??= this.doShutdown();
    return this.shuttingDownPromise;
  }

  private async doShutdown(): Promise<void> {
    this.log.info('Initiating shutdown');
    if (this.deadlineTimer !== null) clearInterval(this.deadlineTimer);
    if (this.importTimer !== null) clearInterval(this.importTimer);
    this.idleGc.stop();
    // Stop accepting first; a listener's close completes once its
    // connections are gone, so it is awaited after they are closed.
    const facesStopped = this.faces.map((f) => ({ f, stopped: f.stop() }));
    const conns = [...this.connections.values()];
    for (const c of conns) c.close(CloseReason.ServerShutdown);
    const allClosed = Promise.all(conns.map((c) => c.whenClosed()));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => {
      timer = setTimeout(r, this.options.shutdownGraceMs);
    });
    await Promise.race([allClosed, grace]);
    clearTimeout(timer);
    for (const c of conns) c.destroy();
    // Each part is stopped even when one before it failed: a part left open
    // (a listener, a timer) would keep the process alive after a failed stop.
    const steps: [string, (() => Promise<void>) | null][] = [
      ...facesStopped.map(({ f, stopped }): [string, () => Promise<void>] => [
        `the ${f.name} face`,
        () => stopped,
      ]),
      ['JetStream', this.jetstream && (() => this.jetstream!.stop())],
      ['mesh', this.mesh && (() => this.mesh!.stop())],
      ['monitoring', this.monitor && (() => this.monitor!.close())],
    ];
    let failed: unknown = null;
    for (const [what, stop] of steps) {
      try {
        await stop?.();
      } catch (err) {
        this.log.error(`shutdown: stopping ${what} failed: ${(err as Error).message ?? err}`);
        failed ??= err;
      }
    }
    // Last: the directory is free only once its streams are closed.
    this.lock?.release();
    if (failed !== null) throw failed;
    this.log.info('Server shutdown complete');
  }
}

/** What `startServer` resolves to: the bound ports and a way to stop. */
export interface WeftServer {
  readonly host: string;
  readonly port: number;
  /** The monitoring port, or -1 when monitoring is off or over HTTPS. */
  readonly httpPort: number;
  /** The HTTPS monitoring port (`https_port`), or -1. */
  readonly httpsPort: number;
  /** The mesh port, or -1 when this node listens for no links. */
  readonly meshPort: number;
  readonly serverId: string;
  readonly name: string;
  readonly node: WeftNode;
  close(): Promise<void>;
}

/** Starts a node; `port: 0` and `httpPort: 0` pick free ports. */
export async function startServer(options: Partial<ServerOptions> = {}): Promise<WeftServer> {
  const node = new WeftNode(options);
  await node.start();
  return {
    host: node.options.host,
    port: node.port,
    httpPort: node.httpPort,
    httpsPort: node.httpsPort,
    meshPort: node.mesh?.port ?? -1,
    serverId: node.serverId,
    name: node.name,
    node,
    close: () => node.shutdown(),
  };
}
