/**
 * The HTTP API's modules: every route the face serves comes from one of
 * these, in this order.
 *
 * How a module mounts its routes: write a factory
 * `(m: HttpModuleHost) => HttpModule` (module.ts) in its own file under
 * src/protocols/http/ (e.g. `sse.ts`, `webhooks/module.ts`), returning its
 * `name` and `routes` — each an `HttpRoute` (routes.ts: method, path
 * pattern with `{param}` segments, its OpenAPI operation, `handle(ctx)`
 * with the `HttpContext` of context.ts) — and optionally `start`, `stop`,
 * `varz`, `metrics`. Then add one line to MODULES below (replacing its
 * stub from stubs.ts, if it has one). Routes are checked when the face is
 * built: a method and path taken twice throws. The OpenAPI document
 * (/v1/openapi.json) lists them from their `openapi` fragments, and a
 * test calls every path and method in it.
 */
import type { HttpModuleFactory } from './module.js';
import { openApiModule } from './openapi.js';
import { publishModule } from './publish.js';
import { sseModule } from './sse.js';
import { webhooksModule } from './webhooks/module.js';

export const MODULES: readonly HttpModuleFactory[] = [
  publishModule,
  sseModule,
  webhooksModule,
  openApiModule,
];
