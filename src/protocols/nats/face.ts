/**
 * The NATS face: the client port (`port`, `host`), its INFO, TLS as
 * nats-server 2.9 does it (INFO in clear, then the client's handshake), the
 * server PINGs, and a `ClientSession` per connection. It is a face like any
 * other (src/protocols/face.ts, docs/faces.md): the node gives it a
 * `FaceHost`, and it reports its connections through the registry.
 */

import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Security } from '../../auth/security.js';
import type { ServerOptions } from '../../config/options.js';
import type { Congestion } from '../../connection/congestion.js';
import type { Flusher } from '../../connection/connection.js';
import { cookieValues } from '../../connection/cookies.js';
import type { Outbound } from '../../connection/outbound.js';
import { adoptSharedRead } from '../../connection/shared-read.js';
import type { ServerStats } from '../../connection/stats.js';
import { TlsAcceptor } from '../../connection/tls-accept.js';
import type { Router } from '../../core/router.js';
import { CloseReason, WireError } from '../../errors.js';
import { isLoopback } from '../../mesh/settings.js';
import { listen } from '../../util/listen.js';
import type { Logger } from '../../util/logger.js';
import { NATS_API_VERSION, VERSION } from '../../version.js';
import type { Face, FaceHost, FaceListener } from '../face.js';
import type { CookieCredentials } from './connect.js';
import { errLine, infoLine } from './encoder.js';
import { ClientSession, type SessionHost } from './session.js';

/** How long a refused connection may take to read its -ERR before it is destroyed. */
const REFUSED_LINGER_MS = 2000;

export class NatsFace implements Face, SessionHost {
  readonly name = 'nats';
  listeners: FaceListener[] = [];
  // What every session reads, taken once from the host (the objects are
  // never replaced: a reload changes them in place).
  readonly options: ServerOptions;
  readonly congestion: Congestion;
  readonly router: Router;
  readonly flusher: Flusher;
  readonly stats: ServerStats;
  readonly log: Logger;
  readonly outbound: Outbound;
  readonly security: Security;
  /** The nonce each TLS connection's INFO carried, until its handshake ends (bounded by max_connections). */
  private readonly tlsNonces = new Map<number, string>();
  /** Refused sockets still flushing their -ERR. */
  private readonly refused = new Set<Socket>();
  private listener: NetServer | null = null;
  /** Handshakes on the client port, when `tls` is set. */
  private tlsAcceptor: TlsAcceptor | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private infoBase: Record<string, unknown> = {};

  constructor(private readonly host: FaceHost) {
    this.options = host.options;
    this.congestion = host.congestion;
    this.router = host.router;
    this.flusher = host.flusher;
    this.stats = host.stats;
    this.log = host.log;
    this.outbound = host.outbound;
    this.security = host.security;
  }

  async start(): Promise<void> {
    const o = this.options;
    const h = this.host;
    if (h.tlsFiles !== null) this.tlsAcceptor = this.newTlsAcceptor();
    // Plain TCP: paused on connect, read into the shared buffer (src/connection/shared-read.ts).
    const listener = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
      if (this.tlsAcceptor === null) adoptSharedRead(socket);
      this.accept(socket);
      socket.resume();
    });
    this.listener = listener;
    const port = await listen(listener, o.port, o.host, 'client');
    this.listeners = [{ setting: 'port', host: o.host, port, tls: o.tls !== null }];
    listener.on('error', (err) => this.log.error(`client listener: ${err.message}`));
    this.infoBase = {
      server_id: h.serverId,
      server_name: h.name,
      version: NATS_API_VERSION,
      weft_version: VERSION,
      proto: 1,
      go: `node${process.versions.node}`,
      host: o.host,
      port,
      headers: true,
      max_payload: o.maxPayload,
      ...(this.security.required ? { auth_required: true } : {}),
      // As nats-server with tls: the client starts the handshake after this INFO.
      ...(o.tls !== null
        ? { tls_required: true, ...(o.tls.verify ? { tls_verify: true } : {}) }
        : {}),
      // As nats-server with JetStream on: clients read it to offer the JetStream API.
      ...(h.jetstream !== null ? { jetstream: true } : {}),
    };
    this.log.info(`Listening for client connections on ${o.host}:${port}`);
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
    // NATS over WebSocket, as nats-server's websocket listener: the client
    // protocol unchanged in binary or text frames, at the root path (nats.ws,
    // @nats-io/nats-core's wsconnect).
    h.websocket?.route({
      face: 'nats',
      path: '/',
      subprotocols: [],
      binaryOnly: false,
      onConnection: (t, u) =>
        h.connections.opened(
          new ClientSession(
            h.connections.nextId(),
            t as Socket,
            this,
            u.tls,
            null,
            this.cookieCredentials(u.headers.cookie),
          ),
        ),
    });
    this.pingTimer = setInterval(() => this.pingAll(), o.pingIntervalMs);
    this.pingTimer.unref();
  }

  /**
   * What the upgrade request's cookies say of the credentials, by the
   * names in `websocket.jwt_cookie`, `user_cookie`, `pass_cookie`,
   * `token_cookie` (as nats-server), and `websocket.no_auth_user`; null
   * when none is configured.
   */
  private cookieCredentials(header: string | string[] | undefined): CookieCredentials | null {
    const o = this.options;
    const names = [
      o.websocketJwtCookie,
      o.websocketUserCookie,
      o.websocketPassCookie,
      o.websocketTokenCookie,
    ];
    const wanted = new Set(names.filter((n) => n !== ''));
    if (wanted.size === 0 && o.websocketNoAuthUser === '') return null;
    const v = cookieValues(header, wanted);
    const of = (name: string): string => (name === '' ? '' : (v.get(name) ?? ''));
    return {
      jwt: of(o.websocketJwtCookie),
      user: of(o.websocketUserCookie),
      pass: of(o.websocketPassCookie),
      token: of(o.websocketTokenCookie),
      noAuthUser: o.websocketNoAuthUser,
    };
  }

  private accept(socket: Socket): void {
    const h = this.host;
    if (h.shuttingDown) {
      socket.destroy();
      return;
    }
    if (!h.connections.admit('nats', socket.remoteAddress ?? '', socket.remotePort ?? 0)) {
      // As nats-server: INFO first, so clients read the error as the server's.
      // What the client already sent is read and dropped, so its FIN is seen
      // and the socket closes; stop destroys any still open.
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
    const cid = h.connections.nextId();
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
      h.connections.handshake(true);
      this.tlsAcceptor.accept(socket, cid);
      return;
    }
    h.connections.opened(new ClientSession(cid, socket, this));
  }

  private newTlsAcceptor(): TlsAcceptor {
    const h = this.host;
    return new TlsAcceptor(
      h.tlsFiles!,
      {
        secure: (p, socket, info) => {
          h.connections.handshake(false);
          const nonce = this.tlsNonces.get(p.cid) ?? '';
          this.tlsNonces.delete(p.cid);
          if (h.shuttingDown) {
            socket.destroy();
            return;
          }
          h.connections.opened(new ClientSession(p.cid, socket, this, info, nonce));
          this.log.debug(`cid:${p.cid} TLS ${info.version}, ${info.cipher}`);
        },
        failed: (p) => {
          h.connections.handshake(false);
          this.tlsNonces.delete(p.cid);
          h.connections.closedEarly({
            id: p.cid,
            face: 'nats',
            remoteAddress: p.remoteAddress,
            remotePort: p.remotePort,
            started: p.started,
            reason: CloseReason.TlsHandshake,
          });
        },
      },
      this.log,
    );
  }

  infoLine(session: ClientSession): string {
    return infoLine({
      ...this.infoBase,
      client_id: session.id,
      client_ip: session.remoteAddress,
      ...(session.nonce !== '' ? { nonce: session.nonce } : {}),
    });
  }

  sessionAuthenticated(session: ClientSession): void {
    this.host.connections.authenticated(session);
  }

  sessionClosed(session: ClientSession): void {
    this.host.connections.closed(session);
  }

  /** The node reloaded the client port's certificates (`tls`): new handshakes use them. */
  reloadCertificates(): void {
    this.tlsAcceptor?.reload();
  }

  reloaded(): void {
    if (this.security.required) this.infoBase.auth_required = true;
    else delete this.infoBase.auth_required;
  }

  get tlsFailures(): ReadonlyMap<string, number> {
    return this.tlsAcceptor?.failures ?? new Map();
  }

  private pingAll(): void {
    for (const c of this.host.connections.values()) {
      if (c instanceof ClientSession) c.ping();
    }
  }

  async stop(): Promise<void> {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.tlsAcceptor?.closeAll();
    for (const sock of this.refused) sock.destroy();
    const listener = this.listener;
    if (listener?.listening) {
      await new Promise<void>((r) => listener.close(() => r()));
    }
  }
}

/** The NATS face is always on: its port is the node's client port. */
export function natsFace(host: FaceHost): Face {
  return new NatsFace(host);
}
