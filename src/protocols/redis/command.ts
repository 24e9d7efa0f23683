/**
 * A Redis command as the Redis face runs it: a name, Redis's arity rule,
 * its flags and key positions (what `COMMAND` reports), and `run`, which
 * turns the arguments into a reply. Commands live in `commands/*.ts`, one
 * file per group (connection, pub/sub, streams, keys, consumer groups);
 * `commands/index.ts` puts them in one table the session dispatches on.
 *
 * A command sees the connection it runs on only through `CommandClient`
 * and the face's shared state through `RedisFaceState`: no socket, no
 * bytes on the wire. The session checks the arity before `run` (Redis's
 * `-ERR wrong number of arguments for '<name>' command`), so `run` may
 * index `args` up to the arity without checking.
 */
import type { Guard } from '../../auth/guard.js';
import type { Identity } from '../../auth/types.js';
import type { Account } from '../../core/account.js';
import type { FaceHost } from '../face.js';
import type { Protocol, Reply } from './encoder.js';
import type { FaceCore } from './host.js';
import type { PubSubIndex } from './pubsub.js';
import type { LaterReply } from './reply-line.js';

/** What `COMMAND` reports of a command (Redis's command flags). */
export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'fast'
  | 'no_auth'
  | 'allow_busy';

/** The connection a command runs on. */
export interface CommandClient {
  /** The connection id (`CLIENT ID`), unique across faces. */
  readonly id: number;
  /** Who is logged in (the anonymous identity before AUTH on a node without authentication). */
  readonly identity: Identity;
  readonly account: Account;
  /** The identity's subject permissions; null: all allowed. */
  readonly guard: Guard | null;
  /** 2 until `HELLO 3`. */
  readonly protocol: Protocol;
  /** True once the connection is closed: a blocked command stops waiting and answers nothing. */
  readonly closed: boolean;
  /** Runs `fn` once when the connection closes (at once when it is closed). */
  onClose(fn: () => void): void;
  /**
   * Sends an out-of-band message (a pub/sub delivery): a push in RESP3, an
   * array in RESP2. Queued after replies already sent; bounded by the
   * pub/sub output limit (the connection is closed past it).
   */
  push(message: Reply): void;
  /**
   * Runs none of the connection's next commands until `p` settles (their
   * bytes wait, read or not, within the session's bounds); the command's
   * own reply is unaffected.
   */
  holdUntil(p: Promise<unknown>): void;
}

/**
 * What a command may reach of the face: the node, and each command
 * group's shared state (added by the group that needs it).
 */
export interface RedisFaceState {
  readonly host: FaceHost;
  /** The face's pub/sub subscriptions, for PUBSUB (commands/pubsub.ts). */
  readonly pubsub: PubSubIndex;
  /** The face itself: its connections and counters, for INFO and CLIENT LIST (commands/server.ts). */
  readonly core: FaceCore;
}

export interface CommandContext {
  readonly client: CommandClient;
  readonly face: RedisFaceState;
}

/**
 * A command's reply: at once, later (the session keeps replies in request
 * order, so a later command's reply waits for this one; a `LaterReply`
 * is later without a Promise, for a run whose effect is in order when it
 * returns: the commands after it are not held), or `null` when
 * the command sent its own replies as pushes (SUBSCRIBE: one per channel).
 */
export type CommandResult = Reply | Promise<Reply> | LaterReply | null;

export interface Command {
  /** Lower case: `xadd`, `client`. A subcommand is named `<parent>|<sub>` (`xgroup|create`). */
  readonly name: string;
  /**
   * Redis's rule, counting the command name (and, for a subcommand, its
   * name too): N > 0 exactly N arguments, N < 0 at least -N.
   */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  /** Key positions as `COMMAND` reports them (0 0 0: no keys). */
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  /** Subcommands (`xgroup create`), chosen by the second argument, case-insensitive. */
  readonly subcommands?: readonly Command[];
  /**
   * The Promise `run` returns only waits to answer (an XADD waiting for its
   * fsync): its effect was ordered when `run` returned, so the session runs
   * the next commands at once (their replies still wait in line). Without
   * it a Promise holds the commands after it until it settles, as Redis
   * runs a connection's commands one after another.
   */
  readonly concurrent?: boolean;
  /** Absent on a parent whose work is all in its subcommands. */
  run?(ctx: CommandContext, args: readonly Buffer[]): CommandResult;
}
