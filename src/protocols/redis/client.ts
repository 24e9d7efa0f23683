/**
 * What the connection and pub/sub commands (commands/connection.ts,
 * server.ts, pubsub.ts) reach of their connection beyond `CommandClient`:
 * login, its name, its protocol, its subscriptions, closing. The session
 * (session.ts) is one; other command groups need only `CommandClient`.
 */
import type { CommandClient } from './command.js';
import type { Protocol, Reply } from './encoder.js';
import type { PublishCache } from './publish.js';
import type { ClientSubscriptions } from './pubsub.js';

export interface RedisClient extends CommandClient {
  /** True once logged in (at once on a node that needs no credentials). */
  readonly authenticated: boolean;
  /** `CLIENT SETNAME` / `HELLO SETNAME`; '' for none. */
  name: string;
  /** `CLIENT SETINFO lib-name / lib-ver`. */
  libName: string;
  libVersion: string;
  /** What `CLIENT INFO` shows: address, age, idle, … */
  info(): string;
  /**
   * AUTH / HELLO AUTH: logs in with `user` (null: `AUTH <password>`) and
   * `pass`. Null when it succeeded, else the error reply.
   */
  login(user: string | null, pass: string): Promise<Reply | null>;
  setProtocol(p: Protocol): void;
  /** The client's pub/sub subscriptions (made at first use). */
  readonly subscriptions: ClientSubscriptions;
  /** True while any subscription is held (RESP2 subscribe mode). */
  readonly subscribed: boolean;
  /** The last channel published to and its match (publish.ts). */
  readonly publishCache: PublishCache;
  /** Messages published (PUBLISH), for /connz. */
  inMsgs: number;
  /** Stops reading for `ms` (the identity's rate limit asked it). */
  pauseFor(ms: number): void;
  /** QUIT: close once the replies before (and this +OK) are written. */
  quit(): void;
  /** RESET: drop subscriptions, name, protocol back to 2; log out when the node needs credentials. */
  reset(): void;
}
