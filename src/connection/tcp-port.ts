/**
 * A face's own TCP port (`mqtt.port`, `redis.port`, `kafka.port`): it
 * listens, admits each connection under the node's max_connections through
 * the registry, runs the TLS handshake first when the port is TLS-only
 * (`<face>.tls`), and hands each admitted socket to the face, which builds
 * its session. A connection past max_connections gets the face's refusal
 * in its own protocol's words (on a plain port; a TLS port just closes it)
 * and is destroyed after REFUSED_LINGER_MS at the latest.
 *
 * The NATS port keeps its own listener: nats-server's TLS starts after the
 * INFO line, not with the first byte.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { TlsConfig } from '../auth/types.js';
import { CloseReason } from '../errors.js';
import { isLoopback } from '../mesh/settings.js';
import { listen } from '../util/listen.js';
import type { Logger } from '../util/logger.js';
import type { ConnectionRegistry } from './registry.js';
import { adoptSharedRead } from './shared-read.js';
import { TlsFiles } from './tls.js';
import { TlsAcceptor, type TlsSessionInfo } from './tls-accept.js';

/** How long a refused connection may take to read its refusal before it is destroyed. */
export const REFUSED_LINGER_MS = 2000;

/** What the port needs of the node. */
export interface TcpPortNode {
  readonly connections: ConnectionRegistry;
  readonly shuttingDown: boolean;
  readonly log: Logger;
}

export interface TcpPortSpec {
  /** The face (`redis`): the registry's and the log's name for it. */
  readonly face: string;
  /** How the log names its clients (`Redis`). */
  readonly label: string;
  /** The settings: `redis.port`, `redis.tls`. */
  readonly setting: string;
  readonly tlsSetting: string;
  readonly host: string;
  readonly port: number;
  readonly tls: TlsConfig | null;
  /** Whether the node requires a login (else a port off loopback is warned about). */
  readonly authRequired: boolean;
  /**
   * An admitted connection, its TLS handshake done on a TLS port (`tls` is
   * then its session): the face builds its session and registers it.
   */
  open(cid: number, socket: Socket, tls: TlsSessionInfo | null): void;
  /**
   * Past max_connections on a plain port: answer in the protocol's words
   * and end the socket. Absent: the socket is closed without a word.
   */
  refuse?(socket: Socket): void;
  /** Every connection refused at max_connections, plain or TLS (the face's counter). */
  refused?(): void;
  /**
   * A plain port's sockets read into the shared read buffer
   * (shared-read.ts): the session takes its reads with `onReads`, and
   * copies whatever it keeps past a read.
   */
  readonly sharedRead?: boolean;
}

export class TcpPort {
  private server: Server | null = null;
  private files: TlsFiles | null = null;
  private acceptor: TlsAcceptor | null = null;
  private readonly refused = new Set<Socket>();

  constructor(
    private readonly node: TcpPortNode,
    private readonly spec: TcpPortSpec,
  ) {}

  /** Binds the port (a StartError naming the setting when it cannot) and returns it as bound. */
  async start(): Promise<{ setting: string; host: string; port: number; tls: boolean }> {
    const s = this.spec;
    if (s.tls !== null) {
      this.files = new TlsFiles(s.tlsSetting, s.tls);
      this.acceptor = this.newAcceptor(this.files);
    }
    // Shared reads: paused on connect, adopted once admitted, then resumed.
    const shared = s.sharedRead === true && s.tls === null;
    const server = createServer({ noDelay: true, pauseOnConnect: shared }, (socket) => {
      if (this.accept(socket)) {
        if (shared) adoptSharedRead(socket);
        this.open(socket);
      }
      if (shared) socket.resume();
    });
    this.server = server;
    const port = await listen(server, s.port, s.host, s.face);
    server.on('error', (err) => this.node.log.error(`${s.face} listener: ${err.message}`));
    this.node.log.info(
      `Listening for ${s.label} clients on ${s.host}:${port}${s.tls !== null ? ' (TLS only)' : ''}`,
    );
    if (!s.authRequired && !isLoopback(s.host)) {
      this.node.log.warn(
        `no authentication is configured and the ${s.label} port listens on ${s.host}: anyone who can reach it may connect, publish and subscribe (set authorization or accounts)`,
      );
    }
    return { setting: s.setting, host: s.host, port, tls: s.tls !== null };
  }

  /** A reload's certificates (throws a ConfigError naming the setting, with nothing changed). */
  reload(tls: TlsConfig | null): void {
    if (this.files !== null && tls !== null) {
      this.files.reload(tls);
      this.acceptor?.reload();
    }
  }

  /** TLS handshakes refused, by reason. */
  get tlsFailures(): ReadonlyMap<string, number> {
    return this.acceptor?.failures ?? new Map();
  }

  /** Stops accepting; handshakes in progress and refused sockets are closed. */
  async stop(): Promise<void> {
    this.acceptor?.closeAll();
    for (const sock of this.refused) sock.destroy();
    const server = this.server;
    if (server?.listening) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Admits `socket` (true: `open` it next), or destroys or refuses it. */
  private accept(socket: Socket): boolean {
    const n = this.node;
    if (n.shuttingDown) {
      socket.destroy();
      return false;
    }
    if (!n.connections.admit(this.spec.face, socket.remoteAddress ?? '', socket.remotePort ?? 0)) {
      this.refuse(socket);
      return false;
    }
    return true;
  }

  /** An admitted socket: its TLS handshake first on a TLS port, else the face's session. */
  private open(socket: Socket): void {
    const n = this.node;
    const cid = n.connections.nextId();
    if (this.acceptor !== null) {
      n.connections.handshake(true);
      this.acceptor.accept(socket, cid);
      return;
    }
    this.spec.open(cid, socket, null);
  }

  private refuse(socket: Socket): void {
    this.spec.refused?.();
    socket.on('error', () => {});
    const refuse = this.spec.refuse;
    if (this.acceptor !== null || refuse === undefined) {
      socket.destroy();
      return;
    }
    this.refused.add(socket);
    socket.once('close', () => this.refused.delete(socket));
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
    refuse(socket);
  }

  private newAcceptor(files: TlsFiles): TlsAcceptor {
    const n = this.node;
    return new TlsAcceptor(
      files,
      {
        secure: (p, socket, info) => {
          n.connections.handshake(false);
          if (n.shuttingDown) {
            socket.destroy();
            return;
          }
          this.spec.open(p.cid, socket, info);
        },
        failed: (p) => {
          n.connections.handshake(false);
          n.connections.closedEarly({
            id: p.cid,
            face: this.spec.face,
            remoteAddress: p.remoteAddress,
            remotePort: p.remotePort,
            started: p.started,
            reason: CloseReason.TlsHandshake,
          });
        },
      },
      n.log,
    );
  }
}
