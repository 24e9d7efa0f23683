/**
 * A connection of any face, as the connection registry, the monitor and a
 * reload see it (docs/faces.md). Faces build theirs on `Connection`
 * (connection.ts), which provides the counters, the outbound queue,
 * `closed`, `whenClosed` and `destroy`.
 */
import type { Credentials, Identity } from '../auth/types.js';
import type { CloseReason } from '../errors.js';
import type { ConnectionCounters } from './connection.js';
import type { OutboundHolder } from './outbound.js';
import type { TlsSessionInfo } from './tls-accept.js';

/** The client's own description of itself (NATS CONNECT, MQTT CONNECT, …). */
export interface ClientDescription {
  /** NATS: `name`; MQTT: the client identifier. */
  readonly name: string;
  readonly lang: string;
  readonly version: string;
}

export interface FaceConnection extends ConnectionCounters, OutboundHolder {
  /** Unique across the node's faces (`cid`), from `ConnectionRegistry.nextId()`. */
  readonly id: number;
  /** The face's name: `type` in /connz, `client_type` in advisories. */
  readonly face: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly created: Date;
  /** Last time the peer sent something, ms since the epoch. */
  readonly lastActivity: number;
  /** Bytes queued for the peer and not yet handed to the kernel. */
  readonly pendingBytes: number;
  /** Who it is, once authenticated; null before. */
  readonly identity: Identity | null;
  /** What it presented at login, kept to check again on a reload; null before. */
  readonly credentials: Credentials | null;
  readonly tls: TlsSessionInfo | null;
  readonly closeReason: CloseReason | null;
  /** The client's description of itself; null before its hello. */
  readonly client: ClientDescription | null;
  /** Subscriptions held now. */
  readonly subscriptionCount: number;
  /** Their core subjects (`/connz?subs=1`). */
  subscriptionSubjects(): string[];
  /** Closes with a reason (server shutdown, …), after flushing what is queued. */
  close(reason: CloseReason): void;
  /** Resolves once the transport is closed. */
  whenClosed(): Promise<void>;
  /** Ends the transport at once (after the shutdown grace). */
  destroy(): void;
  /**
   * A reload: the same credentials now give `identity` (same account). Apply
   * its permissions and limits; return how many subscriptions were removed.
   */
  reauthorized(identity: Identity): number;
  /** A reload: the credentials no longer log in (`why`): close with the face's own wire error. */
  revoked(why: string): void;
}
