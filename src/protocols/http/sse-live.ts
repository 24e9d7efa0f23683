/**
 * Live messages for one SSE response: a core subscription (with an
 * optional queue group) in the identity's account, each delivery encoded
 * into the response's writer. A delivery that would pass `http.sse_max_pending`
 * closes the response (sse-writer.ts): the core never waits for a browser.
 */
import type { Guard } from '../../auth/guard.js';
import type { Account } from '../../core/account.js';
import type { Message, Subscriber, Subscription } from '../../core/message.js';
import { encodeEvent, type SseFormat } from './sse-event.js';
import type { SseWriter } from './sse-writer.js';

/** Ids for SSE subscribers, apart from connection ids and internal ones. */
let nextSseId = 1_900_000_000;

export function nextSubscriberId(): number {
  return nextSseId++;
}

export interface SseDeliveryCounters {
  /** Deliveries the subscriber's permissions refused (a deny under a wildcard). */
  deliveriesDenied: number;
}

export class LiveSubscription implements Subscriber {
  readonly id = nextSubscriberId();
  readonly kind = 'client' as const;
  readonly echo = true;
  private sub: Subscription | null = null;

  constructor(
    private readonly account: Account,
    private readonly writer: SseWriter,
    private readonly format: SseFormat,
    private guard: Guard | null,
    /** Each delivery must pass `guard.receive` (Guard.subscribe's `check`). */
    private check: boolean,
    private readonly counters: SseDeliveryCounters,
  ) {}

  start(subject: string, queue: string): void {
    this.sub = { subject, queue, sid: '', owner: this, max: 0, delivered: 0 };
    this.account.subscribe(this.sub);
  }

  stop(): void {
    if (this.sub !== null) this.account.unsubscribe(this.sub);
    this.sub = null;
  }

  /** A reload's permissions for the same subscription (still allowed). */
  permit(guard: Guard | null, check: boolean): void {
    this.guard = guard;
    this.check = check;
  }

  /** A queue group passes over this member for a message its permissions refuse. */
  accepts(sub: Subscription, msg: Message): boolean {
    if (!this.check || this.guard === null) return true;
    if (this.guard.receive(msg.subject, sub.queue)) return true;
    this.counters.deliveriesDenied++;
    return false;
  }

  deliver(sub: Subscription, msg: Message): void {
    if (this.sub === null) return;
    if (this.check && this.guard !== null && !this.guard.receive(msg.subject, sub.queue)) {
      this.counters.deliveriesDenied++;
      return;
    }
    this.writer.send(encodeOnce(msg, this.format));
  }
}

/**
 * The last message encoded, per format: a message delivered to many SSE
 * subscribers (fan-out) is encoded once, not once per subscriber. Keyed by
 * the message object and its payload slice, which the router hands to
 * every subscriber of one publish unchanged.
 */
const last = {
  text: { msg: null as Message | null, payload: null as Buffer | null, out: '' },
  json: { msg: null as Message | null, payload: null as Buffer | null, out: '' },
};

function encodeOnce(msg: Message, format: SseFormat): string {
  const c = last[format];
  if (c.msg === msg && c.payload === msg.payload) return c.out;
  c.out = encodeEvent(msg, 0, format);
  c.msg = msg;
  c.payload = msg.payload;
  return c.out;
}
