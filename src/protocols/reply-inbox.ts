/**
 * Reply subjects for a face's own requests (a request's answer, a stream's
 * publish ack, a JetStream API answer), shared by the HTTP and Redis faces
 * (each has its own): one wildcard subscription `_INBOX.<random>.>` per
 * account, made through `Account.subscribe` so the mesh advertises it and
 * answers from any node come back; each reply subject in use is a waiter
 * keyed by its last token. Answers are awaited on the router, never on a
 * socket.
 *
 * Bounded: at most REPLY_INBOX_WAITERS_MAX waiters over every account (per
 * instance); past it a request is refused at once (the face says how: HTTP
 * 503, Redis -ERR) and counted (`refused`).
 */
import { randomBytes } from 'node:crypto';
import type { Account } from '../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../core/message.js';

/** Requests (and publishes to streams) waiting for an answer at once, over every account. */
export const REPLY_INBOX_WAITERS_MAX = 10_000;

/** Ids of internal subscribers, away from connection ids and JetStream's. */
let nextId = 1_900_000_000;

export type Waiter = (msg: Message) => void;

interface AccountInbox {
  readonly prefix: string;
  readonly sub: Subscription;
}

export class ReplyInbox implements Subscriber {
  readonly id = nextId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  private readonly byAccount = new Map<Account, AccountInbox>();
  private readonly waiters = new Map<string, Waiter>();
  private next = 1;
  /** Waiters refused at REPLY_INBOX_WAITERS_MAX. */
  refused = 0;

  constructor(private readonly max = REPLY_INBOX_WAITERS_MAX) {}

  get size(): number {
    return this.waiters.size;
  }

  /**
   * A reply subject in `account` whose first message goes to `waiter`
   * (copied: it may be kept); null at the bound. `close()` frees it.
   */
  open(account: Account, waiter: Waiter): { subject: string; close(): void } | null {
    if (this.waiters.size >= this.max) {
      this.refused++;
      return null;
    }
    let inbox = this.byAccount.get(account);
    if (inbox === undefined) {
      const prefix = `_INBOX.${randomBytes(11).toString('base64url')}.`;
      const sub = internalSubscription(`${prefix}>`, this);
      account.subscribe(sub);
      inbox = { prefix, sub };
      this.byAccount.set(account, inbox);
    }
    const subject = inbox.prefix + (this.next++).toString(36);
    this.waiters.set(subject, waiter);
    return { subject, close: () => this.waiters.delete(subject) };
  }

  deliver(_sub: Subscription, msg: Message): void {
    const to = msg.to === undefined || msg.to === '' ? msg.subject : msg.to;
    const w = this.waiters.get(to);
    if (w === undefined) return;
    this.waiters.delete(to);
    w({
      subject: msg.subject,
      reply: msg.reply,
      headers: msg.headers === null ? null : Buffer.from(msg.headers),
      payload: Buffer.from(msg.payload),
    });
  }

  stop(): void {
    for (const [account, inbox] of this.byAccount) account.unsubscribe(inbox.sub);
    this.byAccount.clear();
    this.waiters.clear();
  }
}
