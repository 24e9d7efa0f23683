/**
 * JetStream's own client side: reply subjects for requests the node makes
 * to other nodes' streams (a list across the mesh, a mirror's consumer and
 * its pulls). One wildcard subscription per account, `_INBOX.<token>.>`,
 * advertised over the mesh so answers route back; each open reply subject
 * is a handler keyed by its last token.
 */
import { randomBytes } from 'node:crypto';
import type { Account } from '../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../core/message.js';
import type { Router } from '../core/router.js';

/** Open reply subjects per account, at most (a request past it fails at once). */
export const INBOX_HANDLERS_MAX = 4096;

let nextInboxId = 1_800_000_000;

export type InboxHandler = (msg: Message) => void;

export interface Reply {
  readonly subject: string;
  close(): void;
}

export class Inbox implements Subscriber {
  readonly id = nextInboxId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  private readonly prefix = `_INBOX.${randomBytes(8).toString('hex')}.`;
  private readonly handlers = new Map<string, InboxHandler>();
  private sub: Subscription | null = null;
  private next = 1;
  /** Requests refused because INBOX_HANDLERS_MAX were open. */
  refused = 0;

  constructor(
    private readonly account: Account,
    private readonly router: Router,
  ) {}

  start(): void {
    this.sub = internalSubscription(`${this.prefix}>`, this);
    this.account.subscribe(this.sub);
  }

  stop(): void {
    if (this.sub !== null) this.account.unsubscribe(this.sub);
    this.sub = null;
    this.handlers.clear();
  }

  /** A new reply subject whose messages go to `handler` (copied: the caller may keep them). */
  open(handler: InboxHandler): Reply | null {
    if (this.handlers.size >= INBOX_HANDLERS_MAX || this.sub === null) {
      this.refused++;
      return null;
    }
    const key = (this.next++).toString(36);
    this.handlers.set(key, handler);
    return { subject: this.prefix + key, close: () => this.handlers.delete(key) };
  }

  deliver(_sub: Subscription, msg: Message): void {
    // A consumer's delivery shows the stored subject; it was sent `to` the inbox.
    const to = msg.to === undefined || msg.to === '' ? msg.subject : msg.to;
    const h = this.handlers.get(to.slice(this.prefix.length));
    if (h === undefined) return;
    h({
      subject: msg.subject,
      reply: msg.reply,
      headers: msg.headers === null ? null : Buffer.from(msg.headers),
      payload: Buffer.from(msg.payload),
    });
  }

  /** Publishes from this inbox; returns how many parties it reached (0: no responders). */
  publish(subject: string, reply: string, payload: Buffer | string): number {
    return this.router.publish(
      this.account,
      {
        subject,
        reply,
        headers: null,
        payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      },
      this,
    );
  }

  /**
   * A request with one answer: resolves with it, or null when nobody is
   * there to answer or nothing came within `timeoutMs`.
   */
  request(subject: string, payload: Buffer | string, timeoutMs: number): Promise<Message | null> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const reply = this.open((msg) => {
        if (timer !== null) clearTimeout(timer);
        reply?.close();
        resolve(msg);
      });
      if (reply === null) {
        resolve(null);
        return;
      }
      timer = setTimeout(() => {
        reply.close();
        resolve(null);
      }, timeoutMs);
      timer.unref();
      if (this.publish(subject, reply.subject, payload) === 0) {
        clearTimeout(timer);
        reply.close();
        resolve(null);
      }
    });
  }
}
