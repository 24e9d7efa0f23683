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
import { NO_PUB_HEADERS, type PubHeaders } from '../../streams/headers.js';
import type { PubResult, StoreDone } from '../../streams/stream.js';
import { internalDetail, internalError } from '../../streams/stream-errors.js';
import type { FaceHost } from '../face.js';
import { R, type Reply } from './encoder.js';
import { LaterReply } from './reply-line.js';
import type { AppendResult } from './stream-acks.js';

export class StoreHere {
  constructor(
    private readonly host: FaceHost,
    readonly counters: { appended: number; appendErrors: number },
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
    this.deliverToOthers(account, cs, subject, headers, payload);
    return stored;
  }

  /**
   * `store` without a promise (`Stream.storeNotify`): the returned slot is
   * filled with `reply` once the entry is acked (durable under the
   * stream's sync policy; its consumers told first), or with the error —
   * the outcome `storeHere` gives, with one slot and one callback per
   * entry instead of promises (bench/PROFILE.md, "Issue 16 — xadd2").
   */
  storeLater(
    account: Account,
    cs: CapturedStream,
    subject: string,
    headers: Buffer,
    payload: Buffer,
    reply: Reply,
  ): LaterReply {
    const later = new LaterReply();
    // The entry's own headers are all Redis-*: none a stream reads.
    cs.stream.storeNotify(
      subject,
      headers,
      payload,
      storedNotice(this, cs, subject, reply, later),
      NO_PUB_HEADERS,
    );
    this.deliverToOthers(account, cs, subject, headers, payload);
    return later;
  }

  /**
   * The router delivers the entry to everyone else interested in its
   * subject, with the stream as origin (its capture does not take it
   * twice). The headers and payload are copied only when someone hears
   * them: the payload may be a slice of the connection's read buffer, the
   * headers XADD's reused block, both rewritten once this returns.
   */
  private deliverToOthers(
    account: Account,
    cs: CapturedStream,
    subject: string,
    headers: Buffer,
    payload: Buffer,
  ): void {
    const match = account.sublist.match(subject);
    if (othersHear(match, cs)) {
      // Both copied: the headers may be XADD's reused block (xadd-head.ts).
      const head = Buffer.from(headers);
      const body = Buffer.from(payload);
      this.host.router.deliver(match, { subject, reply: '', headers: head, payload: body }, cs);
    }
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

  /** A message stored here is acked: the stream's consumers learn of it. */
  stored(cs: CapturedStream, subject: string, r: PubResult): void {
    if (r.duplicate !== true) cs.consumers.stored(r.seq, subject);
    this.counters.appended++;
  }

  /** The error text of a store that failed (counted, logged when internal). */
  failed(cs: CapturedStream, err: unknown): string {
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

/**
 * XADD's `storeNotify` callback: the consumers told and `reply` filled
 * once acked, else the error. Its own scope: it holds the reply, not the
 * entry (its buffers may be the connection's read buffer).
 */
function storedNotice(
  s: StoreHere,
  cs: CapturedStream,
  subject: string,
  reply: Reply,
  later: LaterReply,
): StoreDone {
  return (err, seq, duplicate) => {
    if (err === null) {
      if (!duplicate) cs.consumers.stored(seq, subject);
      s.counters.appended++;
      later.fill(reply);
    } else later.fill(R.error(s.failed(cs, err)));
  };
}
