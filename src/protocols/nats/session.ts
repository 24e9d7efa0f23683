/**
 * A NATS client session: turns parser events into core calls (publish,
 * subscribe) and core deliveries into MSG/HMSG frames. Behaviour follows
 * nats-server's client connection; where Weft differs it says so.
 */
import type { Socket } from 'node:net';
import { ConnectionIdentity } from '../../auth/connection-identity.js';
import { reservedSubject } from '../../auth/reserved.js';
import type { AuthResult, Credentials, Identity } from '../../auth/types.js';
import { COPY_LIMIT } from '../../connection/connection.js';
import type { SlowReason } from '../../connection/outbound.js';
import { DELIVERY_COST, ReadSlicer } from '../../connection/read-slicer.js';
import { onReads } from '../../connection/shared-read.js';
import type { TlsSessionInfo } from '../../connection/tls-accept.js';
import type { Account } from '../../core/account.js';
import {
  type Message,
  RangeMessage,
  type Subscriber,
  type Subscription,
} from '../../core/message.js';
import { classifySubject, isValidQueueName } from '../../core/subject.js';
import { EMPTY_RESULT, type MatchResult, type Sublist } from '../../core/sublist.js';
import {
  CloseReason,
  type ProtocolError,
  publishViolation,
  socketErrorReason,
  subscribeViolation,
  WireError,
} from '../../errors.js';
import type { ClientDescription, FaceConnection, FaceHost } from '../face.js';
import {
  type ConnectOptions,
  type CookieCredentials,
  connectCredentials,
  parseConnect,
} from './connect.js';
import { errLine, msgTarget, NO_RESPONDERS, OK, PING, PONG } from './encoder.js';
import { MsgOutput, type NatsSubscription } from './msg-output.js';
import { NatsParser } from './parser.js';

/** What a session needs from the NATS face: the host's shared parts, and three callbacks. */
export interface SessionHost
  extends Pick<
    FaceHost,
    'options' | 'congestion' | 'router' | 'flusher' | 'stats' | 'log' | 'outbound' | 'security'
  > {
  /** The INFO line (with CRLF) for a new connection. */
  infoLine(session: ClientSession): string;
  /** The session has authenticated: `identity` is set. */
  sessionAuthenticated(session: ClientSession): void;
  sessionClosed(session: ClientSession): void;
}

const EMPTY = Buffer.alloc(0);

export class ClientSession extends MsgOutput implements Subscriber, FaceConnection {
  readonly kind = 'client' as const;
  readonly face = 'nats';
  echo = true;
  connectOptions: ConnectOptions | null = null;
  account: Account | null = null;
  /** Who the connection is once CONNECT has authenticated: permissions, limits, quotas. */
  private readonly who: ConnectionIdentity;
  /** The challenge sent in INFO for nkey and JWT users ('' when none). */
  readonly nonce: string;
  /** What the client presented at CONNECT (kept to re-check on reload). */
  credentials: Credentials | null = null;
  /** Reads in slices of bounded work; stopped while CONNECT is checked or a rate is kept. */
  private readonly reads: ReadSlicer;
  /** inMsgs when the last read was parsed (a read that published may stall on congestion). */
  private publishedSeen = 0;
  readonly subs = new Map<string, Subscription>();
  /** Server PINGs not yet answered. */
  pingsOut = 0;
  /** The TLS handshake's result (version, cipher, verified client certificate); null on plain TCP. */
  readonly tls: TlsSessionInfo | null;
  private readonly parser: NatsParser;
  /**
   * The last publish subject's match, reused while its sublist has not changed (`generation`):
   * publishers repeat subjects, and the parser hands back the same string for the same bytes, so a
   * repeat costs a pointer comparison instead of the sublist's cache lookup (7 % of publish-only,
   * bench/PROFILE.md). One entry: a miss costs one string comparison.
   */
  private lastSubject = '';
  private lastList: Sublist | null = null;
  private lastGeneration = -1;
  private lastResult: MatchResult = EMPTY_RESULT;
  private authTimer: NodeJS.Timeout | null = null;

  constructor(
    id: number,
    socket: Socket,
    private readonly host: SessionHost,
    /** The TLS handshake's result (a TLS socket, or wss); null on plain TCP or ws. */
    tls: TlsSessionInfo | null = null,
    /**
     * The nonce of an INFO already sent (a TLS connection's INFO goes out in
     * clear before the handshake); null: the INFO is sent now.
     */
    infoNonce: string | null = null,
    /**
     * Credentials a WebSocket upgrade carried in cookies (`websocket.jwt_cookie`,
     * …): each is used when CONNECT leaves its field empty, as nats-server does.
     */
    private readonly cookies: CookieCredentials | null = null,
  ) {
    super(id, socket, host.flusher, host.options.maxPending, host.outbound);
    this.tls = tls;
    const o = host.options;
    this.parser = new NatsParser(this, {
      maxPayload: o.maxPayload,
      maxControlLine: o.maxControlLine,
    });
    this.reads = new ReadSlicer(
      socket,
      {
        feed: (chunk) => this.feed(chunk),
        pause: () => this.parser.pause(),
        isClosed: () => this.closed,
        afterRead: () => this.stallIfCongested(),
      },
      host.flusher,
      host.stats,
    );
    onReads(socket, (chunk: Buffer) => {
      this.lastActivity = Date.now();
      this.reads.onData(chunk);
    });
    socket.on('end', () => this.close(CloseReason.ClientClosed));
    socket.on('close', () => this.close(CloseReason.ClientClosed));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        host.log.debug(`cid:${id} socket error: ${err.message}`);
      }
      this.close(socketErrorReason(err));
    });
    this.authTimer = setTimeout(
      () => this.fail(WireError.AuthTimeout, CloseReason.AuthTimeout),
      o.authTimeoutMs,
    );
    this.who = new ConnectionIdentity(host.security);
    this.nonce = infoNonce ?? host.security.nonce();
    if (infoNonce === null) this.queueText(host.infoLine(this));
  }

  get verbose(): boolean {
    return this.connectOptions?.verbose ?? false;
  }

  /** One read (or a backlog) for the slicer: parses it, says where it stopped. */
  private feed(chunk: Buffer): number {
    const stall = this.host.outbound.stall;
    stall.producer = this;
    const err = this.parser.feed(chunk);
    stall.producer = null;
    if (err !== null) this.protocolError(err);
    return this.parser.pausedAt;
  }

  /** A producer waits while a queue it fed is congested (a mesh link) or behind (a subscriber). */
  private stallIfCongested(): void {
    if (this.inMsgs !== this.publishedSeen && this.host.congestion.active && !this.closed)
      this.host.congestion.stall(this.socket);
    this.publishedSeen = this.inMsgs;
    this.host.outbound.stall.afterRead(this, this.socket);
  }

  private protocolError(err: ProtocolError): void {
    this.host.log.warn(`cid:${this.id} ${this.remoteAddress}:${this.remotePort} - ${err.detail}`);
    this.fail(err.wire, err.reason);
  }

  /** Tells the client why with -ERR, flushes, and closes. */
  fail(wire: string, reason: CloseReason): void {
    if (this.closed) return;
    this.queueText(errLine(wire));
    this.close(reason);
  }

  /** Sends -ERR and keeps the connection (for errors nats-server does not close on). */
  private softError(wire: string): void {
    this.queueText(errLine(wire));
  }

  /** Operations other than CONNECT need a CONNECT first (Weft is strict here). */
  private requireConnect(): boolean {
    if (this.connectOptions !== null) return true;
    this.fail(WireError.AuthViolation, CloseReason.AuthViolation);
    return false;
  }

  // --- parser events -------------------------------------------------------

  onConnect(json: string): void {
    // A second CONNECT (nats-server allows it) refreshes the options.
    const parsed = parseConnect(json);
    if (typeof parsed === 'string') {
      this.host.log.warn(`cid:${this.id} invalid CONNECT: ${parsed}`);
      this.fail(`Invalid CONNECT: ${parsed}`, CloseReason.ProtocolViolation);
      this.parser.stop();
      return;
    }
    if (parsed.no_responders && !parsed.headers) {
      this.fail('no responders requires headers support', CloseReason.ProtocolViolation);
      this.parser.stop();
      return;
    }
    if (this.identity !== null || this.reads.isHeld) {
      // A second CONNECT refreshes the options, not the identity (as nats-server).
      if (this.identity !== null) this.accept(parsed);
      return;
    }
    const creds = connectCredentials(parsed, {
      remoteAddress: this.remoteAddress,
      nonce: this.nonce,
      // A certificate names the user only under verify_and_map (with verify
      // alone it proves the client may connect, and the usual login follows).
      cert: this.host.options.tls?.verifyAndMap === true ? (this.tls?.cert ?? null) : null,
      cookies: this.cookies,
    });
    this.credentials = creds;
    const result = this.host.security.login(creds);
    if (result instanceof Promise) {
      // Nothing after CONNECT is parsed until it is checked (the parser
      // stops here; the reads wait in the backlog).
      this.reads.hold();
      result.then(
        (r) => this.authenticated(parsed, r),
        (err: Error) => this.authenticated(parsed, { ok: false, why: err.message }),
      );
      return;
    }
    this.authenticated(parsed, result);
  }

  private authenticated(parsed: ConnectOptions, r: AuthResult): void {
    if (this.reads.release()) this.parser.unpause();
    if (this.closed) return;
    if (!r.ok) {
      this.fail(WireError.AuthViolation, CloseReason.AuthViolation);
      this.parser.stop();
      return;
    }
    const id = r.identity;
    const refused = this.who.admit(id, () =>
      this.fail(WireError.AuthExpired, CloseReason.AuthExpired),
    );
    if (refused !== null) {
      const account = refused === 'account_connections';
      this.host.log.warn(
        `cid:${this.id} ${this.remoteAddress}:${this.remotePort} - refused: ${account ? `account ${id.account.name}` : `user "${id.user}"`} is at its max_connections`,
      );
      if (account) this.fail(WireError.MaxAccountConnections, CloseReason.MaxAccountConnections);
      else this.fail(WireError.MaxUserConnections, CloseReason.MaxUserConnections);
      this.parser.stop();
      return;
    }
    this.account = id.account;
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    this.accept(parsed);
    this.host.sessionAuthenticated(this);
  }

  /** Takes the CONNECT options (the identity is settled). */
  private accept(parsed: ConnectOptions): void {
    this.connectOptions = parsed;
    this.echo = parsed.echo;
    if (parsed.verbose) this.queueText(OK);
  }

  /**
   * The identity changed (a reload): new permissions and limits apply;
   * subscriptions no longer allowed are removed, each with nats-server's
   * violation text.
   */
  reauthorized(id: Identity): number {
    const before = this.subs.size;
    this.who.replace(id);
    const guard = this.who.guard;
    for (const sub of [...this.subs.values()]) {
      const verdict =
        guard === null ? { ok: true, check: false } : guard.subscribe(sub.subject, sub.queue);
      if (!verdict.ok) {
        this.dropSub(sub, subscribeViolation(sub.subject, sub.queue), 'no longer permitted');
      } else if (this.who.subscribe() !== null) {
        this.dropSub(sub, WireError.MaxSubscriptions, "over the identity's max_subscriptions");
      } else (sub as NatsSubscription).check = verdict.check;
    }
    return before - this.subs.size;
  }

  /** A reload: the credentials no longer log in. */
  revoked(): void {
    this.fail(WireError.AuthViolation, CloseReason.AuthRevoked);
  }

  get client(): ClientDescription | null {
    return this.connectOptions;
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  subscriptionSubjects(): string[] {
    return [...this.subs.values()].map((x) => x.subject);
  }

  /** Removes a subscription a reload no longer allows, telling the client why. */
  private dropSub(sub: Subscription, wire: string, why: string): void {
    this.subs.delete(sub.sid);
    this.account?.unsubscribe(sub);
    this.softError(wire);
    this.host.log.warn(
      `cid:${this.id} - subscription to "${sub.subject}" removed on reload: ${why}`,
    );
  }

  /** Who the connection is, once CONNECT has authenticated. */
  get identity(): Identity | null {
    return this.who.identity;
  }

  onPub(
    subject: string,
    reply: string,
    hdr: number,
    buf: Buffer,
    start: number,
    end: number,
  ): void {
    if (!this.requireConnect()) return;
    const size = end - start;
    this.inMsgs++;
    this.inBytes += size;
    const stats = this.host.stats;
    stats.inMsgs++;
    stats.inBytes += size;
    const opts = this.connectOptions!;
    if (hdr >= 0 && !opts.headers) {
      this.fail(WireError.HeadersNotEnabled, CloseReason.ProtocolViolation);
      return;
    }
    // As nats-server: a wildcard or malformed publish subject is refused in
    // pedantic mode; otherwise it is matched as it is (and reaches wildcards).
    if (opts.pedantic && classifySubject(subject) !== 'literal') {
      this.softError(WireError.InvalidPublishSubject);
      return;
    }
    const who = this.who;
    if ((who.guard !== null && !who.guard.publish(subject)) || reservedSubject(subject)) {
      this.host.security.counters.publishViolations++;
      this.host.log.warn(
        `cid:${this.id} ${this.remoteAddress}:${this.remotePort} user "${who.identity!.user}" - publish to "${subject}" not permitted`,
      );
      this.softError(publishViolation(subject));
      return;
    }
    if (who.payloadMax > 0 && size > who.payloadMax) {
      this.host.log.warn(
        `cid:${this.id} ${this.remoteAddress}:${this.remotePort} - payload of ${size} bytes exceeds the identity's max_payload ${who.payloadMax}`,
      );
      this.fail(WireError.MaxPayload, CloseReason.MaxPayload);
      return;
    }
    const wait = who.admitMessage(size);
    if (wait === false) return;
    // Keeping to the identity's data rate: reading stops until it allows more.
    if (wait > 0) this.reads.waitFor(wait);
    if (opts.verbose) this.queueText(OK);
    const result = this.match(subject);
    // Nobody is interested: no message, no Buffer views (publish-only
    // profile: a fifth of the time went to one view per message).
    const n =
      result.plain.length === 0 && result.queues.length === 0
        ? 0
        : this.host.router.deliver(
            result,
            new RangeMessage(subject, reply, buf, start, hdr, end),
            this,
          );
    if (n === 0) {
      if (reply !== '' && opts.no_responders) this.noResponders(reply);
      return;
    }
    this.reads.work(n * (DELIVERY_COST + (size < COPY_LIMIT ? size : 0)));
  }

  onSub(subject: string, queue: string, sid: string): void {
    if (!this.requireConnect()) return;
    if (classifySubject(subject) === 'invalid' || (queue !== '' && !isValidQueueName(queue))) {
      this.softError(WireError.InvalidSubject);
      return;
    }
    let check = false;
    const guard = this.who.guard;
    if (guard !== null || reservedSubject(subject)) {
      const verdict = reservedSubject(subject)
        ? { ok: false, check: false }
        : guard!.subscribe(subject, queue);
      if (!verdict.ok) {
        this.host.security.counters.subscribeViolations++;
        this.host.log.warn(
          `cid:${this.id} ${this.remoteAddress}:${this.remotePort} user "${this.identity!.user}" - subscription to "${subject}"${queue === '' ? '' : ` in queue "${queue}"`} not permitted`,
        );
        this.softError(subscribeViolation(subject, queue));
        return;
      }
      check = verdict.check;
    }
    const max = this.host.options.maxSubscriptions;
    if (max > 0 && this.subs.size >= max) {
      this.host.stats.refusedSubscriptions++;
      this.host.log.warn(`cid:${this.id} maximum subscriptions (${max}) exceeded`);
      this.softError(WireError.MaxSubscriptions);
      return;
    }
    if (this.subs.has(sid)) {
      // nats-server ignores a duplicate sid; so do we.
      if (this.verbose) this.queueText(OK);
      return;
    }
    if (this.who.subscribe() !== null) {
      this.host.log.warn(
        `cid:${this.id} user "${this.identity!.user}" - the user's or account's max_subscriptions reached`,
      );
      this.softError(WireError.MaxSubscriptions);
      return;
    }
    const sub: NatsSubscription = {
      subject,
      queue,
      sid,
      owner: this,
      max: 0,
      delivered: 0,
      target: EMPTY,
      targetLen: 0,
      targetSubject: '',
      check,
    };
    this.subs.set(sid, sub);
    this.account!.subscribe(sub);
    if (this.verbose) this.queueText(OK);
  }

  onUnsub(sid: string, max: number): void {
    if (!this.requireConnect()) return;
    const sub = this.subs.get(sid);
    if (sub !== undefined) {
      if (max > 0 && sub.delivered < max) sub.max = max;
      else this.removeSub(sub);
    }
    if (this.verbose) this.queueText(OK);
  }

  onPing(): void {
    this.queueText(PONG);
  }

  /** An operation the parser refused (an argument not valid UTF-8): -ERR, the connection stays. */
  onRefused(wire: string, detail: string): void {
    if (!this.requireConnect()) return;
    this.host.log.warn(`cid:${this.id} ${this.remoteAddress}:${this.remotePort} - ${detail}`);
    this.softError(wire);
  }

  onPong(): void {
    this.pingsOut = 0;
  }

  // --- delivery ------------------------------------------------------------

  /** A queue group passes over this member for a message its permissions refuse. */
  accepts(sub: Subscription, msg: Message): boolean {
    const guard = this.who.guard;
    if (!(sub as NatsSubscription).check || guard === null) return true;
    if (guard.receive(msg.subject, sub.queue)) return true;
    this.host.security.counters.deliveriesDenied++;
    return false;
  }

  deliver(sub: Subscription, msg: Message): void {
    if (this.closed || (sub.max > 0 && sub.delivered >= sub.max)) return;
    const ns = sub as NatsSubscription;
    const guard = this.who.guard;
    if (guard !== null) {
      if (ns.check && !guard.receive(msg.subject, sub.queue)) {
        this.host.security.counters.deliveriesDenied++;
        return;
      }
      guard.delivered(msg.reply);
    }
    const size = this.queueDelivery(ns, msg, this.connectOptions?.headers === true);
    if (size < 0) return;
    this.outMsgs++;
    this.outBytes += size;
    const stats = this.host.stats;
    stats.outMsgs++;
    stats.outBytes += size;
    sub.delivered++;
    if (sub.max > 0 && sub.delivered >= sub.max) this.removeSub(sub);
  }

  /**
   * The match for a publish subject. No per-connection map: the sublist's
   * own cache hit is one Map lookup and allocates nothing, and a second
   * layer only cost a lookup and an insert on every miss; but the last
   * subject's result is kept (see `lastSubject`). Like nats-server's
   * per-client results, such a repeat is not counted in the sublist's
   * `matches` (/subsz `num_matches`).
   */
  private match(subject: string): MatchResult {
    const list = this.account!.sublist;
    if (
      subject === this.lastSubject &&
      list === this.lastList &&
      list.generation === this.lastGeneration
    ) {
      return this.lastResult;
    }
    const result = list.match(subject);
    this.lastSubject = subject;
    this.lastList = list;
    this.lastGeneration = list.generation;
    this.lastResult = result;
    return result;
  }

  /** A 503 status to the requester's own subscription for `reply`, as nats-server does. */
  private noResponders(reply: string): void {
    const sub = this.account!.sublist.match(reply);
    for (const s of sub.plain) {
      if (s.owner === this) {
        this.queueMsg(msgTarget(reply, s.sid), '', NO_RESPONDERS, EMPTY);
        return;
      }
    }
  }

  private removeSub(sub: Subscription): void {
    if (this.subs.get(sub.sid) === sub) {
      this.subs.delete(sub.sid);
      this.who.unsubscribe();
    }
    this.account?.unsubscribe(sub);
  }

  /** Sends a server PING for stale-connection detection; false when the peer is stale. */
  ping(): boolean {
    if (this.closed) return true;
    if (this.pingsOut >= this.host.options.maxPingsOut) {
      this.fail(WireError.StaleConnection, CloseReason.StaleConnection);
      return false;
    }
    this.pingsOut++;
    this.queueText(PING);
    return true;
  }

  protected onSlowConsumer(reason: SlowReason): void {
    if (this.closed) return;
    this.host.stats.slowConsumers++;
    this.host.log.warn(
      `cid:${this.id} ${this.remoteAddress}:${this.remotePort} - slow consumer: ${this.slowConsumerText(reason)}`,
    );
    this.discardQueued();
    this.close(reason, true);
  }

  /**
   * Closes with a named reason: removes the session's interest, flushes what
   * is queued (unless `abort`) and ends the socket. Idempotent.
   */
  close(reason: CloseReason, abort = false): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.parser.stop();
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
    const account = this.account;
    if (account !== null) for (const sub of this.subs.values()) account.unsubscribe(sub);
    this.who.release();
    this.host.stats.closed(reason);
    this.socket.closing?.(reason);
    if (abort || this.socket.destroyed) this.socket.destroy();
    else {
      this.flush(true);
      this.socket.end();
      // A peer that never reads must not keep the socket open forever.
      setTimeout(() => this.socket.destroy(), this.host.options.shutdownGraceMs).unref();
    }
    this.host.sessionClosed(this);
  }
}
