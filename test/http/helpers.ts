/** Helpers of the HTTP API's tests. */
import type { WeftServer } from '../../src/server/server.js';

/** The base URL of a node's HTTP API listener (`http.port`). */
export function apiUrl(srv: WeftServer): string {
  const f = srv.node.faces.find((x) => x.name === 'http')!;
  return `http://127.0.0.1:${f.listeners[0]!.port}`;
}
