/**
 * What a Redis connection needs of its face: the node, the command table
 * and the state the command groups share, the face's counters and its
 * registry calls.
 */
import type { FaceHost } from '../face.js';
import type { RedisClient } from './client.js';
import type { RedisFaceState } from './command.js';
import type { CommandTable } from './dispatch.js';
import type { RedisSession } from './session.js';

/** Counted events of the face (`/varz` redis section, `weft_redis_*_total`). */
export interface RedisCounters {
  /** Commands run. */
  commands: number;
  /** Unknown commands and subcommands, and wrong arities. */
  badCommands: number;
  /** Connections closed for malformed RESP. */
  protocolErrors: number;
  /** AUTH / HELLO AUTH refused (WRONGPASS). */
  authFailures: number;
  /** Commands refused before AUTH (NOAUTH). */
  noauth: number;
  /** Pub/sub messages delivered to Redis clients. */
  messagesOut: number;
  /** PUBLISH / SPUBLISH refused by permissions. */
  publishDenied: number;
  /** Subscriptions refused by permissions. */
  subscribeDenied: number;
  /** Clients closed past redis.pubsub_output_limit. */
  pubsubOutputLimitCloses: number;
  /** Times reading paused at PENDING_REPLIES_MAX replies waiting their turn. */
  pipelineStalls: number;
  /** Times reading paused at HELD_INPUT_MAX bytes read while a command held the rest. */
  inputStalls: number;
  /** Connections refused at max_connections. */
  refused: number;
}

export function newCounters(): RedisCounters {
  return {
    commands: 0,
    badCommands: 0,
    protocolErrors: 0,
    authFailures: 0,
    noauth: 0,
    messagesOut: 0,
    publishDenied: 0,
    subscribeDenied: 0,
    pubsubOutputLimitCloses: 0,
    pipelineStalls: 0,
    inputStalls: 0,
    refused: 0,
  };
}

/** What INFO and CLIENT LIST read of the face. */
export interface FaceCore {
  readonly counters: RedisCounters;
  /** When the face started, ms since the epoch. */
  readonly started: number;
  clients(): Iterable<RedisClient>;
}

export interface RedisHost {
  readonly node: FaceHost;
  readonly table: CommandTable;
  readonly state: RedisFaceState;
  readonly counters: RedisCounters;
  sessionAuthenticated(c: RedisSession): void;
  sessionClosed(c: RedisSession): void;
}
