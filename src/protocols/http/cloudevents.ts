/**
 * The HTTP face's CloudEvents edge (docs/cloudevents.md): the HTTP binding
 * to and from the canonical form (NATS binding: `ce-*` headers), with the
 * pure rules of ../cloudevents.ts.
 *
 * - Binary mode (a request with `ce-specversion`): its `ce-*` headers become
 *   NATS headers as they are (both bindings percent-encode alike), its
 *   Content-Type `ce-datacontenttype`; the body is the data. Validated: an
 *   invalid event is answered 400 with what is wrong.
 * - Structured mode (`Content-Type: application/cloudevents+json`): the body
 *   passes as it is, with that Content-Type as a NATS header; a JSON event
 *   is validated (400). Other event formats pass unvalidated.
 * - Batch mode (`application/cloudevents-batch+json`, publish only): every
 *   event is validated first (one invalid: 400, nothing published), then
 *   each is published in order as its own message in structured mode, and
 *   the answer lists each event's outcome.
 * - A reply that is a binary-mode event goes back as HTTP binary mode
 *   (`ce-*` headers, Content-Type from `datacontenttype`), a structured one
 *   with its Content-Type.
 *
 * Non-events (no `ce-specversion`, no CloudEvents Content-Type) are never touched.
 */
import type { IncomingMessage } from 'node:http';
import type { Message } from '../../core/message.js';
import {
  canonicalFromHttp,
  contentMode,
  type HeaderList,
  headerBlock,
  headerPairs,
  httpFromCanonical,
  parseStructured,
  splitBatch,
  structuredBytes,
} from '../cloudevents.js';
import type { HttpContext } from './context.js';
import { httpHeadersFromNats } from './headers.js';
import { parseTimeout } from './params.js';

/** Most events one batch request may hold; past it the request is answered 413 and counted (`batchTooLarge`). */
export const CE_BATCH_MAX = 1000;

/** Counted in `/varz` http.core.cloudevents. */
export interface CloudEventCounters {
  binary: number;
  structured: number;
  batches: number;
  batchEvents: number;
  /** Requests refused 400 for an invalid event. */
  invalid: number;
  /** Batches over CE_BATCH_MAX. */
  batchTooLarge: number;
}

export function cloudEventCounters(): CloudEventCounters {
  return { binary: 0, structured: 0, batches: 0, batchEvents: 0, invalid: 0, batchTooLarge: 0 };
}

function rawPairs(raw: readonly string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

function contentType(req: IncomingMessage): string | undefined {
  const ct = req.headers['content-type'];
  return typeof ct === 'string' ? ct : undefined;
}

/** A batch request (answered by `publishBatch`). */
export function isBatch(req: IncomingMessage): boolean {
  return contentMode(contentType(req)) === 'batch';
}

/**
 * The NATS header block of a request's message once its CloudEvent (if
 * any) is in the canonical form: `headers` (from natsHeadersFromHttp) with
 * the event's headers added. A string says why the event is refused (400).
 */
export function eventHeaders(
  req: IncomingMessage,
  headers: Buffer | null,
  payload: Buffer,
  c: CloudEventCounters,
): Buffer | null | string {
  const ct = contentType(req);
  const mode = contentMode(ct);
  if (mode === 'batch') {
    c.invalid++;
    return `a CloudEvents batch (${ct}) can only be published (POST /v1/publish/{subject})`;
  }
  if (mode === 'structured') {
    if (/\+json$/.test(ct!.split(';')[0]!.trim().toLowerCase())) {
      const parsed = parseStructured(payload);
      if ('error' in parsed) {
        c.invalid++;
        return `invalid CloudEvent (structured mode): ${parsed.error}`;
      }
    }
    c.structured++;
    return headerBlock([...headerPairs(headers), ['Content-Type', ct!]]);
  }
  const event = canonicalFromHttp(rawPairs(req.rawHeaders));
  if (event === null) return headers;
  if (event.problem !== null) {
    c.invalid++;
    return `invalid CloudEvent (binary mode): ${event.problem}`;
  }
  c.binary++;
  return headerBlock([...headerPairs(headers), ...event.headers]);
}

/**
 * The HTTP headers of a reply: a binary-mode event's `ce-*` headers as they
 * are and its `datacontenttype` as the Content-Type; a structured event's
 * Content-Type; else application/octet-stream. Other NATS headers as
 * httpHeadersFromNats maps them.
 */
export function replyHeaders(
  headers: readonly (readonly [string, string])[],
): Record<string, string | string[]> {
  const list = headers as HeaderList;
  const binary = httpFromCanonical(list);
  if (binary !== null) {
    const rest = list.filter(([k]) => {
      const lk = k.toLowerCase();
      return !lk.startsWith('ce-') && lk !== 'content-type';
    });
    const out: Record<string, string | string[]> = httpHeadersFromNats(rest);
    out['Content-Type'] = 'application/octet-stream';
    for (const [k, v] of binary) {
      if (k === 'content-type') out['Content-Type'] = v;
      else out[k] = v;
    }
    return out;
  }
  const ct = list.find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  if (contentMode(ct) !== null) {
    const rest = list.filter(([k]) => k.toLowerCase() !== 'content-type');
    return { ...httpHeadersFromNats(rest), 'Content-Type': ct! };
  }
  return { ...httpHeadersFromNats(list), 'Content-Type': 'application/octet-stream' };
}

/** What publish.ts lends a batch: its accounting and its wait for a reply. */
export interface BatchTools {
  /** Counts one message in and applies the identity's rate (false: the answer, 429, was sent). */
  admit(msg: Message): boolean;
  /** A fresh reply subject and its first message (null: the answer, 503, was sent). */
  awaitReply(
    timeoutMs: number,
  ): { subject: string; reply: Promise<Message | 'timeout' | 'gone'>; cancel(): void } | null;
}

/** One event's outcome, as the batch answer lists it. */
export type BatchOutcome =
  | { status: 202 }
  | { status: 200; stream: unknown; seq: unknown; duplicate: boolean }
  | { status: number; error: { code: number; description: string } };

function failed(status: number, description: string): BatchOutcome {
  return { status, error: { code: status, description } };
}

/**
 * Publishes one message as the publish route does: routed (202) when no
 * stream on this node captures the subject, else with a reply subject and
 * the stream's acknowledgement (200) or refusal. Null: the answer was sent.
 */
async function publishOne(
  ctx: HttpContext,
  msg: Message,
  tools: BatchTools,
  timeoutMs: number,
): Promise<BatchOutcome | null> {
  const match = ctx.account.sublist.match(msg.subject);
  if (!match.plain.some((s) => s.owner.kind === 'stream')) {
    ctx.host.router.deliver(match, msg, null);
    return { status: 202 };
  }
  const wait = tools.awaitReply(timeoutMs);
  if (wait === null) return null;
  if (ctx.host.router.deliver(match, { ...msg, reply: wait.subject }, null) === 0) {
    wait.cancel();
    return failed(503, `no stream captures ${msg.subject}`);
  }
  const ack = await wait.reply;
  if (ack === 'gone') return null;
  if (ack === 'timeout')
    return failed(504, `no publish acknowledgement from a stream within ${timeoutMs}ms`);
  try {
    const a = JSON.parse(ack.payload.toString('utf8')) as {
      stream?: unknown;
      seq?: unknown;
      duplicate?: unknown;
      error?: { code?: unknown; description?: unknown };
    };
    if (a.error !== undefined) {
      const code = typeof a.error.code === 'number' ? a.error.code : 500;
      return failed(code, String(a.error.description ?? 'the stream refused the message'));
    }
    return { status: 200, stream: a.stream, seq: a.seq, duplicate: a.duplicate === true };
  } catch {
    return failed(502, 'the stream answered something that is not a publish acknowledgement');
  }
}

/**
 * `POST /v1/publish/{subject}` with a batch: each event validated, then
 * published in order as its own structured-mode message; the answer is 200
 * `{"results":[{id, source, status, …}]}` (202: routed; 200 with the
 * stream's ack; an error per event), or 400 naming the first invalid event
 * with nothing published.
 */
export async function publishBatch(
  ctx: HttpContext,
  c: CloudEventCounters,
  checked: { subject: string; headers: Buffer | null },
  tools: BatchTools,
): Promise<void> {
  const { subject, headers } = checked;
  const timeout = parseTimeout(ctx.query.get('timeout'));
  if (typeof timeout !== 'number') {
    ctx.error(400, timeout.why);
    return;
  }
  const carried = headerPairs(headers);
  if (carried.some(([k]) => k.toLowerCase() === 'nats-msg-id')) {
    c.invalid++;
    ctx.error(400, 'Nats-Msg-Id names one message; a CloudEvents batch publishes several');
    return;
  }
  const body = await ctx.body();
  if (body === null) return;
  const batch = splitBatch(body, CE_BATCH_MAX);
  if ('error' in batch) {
    const tooMany = batch.error.startsWith('a batch holds');
    if (tooMany) c.batchTooLarge++;
    else c.invalid++;
    ctx.error(tooMany ? 413 : 400, `invalid CloudEvents batch: ${batch.error}`);
    return;
  }
  const bad = batch.items.find((i) => 'error' in i);
  if (bad !== undefined && 'error' in bad) {
    c.invalid++;
    ctx.error(400, `invalid CloudEvents batch: ${bad.error}; nothing was published`);
    return;
  }
  c.batches++;
  const block = headerBlock([...carried, ['Content-Type', 'application/cloudevents+json']]);
  const results: Record<string, unknown>[] = [];
  for (const item of batch.items) {
    const event = (item as { event: Record<string, unknown> }).event;
    const msg: Message = { subject, reply: '', headers: block, payload: structuredBytes(event) };
    if (!tools.admit(msg)) return; // 429 sent: the rest is not published
    c.batchEvents++;
    const outcome = await publishOne(ctx, msg, tools, timeout);
    if (outcome === null || ctx.signal.aborted) return;
    results.push({ id: event.id, source: event.source, ...outcome });
  }
  ctx.json(200, { results });
}
