/**
 * The webhooks module of the HTTP face: the engine (webhooks.ts) and its
 * API (docs/webhooks.md, "API"):
 *
 * - `GET /v1/webhooks`: the caller's account's webhooks, with their status;
 * - `POST /v1/webhooks`: creates one in the caller's account; the caller
 *   needs subscribe permission on its subject and publish permission on
 *   its dead-letter subject; 201 with the definition, the status and the
 *   secret (generated when none is given: shown this once);
 * - `GET /v1/webhooks/{name}`: one, with its status;
 * - `DELETE /v1/webhooks/{name}`: deletes one created through the API
 *   (with its durable consumer); one of the config is 409.
 *
 * The engine runs whether or not the HTTP API listens (`http.port`): the
 * face is started for it (face.ts, `httpFace`), and deliveries need no
 * listener.
 */
import { ConfigError } from '../../../errors.js';
import type { FaceHost } from '../../face.js';
import type { HttpContext } from '../context.js';
import type { HttpModuleFactory } from '../module.js';
import type { HttpRoute, OpenApiOperation } from '../routes.js';
import { parseWebhook } from './spec.js';
import { storeNames } from './store.js';
import { WebhookError, Webhooks } from './webhooks.js';

const WEBHOOK_SCHEMA = {
  type: 'object',
  required: ['name', 'url', 'subject'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    url: { type: 'string', format: 'uri' },
    subject: { type: 'string', description: 'subject filter, wildcards allowed' },
    stream: { type: 'string', description: 'deliver at least once from this stream' },
    secret: {
      type: 'string',
      description: 'HMAC-SHA256 key of Weft-Signature; generated when absent',
    },
    concurrency: { type: 'integer', minimum: 1, maximum: 256, default: 1 },
    timeout: { type: 'string', default: '10s' },
    retry_base: { type: 'string', default: '1s' },
    retry_max: { type: 'string', default: '60s' },
    retry_after_max: { type: 'string', default: '10m' },
    max_deliver: { type: 'integer', minimum: -1, default: 10 },
    dead_letter: { type: 'string', default: '$WEFT.WEBHOOK.<name>.DEAD' },
    queue: { type: 'integer', minimum: 1, default: 1000 },
    queue_bytes: { type: ['integer', 'string'], default: 8388608 },
  },
};

const json = (description: string): Record<string, unknown> => ({
  description,
  content: { 'application/json': { schema: { type: 'object' } } },
});
const errors = (...codes: string[]): Record<string, unknown> =>
  Object.fromEntries(codes.map((c) => [c, json('error: {"error":{"code","description"}}')]));

/**
 * Whether the node has webhooks to run without the HTTP API: some in the
 * config, or some created through the API on an earlier run (their stream
 * is there, in some account's JetStream).
 */
export function runsWebhooks(host: FaceHost): boolean {
  if (host.options.webhooks.length > 0) return true;
  const store = storeNames(host.options.name).stream;
  for (const js of host.jetstream?.accounts() ?? []) if (js.streams.has(store)) return true;
  return false;
}

export const webhooksModule: HttpModuleFactory = (m) => {
  const host = m.host;
  const engine = new Webhooks(
    {
      router: host.router,
      accounts: host.accounts,
      jetstream: host.jetstream,
      health: host.health,
      log: host.log,
      node: host.options.name,
    },
    host.options.webhooks,
  );

  const fail = (ctx: HttpContext, err: unknown): void => {
    if (err instanceof WebhookError) ctx.error(err.status, err.message, { reason: err.code });
    else throw err;
  };

  const route = (
    method: HttpRoute['method'],
    path: string,
    openapi: OpenApiOperation,
    handle: HttpRoute['handle'],
  ): HttpRoute => ({ method, path, module: 'webhooks', openapi, handle });

  const routes: HttpRoute[] = [
    route(
      'GET',
      '/v1/webhooks',
      { summary: "List the account's webhooks", responses: { '200': json('{"webhooks":[…]}') } },
      (ctx) => {
        ctx.json(200, {
          webhooks: engine.list(ctx.account.name).map((w) => engine.describe(w)),
        });
      },
    ),
    route(
      'POST',
      '/v1/webhooks',
      {
        summary: 'Create a webhook in the caller account',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: WEBHOOK_SCHEMA } },
        },
        responses: {
          '201': json('the webhook, its status and its secret'),
          ...errors('400', '403', '409', '413', '500', '503'),
        },
      },
      async (ctx) => {
        const body = await ctx.bodyJson();
        if (body === null) return;
        let spec: ReturnType<typeof parseWebhook>;
        try {
          spec = parseWebhook(body.value, '', { account: ctx.account.name, allowAccount: false });
        } catch (err) {
          if (err instanceof ConfigError) {
            ctx.error(400, err.message, { field: err.key });
            return;
          }
          throw err;
        }
        if (ctx.maySubscribe(spec.subject) === null) return;
        if (!ctx.mayPublish(spec.deadLetter)) return;
        try {
          const { webhook, secret } = await engine.create(spec);
          ctx.json(201, { ...engine.describe(webhook), secret });
        } catch (err) {
          fail(ctx, err);
        }
      },
    ),
    route(
      'GET',
      '/v1/webhooks/{name}',
      {
        summary: 'A webhook and its status',
        responses: { '200': json('the webhook and its status'), ...errors('404') },
      },
      (ctx) => {
        const w = engine.get(ctx.params.name ?? '', ctx.account.name);
        if (w === undefined) ctx.error(404, `no webhook named ${ctx.params.name}`);
        else ctx.json(200, engine.describe(w));
      },
    ),
    route(
      'DELETE',
      '/v1/webhooks/{name}',
      {
        summary: 'Delete a webhook created through the API',
        responses: { '200': json('{"deleted":name}'), ...errors('404', '409') },
      },
      async (ctx) => {
        try {
          await engine.delete(ctx.params.name ?? '', ctx.account.name);
          ctx.json(200, { deleted: ctx.params.name });
        } catch (err) {
          fail(ctx, err);
        }
      },
    ),
  ];

  return {
    name: 'webhooks',
    routes,
    start: () => engine.start(),
    stop: () => engine.stop(),
    varz: () => engine.varz(),
    metrics: (registry) => engine.metrics(registry),
    reloaded: () => {
      engine.reconfigure(host.options.webhooks).catch((err: Error) => {
        host.log.error(`webhooks: applying the reloaded config failed: ${err.message}`);
      });
    },
  };
};
