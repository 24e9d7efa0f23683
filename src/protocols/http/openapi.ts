/**
 * `GET /v1/openapi.json`: the OpenAPI 3.1 document of the HTTP API, built
 * from the face's route table — each route's own `openapi` operation,
 * with its path parameters, its security and the error schema added — so
 * it lists exactly what is served (a test calls every path and method in
 * it). Public: it needs no login.
 */
import { VERSION } from '../../version.js';
import { sendJson } from './context.js';
import type { HttpModuleFactory } from './module.js';
import type { HttpRoute, OpenApiOperation } from './routes.js';

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** The error responses every logged-in route may give. */
const AUTH_ERRORS = {
  '401': {
    description: 'no or wrong credentials (`WWW-Authenticate` names Basic and Bearer)',
    content: { 'application/json': { schema: ERROR_REF } },
  },
  '403': {
    description:
      "the identity's permissions refuse it (nats-server's Permissions Violation text); or a write from a browser page of an origin not in http.allowed_origins (docs/http.md, Browsers and CORS)",
    content: { 'application/json': { schema: ERROR_REF } },
  },
};

/** The OpenAPI document of `routes`. */
export function openApiDocument(routes: readonly HttpRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, OpenApiOperation>> = {};
  for (const r of routes) {
    const item = paths[r.path] ?? {};
    paths[r.path] = item;
    item[r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Weft HTTP API',
      version: VERSION,
      description:
        'Publish, request, subscribe (Server-Sent Events) and webhooks over HTTP (docs/http.md).',
    },
    paths,
    components: {
      securitySchemes: {
        basic: { type: 'http', scheme: 'basic' },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'a token (authorization.token) or a user JWT',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'description'],
              properties: {
                code: { type: 'integer', description: 'the HTTP status' },
                description: { type: 'string' },
                err_code: {
                  type: 'integer',
                  description: "JetStream's error code, when a stream refused",
                },
              },
            },
          },
        },
      },
    },
  };
}

function operation(r: HttpRoute): OpenApiOperation {
  const op: OpenApiOperation = { tags: [r.module], ...r.openapi };
  const params = [...((op.parameters as Record<string, unknown>[] | undefined) ?? [])];
  for (const m of r.path.matchAll(/\{([^}]+)\}/g)) {
    const name = m[1]!;
    if (params.some((p) => p.in === 'path' && p.name === name)) continue;
    params.push({ name, in: 'path', required: true, schema: { type: 'string' } });
  }
  if (params.length > 0) op.parameters = params;
  const auth = r.auth !== false;
  op.security = auth ? [{}, { basic: [] }, { bearer: [] }] : [];
  const responses = { ...((op.responses as Record<string, unknown> | undefined) ?? {}) };
  if (auth) {
    for (const [k, v] of Object.entries(AUTH_ERRORS)) responses[k] ??= v;
  }
  responses.default ??= {
    description: 'an error',
    content: { 'application/json': { schema: ERROR_REF } },
  };
  op.responses = responses;
  return op;
}

export const openApiModule: HttpModuleFactory = (m) => {
  let cached: string | null = null;
  return {
    name: 'openapi',
    routes: [
      {
        method: 'GET',
        path: '/v1/openapi.json',
        module: 'openapi',
        auth: false,
        openapi: {
          summary: 'This document (OpenAPI 3.1)',
          responses: {
            '200': {
              description: 'the OpenAPI document',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        },
        handle: (ctx) => {
          cached ??= JSON.stringify(openApiDocument(m.routes()));
          sendJson(ctx.res, 200, cached);
        },
      },
    ],
  };
};
