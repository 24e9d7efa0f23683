/**
 * Consumer groups across the mesh: a group is served by the node that holds
 * its stream (its JetStream consumer and its records live there). A group
 * command for a stream held by another node is forwarded there and run
 * by that node's Redis face, and its reply comes back:
 *
 * - every node with the Redis face subscribes, in each account with
 *   JetStream, to `$REDIS.gcmd.>` (reserved, like the groups' records);
 * - the client's node publishes the command (its arguments, the client's
 *   protocol) to `$REDIS.gcmd.<stream>` with a reply inbox; every node
 *   hears it, only the one holding the stream runs it and answers; the
 *   others stay silent;
 * - the holder runs it as the requesting client's command, without the
 *   client's permissions: the client's node checked them (reading the
 *   stream: subscribe permission on its subjects) before forwarding.
 *
 * Bounds: the answer is awaited REDIS_GROUP_FORWARD_TIMEOUT_MS (plus the
 * command's BLOCK; for ever with BLOCK 0); past it `-ERR no answer …`,
 * counted (`timeouts`). A forwarded command is never forwarded again.
 */
import type { Identity } from '../../../auth/types.js';
import type { Account } from '../../../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../../core/message.js';
import type { CommandClient, RedisFaceState } from '../command.js';
import { type CommandTable, lookup } from '../dispatch.js';
import { entryArray, R, type Reply } from '../encoder.js';
import { LaterReply } from '../reply-line.js';
import { streamsOf } from '../stream-access.js';
import { groupsOfFace } from './access.js';

export const GROUP_FORWARD_PREFIX = '$REDIS.gcmd.';
/** How long a forwarded group command's answer is awaited, beyond its BLOCK (ms). */
export const REDIS_GROUP_FORWARD_TIMEOUT_MS = 5000;

let nextId = 1_970_000_000;

/** A Reply as JSON (bulk strings in base64, big integers as text). */
type Wire =
  | { t: 'simple' | 'error'; v: string }
  | { t: 'int'; v: number | string; big?: 1 }
  | { t: 'bulk'; b: string }
  | { t: 'null' | 'nullArray' }
  | { t: 'array' | 'set' | 'push'; v: Wire[] }
  | { t: 'map'; v: [Wire, Wire][] }
  | { t: 'double'; v: number | string }
  | { t: 'bool'; v: boolean }
  | { t: 'verbatim'; format: string; v: string };

function toWire(r: Reply): Wire {
  switch (r.t) {
    case 'simple':
    case 'error':
      return { t: r.t, v: r.v };
    case 'int':
      return typeof r.v === 'bigint' ? { t: 'int', v: String(r.v), big: 1 } : { t: 'int', v: r.v };
    case 'bulk':
      return {
        t: 'bulk',
        b: (typeof r.v === 'string' ? Buffer.from(r.v) : r.v).toString('base64'),
      };
    case 'null':
    case 'nullArray':
      return { t: r.t };
    case 'array':
    case 'set':
    case 'push':
      return { t: r.t, v: r.v.map(toWire) };
    case 'map':
      return { t: 'map', v: r.v.map(([k, v]) => [toWire(k), toWire(v)]) };
    case 'double':
      return { t: 'double', v: Number.isFinite(r.v) ? r.v : String(r.v) };
    case 'bool':
      return { t: 'bool', v: r.v };
    case 'verbatim':
      return { t: 'verbatim', format: r.format, v: r.v };
    case 'raw':
      // Only XADD runs make one (xadd-run.ts), and they are answered where they run.
      throw new Error('a raw reply is never forwarded');
    case 'entry':
      return toWire(entryArray(r));
  }
}

function fromWire(w: Wire): Reply {
  switch (w.t) {
    case 'simple':
    case 'error':
      return { t: w.t, v: w.v };
    case 'int':
      return { t: 'int', v: w.big === 1 ? BigInt(w.v) : Number(w.v) };
    case 'bulk':
      return { t: 'bulk', v: Buffer.from(w.b, 'base64') };
    case 'null':
    case 'nullArray':
      return { t: w.t };
    case 'array':
    case 'set':
    case 'push':
      return { t: w.t, v: w.v.map(fromWire) };
    case 'map':
      return { t: 'map', v: w.v.map(([k, v]) => [fromWire(k), fromWire(v)] as const) };
    case 'double':
      return { t: 'double', v: Number(w.v) };
    case 'bool':
      return { t: 'bool', v: w.v };
    case 'verbatim':
      return { t: 'verbatim', format: w.format, v: w.v };
  }
}

interface Request {
  /** The client's protocol. */
  p: 2 | 3;
  /** Who asked, for the holder's log. */
  u: string;
  /** The arguments, base64. */
  a: string[];
}

/** The client a forwarded command runs as on the holder. */
class ForwardedClient implements CommandClient {
  readonly id = 0;
  readonly guard = null;
  readonly closed = false;
  readonly forwarded = true;
  constructor(
    readonly account: Account,
    readonly identity: Identity,
    readonly protocol: 2 | 3,
  ) {}
  onClose(): void {}
  push(): void {}
  /** One forwarded command at a time: nothing after it to hold. */
  holdUntil(): void {}
}

/** Whether a command runs forwarded from another node (and must not be forwarded again). */
export function isForwarded(c: CommandClient): boolean {
  return (c as Partial<ForwardedClient>).forwarded === true;
}

export class GroupForwarding implements Subscriber {
  readonly id = nextId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  private readonly subs = new Map<Subscription, Account>();
  readonly counters = { forwarded: 0, served: 0, timeouts: 0 };

  constructor(
    private readonly face: RedisFaceState,
    private readonly table: CommandTable,
  ) {}

  /** Listens in every account with JetStream on this node (and in `account` when given). */
  listen(account?: Account): void {
    const js = this.face.host.jetstream;
    if (js === null) return;
    const accounts: Account[] = [];
    for (const a of js.accounts()) accounts.push(a.account);
    if (account !== undefined) accounts.push(account);
    for (const a of accounts) {
      if ([...this.subs.values()].includes(a)) continue;
      const sub = internalSubscription(`${GROUP_FORWARD_PREFIX}>`, this);
      this.subs.set(sub, a);
      a.subscribe(sub);
    }
  }

  stop(): void {
    for (const [sub, a] of this.subs) a.unsubscribe(sub);
    this.subs.clear();
  }

  /** Runs a command that arrived from another node, if this node holds its stream. */
  deliver(sub: Subscription, msg: Message): void {
    const account = this.subs.get(sub);
    if (account === undefined || msg.reply === '') return;
    const stream = msg.subject.slice(GROUP_FORWARD_PREFIX.length);
    if (this.face.host.jetstream?.account(account.name)?.streams.get(stream) === undefined) return;
    let req: Request;
    let args: Buffer[];
    try {
      req = JSON.parse(msg.payload.toString('utf8')) as Request;
      if (!Array.isArray(req.a) || req.a.length === 0 || req.a.some((a) => typeof a !== 'string')) {
        return;
      }
      args = req.a.map((a) => Buffer.from(a, 'base64'));
    } catch {
      // Only nodes send here ($REDIS.gcmd. is reserved): a malformed request is dropped.
      return;
    }
    const reply = msg.reply;
    const identity = { user: String(req.u ?? ''), account } as unknown as Identity;
    const client = new ForwardedClient(account, identity, req.p === 3 ? 3 : 2);
    this.counters.served++;
    const answer = (r: Reply): void => {
      this.face.host.router.publish(
        account,
        {
          subject: reply,
          reply: '',
          headers: null,
          payload: Buffer.from(JSON.stringify(toWire(r))),
        },
        this,
      );
    };
    const found = lookup(this.table, args);
    if (typeof found === 'string' || found.run === undefined) {
      answer(R.error(typeof found === 'string' ? found : 'ERR unknown command'));
      return;
    }
    let r: ReturnType<NonNullable<typeof found.run>>;
    try {
      r = found.run({ client, face: this.face }, args);
    } catch (err) {
      answer(R.error(`ERR ${(err as Error)?.message ?? String(err)}`));
      return;
    }
    if (r === null) return;
    if (r instanceof LaterReply) {
      if (r.reply !== null) answer(r.reply);
      else r.waiter = answer;
    } else if (r instanceof Promise) {
      r.then(answer, (err: unknown) =>
        answer(R.error(`ERR ${(err as Error)?.message ?? String(err)}`)),
      );
    } else answer(r);
  }

  /** Sends `args` to the node holding `stream` and answers with its reply. */
  forward(
    client: CommandClient,
    stream: string,
    args: readonly Buffer[],
    blockMs: number | null,
  ): Promise<Reply> {
    this.counters.forwarded++;
    const streams = streamsOf(this.face);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const box = streams.inbox.open(client.account, (m) => {
        if (timer !== null) clearTimeout(timer);
        try {
          resolve(fromWire(JSON.parse(m.payload.toString('utf8')) as Wire));
        } catch {
          resolve(R.error('ERR the node holding the stream answered something unreadable'));
        }
      });
      if (box === null) {
        resolve(
          R.error('ERR too many requests are waiting for other nodes on this node; try again'),
        );
        return;
      }
      if (blockMs !== 0) {
        const ms = REDIS_GROUP_FORWARD_TIMEOUT_MS + (blockMs ?? 0);
        timer = setTimeout(() => {
          box.close();
          this.counters.timeouts++;
          resolve(
            R.error(
              `ERR no answer from the node holding stream '${stream}' within ${ms}ms: the command may or may not have run`,
            ),
          );
        }, ms);
        timer.unref();
      }
      const req: Request = {
        p: client.protocol,
        u: client.identity.user,
        a: args.map((a) => a.toString('base64')),
      };
      this.face.host.router.publish(
        client.account,
        {
          subject: GROUP_FORWARD_PREFIX + stream,
          reply: box.subject,
          headers: null,
          payload: Buffer.from(JSON.stringify(req)),
        },
        this,
      );
    });
  }
}

const BY_FACE = new WeakMap<RedisFaceState, GroupForwarding>();

/** The `/varz` section of the face's consumer groups (`redis.groups`). */
export function groupsVarz(face: RedisFaceState): Record<string, number> {
  const f = BY_FACE.get(face);
  return {
    ...groupsOfFace(face).varz(),
    forwarded: f?.counters.forwarded ?? 0,
    forwards_served: f?.counters.served ?? 0,
    forward_timeouts: f?.counters.timeouts ?? 0,
  };
}

/** The face's forwarding of group commands (made by `startGroupForwarding`). */
export function forwardingOf(face: RedisFaceState): GroupForwarding | undefined {
  return BY_FACE.get(face);
}

/**
 * Starts serving group commands forwarded from other nodes (the Redis
 * face calls it when it starts, with its command table).
 */
export function startGroupForwarding(face: RedisFaceState, table: CommandTable): GroupForwarding {
  let f = BY_FACE.get(face);
  if (f === undefined) {
    f = new GroupForwarding(face, table);
    BY_FACE.set(face, f);
  }
  f.listen();
  return f;
}
