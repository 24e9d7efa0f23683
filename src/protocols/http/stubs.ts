/**
 * Placeholders for modules still being built: their routes answer 501 Not
 * Implemented, and are in the OpenAPI document as what they will be.
 * A module that replaces one takes its line in mount.ts and removes its
 * stub here.
 */
import { sendError } from './context.js';
import type { HttpModuleFactory } from './module.js';
import type { HttpMethod, HttpRoute } from './routes.js';

function notYet(module: string, method: HttpMethod, path: string, summary: string): HttpRoute {
  return {
    method,
    path,
    module,
    openapi: {
      summary,
      responses: { '501': { description: 'not implemented on this node yet' } },
    },
    handle: (ctx) => sendError(ctx.res, 501, `${method} ${path} is not implemented yet`),
  };
}

/** `GET /v1/subscribe/{subject}` (Server-Sent Events): the `sse` module. */
export const subscribeStub: HttpModuleFactory = () => ({
  name: 'sse',
  routes: [notYet('sse', 'GET', '/v1/subscribe/{subject}', 'Subscribe as Server-Sent Events')],
});

/** `/v1/webhooks`: the `webhooks` module. */
export const webhooksStub: HttpModuleFactory = () => ({
  name: 'webhooks',
  routes: [
    notYet('webhooks', 'GET', '/v1/webhooks', 'List webhooks'),
    notYet('webhooks', 'POST', '/v1/webhooks', 'Create a webhook'),
    notYet('webhooks', 'GET', '/v1/webhooks/{name}', 'A webhook and its status'),
    notYet('webhooks', 'DELETE', '/v1/webhooks/{name}', 'Delete a webhook'),
  ],
});
