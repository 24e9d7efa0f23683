/**
 * Consumer groups across the mesh (docs/kafka.md, "Groups in a mesh"): every group of an account lives on one node, the
 * owner, which holds the account's offsets stream `$WEFT_kafka_offsets`
 * (one per account in the whole mesh; JetStream streams are seen
 * mesh-wide). A group request from a client of another node is forwarded
 * there, run by the owner's handler and its answer sent back, so the
 * client never notices:
 *
 * - the owner subscribes, in the account, to `$WEFT.kafka.gcmd.>` in the
 *   queue group KAFKA_GROUP_OWNER_QUEUE (reserved subjects: no client may
 *   publish there), so each forwarded request reaches one owner;
 * - the client's node sends the request as the codec encodes it (the
 *   frame, header and body) with the client's user and permission rules,
 *   and a reply inbox; the owner decodes it, runs the group handler with
 *   the client's permissions (the same rules, so the same decisions as on
 *   the client's node), and answers with the encoded response;
 * - the owner runs it with its own (unwrapped) handler: a forwarded
 *   request is never forwarded again.
 *
 * Which node owns: the one holding the stream. A node whose account has no
 * such stream anywhere creates it (service.ts) and owns the groups; a node
 * of a mesh waits KAFKA_GROUP_OWNER_GRACE_MS after its start before it
 * does (it may not have heard of the owner yet). Once a node has seen an
 * owner, it does not create one when the owner is gone (a node down, a
 * link cut): it answers COORDINATOR_NOT_AVAILABLE, and clients retry, as
 * with Kafka. Two nodes creating it at once both own (a split): each
 * serves its own clients, and `/healthz` says so. Bounds: at most
 * KAFKA_GROUP_FORWARD_WAITERS_MAX requests wait at once (past it:
 * COORDINATOR_NOT_AVAILABLE, counted `forward_refused`); each waits
 * KAFKA_GROUP_FORWARD_TIMEOUT_MS, plus the rebalance timeout for JoinGroup
 * and KAFKA_GROUP_SYNC_WAIT_MS for SyncGroup (long polls); past it
 * COORDINATOR_NOT_AVAILABLE, counted (`forward_timeouts`).
 */
import { Guard } from '../../../auth/guard.js';
import { Permissions } from '../../../auth/permissions.js';
import type { PermissionsConfig } from '../../../auth/types.js';
import type { Account } from '../../../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../../core/message.js';
import { ReplyInbox } from '../../reply-inbox.js';
import type { ApiHandler, HandlerResult, KafkaContext, KafkaShared } from '../api.js';
import { Close, Later } from '../api.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../codec.js';
import { KafkaCode } from './codes.js';

/** The subject prefix forwarded group requests go to (`<prefix><api key>`). */
export const KAFKA_GROUP_FORWARD_PREFIX = '$WEFT.kafka.gcmd.';
/** The queue group of the owners' subscriptions: each request reaches one. */
export const KAFKA_GROUP_OWNER_QUEUE = '$WEFT_kafka_groups';
/** The account's offsets stream, one in the whole mesh: its node owns the account's groups. */
export const MESH_OFFSETS_STREAM = '$WEFT_kafka_offsets';
/** How long a forwarded request's answer is awaited, beyond its long poll (ms). */
export const KAFKA_GROUP_FORWARD_TIMEOUT_MS = 5_000;
/** How long a forwarded SyncGroup may wait for the leader's assignment (ms): Kafka's default max.poll.interval.ms. */
export const KAFKA_GROUP_SYNC_WAIT_MS = 300_000;
/**
 * After a node of a mesh starts, how long it waits to hear of an owner
 * before it makes the account's offsets stream itself (ms); meanwhile
 * COORDINATOR_NOT_AVAILABLE.
 */
export const KAFKA_GROUP_OWNER_GRACE_MS = 3_000;
/** Forwarded requests waiting for their owner at once. */
export const KAFKA_GROUP_FORWARD_WAITERS_MAX = 10_000;

const JOIN_GROUP = 11;
const SYNC_GROUP = 14;

let nextId = 1_980_000_000;

interface Meta {
  /** The client's user. */
  u: string;
  /** The client's permission rules; null: it may do anything in its account. */
  p: PermissionsConfig | null;
  /** The client's address (DescribeGroups' client host). */
  h: string;
}

export type Where = 'local' | 'remote' | 'down';

export class GroupMesh implements Subscriber {
  readonly id = nextId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  private readonly subs = new Map<Subscription, Account>();
  private readonly serving = new Set<string>();
  /** Accounts whose owner this node has seen on another node. */
  private readonly seen = new Set<string>();
  /** Accounts whose groups another node owns too (a split, reported on /healthz). */
  private readonly split = new Set<string>();
  private readonly startedAt = Date.now();
  private readonly inbox = new ReplyInbox(KAFKA_GROUP_FORWARD_WAITERS_MAX);
  /** The unwrapped handlers, by API key: what a forwarded request runs. */
  private readonly handlers = new Map<number, ApiHandler>();
  readonly counters = { forwarded: 0, served: 0, timeouts: 0, ownerDown: 0 };

  constructor(private readonly shared: KafkaShared) {}

  get refused(): number {
    return this.inbox.refused;
  }

  /** Where the account's groups are: here, on another node, or on a node not reachable now. */
  where(account: Account): Where {
    const js = this.shared.host.jetstream?.account(account.name);
    // Without JetStream the groups stay on each node (in memory): nothing to share.
    if (js === undefined) return 'local';
    if (js.streams.has(MESH_OFFSETS_STREAM)) {
      this.checkSplit(account, js.remoteHas(MESH_OFFSETS_STREAM));
      return 'local';
    }
    if (js.remoteHas(MESH_OFFSETS_STREAM)) {
      this.seen.add(account.name);
      return 'remote';
    }
    if (this.seen.has(account.name)) return 'down';
    // A node of a mesh that just started may not have heard of the owner yet:
    // it makes none of its own until the grace is over.
    if (this.inMesh() && Date.now() - this.startedAt < KAFKA_GROUP_OWNER_GRACE_MS) return 'down';
    return 'local';
  }

  private inMesh(): boolean {
    const o = this.shared.host.options;
    return o.links.length > 0 || (o.meshPort !== null && o.meshPort !== -1);
  }

  /**
   * Two nodes own the account's groups (both made the stream at once, or
   * while apart): each serves its own clients' groups. Reported on
   * `/healthz` until it ends; docs/kafka.md says how to end it.
   */
  private checkSplit(account: Account, split: boolean): void {
    const key = `kafka-groups-split:${account.name}`;
    if (split === this.split.has(account.name)) return;
    if (split) {
      this.split.add(account.name);
      this.shared.host.health.report(
        key,
        'kafka groups',
        `account ${account.name}: another node also holds ${MESH_OFFSETS_STREAM}, so the account's consumer groups have two owners (docs/kafka.md, "Groups in a mesh")`,
      );
    } else {
      this.split.delete(account.name);
      this.shared.host.health.clear(key);
    }
  }

  /** Starts answering the account's forwarded requests (the owner, once its stream is open). */
  serve(account: Account): void {
    if (this.serving.has(account.name)) return;
    this.serving.add(account.name);
    const sub: Subscription = {
      ...internalSubscription(`${KAFKA_GROUP_FORWARD_PREFIX}>`, this),
      queue: KAFKA_GROUP_OWNER_QUEUE,
    };
    this.subs.set(sub, account);
    account.subscribe(sub);
  }

  stop(): void {
    for (const [sub, a] of this.subs) a.unsubscribe(sub);
    this.subs.clear();
    this.serving.clear();
    this.inbox.stop();
  }

  /** Wraps a group handler: run here when this node owns the account's groups, else forwarded. */
  wrap(h: ApiHandler): ApiHandler {
    this.handlers.set(h.key, h);
    const mesh = this;
    return {
      ...h,
      handle(ctx, req, version) {
        if (ctx.account === null) return h.handle(ctx, req, version);
        const where = mesh.where(ctx.account);
        if (where === 'local') return h.handle(ctx, req, version);
        if (where === 'down') {
          mesh.counters.ownerDown++;
          return unavailableAnswer(h, req, version);
        }
        return mesh.forward(ctx, h, req, version);
      },
    };
  }

  /** Sends the request to the owner and resolves with its answer (COORDINATOR_NOT_AVAILABLE on none). */
  private forward(
    ctx: KafkaContext,
    h: ApiHandler,
    req: unknown,
    version: number,
  ): Promise<unknown> {
    const account = ctx.account as Account;
    const unavailable = () => {
      try {
        return unavailableAnswer(h, req, version);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    let frame: Buffer;
    try {
      frame = Buffer.concat(
        encodeRequest(
          {
            apiKey: h.key,
            apiVersion: version,
            correlationId: 0,
            clientId: ctx.header.clientId,
          },
          req as Record<string, unknown>,
        ),
      ).subarray(4);
    } catch (err) {
      return Promise.reject(err);
    }
    this.counters.forwarded++;
    const r = req as Record<string, unknown>;
    let wait = KAFKA_GROUP_FORWARD_TIMEOUT_MS;
    if (h.key === JOIN_GROUP) {
      const rebalance = typeof r.rebalanceTimeoutMs === 'number' ? r.rebalanceTimeoutMs : -1;
      const session = typeof r.sessionTimeoutMs === 'number' ? r.sessionTimeoutMs : 0;
      wait += Math.max(rebalance, session, 0);
    } else if (h.key === SYNC_GROUP) wait += KAFKA_GROUP_SYNC_WAIT_MS;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const box = this.inbox.open(account, (m) => {
        if (timer !== null) clearTimeout(timer);
        try {
          resolve(decodeResponse(h.key, version, m.payload).body);
        } catch {
          resolve(unavailable());
        }
      });
      if (box === null) {
        resolve(unavailable());
        return;
      }
      timer = setTimeout(() => {
        box.close();
        this.counters.timeouts++;
        resolve(unavailable());
      }, wait);
      timer.unref();
      const meta: Meta = {
        u: ctx.identity?.user ?? '',
        p: ctx.guard === null ? null : ctx.guard.permissions.config,
        h: ctx.remoteAddress,
      };
      const head = Buffer.from(JSON.stringify(meta));
      const size = Buffer.alloc(4);
      size.writeUInt32BE(head.length);
      this.shared.host.router.publish(
        account,
        {
          subject: KAFKA_GROUP_FORWARD_PREFIX + h.key,
          reply: box.subject,
          headers: null,
          payload: Buffer.concat([size, head, frame]),
        },
        this,
      );
    });
  }

  /** Runs a request forwarded by another node (this node owns the account's groups). */
  deliver(sub: Subscription, msg: Message): void {
    const account = this.subs.get(sub);
    if (account === undefined || msg.reply === '') return;
    let meta: Meta;
    let decoded: ReturnType<typeof decodeRequest>;
    try {
      const n = msg.payload.readUInt32BE(0);
      meta = JSON.parse(msg.payload.subarray(4, 4 + n).toString('utf8')) as Meta;
      decoded = decodeRequest(Buffer.from(msg.payload.subarray(4 + n)));
    } catch {
      // Only nodes send here (a reserved subject): a malformed request is dropped.
      return;
    }
    const h = this.handlers.get(decoded.header.apiKey);
    if (h === undefined) return;
    this.counters.served++;
    const reply = msg.reply;
    const version = decoded.header.apiVersion;
    const answer = (body: unknown): void => {
      let payload: Buffer;
      try {
        payload = Buffer.concat(
          encodeResponse(h.key, version, 0, body as Record<string, unknown>),
        ).subarray(4);
      } catch (err) {
        this.shared.host.log.warn(
          `kafka: forwarded ${h.name} v${version}: the answer cannot be encoded: ${(err as Error).message}`,
        );
        return;
      }
      this.shared.host.router.publish(
        account,
        { subject: reply, reply: '', headers: null, payload },
        this,
      );
    };
    const fail = (err: unknown): void => {
      this.shared.host.log.warn(
        `kafka: forwarded ${h.name} v${version} failed: ${(err as Error)?.message ?? String(err)}`,
      );
      const res = h.errorResponse?.(decoded.body, version, KafkaCode.COORDINATOR_NOT_AVAILABLE);
      if (res !== undefined) answer(res);
    };
    const ctx = forwardedContext(this.shared, account, meta, decoded.header);
    const settle = (r: HandlerResult<unknown>): void => {
      if (r instanceof Later) {
        r.answer.then(settle, fail);
        return;
      }
      if (r instanceof Close) {
        if (r.response !== null) answer(r.response);
        else fail(new Error(r.detail));
        return;
      }
      if (r !== null) answer(r);
    };
    try {
      const r = h.handle(ctx, decoded.body, version);
      if (r instanceof Promise) r.then(settle, fail);
      else settle(r);
    } catch (err) {
      fail(err);
    }
  }
}

/** COORDINATOR_NOT_AVAILABLE for every part of the request: clients find the coordinator again and retry. */
function unavailableAnswer(h: ApiHandler, req: unknown, version: number): unknown {
  if (h.errorResponse === undefined)
    throw new Error(`${h.name}: the group coordinator is not reachable`);
  return h.errorResponse(req, version, KafkaCode.COORDINATOR_NOT_AVAILABLE);
}

/** The context a forwarded request runs in on the owner: the client's user and permissions. */
function forwardedContext(
  shared: KafkaShared,
  account: Account,
  meta: Meta,
  header: { apiKey: number; apiVersion: number; correlationId: number; clientId: string | null },
): KafkaContext {
  const guard = meta.p === null || meta.p === undefined ? null : new Guard(new Permissions(meta.p));
  return {
    connectionId: 0,
    remoteAddress: typeof meta.h === 'string' ? meta.h : 'mesh',
    header,
    shared,
    who: null as unknown as KafkaContext['who'],
    identity: { user: String(meta.u ?? ''), account } as unknown as KafkaContext['identity'],
    account,
    guard,
    authenticated: true,
    saslRequired: false,
    tlsClientSubject: '',
    authenticate: () => Promise.resolve('a forwarded request cannot authenticate'),
    sasl: null,
    closed: false,
    whenClosed: () => new Promise<void>(() => {}),
  };
}
