/**
 * The JetStream API face: JSON requests on `$JS.API.…`, answered on the
 * request's reply subject in the shapes nats-server 2.9 uses. Requests of
 * one account are handled one at a time, in arrival order, so a create
 * followed by an info sees the stream.
 */
import type { Message, Subscriber, Subscription } from '../core/message.js';
import { NameErr } from '../streams/names.js';
import type { StoredMessage } from '../streams/store.js';
import {
  normalizeConfig,
  type StreamConfig,
  sameConfig,
  subjectsOverlap,
  updateError,
} from '../streams/stream-config.js';
import {
  internalDetail,
  internalError,
  JsErr,
  type StreamApiError,
} from '../streams/stream-errors.js';
import { LIMIT_OF_ERR_CODE, limitsInfo, streamLimitError } from './account-limits.js';
import { consumerRequest, consumerResponseType } from './consumer-api.js';
import { DIRECT_GET, directGet } from './direct.js';
import { API_QUEUE, apiStreamName, OWNER_QUEUE, streamApiSubjects } from './routing.js';
import type { AccountJetStream, CapturedStream } from './service.js';
import { API_PREFIX, errorResponse, storedMessage, T } from './shapes.js';

const MSG_NEXT = `${API_PREFIX}CONSUMER.MSG.NEXT.`;
const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;
/** How long a list waits for another node's stream info. */
const REMOTE_INFO_TIMEOUT_MS = 1000;

type Body = Record<string, unknown>;
type Reply = Record<string, unknown>;

let nextApiId = 2_000_000_000;

/** Parses a request body: empty is `{}` where `emptyOk`, anything but an object is invalid JSON. */
function parseBody(payload: Buffer, emptyOk: boolean): Body {
  if (payload.length === 0) {
    if (emptyOk) return {};
    throw JsErr.InvalidJson();
  }
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw JsErr.InvalidJson();
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw JsErr.InvalidJson();
  return v as Body;
}

function optInt(body: Body, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw JsErr.InvalidJson();
  return v;
}

function optString(body: Body, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw JsErr.InvalidJson();
  return v;
}

export class JsApi implements Subscriber {
  readonly id = nextApiId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  private sub: Subscription | null = null;
  /** The API subscriptions of each stream this node owns. */
  private readonly owned = new Map<string, Subscription[]>();
  private chain: Promise<void> = Promise.resolve();
  /** The last message handled: one publish can match several of our subscriptions. */
  private lastMsg: Message | null = null;

  constructor(private readonly js: AccountJetStream) {}

  /** Joins the general handlers' queue group on `$JS.API.>` (advertised over the mesh). */
  start(): void {
    this.sub = {
      subject: `${API_PREFIX}>`,
      queue: API_QUEUE,
      sid: '',
      owner: this,
      max: 0,
      delivered: 0,
    };
    this.js.account.subscribe(this.sub);
  }

  stop(): void {
    if (this.sub !== null) this.js.account.unsubscribe(this.sub);
    this.sub = null;
    for (const name of [...this.owned.keys()]) this.disown(name);
  }

  /** Subscribes to the API subjects of a stream this node now owns. */
  own(name: string): void {
    if (this.owned.has(name)) return;
    const subs = streamApiSubjects(name).map(
      (subject): Subscription => ({
        subject,
        queue: OWNER_QUEUE,
        sid: '',
        owner: this,
        max: 0,
        delivered: 0,
      }),
    );
    for (const s of subs) this.js.account.subscribe(s);
    this.owned.set(name, subs);
  }

  disown(name: string): void {
    const subs = this.owned.get(name);
    if (subs === undefined) return;
    for (const s of subs) this.js.account.unsubscribe(s);
    this.owned.delete(name);
  }

  deliver(_sub: Subscription, msg: Message): void {
    if (msg === this.lastMsg) return;
    this.lastMsg = msg;
    const subject = msg.subject;
    const reply = msg.reply;
    const payload = Buffer.from(msg.payload);
    this.chain = this.chain.then(() => this.handle(subject, reply, payload));
  }

  private async handle(subject: string, reply: string, payload: Buffer): Promise<void> {
    const js = this.js;
    const name = apiStreamName(subject.slice(API_PREFIX.length));
    // Another node owns it and answers: this node's general handler stays silent.
    if (name !== null && !js.streams.has(name) && js.remoteHas(name)) return;
    js.apiTotal++;
    if (subject.startsWith(MSG_NEXT)) {
      // A pull request: answered with messages and status messages, never JSON.
      const [stream = '', name = ''] = subject.slice(MSG_NEXT.length).split('.');
      js.streams.get(stream)?.consumers.byName.get(name)?.pull(reply, payload);
      return;
    }
    if (subject.startsWith(DIRECT_GET)) return directGet(js, subject, reply, payload, this);
    let out: Reply;
    try {
      out = await this.dispatch(subject.slice(API_PREFIX.length), payload);
    } catch (err) {
      const e = internalError(err);
      this.logInternal(subject, e);
      out = errorResponse(T.error, e);
    }
    if (out.error !== undefined) {
      js.apiErrors++;
      const limit = LIMIT_OF_ERR_CODE[(out.error as { err_code: number }).err_code];
      if (limit !== undefined) js.limitsHit[limit]++;
    }
    if (reply !== '') js.reply(reply, JSON.stringify(out), this);
  }

  private async dispatch(api: string, payload: Buffer): Promise<Reply> {
    if (api === 'INFO') return this.accountInfo();
    const tokens = api.split('.');
    if (tokens[0] === 'STREAM') {
      const op = tokens[1] === 'MSG' ? `MSG.${tokens[2] ?? ''}` : (tokens[1] ?? '');
      const nameAt = op.startsWith('MSG.') ? 3 : 2;
      const name = tokens.slice(nameAt).join('.');
      const type = STREAM_TYPES[op];
      if (op === 'NAMES') return this.guard(T.names, () => this.names(parseBody(payload, true)));
      if (op === 'LIST') return this.guard(T.list, () => this.list(parseBody(payload, true)));
      if (type !== undefined) {
        if (name === '' || name.includes('.') || name.includes('*') || name.includes('>')) {
          return errorResponse(type, NameErr.StreamBadName());
        }
        return this.guard(type, () => this.streamOp(op, name, payload));
      }
    }
    if (tokens[0] === 'CONSUMER') {
      const rest = tokens.slice(1);
      return this.guard(consumerResponseType(rest), () =>
        consumerRequest(rest, payload, (name) => this.stream(name).consumers),
      );
    }
    return errorResponse(T.error, JsErr.UnknownApi(API_PREFIX + api));
  }

  /**
   * Runs `fn`, turning an error into an error response of `type`: a
   * StreamApiError as it is, anything else generic (internalError), its
   * detail logged.
   */
  private async guard(type: string, fn: () => Promise<Reply> | Reply): Promise<Reply> {
    try {
      return { type, ...(await fn()) };
    } catch (err) {
      const e = internalError(err);
      this.logInternal(type, e);
      return errorResponse(type, e);
    }
  }

  /** Logs what went wrong inside an error a client is told about generically. */
  private logInternal(what: string, e: StreamApiError): void {
    const detail = internalDetail(e);
    if (detail !== '') this.js.host.log.error(`JetStream API ${what}: ${e.message}: ${detail}`);
  }

  private stream(name: string): CapturedStream {
    const cs = this.js.streams.get(name);
    if (cs === undefined) {
      const offline = this.js.offline.get(name);
      throw offline === undefined ? JsErr.StreamNotFound() : JsErr.StreamOffline(offline);
    }
    return cs;
  }

  private async streamOp(op: string, name: string, payload: Buffer): Promise<Reply> {
    switch (op) {
      case 'CREATE':
        return this.create(name, parseBody(payload, false));
      case 'UPDATE':
        return this.update(name, parseBody(payload, false));
      case 'INFO': {
        parseBody(payload, true);
        return { total: 0, offset: 0, limit: 0, ...this.js.info(this.stream(name)) };
      }
      case 'DELETE':
        await this.js.delete(this.stream(name));
        return { success: true };
      case 'PURGE':
        return this.purge(name, parseBody(payload, true));
      case 'MSG.GET':
        return this.msgGet(name, parseBody(payload, false));
      case 'MSG.DELETE':
        return this.msgDelete(name, parseBody(payload, false));
      default:
        throw JsErr.UnknownApi(op);
    }
  }

  private accountInfo(): Reply {
    let memory = 0;
    let storage = 0;
    let consumers = 0;
    for (const cs of this.js.streams.values()) {
      const b = cs.stream.state().bytes;
      if (cs.stream.config.storage === 'memory') memory += b;
      else storage += b;
      consumers += cs.consumers.size;
    }
    return {
      type: T.accountInfo,
      memory,
      storage,
      streams: new Set([...this.js.streams.keys(), ...this.js.remoteNames()]).size,
      consumers,
      limits: limitsInfo(this.js.limits),
      api: { total: this.js.apiTotal, errors: this.js.apiErrors },
    };
  }

  private async create(name: string, body: Body): Promise<Reply> {
    const config = normalizeConfig(body, name);
    const existing = this.js.streams.get(name);
    if (existing !== undefined) {
      if (!sameConfig(existing.stream.config, config)) throw JsErr.StreamNameExists();
      return this.js.info(existing);
    }
    if (this.js.overlapping(config.subjects, name, subjectsOverlap) !== null) {
      throw JsErr.SubjectsOverlap();
    }
    this.checkLimits(config, false);
    const cs = await this.js.create(config);
    return { ...this.js.info(cs), did_create: true };
  }

  /** Refuses a stream create or update the account's limits do not allow (account-limits.ts). */
  private checkLimits(config: StreamConfig, updating: boolean): void {
    const configs = [...this.js.streams.values()].map((cs) => cs.stream.config);
    const why = streamLimitError(this.js.limits, configs, config, updating);
    if (why !== null) throw why;
  }

  private async update(name: string, body: Body): Promise<Reply> {
    const config = normalizeConfig(body, name);
    const cs = this.stream(name);
    const why = updateError(cs.stream.config, config);
    if (why !== null) throw why;
    if (this.js.overlapping(config.subjects, name, subjectsOverlap) !== null) {
      throw JsErr.SubjectsOverlap();
    }
    this.checkLimits(config, true);
    await this.js.update(cs, config);
    return this.js.info(cs);
  }

  /**
   * The infos of every stream the account has, here and on other nodes
   * (those asked through the mesh; one that does not answer in time is
   * left out), by name, filtered by `subject` when given.
   */
  private async allInfos(body: Body): Promise<Reply[]> {
    const subject = optString(body, 'subject');
    const out: Reply[] = [...this.js.streams.values()].map((cs) => this.js.info(cs));
    const remote = this.js.remoteNames().filter((n) => !this.js.streams.has(n));
    const answers = await Promise.all(
      remote.map((n) =>
        this.js.inbox.request(`${API_PREFIX}STREAM.INFO.${n}`, '', REMOTE_INFO_TIMEOUT_MS),
      ),
    );
    for (const a of answers) {
      if (a === null) continue;
      try {
        const info = JSON.parse(a.payload.toString('utf8')) as Reply;
        if (info.error === undefined && info.config !== undefined) {
          delete info.type;
          delete info.total;
          delete info.offset;
          delete info.limit;
          out.push(info);
        }
      } catch {
        // Not an info: left out like a silent node.
      }
    }
    const nameOf = (r: Reply) => String((r.config as { name?: unknown }).name);
    out.sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));
    if (subject === undefined || subject === '') return out;
    return out.filter((r) =>
      ((r.config as { subjects?: string[] }).subjects ?? []).some((s) =>
        subjectsOverlap(s, subject),
      ),
    );
  }

  private async names(body: Body): Promise<Reply> {
    const offset = optInt(body, 'offset') ?? 0;
    const subject = optString(body, 'subject');
    let all: string[];
    if (subject === undefined || subject === '') {
      all = [...new Set([...this.js.streams.keys(), ...this.js.remoteNames()])].sort();
    } else {
      all = (await this.allInfos(body)).map((r) => String((r.config as { name: string }).name));
    }
    const page = all.slice(offset, offset + NAMES_LIMIT);
    return { total: all.length, offset, limit: NAMES_LIMIT, streams: page };
  }

  private async list(body: Body): Promise<Reply> {
    const offset = optInt(body, 'offset') ?? 0;
    const all = await this.allInfos(body);
    const page = all.slice(offset, offset + LIST_LIMIT);
    return { total: all.length, offset, limit: LIST_LIMIT, streams: page };
  }

  private async purge(name: string, body: Body): Promise<Reply> {
    const cs = this.stream(name);
    const filter = optString(body, 'filter');
    const seq = optInt(body, 'seq');
    const keep = optInt(body, 'keep');
    if (seq !== undefined && keep !== undefined) throw JsErr.BadRequest();
    if (cs.stream.config.deny_purge) throw JsErr.InvalidConfig('stream purge not permitted');
    const purged = await cs.stream.purge({ filter, seq, keep });
    return { success: true, purged };
  }

  private async msgGet(name: string, body: Body): Promise<Reply> {
    const cs = this.stream(name);
    const seq = optInt(body, 'seq');
    const last = optString(body, 'last_by_subj');
    const next = optString(body, 'next_by_subj');
    let m: StoredMessage | null;
    if (seq !== undefined && seq > 0 && last === undefined && next === undefined) {
      m = await cs.stream.messages.get(seq);
    } else if (last !== undefined && last !== '' && seq === undefined) {
      m = await cs.stream.messages.lastBySubject(last);
    } else if (next !== undefined && next !== '') {
      m = await cs.stream.messages.next(seq ?? 0, next);
    } else {
      throw JsErr.BadRequest();
    }
    if (m === null) throw JsErr.NoMessageFound();
    return { message: storedMessage(m) };
  }

  private async msgDelete(name: string, body: Body): Promise<Reply> {
    const cs = this.stream(name);
    const seq = optInt(body, 'seq');
    if (seq === undefined) throw JsErr.BadRequest();
    if (cs.stream.config.deny_delete) throw JsErr.InvalidConfig('message delete not permitted');
    if (!(await cs.stream.messages.remove(seq))) throw JsErr.MsgDeleteFailed();
    return { success: true };
  }
}

/** Response types of the per-stream operations, by operation. */
const STREAM_TYPES: Record<string, string> = {
  CREATE: T.create,
  UPDATE: T.update,
  INFO: T.info,
  DELETE: T.del,
  PURGE: T.purge,
  'MSG.GET': T.msgGet,
  'MSG.DELETE': T.msgDelete,
};
