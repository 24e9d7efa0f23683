/**
 * How the Redis face stores into a stream on this node (stream-access.ts
 * decides when): the stream stores the message (its checks, limits and
 * sync policy: the promise resolves once durable) and its consumers learn
 * of it once acked, as its capture subscription would do; the router
 * delivers the message to every other party interested in the subject
 * (NATS, MQTT, the mesh) with the stream as its origin, so the capture
 * does not take it twice. The same outcome as publishing through the
 * router with a reply inbox, without the JSON ack, reply subject and inbox.
 */
import type { Account } from '../../core/account.js';
import type { Subscriber } from '../../core/message.js';
import type { MatchResult } from '../../core/sublist.js';
import type { CapturedStream } from '../../jetstream/service.js';
import type { PubHeaders } from '../../streams/headers.js';
import type { PubResult } from '../../streams/stream.js';
import { internalDetail, internalError } from '../../streams/stream-errors.js';
import type { FaceHost } from '../face.js';
import { R, type Reply } from './encoder.js';
import type { AppendResult } from './stream-acks.js';
import type { LocalView } from './stream-views.js';

export class StoreHere {
  constructor(
    private readonly host: FaceHost,
    private readonly counters: { appended: number; appendErrors: number },
  ) {}

  /**
   * The stream stores the message (it copies what it keeps), then the
   * router delivers it to everyone else interested in the subject. The
   * payload is copied for them only when there is someone: it may be a
   * slice of the connection's read buffer, reused once this returns.
   */
  store(
    account: Account,
    cs: CapturedStream,
    subject: string,
    headers: Buffer,
    payload: Buffer,
    pub: PubHeaders,
  ): Promise<PubResult> {
    const stored = cs.stream.store(subject, headers, payload, pub);
    const match = account.sublist.match(subject);
    if (othersHear(match, cs)) {
      const body = Buffer.from(payload);
      this.host.router.deliver(match, { subject, reply: '', headers, payload: body }, cs);
    }
    return stored;
  }

  /** `store`, its outcome as XADD's general path reads it. */
  storeHere(
    account: Account,
    cs: CapturedStream,
    subject: string,
    headers: Buffer,
    payload: Buffer,
    pub: PubHeaders,
  ): Promise<AppendResult> {
    return this.store(account, cs, subject, headers, payload, pub).then(
      (r) => {
        this.stored(cs, subject, r);
        return { seq: r.seq };
      },
      (err: unknown) => ({ error: this.failed(cs, err) }),
    );
  }

  /**
   * `reply` once `stored` is acked, or the error: one callback per entry
   * (the one for errors is made once per stream).
   */
  replyOnce(
    stored: Promise<PubResult>,
    v: LocalView,
    subject: string,
    reply: Reply,
  ): Promise<Reply> {
    const cs = v.cs;
    v.refused ??= (err: unknown) => R.error(this.failed(cs, err));
    return stored.then(storedReply(this, cs, subject, reply), v.refused);
  }

  /** A message stored here is acked: the stream's consumers learn of it. */
  stored(cs: CapturedStream, subject: string, r: PubResult): void {
    if (r.duplicate !== true) cs.consumers.stored(r.seq, subject);
    this.counters.appended++;
  }

  /** The error text of a store that failed (counted, logged when internal). */
  private failed(cs: CapturedStream, err: unknown): string {
    const e = internalError(err);
    this.counters.appendErrors++;
    const detail = internalDetail(e);
    if (detail !== '') {
      this.host.log.error(`redis: stream ${cs.stream.name}: store failed: ${detail}`);
    }
    return `ERR the stream refused the entry: ${e.message}`;
  }
}

/** Whether anyone but `origin` (the stream's own capture) receives a message matched as `m`. */
function othersHear(m: MatchResult, origin: Subscriber): boolean {
  if (m.queues.length > 0) return true;
  const plain = m.plain;
  for (let i = 0; i < plain.length; i++) {
    if (plain[i]!.owner !== origin || origin.echo) return true;
  }
  return false;
}

/** XADD's callback once its entry is acked. Its own scope: it holds the reply, not the entry. */
function storedReply(
  s: StoreHere,
  cs: CapturedStream,
  subject: string,
  reply: Reply,
): (r: PubResult) => Reply {
  return (r) => {
    s.stored(cs, subject, r);
    return reply;
  };
}
