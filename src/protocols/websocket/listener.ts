/**
 * The node's WebSocket listener (`websocket.port`), shared by faces: an
 * HTTP server (HTTPS with `websocket.tls`: then wss only) whose upgrade
 * requests are routed by path and subprotocol to the faces that registered
 * them (`FaceHost.websocket.route(…)`; MQTT at `/mqtt`). A face gets each
 * upgraded connection as a `Transport` and builds its session on it as on
 * a TCP socket (docs/faces.md, "WebSocket").
 *
 * It is hosted as a face named `websocket`, so the node lists, reloads and
 * stops it as it does every face, and /varz, /metrics show its listener and
 * counters; the connections it upgrades belong to the faces that serve
 * them (`/connz` type `mqtt`, …).
 *
 * Before its upgrade a connection holds a place under `max_connections`
 * (as a TLS handshake does on the client port) for at most
 * `websocket.handshake_timeout`. Refusals, each counted by reason
 * (weft_websocket_refused_total{reason}), with an HTTP answer and a close:
 * no route at the path 404; a browser Origin not in
 * `websocket.allowed_origins` 403; no subprotocol the route speaks 400;
 * `max_connections` reached or shutting down 503; not an upgrade 426;
 * an invalid handshake 400. After it, a message larger than
 * `websocket.max_message` closes the connection with 1009 (counted as
 * weft_websocket_frame_errors_total{reason="too_big"}).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import type * as Ws from 'ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { TlsFiles } from '../../connection/tls.js';
import type { TlsRefusal, TlsSessionInfo } from '../../connection/tls-accept.js';
import { webServer } from '../../connection/web-server.js';
import { originAllowed } from '../../connection/websocket-origin.js';
import { WebSocketTransport, WS_CLOSE } from '../../connection/websocket-transport.js';
import { isLoopback } from '../../mesh/settings.js';
import { byKey, scrapeReaders } from '../../monitor/metric-kit.js';
import { lazyModule } from '../../util/lazy-module.js';
import { listen } from '../../util/listen.js';
import type {
  Face,
  FaceHost,
  FaceListener,
  PlainRequestHandler,
  WebSocketRoute,
  WebSocketRoutes,
} from '../face.js';
import {
  offeredProtocols,
  pathOf,
  RouteTable,
  refusalResponse,
  WEBSOCKET_REFUSALS,
  type WebSocketRefusal,
} from './routes.js';

/** Room above max_payload for a protocol's framing, when `websocket.max_message` is not set. */
export const MAX_MESSAGE_HEADROOM = 64 * 1024;
/** Messages smaller than this are not compressed (with `websocket.compression`). */
export const COMPRESSION_THRESHOLD = 1024;
/**
 * How long a closing handshake may take before the TCP connection is
 * dropped (ws's default is 30 s): a peer that sent or got a close frame and
 * lingers holds its session no longer than this.
 */
export const CLOSE_TIMEOUT_MS = 5000;

/** A connection between its accept and its upgrade. */
interface Pending {
  readonly raw: Socket;
  /** It holds a place under max_connections (false: refused, it gets 503). */
  readonly admitted: boolean;
  timer: NodeJS.Timeout | null;
}

/** Why a frame closed a connection: the `reason` label of weft_websocket_frame_errors_total. */
type FrameError = 'too_big' | 'text_frame' | 'protocol';

/** ws, loaded when a WebSocket listener is made (src/util/lazy-module.ts). */
const wsLib = lazyModule<typeof Ws>('ws');

export class WebSocketListener implements Face, WebSocketRoutes {
  readonly name = 'websocket';
  listeners: FaceListener[] = [];
  readonly tls: boolean;
  /** Failed TLS handshakes by reason (wss), summed into weft_tls_handshake_failures_total. */
  readonly tlsFailures = new Map<TlsRefusal, number>();
  /** Upgrades by the face that took them. */
  readonly upgrades = new Map<string, number>();
  readonly refused = new Map<WebSocketRefusal, number>();
  readonly frameErrors = new Map<FrameError, number>();
  /** The largest message a client may send (ws's maxPayload). */
  readonly maxMessage: number;
  private readonly files: TlsFiles | null;
  private readonly routes = new RouteTable();
  /** Plain HTTP requests served by a face, by path prefix (the HTTP API at /v1/). */
  private readonly plain = new Map<string, PlainRequestHandler>();
  private readonly wss: WebSocketServer;
  /** Accepted sockets not yet upgraded (bounded by max_connections and handshake_timeout). */
  private readonly pending = new Map<Socket, Pending>();
  /** Upgraded connections still open. */
  private readonly open = new Set<WebSocketTransport>();
  /** The subprotocol chosen for each request being upgraded. */
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  private server: Server | null = null;
  /** `websocket.allowed_origins`, normalised (empty: any origin). */
  private readonly origins: ReadonlySet<string>;
  private stopping = false;

  constructor(private readonly host: FaceHost) {
    const o = host.options;
    this.files = o.websocketTls === null ? null : new TlsFiles('websocket.tls', o.websocketTls);
    this.tls = this.files !== null;
    this.origins = new Set(o.websocketAllowedOrigins);
    this.maxMessage = o.websocketMaxMessage || o.maxPayload + MAX_MESSAGE_HEADROOM;
    this.wss = new (wsLib().WebSocketServer)({
      noServer: true,
      clientTracking: false,
      // ws 8.23's option, not yet in @types/ws.
      ...({ closeTimeout: CLOSE_TIMEOUT_MS } as object),
      maxPayload: this.maxMessage,
      perMessageDeflate: o.websocketCompression ? { threshold: COMPRESSION_THRESHOLD } : false,
      handleProtocols: (_offered, req) => this.chosen.get(req) || false,
    });
    // An invalid handshake (no key, wrong version): answered here, counted.
    this.wss.on('wsClientError', (err: Error, socket: Duplex) => {
      this.refuse(socket, 'bad_handshake', 400, err.message);
    });
  }

  route(route: WebSocketRoute): void {
    this.routes.add(route);
    this.host.log.debug(
      `WebSocket route ${route.path}${route.subprotocols.length > 0 ? ` (${route.subprotocols.join(', ')})` : ''} for ${route.face}`,
    );
  }

  requests(prefix: string, handler: PlainRequestHandler): void {
    if (!prefix.startsWith('/'))
      throw new Error(`plain request prefix must start with /, got ${prefix}`);
    if (this.plain.has(prefix)) throw new Error(`plain requests under ${prefix} are taken`);
    this.plain.set(prefix, handler);
  }

  async start(): Promise<void> {
    const o = this.host.options;
    const bindHost = o.websocketHost === '' ? o.host : o.websocketHost;
    const f = this.files;
    const server = webServer(f, this.tlsFailures, this.host.log, 'websocket');
    this.server = server;
    server.on('connection', (raw: Socket) => this.accepted(raw));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.request(req, res));
    server.on('clientError', (err: Error, socket: Duplex) => {
      this.refuse(socket, 'bad_request', 400, `bad HTTP request: ${err.message}`);
    });
    const port = await listen(server, o.websocketPort, bindHost, 'websocket');
    server.on('error', (err) => this.host.log.error(`websocket listener: ${err.message}`));
    this.listeners = [{ setting: 'websocket.port', host: bindHost, port, tls: this.tls }];
    const scheme = this.tls ? 'wss' : 'ws';
    const paths = this.routes.all.map((r) => `${r.path} (${r.face})`).join(', ');
    this.host.log.info(
      `Listening for WebSocket connections on ${scheme}://${bindHost}:${port}${paths === '' ? ' (no routes)' : `: ${paths}`}`,
    );
    if (!this.tls && !isLoopback(bindHost)) {
      this.host.log.warn(
        `the WebSocket listener on ${bindHost} is not encrypted (set websocket.tls to serve wss)`,
      );
    }
  }

  /** A TCP connection: it holds a place under max_connections until upgraded, for at most handshake_timeout. */
  private accepted(raw: Socket): void {
    const h = this.host;
    if (this.stopping || h.shuttingDown) {
      raw.destroy();
      return;
    }
    const admitted = h.connections.admit('websocket', raw.remoteAddress ?? '', raw.remotePort ?? 0);
    if (admitted) h.connections.handshake(true);
    const p: Pending = { raw, admitted, timer: null };
    this.pending.set(raw, p);
    p.timer = setTimeout(() => {
      this.count(this.refused, 'handshake_timeout');
      h.log.debug(
        `websocket ${raw.remoteAddress}:${raw.remotePort} - no upgrade within websocket.handshake_timeout`,
      );
      raw.destroy();
    }, h.options.websocketHandshakeTimeoutMs);
    p.timer.unref();
    raw.once('close', () => this.settle(p));
    raw.on('error', () => {});
  }

  /** The connection is upgraded or gone: its place under max_connections is released. */
  private settle(p: Pending): void {
    if (this.pending.get(p.raw) !== p) return;
    this.pending.delete(p.raw);
    if (p.timer !== null) clearTimeout(p.timer);
    if (p.admitted) this.host.connections.handshake(false);
  }

  private pendingOf(socket: Duplex): Pending | undefined {
    // With TLS, the HTTP server hands over the TLSSocket; Node keeps the accepted one as `_parent`.
    const raw = (socket as unknown as { _parent?: Socket })._parent ?? (socket as Socket);
    return this.pending.get(raw);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const p = this.pendingOf(socket);
    const path = pathOf(req.url);
    const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
    const refusal = this.check(p, req, path, offered);
    if (refusal !== null) {
      this.refuse(socket, ...refusal);
      return;
    }
    const match = this.routes.match(path, offered)!;
    this.chosen.set(req, match.protocol);
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (p !== undefined) this.settle(p);
      this.upgraded(ws, req, match.route, path);
    });
  }

  /** Why an upgrade request is refused (reason, HTTP status, text), or null to upgrade it. */
  private check(
    p: Pending | undefined,
    req: IncomingMessage,
    path: string,
    offered: string[],
  ): [WebSocketRefusal, number, string] | null {
    if (this.stopping || this.host.shuttingDown) {
      return ['shutting_down', 503, 'the node is shutting down'];
    }
    if (p === undefined || !p.admitted) return ['max_connections', 503, 'max_connections reached'];
    if (!this.routes.has(path)) return ['not_found', 404, `no WebSocket service at ${path}`];
    const origin = req.headers.origin;
    if (!originAllowed(this.origins, origin)) {
      this.host.log.debug(`websocket: refused origin ${origin} (not in websocket.allowed_origins)`);
      return ['origin', 403, `origin ${origin} is not allowed`];
    }
    if (this.routes.match(path, offered) === null) {
      // [MQTT-6.0.0-3]: an MQTT client must offer "mqtt"; one that does not is refused.
      const needed = this.routes.needed(path).join(' or ');
      return [
        'subprotocol',
        400,
        `${path} needs the WebSocket subprotocol ${needed}, offered: ${offered.join(', ') || 'none'}`,
      ];
    }
    return null;
  }

  private upgraded(ws: WebSocket, req: IncomingMessage, route: WebSocketRoute, path: string): void {
    const raw = req.socket;
    if (this.stopping || this.host.shuttingDown) {
      ws.close(WS_CLOSE.goingAway);
      return;
    }
    const t = new WebSocketTransport(ws, {
      remoteAddress: raw.remoteAddress ?? '',
      remotePort: raw.remotePort ?? 0,
      binaryOnly: route.binaryOnly,
    });
    this.open.add(t);
    t.once('close', () => this.open.delete(t));
    t.on('error', (err: NodeJS.ErrnoException) => this.frameError(t, err));
    this.count(this.upgrades, route.face);
    try {
      route.onConnection(t, {
        path,
        protocol: ws.protocol,
        headers: req.headers,
        tls: this.tls ? tlsInfo(raw as TLSSocket, this.files!.settings.verify) : null,
      });
    } catch (err) {
      this.host.log.error(
        `websocket: the ${route.face} face failed to take a connection: ${(err as Error).message}`,
      );
      t.destroy();
    }
  }

  private frameError(t: WebSocketTransport, err: NodeJS.ErrnoException): void {
    const reason: FrameError =
      err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
        ? 'too_big'
        : err.code === 'WS_TEXT_FRAME'
          ? 'text_frame'
          : 'protocol';
    this.count(this.frameErrors, reason);
    const why =
      reason === 'too_big'
        ? `a message over websocket.max_message (${this.maxMessage} bytes)`
        : err.message;
    this.host.log.warn(`websocket ${t.remoteAddress}:${t.remotePort} - closed: ${why}`);
  }

  /** A plain HTTP request (not an upgrade): a face's (`requests`), else 404 off the routes, else 426. */
  private request(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url);
    for (const [prefix, handler] of this.plain) {
      if (!path.startsWith(prefix)) continue;
      const p = this.pendingOf(req.socket);
      if (p !== undefined && !p.admitted) {
        this.count(this.refused, 'max_connections');
        res.writeHead(503, { Connection: 'close', 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('max_connections reached\n');
        return;
      }
      // The face takes the connection: its place under max_connections is the face's now.
      if (p !== undefined) this.settle(p);
      const tls = this.tls ? tlsInfo(req.socket as TLSSocket, this.files!.settings.verify) : null;
      handler(req, res, tls);
      return;
    }
    const known = this.routes.has(path);
    this.count(this.refused, known ? 'not_websocket' : 'not_found');
    const status = known ? 426 : 404;
    const body = known
      ? `${path} is a WebSocket endpoint: connect with a WebSocket client\n`
      : `no WebSocket service at ${path}\n`;
    res.writeHead(status, {
      Connection: 'close',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      ...(known ? { Upgrade: 'websocket' } : {}),
    });
    res.end(body);
  }

  /** Refuses before the upgrade: an HTTP answer, counted, then the socket ends. */
  private refuse(socket: Duplex, reason: WebSocketRefusal, status: number, text: string): void {
    this.count(this.refused, reason);
    if (socket.writable) socket.end(refusalResponse(status, text));
    else socket.destroy();
  }

  private count<K>(map: Map<K, number>, key: K): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  /** SIGHUP: the wss certificates are read again (same paths); handshakes from now on use them. */
  reloadCertificates(): void {
    const f = this.files;
    if (f === null) return;
    f.reload();
    (this.server as unknown as { setSecureContext?(o: object): void } | null)?.setSecureContext?.(
      f.secureOptions,
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // The node closes the connections next: they say "going away".
    for (const t of this.open) t.closeCode = WS_CLOSE.goingAway;
    for (const p of [...this.pending.values()]) p.raw.destroy();
    const server = this.server;
    if (server?.listening) {
      await new Promise<void>((r) => server.close(() => r()));
    }
    this.wss.close();
  }

  varz(): Record<string, unknown> {
    return {
      connections: this.open.size,
      routes: this.routes.all.map((r) => ({
        path: r.path,
        subprotocols: r.subprotocols,
        face: r.face,
      })),
      max_message: this.maxMessage,
      compression: this.host.options.websocketCompression,
      allowed_origins: this.host.options.websocketAllowedOrigins,
      upgrades: Object.fromEntries(this.upgrades),
      refused: Object.fromEntries(this.refused),
      frame_errors: Object.fromEntries(this.frameErrors),
    };
  }

  metrics(registry: Registry): void {
    const m = scrapeReaders(registry);
    m.gauge(
      'weft_websocket_connections',
      'WebSocket connections open now (every face)',
      () => this.open.size,
    );
    m.labelledCounter(
      'weft_websocket_upgrades_total',
      'WebSocket connections upgraded, by face',
      'face',
      byKey(this.upgrades),
    );
    m.labelledCounter(
      'weft_websocket_refused_total',
      'WebSocket requests refused before the upgrade, by reason',
      'reason',
      byKey(this.refused, WEBSOCKET_REFUSALS),
    );
    m.labelledCounter(
      'weft_websocket_frame_errors_total',
      'WebSocket connections closed for a frame: too_big (websocket.max_message), text_frame, protocol',
      'reason',
      byKey(this.frameErrors, ['too_big', 'text_frame', 'protocol']),
    );
  }
}

/** What a wss connection keeps of its handshake (`/connz`, certificate logins). */
function tlsInfo(socket: TLSSocket, verify: boolean): TlsSessionInfo {
  const cert = verify ? socket.getPeerCertificate(true) : null;
  return {
    version: (socket.getProtocol() ?? '').replace(/^TLSv/, ''),
    cipher: socket.getCipher().standardName,
    cert: cert !== null && cert.raw !== undefined ? cert : null,
  };
}
