/**
 * A Kafka client connection: cuts the byte stream into request frames
 * (frames.ts), decodes each (codec.ts), hands it to the handler of its API
 * key (api.ts) and writes the responses back in request order. Requests are
 * handled one after another, as a Kafka broker handles a connection (it
 * mutes the channel while a request is in flight, SocketServer.scala); the
 * next frames are read ahead up to READ_AHEAD_BYTES meanwhile, and every
 * response of one read batch leaves in one write (Connection's flusher).
 *
 * Bad input is answered as Kafka 3.x answers it (each counted):
 * - a frame over `kafka.max_request_bytes` or with a negative size: the
 *   connection is closed before the frame is read (Kafka's
 *   InvalidReceiveException, NetworkReceive.java);
 * - an API key this broker does not serve, or a version of it outside what
 *   it serves: closed ("Received request api key … which is not enabled",
 *   SocketServer.parseRequestHeader), except ApiVersions, which is answered
 *   in its v0 form with UNSUPPORTED_VERSION and its own version range
 *   (KIP-511; RequestContext.parseRequest, ApiVersionsRequest.getErrorResponse);
 * - a request that does not decode: closed (InvalidRequestException);
 * - before SASL completes, any API but ApiVersions, SaslHandshake and
 *   SaslAuthenticate: closed; no SASL within `auth_timeout`: closed.
 */
import { ConnectionIdentity } from '../../auth/connection-identity.js';
import type { Guard } from '../../auth/guard.js';
import type { Credentials, Identity } from '../../auth/types.js';
import { Connection } from '../../connection/connection.js';
import type { SlowReason } from '../../connection/outbound.js';
import { isSharedRead, onReads, poisoning } from '../../connection/shared-read.js';
import type { TlsSessionInfo } from '../../connection/tls-accept.js';
import type { Account } from '../../core/account.js';
import { CloseReason, socketErrorReason } from '../../errors.js';
import type { ClientDescription, FaceConnection, Transport } from '../face.js';
import { Close, type KafkaContext, Later, type RequestHeader } from './api.js';
import { decodeRequestBody, decodeRequestHeader, encodeResponse, isSupported } from './codec.js';
import { FrameSplitter } from './frames.js';
import type { KafkaHost } from './host.js';
import { decodeProduceRequest, produceResponseSize, writeProduceResponse } from './produce-wire.js';
import { KafkaCodecError, Reader } from './wire.js';

/** Bytes of frames read ahead while a request is being handled, before reading pauses. */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;
/** Bytes of responses waiting for the socket before the next request waits for its 'drain'. */
export const WRITE_WAIT_BYTES = 4 * 1024 * 1024;
/** Requests whose answer is pending (a Later) on one connection before reading the next waits. */
export const IN_FLIGHT_MAX = 64;
/** Kafka's error code for an unsupported version (Errors.java). */
const UNSUPPORTED_VERSION = 35;
const API_VERSIONS = 18;
const PRODUCE = 0;
const NO_CREDENTIALS = { user: '', pass: '', token: '', nkey: '', sig: '', jwt: '', nonce: '' };
/** Frames gathered over reads are lent from the pool (frames.ts), poisoned when given back under WEFT_POISON_READS. */
const LEND = { lend: true, poison: poisoning };

export class KafkaSession extends Connection implements FaceConnection, KafkaContext {
  readonly face = 'kafka';
  readonly who: ConnectionIdentity;
  credentials: Credentials | null = null;
  client: ClientDescription | null = null;
  sasl: unknown = null;
  /** The request being handled (requests are handled one at a time). */
  header: RequestHeader = { apiKey: -1, apiVersion: 0, correlationId: 0, clientId: null };
  private readonly frames: FrameSplitter;
  /** A request (or the login at connect) is in flight: later frames wait. */
  private busy = false;
  /** Answers not yet written, in request order, while a Later is pending (else empty). */
  private readonly pending: Slot[] = [];
  /** Waiting for the socket to take queued responses before the next request. */
  private waitingWrite = false;
  private authTimer: NodeJS.Timeout | null = null;
  saslRequired = false;

  constructor(
    id: number,
    socket: Transport,
    readonly host: KafkaHost,
    readonly tls: TlsSessionInfo | null = null,
  ) {
    super(id, socket, host.flusher, host.options.maxPending, host.outbound);
    this.who = new ConnectionIdentity(host.security);
    this.frames = new FrameSplitter(host.options.kafkaMaxRequestBytes, LEND);
    (socket as Carrier)[SESSION] = this;
    onReads(socket, (chunk: Buffer) => this.read(chunk));
    socket.on('end', onGone);
    socket.on('error', onError);
    this.loginAtConnect();
  }

  get shared() {
    return this.host.shared;
  }
  get connectionId(): number {
    return this.id;
  }
  get identity(): Identity | null {
    return this.who.identity;
  }
  get account(): Account | null {
    return this.who.identity?.account ?? null;
  }
  get guard(): Guard | null {
    return this.who.guard;
  }
  get authenticated(): boolean {
    return this.who.identity !== null;
  }
  get tlsClientSubject(): string {
    const c = this.tls?.cert;
    return c == null
      ? ''
      : Object.entries(c.subject ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
  }
  get subscriptionCount(): number {
    return 0;
  }
  subscriptionSubjects(): string[] {
    return [];
  }

  tag(): string {
    return `kafka cid:${this.id} ${this.remoteAddress}:${this.remotePort}`;
  }

  // --- login -------------------------------------------------------------------

  /**
   * A node without authentication, a `no_auth_user`, or a verified client
   * certificate that names the user (verify_and_map): the connection logs in
   * now. Otherwise it must SASL (kafka-groups' handlers) within auth_timeout.
   */
  private loginAtConnect(): void {
    const sec = this.host.security;
    const cert = this.host.tlsVerifyAndMap ? (this.tls?.cert ?? null) : null;
    if (sec.required && sec.config.noAuthUser === '' && cert === null) {
      this.saslRequired = true;
      this.armAuthTimer();
      return;
    }
    this.busy = true;
    this.authenticate({ ...NO_CREDENTIALS, cert })
      .then((why) => {
        if (why !== null && !this.closed) {
          // Refused without SASL: the client may still SASL (as a Kafka SASL listener expects).
          this.saslRequired = true;
          this.armAuthTimer();
        }
      })
      .finally(() => {
        this.busy = false;
        this.step();
      });
  }

  private armAuthTimer(): void {
    this.authTimer = setTimeout(onAuthTimeout, this.host.options.authTimeoutMs, this);
    this.authTimer.unref();
  }

  async authenticate(c: Omit<Credentials, 'face' | 'remoteAddress'>): Promise<string | null> {
    const creds: Credentials = { ...c, face: 'kafka', remoteAddress: this.remoteAddress };
    let r: Awaited<ReturnType<typeof this.host.security.login>>;
    try {
      r = await this.host.security.login(creds);
    } catch (err) {
      r = { ok: false, why: (err as Error).message };
    }
    if (this.closed) return 'connection closed';
    if (!r.ok) return r.why;
    const again = this.who.identity !== null;
    if (again) this.who.release();
    const refused = this.who.admit(r.identity, () => this.close(CloseReason.AuthExpired));
    if (refused !== null) {
      const why = `${refused === 'account_connections' ? 'account' : 'user'} max_connections reached`;
      this.host.log.warn(`${this.tag()} - ${why}`);
      this.close(
        refused === 'account_connections'
          ? CloseReason.MaxAccountConnections
          : CloseReason.MaxUserConnections,
      );
      return why;
    }
    this.credentials = creds;
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
    if (!again) this.host.sessionAuthenticated(this);
    return null;
  }

  // --- reading -----------------------------------------------------------------

  read(chunk: Buffer): void {
    this.lastActivity = Date.now();
    this.inBytes += chunk.length;
    this.host.flusher.begin();
    try {
      if (!this.closed) {
        // A read of the shared buffer is valid only during this call, a frame
        // gathered over reads until the next is taken (`LEND`): the splitter
        // copies what is not taken (`release`), dispatch a frame other than a
        // Produce, and Produce its records where it must wait (produce.ts).
        this.frames.push(chunk, isSharedRead(chunk));
        this.step();
      }
    } finally {
      this.frames.release();
      this.host.flusher.end();
    }
  }

  /** Handles whole frames while nothing is in flight; pauses reading when far ahead. */
  private step(): void {
    while (!this.busy && !this.closed && this.pending.length < IN_FLIGHT_MAX) {
      if (this.pendingBytes > WRITE_WAIT_BYTES) {
        this.waitingWrite = true;
        break;
      }
      let frame: Buffer | null;
      try {
        frame = this.frames.next();
      } catch (err) {
        this.badFrame(err);
        return;
      }
      if (frame === null) break;
      const raw = this.rawSasl();
      if (raw !== null) this.rawToken(raw, frame);
      else this.dispatch(frame);
    }
    if (this.closed) return;
    const held = this.busy || this.waitingWrite || this.pending.length >= IN_FLIGHT_MAX;
    const hold = held && this.frames.pending >= READ_AHEAD_BYTES;
    if (hold && !this.socket.isPaused()) this.socket.pause();
    else if (!hold && this.socket.isPaused()) this.socket.resume();
  }

  protected override onDrained(): void {
    if (!this.waitingWrite) return;
    this.waitingWrite = false;
    this.host.flusher.begin();
    try {
      this.step();
    } finally {
      this.host.flusher.end();
    }
  }

  /** A frame over the limit or with a negative size: closed before it is read (Kafka's InvalidReceiveException). */
  private badFrame(err: unknown): void {
    const c = this.host.counters;
    if (err instanceof KafkaCodecError && err.code === 'TOO_LARGE') c.framesTooLarge++;
    else c.badRequests++;
    this.host.log.warn(`${this.tag()} - ${(err as Error).message}: closing`);
    this.close(CloseReason.MaxPayload);
  }

  private dispatch(frame: Buffer): void {
    const counters = this.host.counters;
    this.inMsgs++;
    // Only Produce is read by reference (its handler copies what it keeps).
    const lent = isSharedRead(frame) || this.frames.lent(frame);
    if (lent && frame.length >= 2 && frame.readInt16BE(0) !== PRODUCE) frame = Buffer.from(frame);
    const r = new Reader(frame);
    let header: RequestHeader;
    try {
      header = decodeRequestHeader(r);
    } catch (err) {
      counters.badRequests++;
      this.host.log.warn(`${this.tag()} - unreadable request header: ${(err as Error).message}`);
      this.close(CloseReason.ParseError);
      return;
    }
    this.header = header;
    if (header.clientId !== null && this.client === null) {
      this.client = { name: header.clientId, lang: '', version: '' };
    }
    const { apiKey, apiVersion } = header;
    const handler = this.host.table.get(apiKey);
    const served =
      handler !== undefined &&
      apiVersion >= handler.minVersion &&
      apiVersion <= handler.maxVersion &&
      isSupported(apiKey, apiVersion);
    if (!served) {
      if (apiKey === API_VERSIONS && handler !== undefined) {
        // KIP-511: answered in v0 with UNSUPPORTED_VERSION and ApiVersions' own range.
        counters.unsupportedVersions++;
        this.answer(header, 0, {
          errorCode: UNSUPPORTED_VERSION,
          apiKeys: [
            {
              apiKey: API_VERSIONS,
              minVersion: handler.minVersion,
              maxVersion: handler.maxVersion,
            },
          ],
        });
        return;
      }
      counters.unsupportedVersions++;
      this.host.log.warn(
        `${this.tag()} - received request api key ${apiKey} with version ${apiVersion} which is not enabled: closing (as Kafka does)`,
      );
      this.close(CloseReason.ProtocolViolation);
      return;
    }
    if (!this.authenticated && handler.preAuth !== true) {
      counters.beforeSasl++;
      this.host.log.warn(
        `${this.tag()} - unexpected Kafka request of type ${handler.name} during SASL handshake: closing`,
      );
      this.close(CloseReason.AuthViolation);
      return;
    }
    let body: Record<string, unknown>;
    try {
      // Produce's by hand (produce-wire.ts): the same values and errors.
      body =
        apiKey === PRODUCE ? decodeProduceRequest(apiVersion, r) : decodeRequestBody(header, r);
    } catch (err) {
      counters.badRequests++;
      this.host.log.warn(
        `${this.tag()} - error getting request for apiKey ${handler.name} v${apiVersion}: ${(err as Error).message}: closing`,
      );
      this.close(CloseReason.ParseError);
      return;
    }
    counters.requests++;
    let result: unknown;
    try {
      result = handler.handle(this, body, apiVersion);
    } catch (err) {
      this.failed(handler, body, err);
      return;
    }
    if (result instanceof Promise) {
      this.busy = true;
      result.then(
        (res) => this.settled(header, res),
        (err: unknown) => {
          if (!this.closed) this.failed(handler, body, err, header);
        },
      );
      return;
    }
    this.finish(result, header);
  }

  /**
   * After a SaslHandshake v0 the SASL tokens come as bare size-prefixed
   * frames, not SaslAuthenticate requests (kafka-python does this): the
   * SASL module's state (sasl-module.ts, `SaslState.raw`) answers each.
   */
  private rawSasl(): ((token: Buffer) => Promise<Buffer | Close>) | null {
    const s = this.sasl as {
      handshakeVersion?: number;
      done?: boolean;
      raw?: (token: Buffer) => Promise<Buffer | Close>;
    } | null;
    if (this.authenticated || s === null || s.handshakeVersion !== 0 || s.done !== false)
      return null;
    return s.raw === undefined ? null : (token) => s.raw!(token);
  }

  private rawToken(raw: (token: Buffer) => Promise<Buffer | Close>, frame: Buffer): void {
    this.busy = true;
    this.inMsgs++;
    raw(Buffer.from(frame)).then(
      (out) => {
        this.busy = false;
        if (this.closed) return;
        if (out instanceof Close) {
          this.host.log.warn(`${this.tag()} - ${out.detail}: closing`);
          this.close(out.reason);
          return;
        }
        this.host.flusher.begin();
        try {
          const size = Buffer.alloc(4);
          size.writeInt32BE(out.length);
          this.outMsgs++;
          this.outBytes += 4 + out.length;
          if (this.queueBytes(size) && this.queueBytes(out)) this.step();
        } finally {
          this.host.flusher.end();
        }
      },
      () => this.close(CloseReason.AuthViolation),
    );
  }

  private settled(header: RequestHeader, res: unknown): void {
    this.busy = false;
    if (this.closed) return;
    this.header = header;
    this.host.flusher.begin();
    try {
      this.finish(res, header);
      this.step();
    } finally {
      this.host.flusher.end();
    }
  }

  /** A handler threw: its error response when it has one, else the connection closes. */
  private failed(
    handler: NonNullable<ReturnType<KafkaHost['table']['get']>>,
    body: unknown,
    err: unknown,
    header: RequestHeader = this.header,
  ): void {
    this.busy = false;
    this.header = header;
    this.host.counters.handlerErrors++;
    this.host.log.error(
      `${this.tag()} - ${handler.name} v${header.apiVersion} failed: ${(err as Error)?.stack ?? String(err)}`,
    );
    const UNKNOWN_SERVER_ERROR = -1;
    if (handler.errorResponse !== undefined) {
      let res: unknown;
      try {
        res = handler.errorResponse(body, header.apiVersion, UNKNOWN_SERVER_ERROR);
      } catch {
        this.close(CloseReason.ProtocolViolation);
        return;
      }
      this.answer(header, header.apiVersion, res);
      this.step();
      return;
    }
    this.close(CloseReason.ProtocolViolation);
  }

  /**
   * The answer to the request of `header`: written now when no earlier
   * answer is still pending, else queued behind them (request order).
   */
  private answer(header: RequestHeader, version: number, result: unknown): void {
    if (this.pending.length === 0) this.write(header, version, result);
    else this.pending.push({ header, version, done: true, result });
  }

  /** A handler gave a Later: its answer takes its place in line; the next request may start. */
  private deferred(header: RequestHeader, later: Later<unknown>): void {
    const slot: Slot = { header, version: header.apiVersion, done: false, result: null };
    this.pending.push(slot);
    later.answer.then(
      (res) => {
        slot.result = res;
        slot.done = true;
        this.drainPending();
      },
      (err: unknown) => {
        this.host.counters.handlerErrors++;
        this.host.log.error(
          `${this.tag()} - api key ${header.apiKey} failed: ${(err as Error)?.stack ?? String(err)}`,
        );
        slot.result = new Close(CloseReason.ProtocolViolation, 'handler failed');
        slot.done = true;
        this.drainPending();
      },
    );
  }

  /**
   * Queues the answers at the head of the line that are ready. They are not
   * flushed here: the answers one group commit made durable settle in the
   * same turn, one after another, and leave in one write when the Flusher
   * runs (setImmediate, right after the I/O callback that settled them),
   * not in one write each.
   */
  private drainPending(): void {
    if (this.closed) return;
    while (this.pending.length > 0 && this.pending[0]!.done && !this.closed) {
      const s = this.pending.shift()!;
      this.write(s.header, s.version, s.result);
    }
    this.step();
  }

  private write(header: RequestHeader, version: number, result: unknown): void {
    if (result === null || result === undefined) return;
    if (result instanceof Close) {
      if (result.response !== null)
        this.respond(header, version, result.response as Record<string, unknown>);
      this.host.log.warn(`${this.tag()} - ${result.detail}: closing`);
      this.close(result.reason);
      return;
    }
    this.respond(header, version, result as Record<string, unknown>);
  }

  private finish(result: unknown, header: RequestHeader = this.header): void {
    if (result instanceof Later) this.deferred(header, result);
    else this.answer(header, header.apiVersion, result);
  }

  /** Encodes and queues the response to the request of header `h`. */
  private respond(h: RequestHeader, version: number, body: Record<string, unknown>): void {
    // Produce's answer written in place by hand (produce-wire.ts): encodeResponse's bytes.
    const size = h.apiKey === PRODUCE ? produceResponseSize(version, body) : -1;
    if (size > 0) {
      const buf = this.reserve(size);
      const at = this.writePos;
      this.outMsgs++;
      this.outBytes += size;
      this.commit(writeProduceResponse(buf, at, size, version, h.correlationId, body));
      return;
    }
    let parts: Buffer[];
    try {
      parts = encodeResponse(h.apiKey, version, h.correlationId, body);
    } catch (err) {
      this.host.counters.handlerErrors++;
      this.host.log.error(
        `${this.tag()} - response to api key ${h.apiKey} v${version} cannot be encoded: ${(err as Error).message}`,
      );
      this.close(CloseReason.ProtocolViolation);
      return;
    }
    this.outMsgs++;
    for (const p of parts) {
      this.outBytes += p.length;
      if (!this.queueBytes(p)) return;
    }
  }

  // --- closing -----------------------------------------------------------------

  protected override onTransportClosed(): void {
    this.close(CloseReason.ClientClosed);
  }

  reauthorized(identity: Identity): number {
    this.who.replace(identity);
    return 0;
  }

  revoked(why: string): void {
    this.host.log.warn(`${this.tag()} - credentials revoked: ${why}`);
    this.close(CloseReason.AuthRevoked);
  }

  protected onSlowConsumer(reason: SlowReason): void {
    if (this.closed) return;
    this.host.stats.slowConsumers++;
    this.host.log.warn(`${this.tag()} - slow consumer: ${this.slowConsumerText(reason)}`);
    this.discardQueued();
    this.close(reason, true);
  }

  close(reason: CloseReason, abort = false): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.pending.length = 0;
    this.frames.dispose();
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
    this.who.release();
    this.host.stats.closed(reason);
    if (abort || this.socket.destroyed) this.socket.destroy();
    else {
      this.flush(true);
      this.socket.end();
      setTimeout(() => this.socket.destroy(), this.host.options.shutdownGraceMs).unref();
    }
    this.host.sessionClosed(this);
  }
}

/** An answer waiting for its turn. */
interface Slot {
  readonly header: RequestHeader;
  readonly version: number;
  done: boolean;
  result: unknown;
}

const SESSION = Symbol('weft.kafka.session');
type Carrier = Transport & { [SESSION]: KafkaSession };

function onGone(this: Carrier): void {
  this[SESSION].close(CloseReason.ClientClosed);
}

function onError(this: Carrier, err: NodeJS.ErrnoException): void {
  this[SESSION].close(socketErrorReason(err), true);
}

function onAuthTimeout(c: KafkaSession): void {
  c.host.counters.authTimeouts++;
  c.host.log.warn(`${c.tag()} - no SASL authentication within auth_timeout: closing`);
  c.close(CloseReason.AuthTimeout);
}
