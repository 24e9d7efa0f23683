/**
 * The WebSocket listener's routes: which face serves an upgrade request, by
 * its path and the subprotocols it offers, and the HTTP answers that refuse
 * one before the upgrade. Pure: no socket here.
 */
import { STATUS_CODES } from 'node:http';
import type { WebSocketRoute } from '../face.js';

/** Why an upgrade (or a request) was refused: the `reason` label of weft_websocket_refused_total. */
export type WebSocketRefusal =
  | 'not_found'
  | 'origin'
  | 'subprotocol'
  | 'max_connections'
  | 'shutting_down'
  | 'not_websocket'
  | 'bad_handshake'
  | 'bad_request'
  | 'handshake_timeout';

export const WEBSOCKET_REFUSALS: readonly WebSocketRefusal[] = [
  'not_found',
  'origin',
  'subprotocol',
  'max_connections',
  'shutting_down',
  'not_websocket',
  'bad_handshake',
  'bad_request',
  'handshake_timeout',
];

/** A route chosen for a request, and the subprotocol to answer with ('' for none). */
export interface RouteMatch {
  readonly route: WebSocketRoute;
  readonly protocol: string;
}

/** The path of a request target (`/mqtt?x=1` → `/mqtt`). */
export function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/** The subprotocols a client offers (`Sec-WebSocket-Protocol: mqtt, mqttv3.1`), in its order. */
export function offeredProtocols(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(',') : header;
  return text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

export class RouteTable {
  private readonly byPath = new Map<string, WebSocketRoute[]>();

  add(route: WebSocketRoute): void {
    if (!route.path.startsWith('/')) {
      throw new Error(
        `WebSocket route of ${route.face}: path must start with /, got ${route.path}`,
      );
    }
    const list = this.byPath.get(route.path) ?? [];
    for (const r of list) {
      const shared =
        r.subprotocols.length === 0 && route.subprotocols.length === 0
          ? ['(none)']
          : r.subprotocols.filter((p) => route.subprotocols.includes(p));
      if (shared.length > 0) {
        throw new Error(
          `WebSocket route ${route.path} (${shared.join(', ')}) of ${route.face} is taken by ${r.face}`,
        );
      }
    }
    list.push(route);
    this.byPath.set(route.path, list);
  }

  /** Whether any route serves `path`. */
  has(path: string): boolean {
    return this.byPath.has(path);
  }

  get all(): WebSocketRoute[] {
    return [...this.byPath.values()].flat();
  }

  /**
   * The route for a request at `path` offering `offered`: one that speaks
   * an offered subprotocol (the client's first choice among them), else one
   * that needs none. Null when every route at the path needs a subprotocol
   * the client did not offer.
   */
  match(path: string, offered: readonly string[]): RouteMatch | null {
    const list = this.byPath.get(path);
    if (list === undefined) return null;
    for (const p of offered) {
      for (const r of list) if (r.subprotocols.includes(p)) return { route: r, protocol: p };
    }
    const plain = list.find((r) => r.subprotocols.length === 0);
    return plain === undefined ? null : { route: plain, protocol: '' };
  }

  /** The subprotocols the routes at `path` need, for a refusal's text. */
  needed(path: string): string[] {
    return (this.byPath.get(path) ?? []).flatMap((r) => r.subprotocols);
  }
}

/** A complete HTTP/1.1 response that refuses a request and closes: status, a one-line text body. */
export function refusalResponse(status: number, text: string): string {
  const body = `${text}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    'Connection: close\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}
