/**
 * What a `GET /v1/subscribe/{subject}` asks for, read from its path, query
 * and `Last-Event-ID` header; pure (no socket, no core). A request that
 * cannot be served gets a precise reason (answered 400).
 *
 * - `{subject}`: wildcards `*` and `>` allowed.
 * - `?queue=`: a queue group (live subscriptions only).
 * - `?format=text|json`: the event data (sse-event.ts).
 * - `?stream=NAME`: read through the stream instead of live; `?start=`
 *   where to begin: `new` (the default: what is stored from now on),
 *   `first`, `last` (the last message on the subject, then what follows),
 *   a stream sequence, or an RFC 3339 time.
 * - `Last-Event-ID: <seq>`: resume after that stream sequence (an
 *   EventSource reconnecting sends it by itself); it wins over `start`.
 *   Without `stream` it means nothing and is ignored.
 */
import { classifySubject, isValidQueueName } from '../../core/subject.js';
import { isValidStreamName } from '../../streams/stream-config.js';
import type { SseFormat } from './sse-event.js';

/** Where a stream-backed subscription begins, as a consumer's deliver policy. */
export type SseStart =
  | { policy: 'all' | 'new' | 'last' }
  | { policy: 'by_start_sequence'; seq: number }
  | { policy: 'by_start_time'; time: string };

export interface SseRequest {
  readonly subject: string;
  readonly queue: string;
  readonly format: SseFormat;
  /** The stream to read through, '' for live messages only. */
  readonly stream: string;
  readonly start: SseStart;
}

export type SseRequestResult = { ok: true; req: SseRequest } | { ok: false; why: string };

/** RFC 3339 date-time (section 5.6), with a required offset. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DECIMAL = /^\d{1,16}$/;

/**
 * Reads a request: `subject` from the path (percent-decoded by the route table),
 * `query` its search parameters, `lastEventId` the header (undefined: none).
 */
export function parseSseRequest(
  subject: string,
  query: URLSearchParams,
  lastEventId: string | undefined,
): SseRequestResult {
  if (classifySubject(subject) === 'invalid') {
    return { ok: false, why: `invalid subject ${JSON.stringify(subject)}` };
  }
  const queue = query.get('queue') ?? '';
  if (query.has('queue') && !isValidQueueName(queue)) {
    return { ok: false, why: `invalid queue group ${JSON.stringify(queue)}` };
  }
  const format = query.get('format') ?? 'text';
  if (format !== 'text' && format !== 'json') {
    return { ok: false, why: `format must be text or json, not ${JSON.stringify(format)}` };
  }
  const stream = query.get('stream') ?? '';
  const rawStart = query.get('start');
  if (stream === '') {
    if (query.has('stream')) return { ok: false, why: 'stream must name a stream' };
    if (rawStart !== null) return { ok: false, why: 'start needs a stream (?stream=NAME)' };
    return { ok: true, req: { subject, queue, format, stream, start: { policy: 'new' } } };
  }
  if (!isValidStreamName(stream)) {
    return { ok: false, why: `invalid stream name ${JSON.stringify(stream)}` };
  }
  if (queue !== '') return { ok: false, why: 'queue cannot be used with stream' };
  let start: SseStart;
  const id = lastEventId?.trim();
  if (id !== undefined && id !== '') {
    if (!DECIMAL.test(id)) {
      return {
        ok: false,
        why: `Last-Event-ID must be a stream sequence, not ${JSON.stringify(id)}`,
      };
    }
    start = { policy: 'by_start_sequence', seq: Number(id) + 1 };
  } else {
    const s = parseStart(rawStart ?? 'new');
    if (s === null) {
      return {
        ok: false,
        why: `start must be first, new, last, a stream sequence or an RFC 3339 time, not ${JSON.stringify(rawStart)}`,
      };
    }
    start = s;
  }
  return { ok: true, req: { subject, queue, format, stream, start } };
}

function parseStart(s: string): SseStart | null {
  switch (s) {
    case 'first':
      return { policy: 'all' };
    case 'new':
      return { policy: 'new' };
    case 'last':
      return { policy: 'last' };
  }
  if (DECIMAL.test(s)) {
    const seq = Number(s);
    return seq === 0 ? { policy: 'all' } : { policy: 'by_start_sequence', seq };
  }
  if (RFC3339.test(s) && !Number.isNaN(Date.parse(s))) {
    return { policy: 'by_start_time', time: new Date(Date.parse(s)).toISOString() };
  }
  return null;
}
