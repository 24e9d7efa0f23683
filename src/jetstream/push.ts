/**
 * What a push consumer sends besides messages, as nats-server 2.9 does it
 * (consumer.go), and what the official clients' push and ordered consumers
 * rely on:
 *
 * - **Idle heartbeats** (`idle_heartbeat`, ns): when nothing was delivered
 *   for that long, a `NATS/1.0 100 Idle Heartbeat` status goes to the
 *   deliver subject with `Nats-Last-Consumer` and `Nats-Last-Stream` (and
 *   `Nats-Consumer-Stalled: <reply>` while a flow control request is
 *   unanswered, so a client that missed the request can answer it). An
 *   ordered consumer compares `Nats-Last-Consumer` with what it received and
 *   recreates itself on a gap. One timer per consumer, re-armed from its own
 *   callback: deliveries only record a time.
 * - **Flow control** (`flow_control`): bytes delivered are counted against a
 *   window. Past half the window a `NATS/1.0 100 FlowControl Request` goes
 *   out with a `$JS.FC.<stream>.<consumer>.<id>` reply subject; past the
 *   whole window delivery stops until the client answers it. Each answer
 *   releases the bytes it covers and doubles the window (slow start), up to
 *   FLOW_CONTROL_MAX_BYTES.
 */
import type { Account } from '../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../core/message.js';
import type { Router } from '../core/router.js';
import { NS_PER_MS } from './consumer-config.js';
import { FLOW_CONTROL_REQUEST, flowControlSubject, statusBlock } from './consumer-wire.js';

/** nats-server's JsFlowControlMaxPending: the widest window, 32 MiB. */
export const FLOW_CONTROL_MAX_BYTES = 32 * 1024 * 1024;
/** The first window is the widest divided by this (nats-server's too): 2 MiB. */
const FLOW_CONTROL_FIRST_DIVISOR = 16;
/** A heartbeat timer that fires this early (ms) still counts as due. */
const TIMER_SLACK_MS = 2;

const EMPTY = Buffer.alloc(0);

export interface PushHost {
  readonly account: Account;
  readonly router: Router;
  readonly stream: string;
  readonly consumer: string;
  /** Statuses are sent as this party (the consumer). */
  readonly origin: Subscriber;
  deliverSubject(): string;
  /** Whether anyone listens on the deliver subject now. */
  active(): boolean;
  /** The last consumer sequence delivered, and the stream sequence the consumer is past. */
  lastSeqs(): { consumer: number; stream: number };
  /** When a message was last delivered, ms since the epoch (0: never). */
  lastDelivered(): number;
  /** An answer opened the window: deliver what waits. */
  resume(): void;
}

let nextPushId = 1_600_000_000;

export class PushFlow implements Subscriber {
  readonly id = nextPushId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  /** Window in bytes; 0 when flow control is off. */
  private window = 0;
  /** Bytes delivered that no answered request has covered yet. */
  private outstanding = 0;
  /** Reply subject of the unanswered request, '' when none. */
  private requestId = '';
  /** Bytes that request covers. */
  private requestBytes = 0;
  private fcSub: Subscription | null = null;
  private readonly heartbeatMs: number;
  private timer: NodeJS.Timeout | null = null;
  private lastBeat = 0;
  private stopped = false;

  constructor(
    private readonly host: PushHost,
    flowControl: boolean,
    heartbeatNs: number,
  ) {
    this.heartbeatMs = heartbeatNs > 0 ? heartbeatNs / NS_PER_MS : 0;
    if (flowControl) this.window = FLOW_CONTROL_MAX_BYTES / FLOW_CONTROL_FIRST_DIVISOR;
  }

  start(): void {
    if (this.window > 0) {
      this.fcSub = internalSubscription(`$JS.FC.${this.host.stream}.${this.host.consumer}.*`, this);
      this.host.account.subscribe(this.fcSub);
    }
    if (this.heartbeatMs > 0) this.arm(this.heartbeatMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.fcSub !== null) this.host.account.unsubscribe(this.fcSub);
    this.fcSub = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Whether delivery must wait for an answer: more than a window is outstanding. */
  get stalled(): boolean {
    return this.window > 0 && this.outstanding > this.window;
  }

  /** Counts one delivered message of `size` bytes (deliver subject, reply, headers and payload, as nats-server counts). */
  delivered(size: number): void {
    if (this.window === 0) return;
    this.outstanding += size;
    if (this.requestId === '') {
      if (this.outstanding > this.window / 2) this.request();
    } else if (this.outstanding - this.requestBytes >= this.window) {
      // A whole window beyond the request: it covers this message too (as nats-server).
      this.requestBytes += size;
    }
  }

  /** An answer to a flow control request. */
  deliver(_sub: Subscription, msg: Message): void {
    // Only the latest request counts; an answer to an older one is stale.
    if (this.stopped || this.requestId === '' || msg.subject !== this.requestId) return;
    this.window = Math.min(this.window * 2, FLOW_CONTROL_MAX_BYTES);
    this.outstanding = Math.max(0, this.outstanding - this.requestBytes);
    this.requestId = '';
    this.requestBytes = 0;
    // Messages larger than half a window could leave delivery stalled with
    // no request out; ask again at once rather than wait for a delivery.
    if (this.outstanding > this.window / 2) this.request();
    this.host.resume();
  }

  private request(): void {
    const to = this.host.deliverSubject();
    this.requestId = flowControlSubject(this.host.stream, this.host.consumer);
    this.requestBytes = this.outstanding;
    this.send({
      subject: to,
      reply: this.requestId,
      headers: FLOW_CONTROL_REQUEST,
      payload: EMPTY,
    });
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.beat, ms);
    this.timer.unref();
  }

  /** The heartbeat timer: sends when idle for a whole interval, else waits out the rest. */
  private readonly beat = (): void => {
    this.timer = null;
    if (this.stopped) return;
    const now = Date.now();
    const idle = now - Math.max(this.host.lastDelivered(), this.lastBeat);
    if (idle < this.heartbeatMs - TIMER_SLACK_MS) {
      this.arm(this.heartbeatMs - idle);
      return;
    }
    if (this.host.active()) {
      const seqs = this.host.lastSeqs();
      const headers: Record<string, number | string> = {
        'Nats-Last-Consumer': seqs.consumer,
        'Nats-Last-Stream': seqs.stream,
      };
      if (this.requestId !== '') headers['Nats-Consumer-Stalled'] = this.requestId;
      this.send({
        subject: this.host.deliverSubject(),
        reply: '',
        headers: statusBlock('100 Idle Heartbeat', headers),
        payload: EMPTY,
      });
    }
    this.lastBeat = now;
    this.arm(this.heartbeatMs);
  };

  private send(msg: Message): void {
    const { router, account, origin } = this.host;
    router.deliver(account.sublist.match(msg.subject), msg, origin);
  }
}
