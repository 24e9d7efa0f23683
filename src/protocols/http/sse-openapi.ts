/** The OpenAPI operation of `GET /v1/subscribe/{subject}` (docs/http.md, "Server-Sent Events"). */
import type { OpenApiOperation } from './routes.js';

const ERR = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };

const query = (name: string, description: string, schema: Record<string, unknown>) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

export const SUBSCRIBE_OPENAPI: OpenApiOperation = {
  summary: 'Subscribe as Server-Sent Events',
  description:
    'Each message is an event: `event:` its subject, `data:` its payload (format=text: UTF-8 text as is, ' +
    'one data line per line; any other payload as `base64:` and its base64) or a JSON envelope with its ' +
    'headers (format=json), `id:` its stream sequence when read through a stream. `: hb` comments keep ' +
    'an idle stream alive. With `stream`, the stream is replayed from `start` (or after Last-Event-ID) ' +
    'and live messages follow with no gap and no duplicate.',
  parameters: [
    {
      name: 'subject',
      in: 'path',
      required: true,
      description:
        'a NATS subject; wildcards * and > allowed (percent-encode > as %3E where needed)',
      schema: { type: 'string', examples: ['orders.>'] },
    },
    query('queue', 'a queue group (live only): each message goes to one member', {
      type: 'string',
    }),
    query('format', 'text (default) or json', { type: 'string', enum: ['text', 'json'] }),
    query('stream', 'read through this stream (on this node): replay, then live', {
      type: 'string',
    }),
    query('start', 'with stream: first, new (default), last, a sequence or an RFC 3339 time', {
      type: 'string',
      examples: ['first', '42', '2024-05-01T10:00:00Z'],
    }),
    {
      name: 'Last-Event-ID',
      in: 'header',
      required: false,
      description: 'with stream: resume after this stream sequence (wins over start)',
      schema: { type: 'string' },
    },
  ],
  responses: {
    '200': {
      description: 'the event stream, until the client leaves or the node closes it',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    },
    '400': { description: 'bad subject, parameter or Last-Event-ID', ...ERR },
    '403': { description: 'the subscription is not permitted', ...ERR },
    '404': { description: 'no such stream', ...ERR },
    '409': { description: 'the stream lives on another node', ...ERR },
    '429': { description: 'http.sse_max_per_identity or max_subscriptions reached', ...ERR },
    '503': {
      description: 'http.sse_max_streams reached, or JetStream off for the account',
      ...ERR,
    },
  },
};
