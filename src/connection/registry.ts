/**
 * Every open connection of every face, in one place: connection ids unique
 * across faces, `max_connections` counted over all of them (and over TLS
 * handshakes still in progress), the connect/disconnect/auth-failure
 * advisories, and the bounded memory of closed connections that
 * `/connz?state=closed` shows. A face calls `admit`, `opened`,
 * `authenticated` and `closed`; the monitor and a reload read `values()`.
 */
import { CloseReason } from '../errors.js';
import type { Logger } from '../util/logger.js';
import type { Advisories, DisconnectInfo } from './advisories.js';
import type { FaceConnection } from './face-connection.js';
import type { ServerStats } from './stats.js';

/** Bound on closed connections remembered for /connz?state=closed. */
export const CLOSED_CONNECTIONS_MAX = 1000;

/** A closed connection, as /connz?state=closed shows it (nats-server's field names). */
export interface ClosedConnection {
  cid: number;
  /** The face (`nats`, `mqtt`, …). */
  type: string;
  ip: string;
  port: number;
  start: Date;
  stop: Date;
  reason: string;
  name: string;
  account: string;
  authorized_user: string;
  lang: string;
  version: string;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  /** TLS connections: nats-server's /connz names. */
  tls_version?: string;
  tls_cipher_suite?: string;
}

/** A connection refused before it was a session (a failed TLS handshake). */
export interface EarlyClose {
  readonly id: number;
  readonly face: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly started: Date;
  readonly reason: CloseReason;
}

export class ConnectionRegistry {
  private readonly open = new Map<number, FaceConnection>();
  /** Connections accepted and still in a TLS handshake (count against max_connections). */
  private handshaking = 0;
  private nextCid = 1;
  /** The newest closed connections, oldest first (CLOSED_CONNECTIONS_MAX). */
  readonly closedList: ClosedConnection[] = [];

  constructor(
    private readonly maxConnections: () => number,
    private readonly stats: ServerStats,
    private readonly log: Logger,
    private readonly advisories: Advisories,
  ) {}

  /** Open connections now (not counting handshakes). */
  get size(): number {
    return this.open.size;
  }

  values(): IterableIterator<FaceConnection> {
    return this.open.values();
  }

  /** A new connection id, unique on this node across faces. */
  nextId(): number {
    this.stats.totalConnections++;
    return this.nextCid++;
  }

  /**
   * Whether one more connection may be accepted (max_connections, over every
   * face). A refusal is counted and logged here; the face then tells the
   * peer in its own words and closes.
   */
  admit(face: string, remoteAddress: string, remotePort: number): boolean {
    const max = this.maxConnections();
    if (this.open.size + this.handshaking < max) return true;
    this.stats.refusedConnections++;
    this.stats.closed(CloseReason.MaxConnections);
    this.log.warn(
      `refused ${face} connection ${remoteAddress}:${remotePort}: max_connections ${max} reached`,
    );
    return false;
  }

  /** A TLS handshake began (true) or ended (false): it holds a place under max_connections. */
  handshake(started: boolean): void {
    this.handshaking += started ? 1 : -1;
  }

  opened(c: FaceConnection): void {
    this.open.set(c.id, c);
    this.log.debug(`cid:${c.id} ${c.remoteAddress}:${c.remotePort} - ${c.face} client connected`);
  }

  /** The connection logged in: `identity` is set. */
  authenticated(c: FaceConnection): void {
    const id = c.identity!;
    this.log.debug(
      `cid:${c.id} - authenticated${id.user === '' ? '' : ` as "${id.user}"`} (${id.method}) in account ${id.account.name}`,
    );
    this.advisories.clientConnected(describe(c));
  }

  /** The connection is gone: advisories, the closed list. Idempotent. */
  closed(c: FaceConnection): void {
    if (this.open.get(c.id) !== c) return;
    this.open.delete(c.id);
    if (c.identity !== null) this.advisories.clientDisconnected(describe(c));
    else if (c.credentials !== null && c.closeReason === CloseReason.AuthViolation) {
      this.advisories.authFailed(describe(c));
    }
    const d = c.client;
    this.remember({
      cid: c.id,
      type: c.face,
      ip: c.remoteAddress,
      port: c.remotePort,
      start: c.created,
      stop: new Date(),
      reason: c.closeReason ?? '',
      name: d?.name ?? '',
      account: c.identity?.account.name ?? '',
      authorized_user: c.identity?.user ?? '',
      lang: d?.lang ?? '',
      version: d?.version ?? '',
      in_msgs: c.inMsgs,
      out_msgs: c.outMsgs,
      in_bytes: c.inBytes,
      out_bytes: c.outBytes,
      ...(c.tls !== null ? { tls_version: c.tls.version, tls_cipher_suite: c.tls.cipher } : {}),
    });
    this.log.debug(`cid:${c.id} - closed: ${c.closeReason}`);
  }

  /** A connection that never became a session (its TLS handshake failed). */
  closedEarly(e: EarlyClose): void {
    this.stats.closed(e.reason);
    this.remember({
      cid: e.id,
      type: e.face,
      ip: e.remoteAddress,
      port: e.remotePort,
      start: e.started,
      stop: new Date(),
      reason: e.reason,
      name: '',
      account: '',
      authorized_user: '',
      lang: '',
      version: '',
      in_msgs: 0,
      out_msgs: 0,
      in_bytes: 0,
      out_bytes: 0,
    });
  }

  private remember(c: ClosedConnection): void {
    this.closedList.push(c);
    if (this.closedList.length > CLOSED_CONNECTIONS_MAX) this.closedList.shift();
  }
}

/** A connection as the advisories describe it. */
function describe(c: FaceConnection): DisconnectInfo {
  const d = c.client;
  return {
    id: c.id,
    start: c.created,
    host: c.remoteAddress,
    account: c.identity?.account.name ?? '',
    // The authorized user, or the name presented when authentication failed; never a token.
    user: c.identity?.user ?? (c.credentials?.user || c.credentials?.nkey || ''),
    name: d?.name,
    lang: d?.lang,
    version: d?.version,
    clientType: c.face,
    jwt: c.credentials?.jwt || undefined,
    inMsgs: c.inMsgs,
    inBytes: c.inBytes,
    outMsgs: c.outMsgs,
    outBytes: c.outBytes,
    reason: c.closeReason ?? '',
  };
}
