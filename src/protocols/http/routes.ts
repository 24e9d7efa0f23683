/**
 * The HTTP API's route table: a method and a path pattern (`/v1/publish/{subject}`)
 * to a handler. A `{name}` is one path segment, percent-decoded (`%2E` is a
 * dot, `%2F` a slash inside the segment); anything else must match exactly.
 * An unknown path is 404; a known path with another method is 405 with
 * `Allow` listing the methods it has (RFC 9110 §15.5.6). Pure: no socket.
 *
 * Each route carries its OpenAPI 3.1 operation (`openapi`), so the document
 * at /v1/openapi.json is built from this table and cannot drift from what
 * is served (openapi.ts).
 */
import type { HttpContext } from './context.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An OpenAPI 3.1 Operation Object (kept loose: it is JSON for the document). */
export type OpenApiOperation = Record<string, unknown>;

export interface HttpRoute {
  readonly method: HttpMethod;
  /** `/v1/publish/{subject}`: literal segments and `{name}` parameters, one segment each. */
  readonly path: string;
  /** The module that serves it (`core`, `sse`, `webhooks`): the log and counters. */
  readonly module: string;
  /**
   * Whether the request must log in (default true): its `ctx.who` is the
   * identity of its `Authorization` header, or the no-auth/`no_auth_user`
   * identity when the node needs none. False only for public documents.
   */
  readonly auth?: boolean;
  /**
   * The OpenAPI operation (summary, parameters, requestBody, responses).
   * Path parameters named in `path` are added when absent.
   */
  readonly openapi: OpenApiOperation;
  handle(ctx: HttpContext): void | Promise<void>;
}

interface Compiled {
  readonly route: HttpRoute;
  /** Per segment: the literal text, or null for a parameter. */
  readonly parts: readonly (string | null)[];
  readonly names: readonly string[];
}

export type RouteLookup =
  | { readonly kind: 'found'; readonly route: HttpRoute; readonly params: Record<string, string> }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'bad_path'; readonly why: string };

const PARAM = /^\{([a-zA-Z_][a-zA-Z0-9_]*)\}$/;

export class RouteTable {
  private readonly compiled: Compiled[] = [];

  /** Adds a route; throws when its method and path (pattern) are taken, or the pattern is malformed. */
  add(route: HttpRoute): void {
    if (!route.path.startsWith('/')) {
      throw new Error(`HTTP route of ${route.module}: path must start with /, got ${route.path}`);
    }
    const segs = route.path.slice(1).split('/');
    const parts: (string | null)[] = [];
    const names: string[] = [];
    for (const s of segs) {
      const m = PARAM.exec(s);
      if (m !== null) {
        parts.push(null);
        names.push(m[1]!);
      } else if (s.includes('{') || s.includes('}')) {
        throw new Error(`HTTP route ${route.path} of ${route.module}: bad segment ${s}`);
      } else parts.push(s);
    }
    const shape = parts.map((p) => p ?? '{}').join('/');
    for (const c of this.compiled) {
      if (c.route.method === route.method && c.parts.map((p) => p ?? '{}').join('/') === shape) {
        throw new Error(
          `HTTP route ${route.method} ${route.path} of ${route.module} is taken by ${c.route.module}`,
        );
      }
    }
    this.compiled.push({ route, parts, names });
  }

  get all(): readonly HttpRoute[] {
    return this.compiled.map((c) => c.route);
  }

  /**
   * The route for `method` at `path` (the request target without its
   * query). Literal segments win over parameters (`/v1/webhooks/status`
   * before `/v1/webhooks/{id}`), whatever the order routes were added in.
   */
  lookup(method: string, path: string): RouteLookup {
    if (!path.startsWith('/')) return { kind: 'bad_path', why: 'the path must start with /' };
    const segs = path.slice(1).split('/');
    let best: { c: Compiled; score: number; params: Record<string, string> } | null = null;
    const allow = new Set<string>();
    for (const c of this.compiled) {
      if (c.parts.length !== segs.length) continue;
      let score = 0;
      let ok = true;
      for (let i = 0; i < segs.length && ok; i++) {
        const p = c.parts[i];
        if (p === null) ok = segs[i] !== '';
        else if (p === segs[i]) score++;
        else ok = false;
      }
      if (!ok) continue;
      if (c.route.method !== method) {
        allow.add(c.route.method);
        continue;
      }
      if (best !== null && best.score >= score) continue;
      const params: Record<string, string> = {};
      for (let i = 0, n = 0; i < segs.length; i++) {
        if (c.parts[i] !== null) continue;
        const decoded = decodeSegment(segs[i]!);
        if (decoded === null) {
          return { kind: 'bad_path', why: `bad percent-encoding in ${JSON.stringify(segs[i])}` };
        }
        params[c.names[n++]!] = decoded;
      }
      best = { c, score, params };
    }
    if (best !== null) return { kind: 'found', route: best.c.route, params: best.params };
    if (allow.size > 0) return { kind: 'method_not_allowed', allow: [...allow].sort() };
    return { kind: 'not_found' };
  }
}

/**
 * One path segment, percent-decoded as UTF-8 (RFC 3986 §2.1): null when a
 * `%` is not followed by two hex digits or the bytes are not UTF-8.
 */
export function decodeSegment(seg: string): string | null {
  if (!seg.includes('%')) return seg;
  if (/%(?![0-9a-fA-F]{2})/.test(seg)) return null;
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
}

/** The path of a request target (`/v1/x?y=1` → `/v1/x`). */
export function splitTarget(url: string | undefined): { path: string; query: string } {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? { path: u, query: '' } : { path: u.slice(0, q), query: u.slice(q + 1) };
}
