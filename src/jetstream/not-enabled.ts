/**
 * The JetStream API in an account without JetStream: what nats-server 2.9
 * answers there, measured (test/jetstream/accounts.test.ts). Every JSON
 * request gets 503/10039 "JetStream not enabled for account" in the
 * response type of the request, with the empty fields nats-server adds to
 * its list and purge responses; a pull request (`CONSUMER.MSG.NEXT`), a
 * direct get and a subject of no known request get no answer (the client
 * times out, as with nats-server).
 */
import type { Account } from '../core/account.js';
import type { Message, Subscriber, Subscription } from '../core/message.js';
import type { Router } from '../core/router.js';
import { JsErr } from '../streams/stream-errors.js';
import { CT } from './consumer-api.js';
import { API_QUEUE } from './routing.js';
import { API_PREFIX, errorResponse, T } from './shapes.js';

let nextId = 2_100_000_000;

/** Each answer: its response type and the fields nats-server adds, or null for silence. */
function answerFor(api: string): { type: string; extra: Record<string, unknown> } | null {
  const t = api.split('.');
  const page = { total: 0, offset: 0, limit: 0 };
  if (api === 'INFO') return { type: T.accountInfo, extra: {} };
  if (t[0] === 'STREAM') {
    if (t[1] === 'MSG') {
      if (t[2] === 'GET') return { type: T.msgGet, extra: {} };
      if (t[2] === 'DELETE') return { type: T.msgDelete, extra: {} };
      return null;
    }
    switch (t[1]) {
      case 'NAMES':
        return { type: T.names, extra: { ...page, streams: null } };
      case 'LIST':
        return { type: T.list, extra: { ...page, streams: [] } };
      case 'CREATE':
        return { type: T.create, extra: {} };
      case 'UPDATE':
        return { type: T.update, extra: {} };
      case 'INFO':
        return { type: T.info, extra: page };
      case 'DELETE':
        return { type: T.del, extra: {} };
      case 'PURGE':
        return { type: T.purge, extra: { purged: 0 } };
      default:
        return null;
    }
  }
  if (t[0] === 'CONSUMER') {
    switch (t[1]) {
      case 'CREATE':
      case 'DURABLE':
        return { type: CT.create, extra: {} };
      case 'INFO':
        return { type: CT.info, extra: {} };
      case 'DELETE':
        return { type: CT.del, extra: {} };
      case 'NAMES':
        return { type: CT.names, extra: { ...page, consumers: [] } };
      case 'LIST':
        return { type: CT.list, extra: { ...page, consumers: [] } };
      default:
        return null;
    }
  }
  return null;
}

/** Answers `$JS.API.>` in one account without JetStream. */
export class NotEnabledApi implements Subscriber {
  readonly id = nextId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  private sub: Subscription | null = null;
  /** Requests answered (for monitoring). */
  refused = 0;

  constructor(
    readonly account: Account,
    private readonly router: Router,
  ) {}

  start(): void {
    this.sub = {
      subject: `${API_PREFIX}>`,
      queue: API_QUEUE,
      sid: '',
      owner: this,
      max: 0,
      delivered: 0,
    };
    this.account.subscribe(this.sub);
  }

  stop(): void {
    if (this.sub !== null) this.account.unsubscribe(this.sub);
    this.sub = null;
  }

  deliver(_sub: Subscription, msg: Message): void {
    if (msg.reply === '') return;
    const answer = answerFor(msg.subject.slice(API_PREFIX.length));
    if (answer === null) return;
    this.refused++;
    const body = errorResponse(answer.type, JsErr.NotEnabledForAccount(), answer.extra);
    this.router.publish(
      this.account,
      { subject: msg.reply, reply: '', headers: null, payload: Buffer.from(JSON.stringify(body)) },
      this,
    );
  }
}
