/** Helpers of the HTTP API's tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../src/config/config.js';
import type { ServerOptions } from '../../src/config/options.js';
import { startServer, type WeftServer } from '../../src/server/server.js';

/** The base URL of a node's HTTP API listener (`http.port`). */
export function apiUrl(srv: WeftServer): string {
  const f = srv.node.faces.find((x) => x.name === 'http')!;
  return `http://127.0.0.1:${f.listeners[0]!.port}`;
}

/** A node with the HTTP API on a free port, its data in a temp dir removed by `close`. */
export interface ApiNode {
  readonly srv: WeftServer;
  /** The HTTP API's base URL. */
  readonly base: string;
  close(): Promise<void>;
}

/**
 * Starts a node for an HTTP API test: the options of `yaml` (a config
 * text, '' for none), the API on port 0, no monitoring port, no JetStream,
 * silent, then `extra`.
 */
export async function startApiNode(
  yaml: string,
  extra: Partial<ServerOptions> = {},
  prefix = 'weft-http-',
): Promise<ApiNode> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const srv = await startServer({
    ...(yaml === '' ? {} : parseConfigText(yaml)),
    port: 0,
    httpPort: -1,
    host: '127.0.0.1',
    dataDir: dir,
    logLevel: 'silent',
    httpApiPort: 0,
    jetstream: false,
    ...extra,
  });
  return {
    srv,
    base: apiUrl(srv),
    close: async () => {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
