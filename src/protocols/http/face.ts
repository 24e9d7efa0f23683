/**
 * The HTTP face (`http.port`, off by default; `http.host`; `http.tls` makes
 * it HTTPS only): the HTTP API of docs/http.md — publish, request,
 * Server-Sent Events, webhooks, the OpenAPI document — served from one
 * route table filled by the modules of mount.ts.
 *
 * Each keep-alive connection is a connection of the node (`/connz` type
 * `http`): it takes a place under `max_connections` from its accept (past
 * it: 503 and close), logs in once per `Authorization` value, and counts
 * its messages. With the WebSocket listener on, the same API is also
 * served there, for plain requests under `/v1/` (a browser app needs one
 * port); those connections are the HTTP face's too once their first
 * request arrives.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import { TlsFiles } from '../../connection/tls.js';
import type { TlsRefusal, TlsSessionInfo } from '../../connection/tls-accept.js';
import { webServer } from '../../connection/web-server.js';
import { isLoopback } from '../../mesh/settings.js';
import { byKey, scrapeReaders } from '../../monitor/metric-kit.js';
import { listen } from '../../util/listen.js';
import type { Face, FaceHost, FaceListener } from '../face.js';
import { HttpConnection } from './connection.js';
import { errorBody } from './context.js';
import { Dispatcher, HTTP_REFUSALS } from './dispatch.js';
import type { HttpModule } from './module.js';
import { MODULES } from './mount.js';
import type { HttpRoute } from './routes.js';
import { runsWebhooks } from './webhooks/module.js';

/** Time a client has to send a request's headers, ms (slow-loris bound). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** How long an idle keep-alive connection stays open, ms. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How long a connection refused at max_connections may read its 503 before it is dropped, ms. */
const REFUSED_LINGER_MS = 2000;
/** The path prefix the API takes on the WebSocket listener. */
export const API_PREFIX = '/v1/';

export class HttpFace implements Face {
  readonly name = 'http';
  listeners: FaceListener[] = [];
  readonly tlsFailures = new Map<TlsRefusal, number>();
  readonly modules: HttpModule[];
  readonly dispatcher: Dispatcher;
  private readonly files: TlsFiles | null;
  private server: Server | null = null;
  /** The HTTP connection of each socket a request came on. */
  private readonly bySocket = new WeakMap<Socket, HttpConnection>();
  /** Raw sockets in their TLS handshake: they hold a place under max_connections. */
  private readonly handshaking = new Set<Socket>();
  private readonly refusedSockets = new Set<Socket>();
  private base = '';

  constructor(private readonly host: FaceHost) {
    const o = host.options;
    this.files = o.httpApiTls === null ? null : new TlsFiles('http.tls', o.httpApiTls);
    let all: readonly HttpRoute[] = [];
    this.modules = MODULES.map((make) =>
      make({ host, baseUrl: () => this.base, routes: () => all }),
    );
    this.dispatcher = new Dispatcher(
      host,
      this.modules,
      () => this.files?.settings.verifyAndMap === true,
    );
    all = this.dispatcher.table.all;
  }

  async start(): Promise<void> {
    const h = this.host;
    // Plain requests under /v1/ on the WebSocket listener: the same API.
    // Without http.port the face runs for its webhooks only (they need no listener).
    if (h.options.httpApiPort >= 0) {
      h.websocket?.requests(API_PREFIX, (req, res, tls) => this.shared(req, res, tls));
      await this.bind();
    }
    for (const m of this.modules) await m.start?.();
  }

  private async bind(): Promise<void> {
    const h = this.host;
    const o = h.options;
    const bindHost = o.httpApiHost === '' ? o.host : o.httpApiHost;
    const f = this.files;
    const server = webServer(f, this.tlsFailures, h.log, 'http');
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.server = server;
    server.on('connection', (raw: Socket) => this.accepted(raw));
    if (f !== null) server.on('secureConnection', (s: TLSSocket) => this.secured(s));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const conn = this.bySocket.get(req.socket);
      if (conn === undefined) {
        res.destroy();
        return;
      }
      this.dispatcher.serve(conn, req, res);
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      this.dispatcher.refuse('bad_request');
      if (socket.writable && err.code !== 'ECONNRESET') {
        const body = errorBody(400, `bad HTTP request: ${err.message}`);
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      } else socket.destroy();
    });
    const port = await listen(server, o.httpApiPort, bindHost, 'http');
    server.on('error', (err) => h.log.error(`http listener: ${err.message}`));
    this.listeners = [{ setting: 'http.port', host: bindHost, port, tls: f !== null }];
    const shown = bindHost === '0.0.0.0' || bindHost === '::' ? '127.0.0.1' : bindHost;
    this.base = `${f === null ? 'http' : 'https'}://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
    h.log.info(
      `Listening for HTTP API requests on ${f === null ? 'http' : 'https'}://${bindHost}:${port}`,
    );
    if (f === null && !isLoopback(bindHost)) {
      h.log.warn(`the HTTP API on ${bindHost} is not encrypted (set http.tls to serve HTTPS)`);
    }
  }

  /** A TCP connection: a place under max_connections, or 503 and close. */
  private accepted(raw: Socket): void {
    const h = this.host;
    raw.on('error', () => {});
    if (h.shuttingDown) {
      raw.destroy();
      return;
    }
    if (!h.connections.admit('http', raw.remoteAddress ?? '', raw.remotePort ?? 0)) {
      this.dispatcher.refuse('connection_limit');
      this.refusedSockets.add(raw);
      raw.once('close', () => this.refusedSockets.delete(raw));
      setTimeout(() => raw.destroy(), REFUSED_LINGER_MS).unref();
      if (this.files === null) {
        const body = errorBody(503, 'max_connections reached');
        raw.end(
          `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      } else raw.destroy();
      return;
    }
    if (this.files !== null) {
      // Until its handshake ends it holds a place, as on the client port.
      h.connections.handshake(true);
      this.handshaking.add(raw);
      raw.once('close', () => this.handshakeDone(raw));
      return;
    }
    this.open(raw, null, null);
  }

  private handshakeDone(raw: Socket): boolean {
    if (!this.handshaking.delete(raw)) return false;
    this.host.connections.handshake(false);
    return true;
  }

  private secured(s: TLSSocket): void {
    const raw = (s as unknown as { _parent?: Socket })._parent;
    if (raw !== undefined) this.handshakeDone(raw);
    if (this.host.shuttingDown) {
      s.destroy();
      return;
    }
    const verify = this.files!.settings.verify;
    const cert = verify ? s.getPeerCertificate(true) : null;
    const peer = cert !== null && cert.raw !== undefined ? cert : null;
    const info: TlsSessionInfo = {
      version: (s.getProtocol() ?? '').replace(/^TLSv/, ''),
      cipher: s.getCipher().standardName,
      cert: peer,
    };
    this.open(s, info, peer);
  }

  private open(
    socket: Socket,
    tls: TlsSessionInfo | null,
    cert: HttpConnection['peerCert'],
  ): HttpConnection {
    const h = this.host;
    const conn = new HttpConnection(h.connections.nextId(), socket, tls, h, cert);
    this.bySocket.set(socket, conn);
    h.connections.opened(conn);
    return conn;
  }

  /** A plain request under /v1/ on the WebSocket listener (which admitted its connection). */
  private shared(req: IncomingMessage, res: ServerResponse, tls: TlsSessionInfo | null): void {
    const conn = this.bySocket.get(req.socket) ?? this.open(req.socket, tls, tls?.cert ?? null);
    this.dispatcher.serve(conn, req, res);
  }

  reloaded(): void {
    for (const m of this.modules) m.reloaded?.();
  }

  reloadCertificates(): void {
    const f = this.files;
    if (f === null) return;
    f.reload();
    (this.server as unknown as { setSecureContext?(o: object): void } | null)?.setSecureContext?.(
      f.secureOptions,
    );
  }

  async stop(): Promise<void> {
    for (const m of this.modules) {
      try {
        await m.stop?.();
      } catch (err) {
        this.host.log.error(`http: stopping ${m.name} failed: ${(err as Error).message}`);
      }
    }
    for (const s of this.refusedSockets) s.destroy();
    for (const s of this.handshaking) s.destroy();
    const server = this.server;
    if (server?.listening) {
      server.closeIdleConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  varz(): Record<string, unknown> {
    const d = this.dispatcher;
    const out: Record<string, unknown> = {
      routes: d.table.all.map((r) => `${r.method} ${r.path}`),
      requests: Object.fromEntries([...d.requests].map(([r, n]) => [`${r.method} ${r.path}`, n])),
      statuses: Object.fromEntries(d.statuses),
      refused: Object.fromEntries(d.refused),
      failures: d.failures,
      preflights: d.preflights,
    };
    for (const m of this.modules) {
      const v = m.varz?.();
      if (v !== undefined) out[m.name] = v;
    }
    return out;
  }

  metrics(registry: Registry): void {
    const d = this.dispatcher;
    const host = this.host;
    const m = scrapeReaders(registry);
    m.gauge('weft_http_connections', 'HTTP API keep-alive connections open now', () => {
      let n = 0;
      for (const c of host.connections.values()) if (c.face === 'http') n++;
      return n;
    });
    m.labelledCounter(
      'weft_http_requests_total',
      'HTTP API requests routed, by route',
      'route',
      () => [...d.requests].map(([r, n]) => [`${r.method} ${r.path}`, n] as const),
    );
    m.labelledCounter('weft_http_responses_total', 'HTTP API answers, by status code', 'code', () =>
      [...d.statuses].map(([k, n]) => [String(k), n] as const),
    );
    m.labelledCounter(
      'weft_http_refused_total',
      'HTTP API requests answered before their handler, by reason',
      'reason',
      byKey(d.refused, HTTP_REFUSALS),
    );
    for (const m of this.modules) m.metrics?.(registry);
  }
}

/**
 * The HTTP face, or null when `http.port` is -1 (the default) and there
 * are no webhooks to run (none in the config, none kept from the API).
 */
export function httpFace(host: FaceHost): Face | null {
  return host.options.httpApiPort >= 0 || runsWebhooks(host) ? new HttpFace(host) : null;
}
