/**
 * A Weft node: owns its options, accounts, router and listeners, and its
 * lifecycle (start, shutdown). Faces and the monitor plug into it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import path from 'node:path';
import { JwtAuthenticator } from '../auth/jwt-auth.js';
import { Security } from '../auth/security.js';
import type { TlsConfig } from '../auth/types.js';
import { validateOptions } from '../config/config.js';
import { type ServerOptions, withDefaults } from '../config/options.js';
import { Advisories, type DisconnectInfo } from '../connection/advisories.js';
import { Congestion } from '../connection/congestion.js';
import { Flusher } from '../connection/connection.js';
import { Outbound } from '../connection/outbound.js';
import { ServerStats } from '../connection/stats.js';
import { TlsFiles } from '../connection/tls.js';
import { TlsAcceptor } from '../connection/tls-accept.js';
import { type Account, Accounts } from '../core/account.js';
import { Imports } from '../core/imports.js';
import { Router } from '../core/router.js';
import { CloseReason, ConfigError, StartError, WireError } from '../errors.js';
import { JetStream, type JetStreamAccounts } from '../jetstream/service.js';
import { nodeAccounts } from '../mesh/accounts.js';
import { parseLinkUrl } from '../mesh/dialer.js';
import { Mesh } from '../mesh/mesh.js';
import { isLoopback, meshListenHost, meshListenPort } from '../mesh/settings.js';
import { type MonitorServer, startMonitor } from '../monitor/http.js';
import { errLine, infoLine } from '../protocols/nats/encoder.js';
import { ClientSession, type SessionHost } from '../protocols/nats/session.js';
import { listen } from '../util/listen.js';
import { createLogger, type Logger } from '../util/logger.js';
import { NATS_API_VERSION, VERSION } from '../version.js';
import { DataDirLock, errnoText, probeWritable } from './data-lock.js';
import { Health } from './health.js';
import { type ReloadReport, reloadNode } from './reload.js';

/** How long a refused connection may take to read its -ERR before it is destroyed. */
const REFUSED_LINGER_MS = 2000;

/** How often expired service-import response mappings are dropped, ms. */
const IMPORT_SWEEP_MS = 10_000;

/** Bound on closed connections remembered for /connz?state=closed. */
export const CLOSED_CONNECTIONS_MAX = 1000;

export interface ClosedConnection {
  cid: number;
  ip: string;
  port: number;
  start: Date;
  stop: Date;
  reason: string;
  name: string;
  account: string;
  authorized_user: string;
  lang: string;
  version: string;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  /** TLS connections: nats-server's /connz names. */
  tls_version?: string;
  tls_cipher_suite?: string;
}

/** A server id in the style of nats-server's (an nkey-like base32 string). */
function newServerId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(55);
  let id = 'N';
  for (const b of bytes) id += alphabet[b & 31];
  return id;
}

export class WeftNode implements SessionHost {
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
  /** What is wrong now, as the node's parts report it (`/healthz`). */
  readonly health = new Health();
  readonly log: Logger;
  /** Authentication, accounts' limits and permissions: what every face is given. */
  readonly security: Security;
  readonly started = new Date();
  readonly sessions = new Map<number, ClientSession>();
  readonly closedConnections: ClosedConnection[] = [];
  /** The nonce each TLS connection's INFO carried, until its handshake ends (bounded by max_connections). */
  private readonly tlsNonces = new Map<number, string>();
  /** Refused sockets still flushing their -ERR. */
  private readonly refused = new Set<Socket>();
  private nextCid = 1;
  private listener: NetServer | null = null;
  private monitor: MonitorServer | null = null;
  /** The client port's certificates (`tls`), reloaded by reloadTls(); null on plain TCP. */
  readonly tlsFiles: TlsFiles | null;
  /** Handshakes on the client port, when `tls` is set. */
  private tlsAcceptor: TlsAcceptor | null = null;
  /** The mesh, when this node listens for or dials links. */
  mesh: Mesh | null = null;
  /** JetStream, unless turned off by the `jetstream` option. */
  jetstream: JetStream | null = null;
  /** Operator mode's authenticator (JWT users), or null. */
  operator: JwtAuthenticator | null = null;
  /** The data directory's lock, held from start to the end of shutdown. */
  private lock: DataDirLock | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private importTimer: NodeJS.Timeout | null = null;
  /** Exports and imports between the configured accounts (core/imports.ts). */
  imports: Imports;
  /** The account that receives advisories (`$SYS` or `system_account`). */
  readonly systemAccount: Account;
  /** Connect, disconnect and auth-failure advisories into the system account. */
  readonly advisories: Advisories;
  private infoBase: Record<string, unknown> = {};
  private shuttingDown: Promise<void> | null = null;
  port = 0;
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
    this.outbound = new Outbound(this.options.maxPendingTotal, this.options.writeDeadlineMs, () =>
      this.sessions.values(),
    );
    this.systemAccount = this.accounts.getOrCreate(operator?.systemAccount ?? sec.systemAccount);
    this.imports = new Imports(this.accounts, this.router, this.jetstreamAccounts().accounts);
    this.advisories = new Advisories(this, this.systemAccount);
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
    if (this.tlsFiles !== null) this.tlsAcceptor = this.newTlsAcceptor(this.tlsFiles);
    const listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener = listener;
    this.port = await listen(listener, o.port, o.host, 'client');
    listener.on('error', (err) => this.log.error(`client listener: ${err.message}`));
    this.infoBase = {
      server_id: this.serverId,
      server_name: this.name,
      version: NATS_API_VERSION,
      weft_version: VERSION,
      proto: 1,
      go: `node${process.versions.node}`,
      host: o.host,
      port: this.port,
      headers: true,
      max_payload: o.maxPayload,
      ...(this.security.required ? { auth_required: true } : {}),
      // As nats-server with tls: the client starts the handshake after this INFO.
      ...(o.tls !== null
        ? { tls_required: true, ...(o.tls.verify ? { tls_verify: true } : {}) }
        : {}),
      // As nats-server with JetStream on: clients read it to offer the JetStream API.
      ...(this.jetstream !== null ? { jetstream: true } : {}),
    };
    this.log.info(`Starting weft ${VERSION} (node "${this.name}", id ${this.serverId})`);
    this.log.info(`Listening for client connections on ${o.host}:${this.port}`);
    if (!this.security.required && !isLoopback(o.host)) {
      this.log.warn(
        `no authentication is configured and the client port listens on ${o.host}: anyone who can reach it may connect, publish and subscribe (set authorization or accounts)`,
      );
    }
    if (o.tls !== null) {
      this.log.info(
        `TLS required for client connections${o.tls.verify ? ' (client certificates verified against tls.ca_file)' : ''}`,
      );
    }
    const meshPort = meshListenPort(o);
    if (meshPort >= 0 || o.links.length > 0) {
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
    if (o.httpsPort >= 0) {
      // nats-server serves one of the two; https_port wins over http_port.
      this.monitor = await startMonitor(this, httpHost, o.httpsPort, this.tlsFiles);
      this.httpsPort = this.monitor.port;
      this.log.info(`Listening for monitoring on https://${httpHost}:${this.httpsPort}`);
    } else if (o.httpPort >= 0) {
      this.monitor = await startMonitor(this, httpHost, o.httpPort, null);
      this.httpPort = this.monitor.port;
      this.log.info(`Listening for monitoring on http://${httpHost}:${this.httpPort}`);
    }
    if (this.monitor !== null && o.monitorToken === '' && !isLoopback(httpHost)) {
      this.log.warn(
        `monitoring on ${httpHost} answers anyone: set monitor_token to require a bearer token`,
      );
    }
    this.pingTimer = setInterval(() => this.pingAll(), o.pingIntervalMs);
    this.pingTimer.unref();
    // A blocked client is closed at most 1/8 of write_deadline (and 250 ms) after it.
    const sweepMs = Math.max(5, Math.min(250, Math.floor(o.writeDeadlineMs / 8)));
    this.deadlineTimer = setInterval(() => this.outbound.sweep(Date.now()), sweepMs);
    this.deadlineTimer.unref();
    this.log.info('Server is ready');
  }

  private accept(socket: Socket): void {
    if (this.shuttingDown !== null) {
      socket.destroy();
      return;
    }
    if (this.sessions.size + (this.tlsAcceptor?.handshaking ?? 0) >= this.options.maxConnections) {
      this.stats.refusedConnections++;
      this.stats.closed(CloseReason.MaxConnections);
      this.log.warn(
        `refused ${socket.remoteAddress}:${socket.remotePort}: max_connections ${this.options.maxConnections} reached`,
      );
      // As nats-server: INFO first, so clients read the error as the server's.
      // What the client already sent is read and dropped, so its FIN is seen
      // and the socket closes; shutdown destroys any still open.
      socket.on('error', () => {});
      socket.resume();
      this.refused.add(socket);
      socket.once('close', () => this.refused.delete(socket));
      setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      socket.end(
        infoLine({ ...this.infoBase, client_ip: socket.remoteAddress }) +
          errLine(WireError.MaxConnections),
      );
      return;
    }
    const cid = this.nextCid++;
    this.stats.totalConnections++;
    if (this.tlsAcceptor !== null) {
      // As nats-server 2.9: INFO in clear, then the client's handshake.
      const nonce = this.security.nonce();
      if (nonce !== '') this.tlsNonces.set(cid, nonce);
      socket.write(
        infoLine({
          ...this.infoBase,
          client_id: cid,
          client_ip: socket.remoteAddress,
          ...(nonce !== '' ? { nonce } : {}),
        }),
      );
      this.tlsAcceptor.accept(socket, cid);
      return;
    }
    const session = new ClientSession(cid, socket, this);
    this.sessions.set(cid, session);
    this.log.debug(`cid:${cid} ${session.remoteAddress}:${session.remotePort} - client connected`);
  }

  private newTlsAcceptor(files: TlsFiles): TlsAcceptor {
    return new TlsAcceptor(
      files,
      {
        secure: (p, socket, info) => {
          if (this.shuttingDown !== null) {
            this.tlsNonces.delete(p.cid);
            socket.destroy();
            return;
          }
          const nonce = this.tlsNonces.get(p.cid) ?? '';
          this.tlsNonces.delete(p.cid);
          const session = new ClientSession(p.cid, socket, this, info, nonce);
          this.sessions.set(p.cid, session);
          this.log.debug(
            `cid:${p.cid} ${p.remoteAddress}:${p.remotePort} - client connected (TLS ${info.version}, ${info.cipher})`,
          );
        },
        failed: (p) => {
          this.tlsNonces.delete(p.cid);
          this.stats.closed(CloseReason.TlsHandshake);
          this.rememberClosed({
            cid: p.cid,
            ip: p.remoteAddress,
            port: p.remotePort,
            start: p.started,
            stop: new Date(),
            reason: CloseReason.TlsHandshake,
            name: '',
            account: '',
            authorized_user: '',
            lang: '',
            version: '',
            in_msgs: 0,
            out_msgs: 0,
            in_bytes: 0,
            out_bytes: 0,
          });
        },
      },
      this.log,
    );
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
    this.tlsAcceptor?.reload();
    this.monitor?.reloadTls();
    this.log.info(`Reloaded TLS certificates (${this.tlsFiles.settings.certFile})`);
    return true;
  }

  /** TLS handshakes refused on the client port, by reason. */
  get tlsHandshakeFailures(): ReadonlyMap<string, number> {
    return this.tlsAcceptor?.failures ?? new Map();
  }

  /**
   * Reloads the mesh's TLS certificate files (SIGHUP): new links use the
   * new ones, links up keep theirs. Throws (a ConfigError naming mesh.tls)
   * and keeps the old ones when a file cannot be used. No-op without mesh TLS.
   */
  reloadMeshTls(): void {
    if (this.mesh !== null && this.options.meshTls !== null) this.mesh.reloadTls();
  }

  infoLine(session: ClientSession): string {
    return infoLine({
      ...this.infoBase,
      client_id: session.id,
      client_ip: session.remoteAddress,
      ...(session.nonce !== '' ? { nonce: session.nonce } : {}),
    });
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
  }

  /** Takes the settings a reload applies (see reload.ts RELOADABLE). */
  setReloadable(o: ServerOptions): void {
    const mine = this.options as { -readonly [K in keyof ServerOptions]: ServerOptions[K] };
    mine.security = o.security;
    mine.authTimeoutMs = o.authTimeoutMs;
    mine.tls = o.tls;
    mine.logLevel = o.logLevel;
    this.log.setLevel(o.logLevel);
    if (this.security.required) this.infoBase.auth_required = true;
    else delete this.infoBase.auth_required;
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

  sessionAuthenticated(session: ClientSession): void {
    const id = session.identity!;
    this.log.debug(
      `cid:${session.id} - authenticated${id.user === '' ? '' : ` as "${id.user}"`} (${id.method}) in account ${id.account.name}`,
    );
    this.advisories.clientConnected(connectionInfo(session));
  }

  sessionClosed(session: ClientSession): void {
    if (!this.sessions.delete(session.id)) return;
    if (session.identity !== null) this.advisories.clientDisconnected(connectionInfo(session));
    else if (session.credentials !== null && session.closeReason === CloseReason.AuthViolation) {
      this.advisories.authFailed(connectionInfo(session));
    }
    const c = session.connectOptions;
    this.rememberClosed({
      cid: session.id,
      ip: session.remoteAddress,
      port: session.remotePort,
      start: session.created,
      stop: new Date(),
      reason: session.closeReason ?? '',
      name: c?.name ?? '',
      account: session.identity?.account.name ?? '',
      authorized_user: session.identity?.user ?? '',
      lang: c?.lang ?? '',
      version: c?.version ?? '',
      in_msgs: session.inMsgs,
      out_msgs: session.outMsgs,
      in_bytes: session.inBytes,
      out_bytes: session.outBytes,
      ...(session.tls !== null
        ? { tls_version: session.tls.version, tls_cipher_suite: session.tls.cipher }
        : {}),
    });
    this.log.debug(`cid:${session.id} - closed: ${session.closeReason}`);
  }

  private rememberClosed(c: ClosedConnection): void {
    this.closedConnections.push(c);
    if (this.closedConnections.length > CLOSED_CONNECTIONS_MAX) this.closedConnections.shift();
  }

  private pingAll(): void {
    for (const s of this.sessions.values()) s.ping();
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
    this.shuttingDown ??= this.doShutdown();
    return this.shuttingDown;
  }

  private async doShutdown(): Promise<void> {
    this.log.info('Initiating shutdown');
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.deadlineTimer !== null) clearInterval(this.deadlineTimer);
    if (this.importTimer !== null) clearInterval(this.importTimer);
    const listenerClosed = new Promise<void>((r) => {
      if (this.listener === null) r();
      else this.listener.close(() => r());
    });
    this.tlsAcceptor?.closeAll();
    const sockets = [...this.sessions.values()].map((s) => s.socket);
    for (const s of [...this.sessions.values()]) s.close(CloseReason.ServerShutdown);
    const allClosed = Promise.all(
      sockets.map((sock) =>
        sock.closed ? Promise.resolve() : new Promise<void>((r) => sock.once('close', () => r())),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => {
      timer = setTimeout(r, this.options.shutdownGraceMs);
    });
    await Promise.race([allClosed, grace]);
    clearTimeout(timer);
    for (const sock of sockets) sock.destroy();
    for (const sock of this.refused) sock.destroy();
    // Each part is stopped even when one before it failed: a part left open
    // (a listener, a timer) would keep the process alive after a failed stop.
    const steps: [string, (() => Promise<void>) | null][] = [
      ['client listener', () => listenerClosed],
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

/** A NATS session as the advisories describe a connection. */
function connectionInfo(s: ClientSession): DisconnectInfo {
  const c = s.connectOptions;
  return {
    id: s.id,
    start: s.created,
    host: s.remoteAddress,
    account: s.identity?.account.name ?? '',
    // The authorized user, or the name presented when authentication failed; never a token.
    user: s.identity?.user ?? (s.credentials?.user || s.credentials?.nkey || ''),
    name: c?.name,
    lang: c?.lang,
    version: c?.version,
    clientType: 'nats',
    jwt: s.credentials?.jwt || undefined,
    inMsgs: s.inMsgs,
    inBytes: s.inBytes,
    outMsgs: s.outMsgs,
    outBytes: s.outBytes,
    reason: s.closeReason ?? '',
  };
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
