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
import type { PubResult, StoreNotice } from '../../streams/stream.js';
import { internalDetail, internalError } from '../../streams/stream-errors.js';
import type { FaceHost } from '../face.js';
import { R } from './encoder.js';
import { LaterReply, type Slot } from './reply-line.js';
import type { AppendResult } from './stream-acks.js';
import type { LocalView } from './stream-views.js';
import { XaddRun } from './xadd-run.js';

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
   * filled with the entry's ID as a bulk string (`<head>-<seq>`, or `head`
   * when `seq` is -1) once the entry, stored with the time `now` (ms, read
   * by XADD in this turn), is acked (durable under the stream's sync
   * policy; its consumers told first), or with the error — the outcome `storeHere` gives, with one
   * object per entry (the slot is the stream's notice) instead of promises
   * (bench/PROFILE.md, "Issue 16 — xadd2", "Issue 16 — xadd3").
   */
  storeLater(
    account: Account,
    cs: CapturedStream,
    subject: string,
    headers: Buffer,
    payload: Buffer,
    head: string,
    seq: number,
    now: number,
  ): LaterReply {
    const later = new XaddLater(this, cs, subject, head, seq);
    // The entry's own headers are all Redis-*: none a stream reads.
    cs.stream.storeNotify(subject, headers, payload, later, NO_PUB_HEADERS, now);
    this.deliverToOthers(account, cs, subject, headers, payload);
    return later;
  }

  /**
   * `storeLater` as a run (xadd-run.ts): the entry joins `tail` when that is
   * a run open on the stream with room (it is returned), else starts a new
   * run (returned); null, with nothing stored, when the stream takes no run
   * now or refuses the entry (the caller then uses `storeLater`, which
   * tells why).
   */
  storeInRun(
    account: Account,
    v: LocalView,
    subject: string,
    headers: Buffer,
    payload: Buffer,
    head: string,
    seq: number,
    now: number,
    tail: Slot | null,
  ): XaddRun | null {
    const cs = v.cs;
    if (tail instanceof XaddRun && tail.cs === cs && tail.subject === subject) {
      if (tail.append(headers, payload, 0, payload.length, head, seq, now)) return tail;
    }
    const run = new XaddRun(this, v, account, subject);
    if (!run.append(headers, payload, 0, payload.length, head, seq, now)) return null;
    return run;
  }

  /**
   * Who else hears a message on `subject` (null: nobody but the stream's
   * own capture): `deliverTo` then delivers to them.
   */
  heard(account: Account, cs: CapturedStream, subject: string): MatchResult | null {
    const match = account.sublist.match(subject);
    return othersHear(match, cs) ? match : null;
  }

  /**
   * Delivers the entry to those `heard` found, with the stream as origin.
   * The headers and payload are copied: the payload may be a slice of the
   * connection's read buffer, the headers XADD's reused block (xadd-head.ts).
   */
  deliverTo(
    match: MatchResult,
    cs: CapturedStream,
    subject: string,
    headers: Buffer,
    payload: Buffer,
  ): void {
    const head = Buffer.from(headers);
    const body = Buffer.from(payload);
    this.host.router.deliver(match, { subject, reply: '', headers: head, payload: body }, cs);
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
    const match = this.heard(account, cs, subject);
    if (match !== null) this.deliverTo(match, cs, subject, headers, payload);
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
 * XADD's reply slot, and the stream's notice of its entry: the consumers
 * told and the slot filled with the ID once acked, else the error. Holds
 * the ID as its ms text (shared by the entries of one millisecond) and
 * sequence, not the entry (its buffers may be the connection's read
 * buffer); the ID's string and the reply are made once acked. One object
 * per entry kept until the group commit, where a slot, a reply, a
 * closure, its context and the ID's strings were.
 */
class XaddLater extends LaterReply implements StoreNotice {
  constructor(
    private readonly s: StoreHere,
    private readonly cs: CapturedStream,
    private readonly subject: string,
    private readonly head: string,
    private readonly seq: number,
  ) {
    super();
  }

  stored(err: unknown, seq: number, duplicate: boolean): void {
    if (err === null) {
      if (!duplicate) this.cs.consumers.stored(seq, this.subject);
      this.s.counters.appended++;
      this.fill(R.bulk(this.seq < 0 ? this.head : `${this.head}-${this.seq}`));
    } else this.fill(R.error(this.s.failed(this.cs, err)));
  }
}
