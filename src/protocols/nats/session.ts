/**
 * A NATS client session: turns parser events into core calls (publish,
 * subscribe) and core deliveries into MSG/HMSG frames. Behaviour follows
 * nats-server's client connection; where Weft differs it says so.
 */
import type { Socket } from 'node:net';
import { ConnectionIdentity } from '../../auth/connection-identity.js';
import type { Security } from '../../auth/security.js';
import type { AuthResult, Credentials, Identity } from '../../auth/types.js';
import type { Account } from '../../core/account.js';
import type { Message, Subscriber, Subscription } from '../../core/message.js';
import type { Router } from '../../core/router.js';
import { classifySubject, isValidQueueName } from '../../core/subject.js';
import type { MatchResult } from '../../core/sublist.js';
import {
  CloseReason,
  type ProtocolError,
  publishViolation,
  subscribeViolation,
  WireError,
} from '../../errors.js';
import type { Congestion } from '../../server/congestion.js';
import { COPY_LIMIT, Connection, type Flusher } from '../../server/connection.js';
import type { Logger } from '../../server/logger.js';
import type { ServerOptions } from '../../server/options.js';
import type { Outbound, SlowReason } from '../../server/outbound.js';
import type { ServerStats } from '../../server/stats.js';
import type { TlsSessionInfo } from '../../server/tls-accept.js';
import { copyInto } from '../../util/bytes.js';
import { type ConnectOptions, parseConnect } from './connect.js';
import {
  encodeMsgHead,
  errLine,
  headMax,
  msgTarget,
  msgTargetMax,
  NO_RESPONDERS,
  OK,
  PING,
  PONG,
  writeMsgTarget,
} from './encoder.js';
import { NatsParser } from './parser.js';

/** What a session needs from the node that owns it. */
export interface SessionHost {
  readonly options: ServerOptions;
  readonly congestion: Congestion;
  readonly router: Router;
  readonly flusher: Flusher;
  readonly stats: ServerStats;
  readonly log: Logger;
  /** Bytes held for all clients, and the node-wide bounds on them. */
  readonly outbound: Outbound;
  /** Authentication, limits and permissions (the same for every face). */
  readonly security: Security;
  /** The INFO line (with CRLF) for a new connection. */
  infoLine(session: ClientSession): string;
  /** The session has authenticated: `identity` is set. */
  sessionAuthenticated(session: ClientSession): void;
  sessionClosed(session: ClientSession): void;
}

/**
 * How long one read slice may run: past it, the rest of the read waits for
 * the next turn of the event loop (the socket paused meanwhile), so one
 * publisher fanning out to thousands of subscribers cannot keep every other
 * connection, PINGs included, waiting. The clock is read only every
 * `SLICE_CHECK` units of work (a delivery counts `DELIVERY_COST` plus the
 * bytes it copies), so a read of small messages to a few subscribers never
 * reads it at all.
 */
export const SLICE_MS = 4;
/**
 * While other connections are reading, a publisher whose reads run past
 * SLICE_MS gets at most this share of the time: after a slice (with its
 * flush) that took T, its next one waits until T × (1/share − 1) has passed
 * if anyone else read meanwhile. So subscribers that stopped reading, still
 * taking bytes into kernel buffers, cost everyone else little; alone, the
 * publisher goes at full speed.
 */
export const FAIR_SHARE = 0.1;
const SLICE_CHECK = 256 * 1024;
const DELIVERY_COST = 256;

const EMPTY = Buffer.alloc(0);

/** A subscription with the NATS face's encoding cache. */
interface NatsSubscription extends Subscription {
  /** Encoded `<subject> <sid> ` for `targetSubject`: the first `targetLen` bytes. */
  target: Buffer;
  targetLen: number;
  targetSubject: string;
  /** Each delivery is checked against the subscribe deny rules (see Guard.subscribe). */
  check: boolean;
}

export class ClientSession extends Connection implements Subscriber {
  readonly kind = 'client' as const;
  echo = true;
  connectOptions: ConnectOptions | null = null;
  account: Account | null = null;
  /** Who the connection is once CONNECT has authenticated: permissions, limits, quotas. */
  private readonly who: ConnectionIdentity;
  /** The challenge sent in INFO for nkey and JWT users ('' when none). */
  readonly nonce: string;
  /** What the client presented at CONNECT (kept to re-check on reload). */
  credentials: Credentials | null = null;
  /** CONNECT is being checked (asynchronously): nothing after it is parsed meanwhile. */
  private authPending = false;
  /** Reads wait until then (ms, performance.now()) to keep to the identity's data rate. */
  private rateWaitUntil = 0;
  readonly subs = new Map<string, Subscription>();
  /** Server PINGs not yet answered. */
  pingsOut = 0;
  /** The TLS handshake's result (version, cipher, verified client certificate); null on plain TCP. */
  readonly tls: TlsSessionInfo | null;
  private readonly parser: NatsParser;
  private authTimer: NodeJS.Timeout | null = null;
  /** Work done in the current read slice, the level at which to read the clock, and its start (see SLICE_MS). */
  private sliceWork = 0;
  private sliceCheck = SLICE_CHECK;
  private sliceBegan = 0;
  /** Earliest time the next slice runs while others read (see FAIR_SHARE), and the read batches seen. */
  private notBefore = 0;
  private seenBatches = 0;
  /** Read bytes waiting for the next slice, in order; null when none wait. */
  private backlog: Buffer[] | null = null;

  constructor(
    id: number,
    socket: Socket,
    private readonly host: SessionHost,
    /** Set on a TLS connection, whose INFO went out in clear before the handshake. */
    tls: TlsSessionInfo | null = null,
    /** A TLS connection's nonce, sent in that INFO. */
    nonce = '',
  ) {
    super(id, socket, host.flusher, host.options.maxPending, host.outbound);
    this.tls = tls;
    const o = host.options;
    this.parser = new NatsParser(this, {
      maxPayload: o.maxPayload,
      maxControlLine: o.maxControlLine,
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.close(CloseReason.ClientClosed));
    socket.on('close', () => this.close(CloseReason.ClientClosed));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const reason = err.syscall === 'write' ? CloseReason.WriteError : CloseReason.ReadError;
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        host.log.debug(`cid:${id} socket error: ${err.message}`);
      }
      this.close(err.code === 'ECONNRESET' ? CloseReason.ClientClosed : reason);
    });
    this.authTimer = setTimeout(
      () => this.fail(WireError.AuthTimeout, CloseReason.AuthTimeout),
      o.authTimeoutMs,
    );
    this.who = new ConnectionIdentity(host.security);
    this.nonce = tls === null ? host.security.nonce() : nonce;
    if (tls === null) this.queueText(host.infoLine(this));
  }

  get verbose(): boolean {
    return this.connectOptions?.verbose ?? false;
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    if (this.backlog !== null) {
      // Only bytes read before the pause (or after a resume by someone else).
      this.backlog.push(chunk);
      this.socket.pause();
      return;
    }
    this.startSlice();
    const published = this.inMsgs;
    this.feedChunk(chunk);
    this.stallIfCongested(published);
  }

  /**
   * Parses one read. If the slice's work runs out in it, the rest becomes the
   * backlog, fed in the next turn of the event loop; false then.
   */
  private feedChunk(chunk: Buffer): boolean {
    this.flusher.begin();
    try {
      const err = this.parser.feed(chunk);
      if (err !== null) this.protocolError(err);
    } finally {
      this.flusher.end();
    }
    const at = this.parser.pausedAt;
    if (at < 0 || this.closed) return true;
    this.backlog = [chunk.subarray(at)];
    this.socket.pause();
    // Waiting for CONNECT's check: its end schedules the next slice.
    if (this.authPending) return false;
    if (this.rateWaitUntil > 0) {
      setImmediate(this.nextSlice);
      return false;
    }
    this.host.stats.readSlices++;
    const now = performance.now();
    this.notBefore = now + (now - this.sliceBegan) * (1 / FAIR_SHARE - 1);
    this.seenBatches = this.flusher.batches;
    setImmediate(this.nextSlice);
    return false;
  }

  private readonly nextSlice = (): void => {
    if (this.authPending) return;
    if (this.rateWaitUntil > 0 && !this.closed) {
      // Keeping to the identity's data rate (backpressure: the socket stays paused).
      const wait = this.rateWaitUntil - performance.now();
      if (wait >= 1) {
        setTimeout(this.nextSlice, wait);
        return;
      }
      this.rateWaitUntil = 0;
    }
    if (this.flusher.batches !== this.seenBatches && !this.closed) {
      // Others read since the last slice: they get the time until notBefore.
      const wait = this.notBefore - performance.now();
      this.seenBatches = this.flusher.batches;
      if (wait >= 1) {
        this.host.stats.fairShareWaits++;
        setTimeout(this.nextSlice, wait);
        return;
      }
    }
    const backlog = this.backlog;
    this.backlog = null;
    if (backlog === null || this.closed) return;
    this.startSlice();
    const published = this.inMsgs;
    for (let i = 0; i < backlog.length; i++) {
      if (this.closed) return;
      if (!this.feedChunk(backlog[i])) {
        // The remainder heads the new backlog; what was behind it follows.
        for (let j = i + 1; j < backlog.length; j++) this.backlog!.push(backlog[j]);
        return;
      }
    }
    if (this.closed) return;
    this.socket.resume();
    this.stallIfCongested(published);
  };

  private startSlice(): void {
    this.sliceWork = 0;
    this.sliceCheck = SLICE_CHECK;
    this.sliceBegan = performance.now();
  }

  /** A producer waits while a queue it feeds (a mesh link) is congested. */
  private stallIfCongested(published: number): void {
    if (this.inMsgs !== published && this.host.congestion.active && !this.closed) {
      this.host.congestion.stall(this.socket);
    }
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
    if (this.identity !== null || this.authPending) {
      // A second CONNECT refreshes the options, not the identity (as nats-server).
      if (this.identity !== null) this.accept(parsed);
      return;
    }
    const creds: Credentials = {
      face: 'nats',
      remoteAddress: this.remoteAddress,
      user: parsed.user,
      pass: parsed.pass,
      token: parsed.auth_token,
      nkey: parsed.nkey,
      sig: parsed.sig,
      jwt: parsed.jwt,
      nonce: this.nonce,
      // A certificate names the user only under verify_and_map (with verify
      // alone it proves the client may connect, and the usual login follows).
      cert: this.host.options.tls?.verifyAndMap === true ? (this.tls?.cert ?? null) : null,
    };
    this.credentials = creds;
    const result = this.host.security.login(creds);
    if (result instanceof Promise) {
      // Nothing after CONNECT is parsed until it is checked (the parser
      // stops here; the reads wait in the backlog).
      this.authPending = true;
      this.parser.pause();
      result.then(
        (r) => this.authenticated(parsed, r),
        (err: Error) => this.authenticated(parsed, { ok: false, why: err.message }),
      );
      return;
    }
    this.authenticated(parsed, result);
  }

  private authenticated(parsed: ConnectOptions, r: AuthResult): void {
    const resumed = this.authPending;
    this.authPending = false;
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
    if (resumed) {
      if (this.backlog !== null) {
        this.notBefore = 0;
        setImmediate(this.nextSlice);
      } else this.parser.unpause();
    }
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
  reauthorized(id: Identity): void {
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

  onPub(subject: string, reply: string, headers: Buffer | null, payload: Buffer): void {
    if (!this.requireConnect()) return;
    const size = payload.length + (headers === null ? 0 : headers.length);
    this.inMsgs++;
    this.inBytes += size;
    const stats = this.host.stats;
    stats.inMsgs++;
    stats.inBytes += size;
    const opts = this.connectOptions!;
    if (headers !== null && !opts.headers) {
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
    if (who.guard !== null && !who.guard.publish(subject)) {
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
    if (wait > 0) {
      // Keeping to the identity's data rate: reading stops until it allows more.
      this.rateWaitUntil = performance.now() + wait;
      this.parser.pause();
    }
    if (opts.verbose) this.queueText(OK);
    const msg: Message = { subject, reply, headers, payload };
    const n = this.host.router.deliver(this.match(subject), msg, this);
    if (n === 0 && reply !== '' && opts.no_responders) this.noResponders(reply);
    this.sliceWork += n * (DELIVERY_COST + (size < COPY_LIMIT ? size : 0));
    if (this.sliceWork > this.sliceCheck) {
      if (performance.now() - this.sliceBegan > SLICE_MS) this.parser.pause();
      else this.sliceCheck = this.sliceWork + SLICE_CHECK;
    }
  }

  onSub(subject: string, queue: string, sid: string): void {
    if (!this.requireConnect()) return;
    if (classifySubject(subject) === 'invalid' || (queue !== '' && !isValidQueueName(queue))) {
      this.softError(WireError.InvalidSubject);
      return;
    }
    let check = false;
    const guard = this.who.guard;
    if (guard !== null) {
      const verdict = guard.subscribe(subject, queue);
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
    // The `<subject> <sid> ` bytes are kept per subscription; a literal
    // subscription always sees one subject, a wildcard one mostly a few.
    if (ns.targetSubject !== msg.subject) {
      const need = msgTargetMax(msg.subject, sub.sid);
      if (ns.target.length < need) ns.target = Buffer.allocUnsafe(Math.max(64, need));
      ns.targetLen = writeMsgTarget(ns.target, msg.subject, sub.sid);
      ns.targetSubject = msg.subject;
    }
    const headers = this.connectOptions?.headers ? msg.headers : null;
    const size = this.queueMsg(ns.target, msg.reply, headers, msg.payload, ns.targetLen);
    if (size < 0) return;
    this.outMsgs++;
    this.outBytes += size;
    const stats = this.host.stats;
    stats.outMsgs++;
    stats.outBytes += size;
    sub.delivered++;
    if (sub.max > 0 && sub.delivered >= sub.max) this.removeSub(sub);
  }

  /** Queues one MSG/HMSG frame; returns its payload size, or -1 at the pending bound. */
  private queueMsg(
    target: Buffer,
    reply: string,
    headers: Buffer | null,
    payload: Buffer,
    targetLen = target.length,
  ): number {
    const hlen = headers === null ? -1 : headers.length;
    const total = payload.length + (headers === null ? 0 : hlen);
    const max = headMax(target, reply);
    let chunk: Buffer;
    let at: number;
    if (total < COPY_LIMIT) {
      chunk = this.reserve(max + total + 2);
      at = encodeMsgHead(chunk, this.writePos, target, reply, hlen, total, targetLen);
      if (headers !== null) at = copyInto(headers, chunk, at);
      at = copyInto(payload, chunk, at);
    } else {
      // Large payloads are queued by reference, not copied.
      chunk = this.reserve(max);
      this.commit(encodeMsgHead(chunk, this.writePos, target, reply, hlen, total, targetLen));
      if (headers !== null) this.queueRef(headers);
      this.queueRef(payload);
      chunk = this.reserve(2);
      at = this.writePos;
    }
    chunk[at++] = 0x0d;
    chunk[at++] = 0x0a;
    return this.commit(at) ? total : -1;
  }

  /**
   * The match for a publish subject. No per-connection cache: the sublist's
   * own cache hit is one Map lookup and allocates nothing, and a second
   * layer only cost a lookup and an insert on every miss.
   */
  private match(subject: string): MatchResult {
    return this.account!.sublist.match(subject);
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
    const o = this.host.options;
    const pending = this.pendingBytes;
    let why: string;
    if (reason === CloseReason.SlowConsumerWriteDeadline) {
      why = `no write progress for ${Date.now() - this.blockedSince} ms with ${pending} bytes pending (write_deadline ${o.writeDeadlineMs} ms)`;
    } else if (reason === CloseReason.SlowConsumerPendingTotal) {
      why = `holds ${this.held} bytes, the most of any client, while clients hold ${this.host.outbound.bytes} in all (max_pending_total ${o.maxPendingTotal})`;
    } else why = `${pending} bytes pending exceeds max_pending ${o.maxPending}`;
    this.host.log.warn(
      `cid:${this.id} ${this.remoteAddress}:${this.remotePort} - slow consumer: ${why}`,
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
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    const account = this.account;
    if (account !== null) for (const sub of this.subs.values()) account.unsubscribe(sub);
    this.who.release();
    this.host.stats.closed(reason);
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
