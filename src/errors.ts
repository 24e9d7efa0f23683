/**
 * One catalogue of Weft's errors. Each has a stable code for programs and,
 * where a client sees it, the exact text sent on the wire as `-ERR '…'`.
 * Texts that clients match on are kept exactly as nats-server sends them.
 */

export const WireError = {
  UnknownOperation: 'Unknown Protocol Operation',
  MaxPayload: 'Maximum Payload Violation',
  MaxControlLine: 'maximum control line exceeded',
  MaxConnections: 'maximum connections exceeded',
  MaxSubscriptions: 'maximum subscriptions exceeded',
  AuthTimeout: 'Authentication Timeout',
  AuthViolation: 'Authorization Violation',
  StaleConnection: 'Stale Connection',
  SlowConsumer: 'Slow Consumer',
  InvalidSubject: 'Invalid Subject',
  InvalidPublishSubject: 'Invalid Publish Subject',
  ServerShutdown: 'Server Shutdown',
  HeadersNotEnabled: 'HPUB Requires Headers In CONNECT',
  MaxAccountConnections: 'maximum account active connections exceeded',
  MaxUserConnections: 'maximum user active connections exceeded',
  AuthExpired: 'User Authentication Expired',
} as const;

/** nats-server's exact permission texts; the connection stays open. */
export function publishViolation(subject: string): string {
  return `Permissions Violation for Publish to "${subject}"`;
}

export function subscribeViolation(subject: string, queue: string): string {
  return queue === ''
    ? `Permissions Violation for Subscription to "${subject}"`
    : `Permissions Violation for Subscription to "${subject}" using queue "${queue}"`;
}

/**
 * The -ERR text for an argument that is not valid UTF-8 (`what`: Subject,
 * Publish Subject, Reply Subject, Queue Group, Subscription ID). It starts
 * like nats-server's own texts ('Invalid Subject', 'Invalid Publish
 * Subject'), so a client that matches on those prefixes still does; Weft
 * refuses where nats-server compares bytes (see the NATS parser).
 */
export function notUtf8(what: string): string {
  return `Invalid ${what}: not valid UTF-8`;
}

/** Why a connection was closed: named, counted, shown in /connz. */
export const CloseReason = {
  ClientClosed: 'Client Closed',
  SlowConsumer: 'Slow Consumer (Pending Bytes)',
  /** nats-server's name: the connection's writes made no progress for write_deadline. */
  SlowConsumerWriteDeadline: 'Slow Consumer (Write Deadline)',
  /** Weft's: closed to bring the node's bytes queued to clients under max_pending_total. */
  SlowConsumerPendingTotal: 'Slow Consumer (Pending Total)',
  ProtocolViolation: 'Protocol Violation',
  ParseError: 'Parse Error',
  MaxPayload: 'Maximum Payload Exceeded',
  MaxControlLine: 'maximum control line exceeded',
  MaxConnections: 'Maximum Connections Exceeded',
  MaxSubscriptions: 'Maximum Subscriptions Exceeded',
  AuthTimeout: 'Authentication Timeout',
  AuthViolation: 'Authorization Violation',
  /** The user was removed, or its credentials no longer hold, after a reload. */
  AuthRevoked: 'Authorization Revoked (Reload)',
  AuthExpired: 'Authentication Expired',
  MaxAccountConnections: 'Maximum Account Connections Exceeded',
  MaxUserConnections: 'Maximum User Connections Exceeded',
  StaleConnection: 'Stale Connection',
  ServerShutdown: 'Server Shutdown',
  WriteError: 'Write Error',
  ReadError: 'Read Error',
  /** nats-server's name: the TLS handshake on the client port failed (see tls-accept.ts). */
  TlsHandshake: 'TLS Handshake Failure',
  /** MQTT: a newer connection with the same client id took the session [MQTT-3.1.4-3]. */
  MqttTakeover: 'Duplicate Client ID',
  // Mesh links
  LinkDead: 'Link Heartbeat Timeout',
  LinkRefused: 'Link Refused',
  LinkDuplicate: 'Duplicate Link',
  LinkProtocol: 'Link Protocol Error',
  LinkSlow: 'Slow Link (Pending Bytes)',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

/** Why a client connection closes on a socket error: the peer reset it, or a read or a write failed. */
export function socketErrorReason(err: NodeJS.ErrnoException): CloseReason {
  if (err.code === 'ECONNRESET') return CloseReason.ClientClosed;
  return err.syscall === 'write' ? CloseReason.WriteError : CloseReason.ReadError;
}

/** A protocol error found by a parser: what to tell the peer and why to close. */
export class ProtocolError extends Error {
  constructor(
    /** The `-ERR` text. */
    readonly wire: string,
    readonly reason: CloseReason,
    /** Detail for the log (never sent). */
    readonly detail: string = wire,
  ) {
    super(detail);
    this.name = 'ProtocolError';
  }
}

/** A configuration or flag error: names the key; the CLI exits with code 2. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

/**
 * A node could not start: a port taken, a data directory in use by another
 * node or not writable. Names what failed; the CLI exits with code 1 after
 * everything already opened has been released.
 */
export class StartError extends Error {
  constructor(
    /** What failed: `client port`, `monitoring port`, `mesh port`, `data_dir`. */
    readonly component: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${component}: ${message}`, options);
    this.name = 'StartError';
  }
}
