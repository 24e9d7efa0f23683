/**
 * The core routes of the HTTP API (docs/http.md):
 *
 * - `POST /v1/publish/{subject}`: the body is the payload, `Nats-*` and
 *   `X-Nats-Header-*` headers become NATS headers (headers.ts). When a
 *   stream on this node captures the subject — or the request names one
 *   with `Nats-Expected-Stream` (a stream anywhere in the mesh) — the
 *   message is published with a reply subject, exactly as a NATS client's
 *   publish to a stream, and the answer is 200 with the stream's ack
 *   (`{"stream","seq","duplicate"}`) once the stream has stored it
 *   durably, or the stream's refusal (409 for a failed `Nats-Expected-*`).
 *   Otherwise it is 202 once the message is routed.
 * - `POST /v1/request/{subject}?timeout=2s`: a request; the first reply's
 *   payload and headers are the answer. 503 when nobody listens (no
 *   interest, or a no-responders status), 504 at the timeout.
 *
 * Replies are awaited on the router (inbox.ts), not a socket.
 */
import type { Message } from '../../core/message.js';
import type { Transport } from '../face.js';
import { ReplyInbox } from '../reply-inbox.js';
import {
  type CloudEventCounters,
  cloudEventCounters,
  eventHeaders,
  isBatch,
  publishBatch,
  replyHeaders,
} from './cloudevents.js';
import type { HttpContext } from './context.js';
import { natsHeadersFromHttp, readNatsHeaders } from './headers.js';
import type { HttpModuleFactory } from './module.js';
import { parseTimeout, publishSubject, REQUEST_TIMEOUT_DEFAULT_MS } from './params.js';

/** JetStream error codes of a failed expectation (`Nats-Expected-*`): answered 409 Conflict. */
const CONFLICT_ERR_CODES = new Set([10060, 10070, 10071]);

/** Counted outcomes of the core routes (`/varz` http.core, `weft_http_core_total`). */
export interface CoreCounters {
  published: number;
  stored: number;
  requests: number;
  noResponders: number;
  timeouts: number;
  rateDropped: number;
  streamErrors: number;
  /** Refused at REPLY_INBOX_WAITERS_MAX. */
  inboxFull: number;
}

/** The subject and NATS headers of a publish or request, or null when the answer (an error) was sent. */
function check(ctx: HttpContext): { subject: string; headers: Buffer | null } | null {
  const subject = publishSubject(ctx.params.subject ?? '');
  if (typeof subject !== 'string') {
    ctx.error(400, subject.why);
    return null;
  }
  const headers = natsHeadersFromHttp(ctx.req.rawHeaders);
  if (typeof headers === 'string') {
    ctx.error(400, headers);
    return null;
  }
  if (!ctx.mayPublish(subject)) return null;
  return { subject, headers };
}

/** The message of a checked request with its body, or null when the answer (an error) was sent. */
function complete(
  ctx: HttpContext,
  ce: CloudEventCounters,
  subject: string,
  plain: Buffer | null,
  payload: Buffer | null,
): Message | null {
  if (payload === null) return null;
  // A CloudEvent in the HTTP binding → the canonical form (cloudevents.ts).
  const headers = eventHeaders(ctx.req, plain, payload, ce);
  if (typeof headers === 'string') {
    ctx.error(400, headers);
    return null;
  }
  const size = payload.length + (headers === null ? 0 : headers.length);
  if (size > ctx.maxPayload) {
    ctx.error(
      413,
      `the payload and headers (${size} bytes) are over max_payload (${ctx.maxPayload} bytes)`,
    );
    return null;
  }
  return { subject, reply: '', headers, payload };
}

/** Accounts for one message in: counters, the identity's rate (false: dropped, 429 sent). */
function admit(ctx: HttpContext, msg: Message, c: CoreCounters): boolean {
  const size = msg.payload.length + (msg.headers === null ? 0 : msg.headers.length);
  const conn = ctx.conn;
  conn.inMsgs++;
  conn.inBytes += size;
  const stats = ctx.host.stats;
  stats.inMsgs++;
  stats.inBytes += size;
  const wait = ctx.who.admitMessage(size);
  if (wait === false) {
    c.rateDropped++;
    ctx.error(429, "the identity's rate limit dropped the message");
    return false;
  }
  // Keeping to the identity's rate, or behind a congested queue: this
  // connection's next request waits (backpressure, nothing held).
  const socket = ctx.req.socket as unknown as Transport;
  if (wait > 0) {
    socket.pause();
    setTimeout(() => socket.resume(), wait).unref();
  }
  if (ctx.host.congestion.active) ctx.host.congestion.stall(socket);
  return true;
}

/** Waits for the first message to a fresh reply subject, the timeout, or the client leaving. */
function awaitReply(
  ctx: HttpContext,
  inbox: ReplyInbox,
  timeoutMs: number,
  c: CoreCounters,
): { subject: string; reply: Promise<Message | 'timeout' | 'gone'>; cancel(): void } | null {
  let settle: (m: Message | 'timeout' | 'gone') => void = () => {};
  const reply = new Promise<Message | 'timeout' | 'gone'>((r) => {
    settle = r;
  });
  const box = inbox.open(ctx.account, (m) => settle(m));
  if (box === null) {
    c.inboxFull++;
    ctx.error(503, 'too many requests are waiting for replies on this node; try again');
    return null;
  }
  const timer = setTimeout(() => settle('timeout'), timeoutMs).unref();
  const gone = (): void => settle('gone');
  ctx.signal.addEventListener('abort', gone);
  const cancel = (): void => {
    clearTimeout(timer);
    box.close();
    ctx.signal.removeEventListener('abort', gone);
  };
  void reply.then(cancel);
  return { subject: box.subject, reply, cancel };
}

async function publish(
  ctx: HttpContext,
  inbox: ReplyInbox,
  c: CoreCounters,
  ce: CloudEventCounters,
): Promise<void> {
  const checked = check(ctx);
  if (checked === null) return;
  if (isBatch(ctx.req)) {
    return publishBatch(ctx, ce, checked, {
      admit: (m) => {
        if (!admit(ctx, m, c)) return false;
        c.published++;
        return true;
      },
      awaitReply: (ms) => awaitReply(ctx, inbox, ms, c),
    });
  }
  const msg = complete(ctx, ce, checked.subject, checked.headers, await ctx.body());
  if (msg === null) return;
  const timeout = parseTimeout(ctx.query.get('timeout'));
  if (typeof timeout !== 'number') {
    ctx.error(400, timeout.why);
    return;
  }
  const match = ctx.account.sublist.match(msg.subject);
  const captured =
    match.plain.some((s) => s.owner.kind === 'stream') ||
    ctx.req.headers['nats-expected-stream'] !== undefined;
  if (!admit(ctx, msg, c)) return;
  if (!captured) {
    ctx.host.router.deliver(match, msg, null);
    c.published++;
    ctx.res.writeHead(202, { 'Content-Length': 0 });
    ctx.res.end();
    return;
  }
  const wait = awaitReply(ctx, inbox, timeout, c);
  if (wait === null) return;
  const n = ctx.host.router.deliver(match, { ...msg, reply: wait.subject }, null);
  c.published++;
  if (n === 0) {
    wait.cancel();
    ctx.error(503, `no stream captures ${msg.subject}`);
    return;
  }
  const ack = await wait.reply;
  if (ack === 'gone') return;
  if (ack === 'timeout') {
    c.timeouts++;
    ctx.error(
      504,
      `no publish acknowledgement from a stream within ${timeout}ms: the message may or may not be stored`,
    );
    return;
  }
  answerAck(ctx, ack, c);
}

/** The stream's answer as the HTTP answer. */
function answerAck(ctx: HttpContext, ack: Message, c: CoreCounters): void {
  let a: {
    stream?: unknown;
    seq?: unknown;
    duplicate?: unknown;
    domain?: unknown;
    error?: { code?: unknown; err_code?: unknown; description?: unknown };
  };
  try {
    a = JSON.parse(ack.payload.toString('utf8'));
  } catch {
    const h = readNatsHeaders(ack.headers);
    if (h.status === 503) ctx.error(503, `no stream captures ${ctx.params.subject}`);
    else ctx.error(502, 'the stream answered something that is not a publish acknowledgement');
    return;
  }
  if (a.error !== undefined) {
    c.streamErrors++;
    const errCode = typeof a.error.err_code === 'number' ? a.error.err_code : 0;
    const code = typeof a.error.code === 'number' ? a.error.code : 500;
    const status = CONFLICT_ERR_CODES.has(errCode) ? 409 : code >= 400 && code < 600 ? code : 500;
    ctx.error(status, String(a.error.description ?? 'the stream refused the message'), {
      err_code: errCode,
      ...(typeof a.stream === 'string' ? { stream: a.stream } : {}),
    });
    return;
  }
  c.stored++;
  ctx.json(200, {
    stream: a.stream,
    seq: a.seq,
    duplicate: a.duplicate === true,
    ...(a.domain !== undefined ? { domain: a.domain } : {}),
  });
}

async function request(
  ctx: HttpContext,
  inbox: ReplyInbox,
  c: CoreCounters,
  ce: CloudEventCounters,
): Promise<void> {
  const checked = check(ctx);
  if (checked === null) return;
  const msg = complete(ctx, ce, checked.subject, checked.headers, await ctx.body());
  if (msg === null) return;
  const timeout = parseTimeout(ctx.query.get('timeout'));
  if (typeof timeout !== 'number') {
    ctx.error(400, timeout.why);
    return;
  }
  if (!admit(ctx, msg, c)) return;
  c.requests++;
  const wait = awaitReply(ctx, inbox, timeout, c);
  if (wait === null) return;
  const n = ctx.host.router.publish(ctx.account, { ...msg, reply: wait.subject }, null);
  if (n === 0) {
    wait.cancel();
    c.noResponders++;
    ctx.error(503, `no responders for ${msg.subject}`);
    return;
  }
  const reply = await wait.reply;
  if (reply === 'gone') return;
  if (reply === 'timeout') {
    c.timeouts++;
    ctx.error(504, `no reply within ${timeout}ms`);
    return;
  }
  const view = readNatsHeaders(reply.headers);
  if (view.status === 503 && reply.payload.length === 0) {
    c.noResponders++;
    ctx.error(503, `no responders for ${msg.subject}`);
    return;
  }
  const size = reply.payload.length + (reply.headers === null ? 0 : reply.headers.length);
  ctx.conn.outMsgs++;
  ctx.conn.outBytes += size;
  ctx.host.stats.outMsgs++;
  ctx.host.stats.outBytes += size;
  ctx.res.writeHead(200, {
    ...replyHeaders(view.headers), // Content-Type too; a CloudEvent in the HTTP binding
    'Content-Length': reply.payload.length,
  });
  ctx.res.end(reply.payload);
}

const SUBJECT_PARAM = {
  name: 'subject',
  in: 'path',
  required: true,
  description: 'a NATS subject (percent-encoded where needed); no wildcards',
  schema: { type: 'string', examples: ['orders.new'] },
};
const TIMEOUT_PARAM = {
  name: 'timeout',
  in: 'query',
  required: false,
  description: `a duration with a unit (500ms, 2s, 1m); default ${REQUEST_TIMEOUT_DEFAULT_MS}ms, at most 60s`,
  schema: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m)$' },
};
const HEADERS_NOTE =
  'Request headers named Nats-* (Nats-Msg-Id, Nats-Expected-Stream, Nats-Expected-Last-Sequence, …) become NATS headers of that name; X-Nats-Header-<Name> becomes the NATS header <Name>.';
const CE_NOTE =
  'A CloudEvent in binary mode (ce-* headers) or structured mode (application/cloudevents+json) is validated (400 says what is wrong) and carried in the NATS binding; a batch (application/cloudevents-batch+json) publishes each event as its own message and answers 200 {"results":[{id, source, status, …}]} (docs/cloudevents.md).';
const BODY = {
  required: false,
  content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
};
const ERR = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };

export const publishModule: HttpModuleFactory = () => {
  const inbox = new ReplyInbox();
  const c: CoreCounters = {
    published: 0,
    stored: 0,
    requests: 0,
    noResponders: 0,
    timeouts: 0,
    rateDropped: 0,
    streamErrors: 0,
    inboxFull: 0,
  };
  const ce = cloudEventCounters();
  return {
    name: 'core',
    routes: [
      {
        method: 'POST',
        path: '/v1/publish/{subject}',
        module: 'core',
        openapi: {
          summary: 'Publish a message',
          description: `The body is the payload. ${HEADERS_NOTE} When a stream captures the subject (on this node, or anywhere when Nats-Expected-Stream is sent), the answer waits for the stream to store it durably. ${CE_NOTE}`,
          parameters: [
            SUBJECT_PARAM,
            {
              ...TIMEOUT_PARAM,
              description: `how long to wait for a stream's acknowledgement; ${TIMEOUT_PARAM.description}`,
            },
          ],
          requestBody: BODY,
          responses: {
            '200': {
              description: 'stored by a stream: its acknowledgement',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['stream', 'seq', 'duplicate'],
                    properties: {
                      stream: { type: 'string' },
                      seq: { type: 'integer' },
                      duplicate: { type: 'boolean' },
                    },
                  },
                },
              },
            },
            '202': { description: 'routed (no stream captures the subject)' },
            '400': { description: 'bad subject, header or timeout', ...ERR },
            '409': { description: 'a Nats-Expected-* header does not hold', ...ERR },
            '413': { description: 'over max_payload', ...ERR },
            '503': {
              description: 'Nats-Expected-Stream sent and no stream captures the subject',
              ...ERR,
            },
            '504': { description: "no stream's acknowledgement within the timeout", ...ERR },
          },
        },
        handle: (ctx) => publish(ctx, inbox, c, ce),
      },
      {
        method: 'POST',
        path: '/v1/request/{subject}',
        module: 'core',
        openapi: {
          summary: 'Send a request and answer with the first reply',
          description: `The body is the payload. ${HEADERS_NOTE} The reply's payload is the response body; its NATS headers come back as Nats-* headers as they are, others as X-Nats-Header-<Name>.`,
          parameters: [SUBJECT_PARAM, TIMEOUT_PARAM],
          requestBody: BODY,
          responses: {
            '200': {
              description: "the reply's payload",
              content: {
                'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
              },
            },
            '400': { description: 'bad subject, header or timeout', ...ERR },
            '413': { description: 'over max_payload', ...ERR },
            '503': { description: 'no responders', ...ERR },
            '504': { description: 'no reply within the timeout', ...ERR },
          },
        },
        handle: (ctx) => request(ctx, inbox, c, ce),
      },
    ],
    stop: async () => inbox.stop(),
    varz: () => ({ ...c, waiting: inbox.size, cloudevents: ce }),
  };
};
