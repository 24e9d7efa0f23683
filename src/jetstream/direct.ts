/**
 * Direct get, as nats-server 2.9 serves it for streams with `allow_direct`
 * (what KV's `get` uses): the answer is the stored message itself, not JSON.
 *
 * - `$JS.API.DIRECT.GET.<stream>` with a JSON body `{seq}`, `{last_by_subj}`
 *   or `{next_by_subj[, seq]}`;
 * - `$JS.API.DIRECT.GET.<stream>.<subject…>` with an empty body: the last
 *   message on that subject.
 *
 * The reply carries the message's payload and its headers plus
 * `Nats-Stream`, `Nats-Subject`, `Nats-Sequence` and `Nats-Time-Stamp`; or a
 * status: `404 Message Not Found`, `408 Empty Request`, `408 Malformed
 * Request`, `408 Bad Request`. nats-server subscribes only for streams that
 * allow direct gets, so a request for any other stream meets no responders:
 * Weft answers it with the same 503 status.
 */
import type { Message, Subscriber } from '../core/message.js';
import type { StoredMessage } from '../streams/store.js';
import { appendHeaders, rfc3339Nano } from './consumer-wire.js';
import type { AccountJetStream } from './service.js';
import { API_PREFIX } from './shapes.js';

export const DIRECT_GET = `${API_PREFIX}DIRECT.GET.`;

const EMPTY = Buffer.alloc(0);
const status = (text: string): Buffer => Buffer.from(`NATS/1.0 ${text}\r\n\r\n`, 'latin1');
const NO_RESPONDERS = status('503');
const NOT_FOUND = status('404 Message Not Found');
const EMPTY_REQUEST = status('408 Empty Request');
const MALFORMED = status('408 Malformed Request');
const BAD_REQUEST = status('408 Bad Request');

interface GetRequest {
  seq: number;
  last: string;
  next: string;
}

/** Answers one direct get on `subject` (which starts with DIRECT_GET) to `reply`. */
export function directGet(
  js: AccountJetStream,
  subject: string,
  reply: string,
  payload: Buffer,
  origin: Subscriber,
): void {
  if (reply === '') return;
  const send = (headers: Buffer, body: Buffer = EMPTY): void => {
    const msg: Message = { subject: reply, reply: '', headers, payload: body };
    js.host.router.publish(js.account, msg, origin);
  };
  const rest = subject.slice(DIRECT_GET.length);
  const dot = rest.indexOf('.');
  const name = dot < 0 ? rest : rest.slice(0, dot);
  const cs = js.streams.get(name);
  if (cs === undefined || !cs.stream.config.allow_direct) {
    send(NO_RESPONDERS);
    return;
  }
  let req: GetRequest | Buffer;
  if (dot >= 0) {
    // The subject form: last by the subject after the stream name, no body.
    const key = rest.slice(dot + 1);
    req = payload.length !== 0 || key === '' ? BAD_REQUEST : { seq: 0, last: key, next: '' };
  } else {
    req = parseRequest(payload);
  }
  if (Buffer.isBuffer(req)) {
    send(req);
    return;
  }
  const store = cs.stream.messages;
  let found: Promise<StoredMessage | null>;
  if (req.seq > 0 && req.next === '') found = store.get(req.seq);
  else if (req.next !== '') found = store.next(req.seq, req.next);
  else found = store.lastBySubject(req.last);
  found.then(
    (m) => {
      if (m === null) {
        send(NOT_FOUND);
        return;
      }
      const headers = appendHeaders(m.headers, {
        'Nats-Stream': name,
        'Nats-Subject': m.subject,
        'Nats-Sequence': m.seq,
        'Nats-Time-Stamp': rfc3339Nano(m.time),
      });
      send(headers, m.payload);
    },
    (err: unknown) => {
      // A store failure is logged; the requester sees what nats-server sends on a failed load.
      js.host.log.error(`direct get on ${name}: ${String(err)}`);
      send(NOT_FOUND);
    },
  );
}

/**
 * The JSON body `{seq, last_by_subj, next_by_subj}` as nats-server reads it
 * into its request struct (a wrong type is malformed, unknown fields are
 * ignored), or the status that refuses it.
 */
function parseRequest(payload: Buffer): GetRequest | Buffer {
  if (payload.length === 0) return EMPTY_REQUEST;
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    return MALFORMED;
  }
  if (v === null) return EMPTY_REQUEST;
  if (typeof v !== 'object' || Array.isArray(v)) return MALFORMED;
  const b = v as Record<string, unknown>;
  const seq = b.seq ?? 0;
  const last = b.last_by_subj ?? '';
  const next = b.next_by_subj ?? '';
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return MALFORMED;
  if (typeof last !== 'string' || typeof next !== 'string') return MALFORMED;
  if (seq === 0 && last === '' && next === '') return EMPTY_REQUEST;
  if ((seq > 0 && last !== '') || (last !== '' && next !== '')) return BAD_REQUEST;
  return { seq, last, next };
}
