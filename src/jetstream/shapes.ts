/**
 * The JSON shapes of JetStream API responses, as nats-server 2.9 writes
 * them: response types, stream info and state, stored messages, PubAcks.
 */
import type { StoredMessage } from '../streams/store.js';
import type { Stream } from '../streams/stream.js';
import type { StreamApiError } from '../streams/stream-errors.js';
import { consumerCount } from './consumers.js';

export const API_PREFIX = '$JS.API.';

export const T = {
  accountInfo: 'io.nats.jetstream.api.v1.account_info_response',
  create: 'io.nats.jetstream.api.v1.stream_create_response',
  update: 'io.nats.jetstream.api.v1.stream_update_response',
  info: 'io.nats.jetstream.api.v1.stream_info_response',
  names: 'io.nats.jetstream.api.v1.stream_names_response',
  list: 'io.nats.jetstream.api.v1.stream_list_response',
  del: 'io.nats.jetstream.api.v1.stream_delete_response',
  purge: 'io.nats.jetstream.api.v1.stream_purge_response',
  msgGet: 'io.nats.jetstream.api.v1.stream_msg_get_response',
  msgDelete: 'io.nats.jetstream.api.v1.stream_msg_delete_response',
  error: 'io.nats.jetstream.api.v1.error_response',
} as const;

/** Go's zero time, which nats-server writes for "never". */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function ts(ms: number): string {
  return new Date(ms).toISOString();
}

export function streamState(stream: Stream): Record<string, unknown> {
  const st = stream.state();
  const never = st.lastSeq === 0;
  const empty = st.messages === 0;
  const out: Record<string, unknown> = {
    messages: st.messages,
    bytes: st.bytes,
    first_seq: never ? 0 : st.firstSeq,
    first_ts: never ? ZERO_TIME : empty ? ts(0).replace('.000', '') : ts(st.firstTime),
    last_seq: st.lastSeq,
    last_ts: never ? ZERO_TIME : ts(st.lastTime),
  };
  if (st.subjects > 0) out.num_subjects = st.subjects;
  out.consumer_count = consumerCount(stream);
  return out;
}

export function streamInfo(stream: Stream): Record<string, unknown> {
  return {
    config: stream.config,
    created: stream.created.toISOString(),
    state: streamState(stream),
  };
}

export function storedMessage(m: StoredMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { subject: m.subject, seq: m.seq };
  if (m.headers !== null && m.headers.length > 0) out.hdrs = m.headers.toString('base64');
  if (m.payload.length > 0) out.data = m.payload.toString('base64');
  out.time = ts(m.time);
  return out;
}

export function errorResponse(
  type: string,
  err: StreamApiError,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { type, error: err.toJSON(), ...extra };
}

/** The last stream name `pubAck` quoted, and its JSON (one stream takes most publishes). */
let ackName = '';
let ackNameJson = '""';

/** A publish ack, `{"stream":…,"seq":…}`: built by hand, as it is one per stored message. */
export function pubAck(stream: string, seq: number, duplicate: boolean): string {
  if (stream !== ackName) {
    ackName = stream;
    ackNameJson = JSON.stringify(stream);
  }
  return duplicate
    ? `{"stream":${ackNameJson},"seq":${seq},"duplicate":true}`
    : `{"stream":${ackNameJson},"seq":${seq}}`;
}

export function pubAckError(stream: string, err: StreamApiError): string {
  return JSON.stringify({ error: err.toJSON(), stream, seq: 0 });
}
