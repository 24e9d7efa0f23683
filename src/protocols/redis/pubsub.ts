/**
 * Redis Pub/Sub on the core: a connection's SUBSCRIBE, PSUBSCRIBE and
 * SSUBSCRIBE subscriptions (`ClientSubscriptions`, the connection's core
 * `Subscriber`), and the face's view of them for `PUBSUB CHANNELS / NUMSUB
 * / NUMPAT / SHARDCHANNELS / SHARDNUMSUB` (`PubSubIndex`).
 *
 * A channel is a subject (channels.ts). A glob pattern that a subject
 * wildcard expresses exactly subscribes through the core's index alone;
 * any other subscribes to a wider subject and each message is checked with
 * Redis's glob (glob.ts). Shard channels are channels: a Weft node is one
 * shard holding every slot, so SPUBLISH reaches SUBSCRIBE-rs of the channel
 * too (a difference from Redis Cluster, where the two spaces are apart).
 */
import type { ConnectionIdentity } from '../../auth/connection-identity.js';
import { reservedSubject } from '../../auth/reserved.js';
import type { Account } from '../../core/account.js';
import type { Message, Subscriber, Subscription } from '../../core/message.js';
import { subjectMatches } from '../../core/subject.js';
import { channelToSubject, patternToSubject, subjectToChannel } from './channels.js';
import { globMatch } from './glob.js';

export type SubKind = 'channel' | 'pattern' | 'shard';

/** The push a subscription's messages arrive as. */
export const MESSAGE_KIND: Record<SubKind, string> = {
  channel: 'message',
  pattern: 'pmessage',
  shard: 'smessage',
};

interface RedisSub extends Subscription {
  readonly kind: SubKind;
  /** The channel or pattern as the client gave it. */
  readonly name: Buffer;
  /** The glob to check each message against; null when the subject is exact. */
  readonly glob: Buffer | null;
  /** Each delivery needs the guard's receive check (deny rules). */
  readonly check: boolean;
  /** Each message's head in RESP2 and RESP3 (made at first use; see messagePrefix). */
  prefix2: Buffer | null;
  prefix3: Buffer | null;
}

/**
 * The bytes a message of `sub` starts with: `*3\r\n$7\r\nmessage\r\n$<n>\r\n<channel>\r\n`
 * (smessage alike), or for a pattern `*4\r\n$8\r\npmessage\r\n$<n>\r\n<pattern>\r\n`
 * (the channel follows). RESP3 starts with `>`.
 */
function messagePrefix(sub: RedisSub, protocol: 2 | 3): Buffer {
  const cached = protocol === 3 ? sub.prefix3 : sub.prefix2;
  if (cached !== null) return cached;
  const word = MESSAGE_KIND[sub.kind];
  const head = `${protocol === 3 ? '>' : '*'}${sub.kind === 'pattern' ? 4 : 3}\r\n$${word.length}\r\n${word}\r\n$${sub.name.length}\r\n`;
  const b = Buffer.concat([Buffer.from(head, 'latin1'), sub.name, CRLF]);
  if (protocol === 3) sub.prefix3 = b;
  else sub.prefix2 = b;
  return b;
}

const CRLF = Buffer.from('\r\n');

/** What the subscriptions need of their connection. */
export interface SubscriptionsOwner {
  readonly id: number;
  readonly account: Account;
  readonly who: ConnectionIdentity;
  /** The connection's protocol (pub/sub messages are arrays in RESP2, pushes in RESP3). */
  readonly protocol: 2 | 3;
  /** Queues one pub/sub message: its head, the channel when the head lacks it, the message's payload. */
  sendMessage(prefix: Buffer, channel: Buffer | null, msg: Message): void;
}

/** Counts of the face's subscriptions per account, for PUBSUB. */
export class PubSubIndex {
  /**
   * Messages sent to Redis clients minus core deliveries to them, since
   * the node began: a PUBLISH reads it before and after routing (routing
   * is synchronous) to answer the number of messages Redis would count.
   */
  adjust = 0;
  private readonly accounts = new Map<
    string,
    Record<SubKind, Map<string, { name: Buffer; n: number }>>
  >();

  private of(account: string): Record<SubKind, Map<string, { name: Buffer; n: number }>> {
    let a = this.accounts.get(account);
    if (a === undefined) {
      a = { channel: new Map(), pattern: new Map(), shard: new Map() };
      this.accounts.set(account, a);
    }
    return a;
  }

  add(account: string, kind: SubKind, name: Buffer): void {
    const m = this.of(account)[kind];
    const key = name.toString('latin1');
    const e = m.get(key);
    if (e !== undefined) e.n++;
    else m.set(key, { name, n: 1 });
  }

  remove(account: string, kind: SubKind, name: Buffer): void {
    const a = this.accounts.get(account);
    if (a === undefined) return;
    const m = a[kind];
    const key = name.toString('latin1');
    const e = m.get(key);
    if (e === undefined) return;
    if (--e.n === 0) m.delete(key);
    if (a.channel.size === 0 && a.pattern.size === 0 && a.shard.size === 0) {
      this.accounts.delete(account);
    }
  }

  /** Channels (or shard channels) with a subscriber, matching `glob` when given. */
  names(account: string, kind: 'channel' | 'shard', glob: Buffer | null): Buffer[] {
    const m = this.accounts.get(account)?.[kind];
    if (m === undefined) return [];
    const out: Buffer[] = [];
    for (const e of m.values()) if (glob === null || globMatch(glob, e.name)) out.push(e.name);
    return out;
  }

  count(account: string, kind: SubKind, name: Buffer): number {
    return this.accounts.get(account)?.[kind].get(name.toString('latin1'))?.n ?? 0;
  }

  /** Patterns subscribed (PUBSUB NUMPAT counts each pattern once, whoever holds it). */
  patterns(account: string): number {
    return this.accounts.get(account)?.pattern.size ?? 0;
  }
}

/** Why a subscription cannot be made; the Redis error reply's text. */
export type Refusal = string;

/** Redis's permission error (ACL), for a channel the guard refuses. */
export const NOPERM_CHANNEL =
  'NOPERM this user has no permissions to access one of the channels used as arguments';

/** The subject a channel or pattern subscribes to, and whether a glob must filter. */
function target(kind: SubKind, name: Buffer): { subject: string; exact: boolean } | null {
  if (kind === 'pattern') return patternToSubject(name);
  const subject = channelToSubject(name);
  return subject === null ? null : { subject, exact: true };
}

export class ClientSubscriptions implements Subscriber {
  readonly kind = 'client' as const;
  readonly echo = true;
  private readonly held: Record<SubKind, Map<string, RedisSub>> = {
    channel: new Map(),
    pattern: new Map(),
    shard: new Map(),
  };
  /** Subscriptions in `held`, of every kind. */
  private heldCount = 0;
  /** Channel and shard subscriptions by their subject (a channel's mapping is one to one). */
  private readonly bySubject: Record<'channel' | 'shard', Map<string, RedisSub>> = {
    channel: new Map(),
    shard: new Map(),
  };
  /** The message delivered last (one delivery sends all its subscriptions' messages). */
  private lastMsg: Message | null = null;
  /** Deliveries withheld by a deny rule (the guard's receive). */
  denied = 0;

  constructor(
    private readonly owner: SubscriptionsOwner,
    private readonly index: PubSubIndex,
  ) {}

  get id(): number {
    return this.owner.id;
  }

  /** The connection's identity at work (permissions, quotas). */
  get who(): ConnectionIdentity {
    return this.owner.who;
  }

  /** Channels and patterns held (what SUBSCRIBE and PSUBSCRIBE replies count, as Redis). */
  get count(): number {
    return this.held.channel.size + this.held.pattern.size;
  }

  get shardCount(): number {
    return this.held.shard.size;
  }

  /** Every subscription held (read per delivery and per command: a count, not three sizes). */
  get total(): number {
    return this.heldCount;
  }

  /** The names held of a kind, in the order they were subscribed. */
  names(kind: SubKind): Buffer[] {
    return [...this.held[kind].values()].map((s) => s.name);
  }

  subjects(): string[] {
    const out: string[] = [];
    for (const k of ['channel', 'pattern', 'shard'] as const) {
      for (const s of this.held[k].values()) out.push(s.subject);
    }
    return out;
  }

  /**
   * Whether every name may be subscribed (all or none, as Redis's ACL
   * check): null, or the error text.
   */
  check(kind: SubKind, names: readonly Buffer[]): Refusal | null {
    const guard = this.owner.who.guard;
    for (const name of names) {
      const t = target(kind, name);
      if (t === null) return `ERR ${kind} name is not valid UTF-8`;
      if (reservedSubject(t.subject)) return NOPERM_CHANNEL;
      if (guard !== null && !guard.subscribe(t.subject, '').ok) return NOPERM_CHANNEL;
    }
    return null;
  }

  /**
   * Subscribes (once per name: again is a no-op, as Redis). Returns the
   * quota refusal when the identity's max_subscriptions is reached.
   */
  add(kind: SubKind, name: Buffer): Refusal | null {
    const key = name.toString('latin1');
    const m = this.held[kind];
    if (m.has(key)) return null;
    const t = target(kind, name);
    if (t === null) return `ERR ${kind} name is not valid UTF-8`;
    const refused = this.owner.who.subscribe();
    if (refused !== null) return `ERR maximum subscriptions reached (${refused})`;
    const guard = this.owner.who.guard;
    const sub: RedisSub = {
      subject: t.subject,
      queue: '',
      sid: '',
      owner: this,
      max: 0,
      delivered: 0,
      kind,
      name: Buffer.from(name),
      glob: t.exact ? null : Buffer.from(name),
      check: guard?.subscribe(t.subject, '').check === true,
      prefix2: null,
      prefix3: null,
    };
    m.set(key, sub);
    this.heldCount++;
    if (kind !== 'pattern') this.bySubject[kind].set(sub.subject, sub);
    this.owner.account.subscribe(sub);
    this.index.add(this.owner.account.name, kind, sub.name);
    return null;
  }

  /** Unsubscribes one name; false when it was not held. */
  remove(kind: SubKind, name: Buffer): boolean {
    const key = name.toString('latin1');
    const m = this.held[kind];
    const sub = m.get(key);
    if (sub === undefined) return false;
    m.delete(key);
    this.heldCount--;
    if (kind !== 'pattern') this.bySubject[kind].delete(sub.subject);
    this.owner.account.unsubscribe(sub);
    this.owner.who.unsubscribe();
    this.index.remove(this.owner.account.name, kind, sub.name);
    return true;
  }

  /** Drops every subscription (close, RESET, an account change). */
  clear(): void {
    for (const k of ['channel', 'pattern', 'shard'] as const) {
      for (const s of [...this.held[k].values()]) this.remove(k, s.name);
    }
  }

  /** A reload narrowed the permissions: drops what is no longer allowed; how many went. */
  recheck(): number {
    const guard = this.owner.who.guard;
    let removed = 0;
    for (const k of ['channel', 'pattern', 'shard'] as const) {
      for (const s of [...this.held[k].values()]) {
        if (guard !== null && !guard.subscribe(s.subject, '').ok) {
          this.remove(k, s.name);
          removed++;
        } else this.owner.who.subscribe();
      }
    }
    return removed;
  }

  accepts(sub: Subscription, msg: Message): boolean {
    const s = sub as RedisSub;
    const guard = this.owner.who.guard;
    return !s.check || guard === null || guard.receive(msg.subject);
  }

  /**
   * One core delivery. A connection may hold several subscriptions that
   * one message matches (a channel and patterns): the first delivery of a
   * message sends them all, in Redis's order — the channel's `message`,
   * then each pattern's `pmessage` in the order they were made, then the
   * shard channel's `smessage` — and later deliveries of the same message
   * send nothing. The index's `adjust` keeps PUBLISH's count Redis's: one
   * per message sent, not per core delivery.
   */
  deliver(sub: Subscription, msg: Message): void {
    const index = this.index;
    if (this.total === 1) {
      const s = sub as RedisSub;
      if (!this.accepts(s, msg)) {
        this.denied++;
        index.adjust--;
        return;
      }
      if (s.kind !== 'pattern') {
        this.owner.sendMessage(messagePrefix(s, this.owner.protocol), null, msg);
        return;
      }
      const channel = Buffer.from(subjectToChannel(msg.subject), 'utf8');
      if (s.glob !== null && !globMatch(s.glob, channel)) {
        index.adjust--;
        return;
      }
      this.owner.sendMessage(messagePrefix(s, this.owner.protocol), channel, msg);
      return;
    }
    if (msg === this.lastMsg) {
      index.adjust--;
      return;
    }
    this.lastMsg = msg;
    queueMicrotask(() => {
      if (this.lastMsg === msg) this.lastMsg = null;
    });
    const subject = msg.subject;
    let sent = 0;
    const ch = this.bySubject.channel.get(subject);
    if (ch !== undefined) {
      if (this.accepts(ch, msg)) {
        this.owner.sendMessage(messagePrefix(ch, this.owner.protocol), null, msg);
        sent++;
      } else this.denied++;
    }
    if (this.held.pattern.size > 0) {
      let channel: Buffer | null = null;
      for (const p of this.held.pattern.values()) {
        if (!subjectMatches(p.subject, subject)) continue;
        channel ??= Buffer.from(subjectToChannel(subject), 'utf8');
        if (p.glob !== null && !globMatch(p.glob, channel)) continue;
        if (!this.accepts(p, msg)) {
          this.denied++;
          continue;
        }
        this.owner.sendMessage(messagePrefix(p, this.owner.protocol), channel, msg);
        sent++;
      }
    }
    const sh = this.bySubject.shard.get(subject);
    if (sh !== undefined) {
      if (this.accepts(sh, msg)) {
        this.owner.sendMessage(messagePrefix(sh, this.owner.protocol), null, msg);
        sent++;
      } else this.denied++;
    }
    index.adjust += sent - 1;
  }
}
