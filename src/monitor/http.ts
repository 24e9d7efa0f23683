/**
 * The monitoring HTTP server: JSON endpoints and Prometheus /metrics.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Registry } from 'prom-client';
import { secretEquals } from '../auth/authenticator.js';
import type { TlsFiles } from '../connection/tls.js';
import { listen } from '../util/listen.js';
import { totalMetrics, totalVarz, type VarzPart } from '../workers/totals.js';
import { accountz, accstatz } from './accountz.js';
import { CpuMeter, connz, subsz, varz } from './endpoints.js';
import { jsz } from './jsz.js';
import { meshz } from './meshz.js';
import type { MonitoredNode } from './node-view.js';

export interface MonitorServer {
  readonly port: number;
  /** Takes the TlsFiles' current certificates (HTTPS only; a no-op otherwise). */
  reloadTls(): void;
  close(): Promise<void>;
}

/** Refused monitoring requests are logged at most once per this many ms (all are counted). */
export const UNAUTHORIZED_LOG_MS = 10_000;

/**
 * Whether `header` is `Bearer <token>`, compared in constant time (the
 * same comparison as every secret: src/auth/authenticator.ts).
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return secretEquals(m === null ? '' : m[1], token) && m !== null;
}

const ENDPOINTS = [
  '/varz',
  '/connz',
  '/subsz',
  '/meshz',
  '/jsz',
  '/accountz',
  '/accstatz',
  '/healthz',
  '/metrics',
];

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Serves monitoring on host:port: over HTTPS with `tls`'s certificate when
 * given (no client certificate is asked for, as nats-server), else HTTP.
 * With `monitor_token` set, every request must carry it as a bearer token.
 */
export async function startMonitor(
  node: MonitoredNode,
  host: string,
  port: number,
  tls: TlsFiles | null,
): Promise<MonitorServer> {
  const cpu = new CpuMeter();
  // The Prometheus registry (and prom-client with it) is made at the first
  // scrape: a node nobody scrapes does not load it. Its default process
  // metrics (GC and event-loop histograms) count from then on.
  let made: Promise<Registry> | null = null;
  const registry = (): Promise<Registry> =>
    (made ??= import('./metrics.js').then((m) => m.createMetrics(node)));
  const token = node.options.monitorToken;
  let lastRefusalLog = Number.NEGATIVE_INFINITY;
  let loggedRefusals = 0;
  // A worker of `--workers N`: /varz and /metrics are the whole server's,
  // totalled over every worker through the primary (src/workers/totals.ts).
  const workers = node.workers;
  const varzPart = (): VarzPart => ({
    varz: varz(node, cpu),
    remote: node.mesh?.remoteInterestCount ?? 0,
    links: node.mesh?.links.size ?? 0,
  });
  workers?.serve('varz', varzPart);
  workers?.serve('metrics', async () => (await registry()).metrics());
  const serverVarz = async (): Promise<Record<string, unknown>> => {
    const own = varzPart();
    if (workers === null) return own.varz;
    return totalVarz(own, workers.index, await workers.gather('varz'));
  };
  const serverMetrics = async (): Promise<string> => {
    const own = await (await registry()).metrics();
    if (workers === null) return own;
    const g = await workers.gather('metrics');
    const texts = g.parts.filter((p) => p.index !== workers.index).map((p) => p.body);
    const first = g.parts.find((p) => p.index === 0)?.body;
    return totalMetrics(
      own,
      texts.filter((t): t is string => typeof t === 'string'),
      typeof first === 'string' ? first : own,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://monitor');
    if (token !== '' && !bearerMatches(req.headers.authorization, token)) {
      node.stats.monitorUnauthorized++;
      // At most one warning per UNAUTHORIZED_LOG_MS: a scanner must not flood the log.
      const now = Date.now();
      if (now - lastRefusalLog >= UNAUTHORIZED_LOG_MS) {
        const more = node.stats.monitorUnauthorized - loggedRefusals - 1;
        node.log.warn(
          `monitoring: refused ${req.method} ${url.pathname} from ${req.socket.remoteAddress}: missing or wrong bearer token${more > 0 ? ` (and ${more} more since the last warning)` : ''}`,
        );
        lastRefusalLog = now;
        loggedRefusals = node.stats.monitorUnauthorized;
      }
      res.setHeader('www-authenticate', 'Bearer realm="weft monitoring"');
      json(res, 401, {
        error: 'unauthorized: send the monitor_token as "Authorization: Bearer <token>"',
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: `method ${req.method} not allowed` });
      return;
    }
    switch (url.pathname) {
      case '/':
        json(res, 200, { endpoints: ENDPOINTS });
        return;
      case '/healthz':
        json(res, 200, node.health.toJSON());
        return;
      case '/varz':
        json(res, 200, await serverVarz());
        return;
      case '/connz': {
        const body = connz(node, url.searchParams);
        json(res, 'error' in body ? 400 : 200, body);
        return;
      }
      case '/subsz':
      case '/subscriptionsz':
        json(res, 200, subsz(node, url.searchParams));
        return;
      case '/meshz':
        json(res, 200, meshz(node));
        return;
      case '/accountz': {
        const body = accountz(node, url.searchParams);
        json(res, 'error' in body ? 400 : 200, body);
        return;
      }
      case '/accstatz':
        json(res, 200, accstatz(node, url.searchParams));
        return;
      case '/jsz':
        json(res, 200, await jsz(node, url.searchParams));
        return;
      case '/metrics': {
        const text = await serverMetrics();
        res.writeHead(200, { 'content-type': (await registry()).contentType });
        res.end(text);
        return;
      }
      default:
        json(res, 404, { error: `no such endpoint ${url.pathname}`, endpoints: ENDPOINTS });
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: Error) => {
      node.log.error(`monitor ${req.url}: ${err.message}`);
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.end();
    });
  };
  const https = tls === null ? null : createHttpsServer({ ...tls.secureOptions }, onRequest);
  const server = https ?? createServer(onRequest);
  if (https !== null) {
    // A failed handshake (a plain-HTTP client, a bad certificate) is that client's problem.
    https.on('tlsClientError', (err: Error) =>
      node.log.debug(`monitoring: TLS handshake failed: ${err.message.split('\n')[0]}`),
    );
  }
  const bound = await listen(server, port, host, 'monitoring');
  return {
    port: bound,
    reloadTls: () => {
      if (https !== null && tls !== null) https.setSecureContext({ ...tls.secureOptions });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
