/**
 * One HTTP keep-alive connection, as the connection registry sees it
 * (`/connz` type `http`, max_connections over every face, connect and
 * disconnect advisories). It logs in once per `Authorization` value: the
 * identity is kept for the requests that follow on the same socket with
 * the same header, and a different header logs in again (the old identity
 * is released). It holds no outbound queue: a response is Node's to write.
 */
import type { Socket } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import { ConnectionIdentity } from '../../auth/connection-identity.js';
import type { AuthResult, Credentials, Identity } from '../../auth/types.js';
import type { TlsSessionInfo } from '../../connection/tls-accept.js';
import { CloseReason } from '../../errors.js';
import type { ClientDescription, FaceConnection, FaceHost } from '../face.js';

/** Why a login did not give an identity: the HTTP answer. */
export type LoginRefusal =
  | { readonly status: 401; readonly why: string }
  | { readonly status: 429; readonly why: string };

export class HttpConnection implements FaceConnection {
  readonly face = 'http';
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly created = new Date();
  lastActivity = Date.now();
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  readonly held = 0;
  readonly blockedSince = 0;
  identity: Identity | null = null;
  credentials: Credentials | null = null;
  closeReason: CloseReason | null = null;
  client: ClientDescription | null = null;
  /** Requests being answered now. */
  active = 0;
  /** The identity at work for `authKey`. */
  private who: ConnectionIdentity | null = null;
  /** The Authorization header value the identity was found for (null: none yet). */
  private authKey: string | null = null;
  /** A login under way, for requests pipelined behind the first. */
  private pending: Promise<ConnectionIdentity | LoginRefusal> | null = null;
  private pendingKey: string | null = null;
  private isClosed = false;
  private readonly closedPromise: Promise<void>;
  /** Subscriptions held by long-lived answers (SSE), keyed by their holder: `/connz?subs=1`. */
  readonly subjects = new Map<object, string>();
  /**
   * Called when a reload gives the connection a narrower identity (the
   * guard at `who` is the new one): each drops what is no longer allowed
   * and returns how many subscriptions went.
   */
  readonly reauthorizeHooks = new Set<(who: ConnectionIdentity) => number>();

  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly tls: TlsSessionInfo | null,
    private readonly host: FaceHost,
    /** The client certificate a TLS handshake verified (`http.tls.verify`), null otherwise. */
    readonly peerCert: PeerCertificate | null = null,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.closeReason ??= CloseReason.ClientClosed;
        this.who?.release();
        this.who = null;
        host.connections.closed(this);
        resolve();
      });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  get subscriptionCount(): number {
    return this.subjects.size;
  }

  subscriptionSubjects(): string[] {
    return [...this.subjects.values()];
  }

  /**
   * The identity for a request with this `Authorization` value: the one
   * kept when the value is the same, else a new login (and admission).
   */
  login(
    header: string | undefined,
    creds: Credentials,
  ): Promise<ConnectionIdentity | LoginRefusal> {
    const key = header ?? '';
    if (this.who !== null && this.authKey === key) return Promise.resolve(this.who);
    if (this.pending !== null && this.pendingKey === key) return this.pending;
    const p = this.doLogin(key, creds);
    this.pending = p;
    this.pendingKey = key;
    const clear = (): void => {
      if (this.pending === p) {
        this.pending = null;
        this.pendingKey = null;
      }
    };
    p.then(clear, clear);
    return p;
  }

  private async doLogin(
    key: string,
    creds: Credentials,
  ): Promise<ConnectionIdentity | LoginRefusal> {
    const security = this.host.security;
    this.credentials = creds;
    let r: AuthResult;
    try {
      r = await security.login(creds);
    } catch (err) {
      r = { ok: false, why: (err as Error).message };
    }
    if (!r.ok) return { status: 401, why: 'Authorization Violation' };
    if (this.isClosed) return { status: 401, why: 'the connection closed' };
    const who = new ConnectionIdentity(security);
    const refused = who.admit(r.identity, () => this.close(CloseReason.AuthExpired));
    if (refused !== null) {
      const text =
        refused === 'account_connections'
          ? 'maximum account active connections exceeded'
          : 'maximum user active connections exceeded';
      return { status: 429, why: text };
    }
    const first = this.identity === null;
    this.who?.release();
    this.who = who;
    this.authKey = key;
    this.identity = r.identity;
    if (first) this.host.connections.authenticated(this);
    return who;
  }

  close(reason: CloseReason): void {
    if (this.isClosed) return;
    this.closeReason ??= reason;
    // A request being answered finishes first (its response says Connection: close).
    if (this.active === 0) this.socket.destroy();
    else this.socket.end();
  }

  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  destroy(): void {
    this.socket.destroy();
  }

  closeSlow(): void {
    this.close(CloseReason.SlowConsumer);
  }

  reauthorized(identity: Identity): number {
    if (this.who === null) return 0;
    this.who.replace(identity);
    this.identity = identity;
    let dropped = 0;
    for (const hook of this.reauthorizeHooks) dropped += hook(this.who);
    return dropped;
  }

  revoked(): void {
    this.close(CloseReason.AuthRevoked);
  }
}
