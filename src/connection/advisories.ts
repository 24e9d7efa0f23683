/**
 * The node's advisories, published into the system account (`$SYS`, or
 * `system_account`) in nats-server 2.9's subjects and shapes, so that an
 * operator's client of that account subscribed to `$SYS.>` sees them:
 *
 * - `$SYS.ACCOUNT.<account>.CONNECT`: `io.nats.server.advisory.v1.client_connect`
 * - `$SYS.ACCOUNT.<account>.DISCONNECT`: `io.nats.server.advisory.v1.client_disconnect`
 *   with `sent`/`received` and `reason`
 * - `$SYS.SERVER.<server id>.CLIENT.AUTH.ERR`: a `client_disconnect` with
 *   reason `Authentication Failure` for every refused authentication
 *
 * As nats-server, connects and disconnects in the global account `$G` are
 * not announced (they are not a tenant's). Unlike nats-server, a token is
 * never put in `client.user` (nats-server reports the raw token there).
 *
 * Any face calls these with a plain description of its connection. A
 * message is built only when someone (here or on another node) listens.
 */
import { randomBytes } from 'node:crypto';
import { type Account, DEFAULT_ACCOUNT } from '../core/account.js';
import type { Message } from '../core/message.js';
import type { Router } from '../core/router.js';
import { NATS_API_VERSION } from '../version.js';

export const CONNECT_TYPE = 'io.nats.server.advisory.v1.client_connect';
export const DISCONNECT_TYPE = 'io.nats.server.advisory.v1.client_disconnect';
/** nats-server's closed-state text for a refused authentication. */
export const AUTH_FAILURE_REASON = 'Authentication Failure';

/** A connection as any face describes it. */
export interface ConnectionInfo {
  /** The connection id (`cid`). */
  readonly id: number;
  readonly start: Date;
  /** Remote address. */
  readonly host: string;
  /** The account's name ('' before authentication: reported as `$G`, as nats-server). */
  readonly account: string;
  /** The authorized user, or the name presented when authentication failed ('' for none). */
  readonly user: string;
  /** Client name, language and version, from the client's hello (CONNECT). */
  readonly name?: string;
  readonly lang?: string;
  readonly version?: string;
  /** nats-server's `client_type`: `nats`, `mqtt`, `websocket`, … */
  readonly clientType?: string;
  /** A JWT user's JWT. */
  readonly jwt?: string;
}

export interface DisconnectInfo extends ConnectionInfo {
  /** What the client sent (nats-server's `sent` is the client's in-messages). */
  readonly inMsgs: number;
  readonly inBytes: number;
  readonly outMsgs: number;
  readonly outBytes: number;
  readonly reason: string;
}

export interface AdvisoryHost {
  readonly router: Router;
  readonly serverId: string;
  readonly name: string;
  readonly options: { readonly host: string };
  readonly jetstream: unknown;
}

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** An event id in the style of nats-server's (a 22-character nuid). */
function eventId(): string {
  const b = randomBytes(22);
  let s = '';
  for (const x of b) s += ID_ALPHABET[x % 62];
  return s;
}

export class Advisories {
  /** Advisories published (someone listened), and those not built because no one did. */
  published = 0;
  skipped = 0;
  private seq = 0;

  constructor(
    private readonly host: AdvisoryHost,
    readonly system: Account,
  ) {}

  clientConnected(c: ConnectionInfo): void {
    if (c.account === '' || c.account === DEFAULT_ACCOUNT) return;
    this.publish(`$SYS.ACCOUNT.${c.account}.CONNECT`, () => ({
      type: CONNECT_TYPE,
      ...this.event(),
      client: client(c),
    }));
  }

  clientDisconnected(c: DisconnectInfo): void {
    if (c.account === '' || c.account === DEFAULT_ACCOUNT) return;
    this.publish(`$SYS.ACCOUNT.${c.account}.DISCONNECT`, () => disconnect(this.event(), c));
  }

  /** A refused authentication (the connection is then closed). */
  authFailed(c: DisconnectInfo): void {
    this.publish(`$SYS.SERVER.${this.host.serverId}.CLIENT.AUTH.ERR`, () =>
      disconnect(this.event(), { ...c, reason: AUTH_FAILURE_REASON }),
    );
  }

  private event(): Record<string, unknown> {
    const now = new Date().toISOString();
    return {
      id: eventId(),
      timestamp: now,
      server: {
        name: this.host.name,
        host: this.host.options.host,
        id: this.host.serverId,
        ver: NATS_API_VERSION,
        seq: ++this.seq,
        jetstream: this.host.jetstream !== null,
        time: now,
      },
    };
  }

  private publish(subject: string, body: () => Record<string, unknown>): void {
    const match = this.system.sublist.match(subject);
    if (match.plain.length === 0 && match.queues.length === 0) {
      this.skipped++;
      return;
    }
    const msg: Message = {
      subject,
      reply: '',
      headers: null,
      payload: Buffer.from(JSON.stringify(body())),
    };
    this.published++;
    this.host.router.deliver(match, msg, null);
  }
}

function client(c: ConnectionInfo, stop?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    start: c.start.toISOString(),
    host: c.host,
    id: c.id,
    acc: c.account === '' ? DEFAULT_ACCOUNT : c.account,
  };
  // nats-server leaves empty fields out (omitempty).
  if (c.user !== '') out.user = c.user;
  if (c.name) out.name = c.name;
  if (c.lang) out.lang = c.lang;
  if (c.version) out.ver = c.version;
  if (stop !== undefined) out.stop = stop;
  if (c.jwt) out.jwt = c.jwt;
  out.kind = 'Client';
  out.client_type = c.clientType ?? 'nats';
  return out;
}

function disconnect(event: Record<string, unknown>, c: DisconnectInfo): Record<string, unknown> {
  return {
    type: DISCONNECT_TYPE,
    ...event,
    client: client(c, event.timestamp as string),
    sent: { msgs: c.inMsgs, bytes: c.inBytes },
    received: { msgs: c.outMsgs, bytes: c.outBytes },
    reason: c.reason,
  };
}
