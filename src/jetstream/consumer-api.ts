/**
 * The `$JS.API.CONSUMER.…` endpoints, in nats-server 2.9's shapes:
 * `CREATE.<stream>` (ephemeral), `CREATE.<stream>.<name>[.<filter>]` (the
 * 2.9 form), `DURABLE.CREATE.<stream>.<durable>` (the older form, which
 * clients use with servers they take for older than 2.9), `INFO`, `NAMES`,
 * `LIST`, `DELETE`, and `MSG.NEXT` (a pull request, answered with messages
 * rather than JSON).
 */
import { hasPathSeparator, NameErr } from '../streams/names.js';
import { JsErr } from '../streams/stream-errors.js';
import { ConsumerErr, normalizeConsumerConfig } from './consumer-config.js';
import type { StreamConsumers } from './consumers.js';

export const CT = {
  create: 'io.nats.jetstream.api.v1.consumer_create_response',
  info: 'io.nats.jetstream.api.v1.consumer_info_response',
  names: 'io.nats.jetstream.api.v1.consumer_names_response',
  list: 'io.nats.jetstream.api.v1.consumer_list_response',
  del: 'io.nats.jetstream.api.v1.consumer_delete_response',
} as const;

const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;

type Reply = Record<string, unknown>;

/** Finds a stream's consumers by stream name (throws stream not found). */
export type ConsumersOf = (stream: string) => StreamConsumers;

/** The response type of a `CONSUMER.…` request (tokens after `CONSUMER.`). */
export function consumerResponseType(tokens: readonly string[]): string {
  switch (tokens[0]) {
    case 'CREATE':
    case 'DURABLE':
      return CT.create;
    case 'INFO':
      return CT.info;
    case 'NAMES':
      return CT.names;
    case 'LIST':
      return CT.list;
    case 'DELETE':
      return CT.del;
    default:
      return 'io.nats.jetstream.api.v1.error_response';
  }
}

function parse(payload: Buffer, emptyOk: boolean): Record<string, unknown> {
  if (payload.length === 0) {
    if (emptyOk) return {};
    throw JsErr.InvalidJson();
  }
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw JsErr.InvalidJson();
}

/** Handles a JSON `CONSUMER.…` request (tokens after `CONSUMER.`); not `MSG.NEXT`. */
export async function consumerRequest(
  tokens: readonly string[],
  payload: Buffer,
  of: ConsumersOf,
): Promise<Reply> {
  const op = tokens[0];
  if (op === 'CREATE' || op === 'DURABLE') {
    const at = op === 'DURABLE' ? 2 : 1;
    if (op === 'DURABLE' && tokens[1] !== 'CREATE') throw JsErr.UnknownApi(tokens.join('.'));
    const stream = tokens[at] ?? '';
    const name = tokens[at + 1];
    const filter = tokens.length > at + 2 ? tokens.slice(at + 2).join('.') : undefined;
    const body = parse(payload, false);
    if (body.stream_name !== undefined && body.stream_name !== stream) {
      throw JsErr.StreamNameMismatch();
    }
    // As nats-server, before the body's checks: a name that would be a path.
    if (name !== undefined && hasPathSeparator(name)) throw NameErr.ConsumerPathSeparators();
    const raw = { ...((body.config ?? {}) as Record<string, unknown>) };
    if (name === undefined && raw.durable_name !== undefined && raw.durable_name !== '') {
      // `CREATE.<stream>` makes ephemerals only (the durable forms name it in the subject).
      throw ConsumerErr.EphemeralWithDurable();
    }
    if (op === 'DURABLE') {
      if (name === undefined || name === '') throw ConsumerErr.InvalidName();
      if (raw.durable_name === undefined || raw.durable_name === '') raw.durable_name = name;
      else if (raw.durable_name !== name) throw ConsumerErr.DurableNameMismatch();
    } else if (name !== undefined) {
      const given = raw.name ?? raw.durable_name;
      if (given !== undefined && given !== '' && given !== name) {
        throw ConsumerErr.DurableNameMismatch();
      }
      if (raw.name === undefined || raw.name === '') raw.name = name;
      if (filter !== undefined && raw.filter_subject !== filter) {
        throw ConsumerErr.Invalid(
          'consumer filter subject does not match the subject of the request',
        );
      }
    }
    const durable = raw.durable_name !== undefined && raw.durable_name !== '';
    const config = normalizeConsumerConfig(raw, durable);
    const consumers = of(stream);
    const { consumer } = await consumers.add(config);
    return consumer.info();
  }
  const stream = tokens[1] ?? '';
  switch (op) {
    case 'INFO':
      return of(stream)
        .get(tokens[2] ?? '')
        .info();
    case 'DELETE':
      await of(stream).delete(tokens[2] ?? '');
      return { success: true };
    case 'NAMES':
    case 'LIST': {
      const body = parse(payload, true);
      const offset = typeof body.offset === 'number' && body.offset > 0 ? body.offset : 0;
      const all = [...of(stream).byName.values()].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
      if (op === 'NAMES') {
        const page = all.slice(offset, offset + NAMES_LIMIT).map((c) => c.name);
        return { total: all.length, offset, limit: NAMES_LIMIT, consumers: page };
      }
      const page = await Promise.all(all.slice(offset, offset + LIST_LIMIT).map((c) => c.info()));
      return { total: all.length, offset, limit: LIST_LIMIT, consumers: page };
    }
    default:
      throw JsErr.UnknownApi(`CONSUMER.${tokens.join('.')}`);
  }
}
