/**
 * The identity model every face uses: a face says "this connection presents
 * these credentials" (`Credentials`) and gets back an `Identity` — who it is,
 * its account (tenant), what it may publish and subscribe to, how fast it may
 * go. The configuration shapes below are nats-server's, by name, after
 * validation (src/auth/config.ts): a NATS operator's knowledge carries over.
 */
import type { PeerCertificate } from 'node:tls';
import type { Account } from '../core/account.js';
import type { Permissions } from './permissions.js';

/** One direction's rules: subjects (wildcards allowed), with an optional queue (`"orders.> workers"`). */
export interface SubjectRules {
  /** null: everything is allowed unless denied; a list: only these. */
  readonly allow: readonly string[] | null;
  readonly deny: readonly string[];
}

/** nats-server's `allow_responses`: publishing to the reply subjects of requests received. */
export interface ResponsePermission {
  /** Replies per request (nats-server's default 1). */
  readonly max: number;
  /**
   * How long a reply subject stays open, ms (the config's 0 or unset is
   * nats-server's default, RESPONSE_EXPIRES_DEFAULT_MS); 0 here = until used up.
   */
  readonly expiresMs: number;
}

export interface PermissionsConfig {
  readonly publish: SubjectRules;
  readonly subscribe: SubjectRules;
  readonly allowResponses: ResponsePermission | null;
}

/**
 * Limits of an account or a user (0 = no limit). What happens past a rate:
 * `slow` (the default) stops reading from the connection until the bucket
 * refills (backpressure); `drop` drops the message and counts it.
 */
export interface LimitsConfig {
  readonly maxConnections: number;
  readonly maxSubscriptions: number;
  readonly maxPayload: number;
  readonly msgsPerSecond: number;
  readonly bytesPerSecond: number;
  readonly rateExceeded: 'slow' | 'drop';
}

export interface UserConfig {
  /** The user name (for an nkey user: the public key). */
  readonly user: string;
  /** Plain text or a bcrypt hash (`$2a$…`); '' for nkey and certificate users. */
  readonly password: string;
  /** An nkey user's public key (`U…`); '' otherwise. */
  readonly nkey: string;
  readonly account: string;
  /** null: the account's default permissions apply (or none). */
  readonly permissions: PermissionsConfig | null;
  readonly limits: LimitsConfig;
}

/** An export: a stream (events) or a service (request-reply) other accounts may import. */
export interface ExportConfig {
  readonly kind: 'stream' | 'service';
  readonly subject: string;
  /** null: public; else only these accounts may import it. */
  readonly accounts: readonly string[] | null;
}

/**
 * An import of another account's export, seen here under `to` (its own
 * subject when ''). `to` maps subjects by nats-server's rule
 * (src/core/subject-mapping.ts): the k-th `*` (or `$k`) of `to` takes the
 * token of the subject's k-th `*`, a `>` the subject's tail
 * (`orders.*.shipped` to `shop.orders.*`: `orders.7.shipped` is seen as
 * `shop.orders.7`).
 */
export interface ImportConfig {
  readonly kind: 'stream' | 'service';
  readonly account: string;
  readonly subject: string;
  /** Local subject (nats-server's `to`; a stream's `prefix: p` is `to: p.<subject>`). */
  readonly to: string;
}

/** JetStream in one account (-1 = no limit), nats-server's names. */
export interface AccountJetStreamConfig {
  readonly enabled: boolean;
  readonly maxStreams: number;
  readonly maxConsumers: number;
  /** Bytes of file storage. */
  readonly maxStore: number;
  /** Bytes of memory storage. */
  readonly maxMemory: number;
}

export interface AccountConfig {
  readonly name: string;
  readonly exports: readonly ExportConfig[];
  readonly imports: readonly ImportConfig[];
  readonly jetstream: AccountJetStreamConfig;
  readonly defaultPermissions: PermissionsConfig | null;
  readonly limits: LimitsConfig;
}

/** Decentralised (JWT) authentication: nats-server's `operator`, `resolver`, `resolver_preload`. */
export interface OperatorConfig {
  /** Operator JWTs (read from files or inline). */
  readonly jwts: readonly string[];
  /** Where account JWTs come from: `memory` (preload only) or a directory of `<pubkey>.jwt` files. */
  readonly resolver:
    | { readonly kind: 'memory' }
    /** `limit`: account JWTs kept in memory (default ACCOUNT_JWT_CACHE_MAX). */
    | { readonly kind: 'dir'; readonly dir: string; readonly limit?: number };
  /** Account public key → account JWT. */
  readonly preload: Readonly<Record<string, string>>;
}

/** All of the node's authentication and tenancy settings, validated. */
export interface SecurityConfig {
  /** `authorization.token`: the single token (plain or bcrypt); '' for none. */
  readonly token: string;
  /** Every user, from `authorization.users` and each account's `users`. */
  readonly users: readonly UserConfig[];
  /** Configured accounts (the global account `$G` is implicit). */
  readonly accounts: readonly AccountConfig[];
  /** Permissions for users of `authorization` that set none (nats-server's `authorization.default_permissions`). */
  readonly defaultPermissions: PermissionsConfig | null;
  /** The account that receives the node's advisories. */
  readonly systemAccount: string;
  /** A user whose identity clients that present no credentials take; '' for none. */
  readonly noAuthUser: string;
  readonly operator: OperatorConfig | null;
}

/** TLS for one listener (nats-server's `tls` block), validated. */
export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** '' for the system's trusted CAs. */
  readonly caFile: string;
  /** Mutual TLS: a client certificate is required and checked against the CA. */
  readonly verify: boolean;
  /** The client certificate's subject or SAN names the user (implies verify). */
  readonly verifyAndMap: boolean;
  /** Time a client has to finish the handshake, ms. */
  readonly timeoutMs: number;
}

/**
 * What a connection presents, as its face read it. Fields a protocol does
 * not have stay ''. `nonce` is the challenge the face sent (NATS: INFO's
 * `nonce`), which an nkey or JWT user signs.
 */
export interface Credentials {
  /** The face's name for logs and advisories: `nats`, `mqtt`, … */
  readonly face: string;
  readonly remoteAddress: string;
  readonly user: string;
  readonly pass: string;
  readonly token: string;
  readonly nkey: string;
  /** base64url signature of the nonce (nkey and JWT users). */
  readonly sig: string;
  readonly jwt: string;
  readonly nonce: string;
  /** The client certificate, when the TLS handshake verified one. */
  readonly cert: PeerCertificate | null;
  /**
   * The user a connection that presents nothing logs in as, instead of the
   * config's `no_auth_user` (a listener's own: `websocket.no_auth_user`).
   */
  readonly noAuthUser?: string;
}

/** How an identity was proven. */
export type AuthMethod =
  | 'none'
  | 'token'
  | 'password'
  | 'nkey'
  | 'jwt'
  | 'certificate'
  | 'no_auth_user';

/**
 * Who a connection is, as the node's authentication found it: the same for
 * every face. `permissions` is null when the identity may do anything in its
 * account.
 */
export interface Identity {
  /** The authorized user ('' for an anonymous connection on a node without authentication). */
  readonly user: string;
  readonly account: Account;
  readonly permissions: Permissions | null;
  /** The limits that apply: the user's, each bounded by its account's. */
  readonly limits: LimitsConfig;
  readonly method: AuthMethod;
  /** When the identity expires (a JWT's `exp`), ms since the epoch; 0 = never. */
  readonly expiresAt: number;
}

export type AuthResult =
  | { readonly ok: true; readonly identity: Identity }
  /** `why` is for the log only: the client is told just 'Authorization Violation'. */
  | { readonly ok: false; readonly why: string };

export const NO_LIMITS: LimitsConfig = Object.freeze({
  maxConnections: 0,
  maxSubscriptions: 0,
  maxPayload: 0,
  msgsPerSecond: 0,
  bytesPerSecond: 0,
  rateExceeded: 'slow',
});

export const NO_SECURITY: SecurityConfig = Object.freeze({
  token: '',
  users: [],
  accounts: [],
  defaultPermissions: null,
  systemAccount: '$SYS',
  noAuthUser: '',
  operator: null,
});
