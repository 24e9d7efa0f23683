/**
 * The monitoring HTTP server: JSON endpoints and Prometheus /metrics.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { WeftNode } from '../server/server.js';
import { listen } from '../util/listen.js';
import { accountz, accstatz } from './accountz.js';
import { CpuMeter, connz, subsz, varz } from './endpoints.js';
import { jsz } from './jsz.js';
import { meshz } from './meshz.js';
import { createMetrics } from './metrics.js';

export interface MonitorServer {
  readonly port: number;
  close(): Promise<void>;
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

export async function startMonitor(
  node: WeftNode,
  host: string,
  port: number,
): Promise<MonitorServer> {
  const cpu = new CpuMeter();
  const registry = createMetrics(node);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://monitor');
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
        json(res, 200, varz(node, cpu));
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
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
        return;
      }
      default:
        json(res, 404, { error: `no such endpoint ${url.pathname}`, endpoints: ENDPOINTS });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      node.log.error(`monitor ${req.url}: ${err.message}`);
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.end();
    });
  });
  const bound = await listen(server, port, host, 'monitoring');
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
