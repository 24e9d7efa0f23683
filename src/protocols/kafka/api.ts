/**
 * The Kafka face's handler table: what an API handler is, what it is given
 * (`KafkaContext`: the connection, who it is, the face's shared state) and
 * what it gives back (a response body, nothing, or a close). The face's
 * session (session.ts) reads frames, decodes them with the codec
 * (codec.ts), finds the handler for the request's API key, and writes the
 * responses back in the order the requests came, even when a handler
 * answers later (a Promise): Kafka's rule, "requests on one connection are
 * processed in the order they are sent and responses return in that
 * order" (the protocol guide, "Network"). Requests of one connection are
 * handled one after another, as a Kafka broker does (it mutes a channel
 * while a request of it is in flight); many are read ahead, bounded.
 *
 * Handlers are grouped in modules (`KafkaModule`): the face's own (topics,
 * produce, fetch, …) and those of other parts (the group coordinator,
 * offsets, SASL). A module is made once per face from the shared state and
 * may keep its own state, start and stop with the face, and report its
 * counters. The table of modules is handlers/index.ts (one line each).
 *
 * The SASL gate: a connection starts unauthenticated when the node requires
 * authentication (`ctx.saslRequired`). Until a handler calls
 * `ctx.authenticate(credentials)` successfully, only handlers marked
 * `preAuth` (ApiVersions, SaslHandshake, SaslAuthenticate) are served; any
 * other request closes the connection, as a Kafka broker does on a SASL
 * listener ("Unexpected Kafka request of type … during SASL handshake").
 * A connection that has not authenticated within `auth_timeout` is closed
 * by the session. When the node requires no authentication, or a verified
 * client certificate logged in (mTLS with verify_and_map), the connection is
 * authenticated from the start.
 *
 * No I/O here: types and two small helpers.
 */
import type { Registry } from 'prom-client';
import type { ConnectionIdentity } from '../../auth/connection-identity.js';
import type { Guard } from '../../auth/guard.js';
import type { Credentials, Identity } from '../../auth/types.js';
import type { Account } from '../../core/account.js';
import type { CloseReason } from '../../errors.js';
import type { FaceHost } from '../face.js';

/** The request header every request carries (v1/v2 of the header: the client id is there). */
export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  /** The client's `client.id`; null when it sent none (a null string). */
  readonly clientId: string | null;
}

/**
 * What a handler returns: the response body, as the codec encodes it for
 * (apiKey, version); `null` sends nothing (Produce with acks=0); a `Close`
 * closes the connection, after writing its response if it has one.
 */
export type HandlerResult<Res> = Res | null | Close | Later<Res>;

/**
 * "My part that must keep the order of requests is done; answer with what
 * `answer` resolves to": the connection goes on to its next request now,
 * and the answers are still written in request order. Produce returns one
 * once its records are appended, so the appends of pipelined requests
 * share one fsync. Bounded per connection (the session's IN_FLIGHT_MAX).
 */
export class Later<Res> {
  constructor(readonly answer: Promise<Res | null | Close>) {}
}

/** A handler's "close this connection": `response` (if any) is written first. */
export class Close {
  constructor(
    /** Why, in the log and /connz. */
    readonly reason: CloseReason,
    /** Detail for the log (never sent). */
    readonly detail: string,
    readonly response: object | null = null,
  ) {}
}

/** One Kafka API a handler serves, the versions it serves, and how. */
export interface ApiHandler<Req = unknown, Res = unknown> {
  /** The API key (Produce 0, Fetch 1, …, SaslAuthenticate 36). */
  readonly key: number;
  /** Kafka's name for it (`Produce`, `JoinGroup`): logs, counters, ApiVersions. */
  readonly name: string;
  /** The versions served; ApiVersions advertises exactly these. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Served before the connection authenticated (ApiVersions, SaslHandshake,
   * SaslAuthenticate). Default false: such a request closes the connection.
   */
  readonly preAuth?: boolean;
  /**
   * Handles one request: `request` is the body as the codec decoded it for
   * `version` (fields named as in the JSON schema, camelCase). Called with a
   * version between minVersion and maxVersion only. A throw (or a rejected
   * Promise) is logged and counted, then answered with `errorResponse` when
   * the handler has one, else the connection is closed: a broker bug must
   * not take down others.
   */
  handle(
    ctx: KafkaContext,
    request: Req,
    version: number,
  ): HandlerResult<Res> | Promise<HandlerResult<Res>>;
  /**
   * The response that says `errorCode` for every part of `request` (Kafka's
   * `getErrorResponse`): used when `handle` threw. Optional.
   */
  errorResponse?(request: Req, version: number, errorCode: number): Res;
}

/** The broker as clients see it: Metadata, FindCoordinator. */
export interface BrokerAddress {
  /** Stable across restarts (docs/kafka.md, "Node id"). */
  readonly nodeId: number;
  /** `kafka.advertised_host`, else the listener's host (the machine's name when it is 0.0.0.0). */
  readonly host: string;
  readonly port: number;
  /** Metadata's cluster id: stable too. */
  readonly clusterId: string;
}

/**
 * What other modules need of topics (the group coordinator: does the
 * partition exist, its log end for lag). Offsets are numbers: a stream's
 * sequence stays far below 2^53.
 */
export interface TopicsView {
  /** How many partitions `topic` has in `account`; null when there is no such topic. */
  partitions(account: Account, topic: string): Promise<number | null>;
  /** The partition's log end offset (the next offset to be written); null when it does not exist. */
  logEndOffset(account: Account, topic: string, partition: number): Promise<number | null>;
}

/** The face's state shared by every connection and module: a field per part. */
export interface KafkaShared {
  readonly host: FaceHost;
  readonly broker: BrokerAddress;
  /** Topics ⇄ streams (the face's). */
  readonly topics: TopicsView;
  /** The modules by name (`face`, `groups`, …), to find another's state. */
  readonly modules: ReadonlyMap<string, KafkaModule>;
}

/** What a handler knows about the connection it serves. */
export interface KafkaContext {
  /** The connection id (`cid`, unique across the node's faces). */
  readonly connectionId: number;
  readonly remoteAddress: string;
  /** The request being handled. */
  readonly header: RequestHeader;
  readonly shared: KafkaShared;
  /** The connection's identity at work (quotas, release on close). */
  readonly who: ConnectionIdentity;
  /** Who it is; null before it authenticated. */
  readonly identity: Identity | null;
  /** Its account; null before it authenticated. */
  readonly account: Account | null;
  /** Its permissions; null when it may do anything in its account. */
  readonly guard: Guard | null;
  /** True once authenticated (by SASL, a client certificate, or a node without authentication). */
  readonly authenticated: boolean;
  /** True when the node requires authentication and the client must SASL (the gate above). */
  readonly saslRequired: boolean;
  /** The verified TLS client certificate's subject, when there is one ('' else). */
  readonly tlsClientSubject: string;
  /**
   * Logs in with `credentials` (face 'kafka'; SASL PLAIN: user and pass)
   * through the node's security, admits the identity under its limits and
   * marks the connection authenticated (the connect advisory). Resolves to
   * null on success, else why it was refused (for the log; the client is told
   * SASL_AUTHENTICATION_FAILED by the handler). Calling it again after a
   * success re-authenticates as the new identity (KIP-368), same account only.
   */
  authenticate(credentials: Omit<Credentials, 'face' | 'remoteAddress'>): Promise<string | null>;
  /**
   * Per-connection state of the SASL exchange (the mechanism chosen by
   * SaslHandshake, a SCRAM conversation): owned by the SASL handlers,
   * dropped with the connection.
   */
  sasl: unknown;
  /** True once the connection is closing: a long wait (a Fetch) should end. */
  readonly closed: boolean;
  /** Resolves when the connection closes (to end long waits early). */
  whenClosed(): Promise<void>;
}

/** A part of the face: its handlers and, if it has any, its state's lifetime and counters. */
export interface KafkaModule {
  /** `face`, `groups`, …: the key in `KafkaShared.modules`. */
  readonly name: string;
  readonly handlers: readonly ApiHandler[];
  /** Called once when the face starts, after every module was made. */
  start?(): Promise<void>;
  /** Called once when the face stops (also after a partial start). */
  stop?(): Promise<void>;
  /** Its fields in the face's `/varz` section. */
  varz?(): Record<string, unknown>;
  /** Registers its `weft_kafka_…` metrics. */
  metrics?(registry: Registry): void;
}

/** Makes a module from the face's shared state (the table: handlers/index.ts). */
export type KafkaModuleFactory = (shared: KafkaShared) => KafkaModule;

/** The handler of each API key, refusing two handlers for one key. */
export function handlerTable(modules: Iterable<KafkaModule>): Map<number, ApiHandler> {
  const table = new Map<number, ApiHandler>();
  for (const m of modules) {
    for (const h of m.handlers) {
      const had = table.get(h.key);
      if (had !== undefined) {
        throw new Error(`kafka: API key ${h.key} (${h.name}) has two handlers`);
      }
      if (h.minVersion > h.maxVersion) {
        throw new Error(`kafka: ${h.name} serves no version (${h.minVersion}..${h.maxVersion})`);
      }
      table.set(h.key, h);
    }
  }
  return table;
}
