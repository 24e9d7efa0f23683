/**
 * A Redis connection: reads what arrived, takes commands off it with the
 * RESP reader, runs each through the command table and answers in request
 * order, in one write per read batch. Logs in through the node's security
 * (AUTH, HELLO AUTH; at once on a node that needs no credentials), holds
 * the connection's pub/sub subscriptions, and closes as Redis does: after a
 * protocol error's -ERR, after QUIT's +OK.
 *
 * Order: a command whose reply is a Promise holds the commands after it
 * until it settles (Redis runs a connection's commands one after another:
 * an XRANGE after an XADD sees the entry), unless it is `concurrent` (its
 * effect was ordered when `run` returned; only the answer waits, as an
 * XADD waiting for its fsync): then the next ones run at once and their
 * replies wait in line. Bounds: PENDING_REPLIES_MAX replies waiting in
 * line, HELD_INPUT_MAX bytes read while a command holds the rest; reading
 * pauses at either (counted), and resumes when it drains.
 */
import { ConnectionIdentity } from '../../auth/connection-identity.js';
import type { Credentials, Identity } from '../../auth/types.js';
import type { SlowReason } from '../../connection/outbound.js';
import { isSharedRead, onReads } from '../../connection/shared-read.js';
import type { TlsSessionInfo } from '../../connection/tls-accept.js';
import type { Transport } from '../../connection/transport.js';
import type { Account } from '../../core/account.js';
import type { Message } from '../../core/message.js';
import { CloseReason, socketErrorReason } from '../../errors.js';
import type { ClientDescription, FaceConnection } from '../face.js';
import type { RedisClient } from './client.js';
import { clientInfoLine } from './client-info.js';
import type { CommandContext } from './command.js';
import { authCredentials, NOAUTH, redisCredentials } from './credentials.js';
import { allowedWhileSubscribed, lookup } from './dispatch.js';
import { type Protocol, R, type Reply } from './encoder.js';
import type { RedisHost } from './host.js';
import { RespOutput } from './output.js';
import { RespProtocolError, RespReader } from './parser.js';
import { PublishCache } from './publish.js';
import { ClientSubscriptions } from './pubsub.js';
import { LaterReply, ReplyLine } from './reply-line.js';
import { FastPaths, type FastSession } from './session-fast.js';
import { type LoginSession, loginWith } from './session-login.js';
import { type SettleTurn, settleTurnOf } from './settle-turn.js';

/** Replies waiting for an earlier one before reading pauses. */
export const PENDING_REPLIES_MAX = 1024;
/** Bytes read and not yet run while a command holds the ones after it, before reading pauses. */
export const HELD_INPUT_MAX = 1024 * 1024;

export class RedisSession
  extends RespOutput
  implements FaceConnection, RedisClient, LoginSession, FastSession
{
  readonly face = 'redis';
  protocol: Protocol = 2;
  name = '';
  libName = '';
  libVersion = '';
  readonly who: ConnectionIdentity;
  credentials: Credentials | null = null;
  authenticated = false;
  // reader, ctx, line, running, emit, emitNow, emitLater, internalError: also the fast paths' (session-fast.ts).
  readonly reader: RespReader;
  readonly ctx: CommandContext;
  readonly publishCache = new PublishCache();
  /** Commands run from ranges of the bytes read, where the table's are the built-in ones. */
  private readonly fast: FastPaths;
  /** Replies waiting in line behind one not settled; empty most of the time. */
  readonly line = new ReplyLine();
  /** A command's Promise holds the commands after it. */
  private holding = false;
  /** Reading was paused here (not by the congestion of others). */
  private paused = false;
  /** Set by QUIT or a protocol error: close once the replies before are out. */
  private ending: CloseReason | null = null;
  /** A command is running: its pushes go in line with the replies. */
  running = false;
  private subs: ClientSubscriptions | null = null;
  private closeHooks: (() => void)[] | null = null;
  /** auth_timeout, while a node that needs credentials has none from this client. */
  private timer: NodeJS.Timeout | null = null;
  /** Flushes replies settled by a store's write in the task that settled them (settle-turn.ts). */
  private readonly turn: SettleTurn;

  constructor(
    id: number,
    socket: Transport,
    readonly host: RedisHost,
    readonly tls: TlsSessionInfo | null = null,
  ) {
    const node = host.node;
    super(id, socket, node.flusher, node.options.maxPending, node.outbound);
    this.who = new ConnectionIdentity(node.security);
    this.reader = new RespReader(node.options.maxPayload);
    this.ctx = { client: this, face: host.state };
    this.turn = settleTurnOf(node.flusher);
    this.fast = new FastPaths(host.table);
    onReads(socket, (chunk: Buffer) => this.read(chunk));
    socket.on('end', () => this.close(CloseReason.ClientClosed));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.close(socketErrorReason(err), true);
    });
  }

  /** Logs in with no credentials where the node allows it; else waits for AUTH within auth_timeout. */
  begin(): void {
    const sec = this.host.node.security;
    // redis.tls verify_and_map: the verified client certificate names the user.
    const cert =
      this.host.node.options.redisTls?.verifyAndMap === true ? (this.tls?.cert ?? null) : null;
    if (!sec.required || sec.config.noAuthUser !== '' || cert !== null) {
      const r = loginWith(this, redisCredentials(this.remoteAddress, '', '', '', cert), false);
      if (r instanceof Promise) this.holdUntil(r);
      return;
    }
    this.timer = setTimeout(
      () => this.close(CloseReason.AuthTimeout),
      this.host.node.options.authTimeoutMs,
    );
    this.timer.unref();
  }

  // --- CommandClient -------------------------------------------------------

  get identity(): Identity {
    return this.who.identity as Identity;
  }

  get account(): Account {
    const id = this.who.identity;
    if (id === null) throw new Error('not logged in');
    return id.account;
  }

  get guard() {
    return this.who.guard;
  }

  onClose(fn: () => void): void {
    if (this.closed) {
      fn();
      return;
    }
    this.closeHooks ??= [];
    this.closeHooks.push(fn);
  }

  push(message: Reply): void {
    const m: Reply =
      message.t === 'push' || message.t === 'array' ? { t: 'push', v: message.v } : message;
    if (this.running) this.emit(m);
    else this.writeReply(m);
  }

  // --- RedisClient ---------------------------------------------------------

  get client(): ClientDescription | null {
    return { name: this.name, lang: this.libName || 'redis', version: this.libVersion };
  }

  get subscriptions(): ClientSubscriptions {
    this.subs ??= new ClientSubscriptions(this, this.host.state.pubsub);
    return this.subs;
  }

  get subscribed(): boolean {
    return this.subs !== null && this.subs.total > 0;
  }

  get subscriptionCount(): number {
    return this.subs?.total ?? 0;
  }

  subscriptionSubjects(): string[] {
    return this.subs?.subjects() ?? [];
  }

  setProtocol(p: Protocol): void {
    this.protocol = p;
  }

  info(): string {
    const user = this.who.identity?.user;
    return clientInfoLine(this, user, this.subs, this.reader.pending, this.line.waiting);
  }

  login(user: string | null, pass: string): Promise<Reply | null> {
    const creds = authCredentials(this.host.node.security, this, user, pass);
    if (creds === null) return Promise.resolve(null);
    if (!('face' in creds)) return Promise.resolve(creds);
    const r = loginWith(this, creds, true);
    return r instanceof Promise ? r : Promise.resolve(r);
  }

  loggedOut(): void {
    this.subs?.clear();
    this.who.release();
  }

  loggedIn(first: boolean): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (first) this.host.sessionAuthenticated(this);
  }

  pauseFor(ms: number): void {
    if (this.closed) return;
    this.socket.pause();
    setTimeout(() => {
      if (!this.closed && !this.paused) this.socket.resume();
    }, ms).unref();
  }

  quit(): void {
    this.ending = CloseReason.ClientClosed;
  }

  reset(): void {
    this.subs?.clear();
    this.name = '';
    this.protocol = 2;
    const sec = this.host.node.security;
    if (sec.required && sec.config.noAuthUser === '' && this.who.identity !== null) {
      this.who.release();
      this.who.identity = null;
      this.authenticated = false;
    }
  }

  // --- reading -------------------------------------------------------------

  private read(chunk: Buffer): void {
    const node = this.host.node;
    this.lastActivity = Date.now();
    this.inBytes += chunk.length;
    const published = this.inMsgs;
    const stall = this.outbound.stall;
    node.flusher.begin();
    stall.producer = this;
    try {
      if (!this.closed && this.ending === null) {
        // A read of the shared buffer is valid only during this call: the
        // reader copies the arguments it returns and, at `release`, what
        // it has not taken (a command not complete, or held behind one
        // that waits).
        this.reader.push(chunk, isSharedRead(chunk));
        this.drain();
        // This connection's replies go out first, then the other
        // connections' pub/sub messages (the Flusher's pass): a pipelining
        // publisher has its answers, and sends its next batch, while the
        // node still writes to the subscribers, as redis-server writes a
        // publisher's replies first (bench/PROFILE.md, "Issue 16 — rface").
        this.flush();
      }
    } finally {
      stall.producer = null;
      this.reader.release();
      node.flusher.end();
    }
    if (this.inMsgs !== published && node.congestion.active && !this.closed) {
      node.congestion.stall(this.socket);
    }
    // A publisher that fed a subscriber past half its max_pending waits (producer-stall.ts).
    stall.afterRead(this, this.socket);
  }

  /** Runs the commands read, in order, while nothing holds them. */
  private drain(): void {
    const reader = this.reader;
    while (!this.closed && this.ending === null && !this.holding) {
      if (this.line.waiting >= PENDING_REPLIES_MAX) break;
      // Commands read as ranges of the bytes, where they would run at once
      // (logged in; not RESP2's subscribe mode, which refuses them):
      // session-fast.ts. Else read as arguments below.
      if (this.authenticated && (this.protocol !== 2 || !this.subscribed) && this.fast.run(this)) {
        continue;
      }
      let args: Buffer[] | null;
      try {
        args = reader.next();
      } catch (err) {
        if (!(err instanceof RespProtocolError)) throw err;
        this.host.counters.protocolErrors++;
        this.host.node.log.debug(`${this.tag()} - protocol error: ${err.message}`);
        this.emit(R.error(`ERR ${err.message}`));
        this.ending = CloseReason.ParseError;
        break;
      }
      if (args === null) break;
      this.execute(args);
    }
    this.flow();
    this.maybeEnd();
  }

  /** Pauses reading at the bounds, resumes below them. */
  private flow(): void {
    if (this.closed) return;
    const full = this.line.waiting >= PENDING_REPLIES_MAX;
    const heldFull = this.holding && this.reader.pending > HELD_INPUT_MAX;
    if (full || heldFull || this.ending !== null) {
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
        if (full) this.host.counters.pipelineStalls++;
        else if (heldFull) this.host.counters.inputStalls++;
      }
    } else if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** A reply made in this turn: now, or in line until its `LaterReply` is filled. */
  emitNow(r: Reply | LaterReply): void {
    if (!(r instanceof LaterReply)) this.emit(r);
    else if (r.reply === null) this.line.wait(r, this.laterFilled);
    else this.emit(r.reply);
  }

  private execute(args: Buffer[]): void {
    const h = this.host;
    const cmd = lookup(h.table, args);
    if (typeof cmd === 'string') {
      h.counters.badCommands++;
      this.emit(R.error(cmd));
      return;
    }
    if (!this.authenticated && !cmd.flags.includes('no_auth')) {
      h.counters.noauth++;
      this.emit(R.error(NOAUTH));
      return;
    }
    if (
      this.protocol === 2 &&
      this.subs !== null &&
      this.subs.total > 0 &&
      !allowedWhileSubscribed(cmd.name)
    ) {
      this.emit(
        R.error(
          `ERR Can't execute '${cmd.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
        ),
      );
      return;
    }
    h.counters.commands++;
    if (cmd.run === undefined) {
      this.emit(R.error(`ERR unknown subcommand. Try ${cmd.name.toUpperCase()} HELP.`));
      return;
    }
    let r: Reply | Promise<Reply> | LaterReply | null;
    this.running = true;
    try {
      r = cmd.run(this.ctx, args);
    } catch (err) {
      r = this.internalError(cmd.name, err);
    } finally {
      this.running = false;
    }
    if (r === null) return;
    if (r instanceof Promise) this.emitLater(cmd.name, r, cmd.concurrent === true);
    else this.emitNow(r);
  }

  /** A reply `r` will give, in line; it holds the commands after it unless `concurrent`. */
  emitLater(name: string, r: Promise<Reply>, concurrent: boolean): void {
    const slot = this.line.reserve();
    if (!concurrent) this.holding = true;
    r.then(
      (x) => {
        slot.reply = x;
        if (!concurrent) this.holding = false;
        this.settled();
      },
      (err: unknown) => {
        slot.reply = this.internalError(name, err);
        if (!concurrent) this.holding = false;
        this.settled();
      },
    );
  }

  /** Holds the commands after the one running until `p` settles (a login started at open, a queued XADD). */
  holdUntil(p: Promise<unknown>): void {
    this.holding = true;
    const go = (): void => {
      this.holding = false;
      if (this.closed) return;
      this.host.node.flusher.begin();
      try {
        this.drain();
      } finally {
        this.host.node.flusher.end();
      }
    };
    p.then(go, go);
  }

  internalError(name: string, err: unknown): Reply {
    this.host.node.log.error(
      `${this.tag()} - redis ${name}: ${(err as Error)?.stack ?? String(err)}`,
    );
    return R.error(`ERR internal error in '${name}': ${(err as Error)?.message ?? String(err)}`);
  }

  /**
   * A reply settled: writes the ones now at the head of the line, then
   * runs what waits. Not a read batch of its own: what it queues is
   * flushed once for every reply that settled in this task — a group
   * commit's fsync settles many XADDs of many connections at once, and a
   * flush per reply was a socket write per reply (bench/PROFILE.md,
   * "Issue 16 — faces") — at the task's end, in this turn (settle-turn.ts;
   * it was the Flusher's setImmediate pass, a turn later).
   */
  private settled(): void {
    if (this.closed) return;
    this.turn.enter();
    this.line.writeReady(this.writeOut);
    // Nothing read waits, reading is not paused and the connection is not
    // ending: running the reader would find nothing (most XADD acks).
    if (this.reader.pending === 0 && !this.paused && this.ending === null && !this.holding) return;
    this.drain();
  }

  // --- writing -------------------------------------------------------------

  /** A reply in request order: now when nothing waits before it, else in line. */
  emit(r: Reply): void {
    if (this.line.empty) this.writeReply(r);
    else this.line.add(r);
  }

  private readonly writeOut = (r: Reply): void => this.writeReply(r);

  /** A `LaterReply` in line was filled (no Promise, no closure per reply). */
  private readonly laterFilled = (): void => this.settled();

  private maybeEnd(): void {
    if (this.ending !== null && this.line.waiting === 0 && !this.closed) this.close(this.ending);
  }

  /** A pub/sub message (hot path: encoded straight into the chunk, output.ts). */
  sendMessage(prefix: Buffer, channel: Buffer | null, msg: Message): void {
    if (this.closed) return;
    const size = this.queueMessage(prefix, channel, msg);
    this.outMsgs++;
    this.outBytes += size;
    const node = this.host.node;
    node.stats.outMsgs++;
    node.stats.outBytes += size;
    this.host.counters.messagesOut++;
    // `held`: bytes queued here and in the socket (cheaper than pendingBytes on the hot path).
    if (this.held > node.options.redisPubsubOutputLimit && !this.closed) {
      this.host.counters.pubsubOutputLimitCloses++;
      node.stats.slowConsumers++;
      node.log.warn(
        `${this.tag()} - pub/sub client closed: ${this.pendingBytes} bytes waiting exceed redis.pubsub_output_limit ${node.options.redisPubsubOutputLimit}`,
      );
      this.discardQueued();
      this.close(CloseReason.SlowConsumer, true);
    }
  }

  tag(): string {
    return `redis cid:${this.id} ${this.remoteAddress}:${this.remotePort}`;
  }

  // --- closing -------------------------------------------------------------

  protected override onTransportClosed(): void {
    this.close(CloseReason.ClientClosed);
  }

  protected onSlowConsumer(reason: SlowReason): void {
    if (this.closed) return;
    const node = this.host.node;
    node.stats.slowConsumers++;
    node.log.warn(`${this.tag()} - slow consumer: ${this.slowConsumerText(reason)}`);
    this.discardQueued();
    this.close(reason, true);
  }

  reauthorized(identity: Identity): number {
    this.who.replace(identity);
    return this.subs?.recheck() ?? 0;
  }

  revoked(why: string): void {
    this.host.node.log.warn(`${this.tag()} - credentials revoked: ${why}`);
    this.close(CloseReason.AuthRevoked);
  }

  close(reason: CloseReason, abort = false): void {
    if (this.closed) return;
    this.closeReason = reason;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.subs?.clear();
    this.line.clear();
    this.who.release();
    const node = this.host.node;
    node.stats.closed(reason);
    if (abort || this.socket.destroyed) this.socket.destroy();
    else {
      this.flush(true);
      this.socket.end();
      // Read on (and drop what comes) so the peer's close is seen: a paused
      // socket would wait for shutdown_grace, holding the listener open.
      if (this.paused || this.socket.isPaused()) {
        this.paused = false;
        this.socket.resume();
      }
      setTimeout(() => this.socket.destroy(), node.options.shutdownGraceMs).unref();
    }
    const hooks = this.closeHooks;
    this.closeHooks = null;
    if (hooks !== null) for (const fn of hooks) fn();
    this.host.sessionClosed(this);
  }
}
