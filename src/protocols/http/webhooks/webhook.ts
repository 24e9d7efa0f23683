/**
 * One running webhook: takes messages from a core subscription (no
 * stream: at most once, a bounded queue in memory) or from a durable push
 * consumer on its stream (at least once: a 2xx is the ack, a failure a
 * NAK with the retry delay), and POSTs each to its URL.
 *
 * Invariants: at most `concurrency` POSTs in flight (the consumer's
 * max_ack_pending is the same number, so a stream webhook holds at most
 * that many messages in memory); a message keeps its slot until it is
 * delivered or dead-lettered, so with concurrency 1 messages are
 * delivered one after the other, in order, retries included. Nothing a
 * receiver does blocks the node: the POSTs are asynchronous and each has
 * its deadline (attempt.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Account } from '../../../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../../core/message.js';
import type { Router } from '../../../core/router.js';
import { NS_PER_MS } from '../../../jetstream/consumer-config.js';
import { withHeaders } from '../../../jetstream/consumer-wire.js';
import type { JetStream } from '../../../jetstream/service.js';
import { attempt, type Outcome, retryDelay } from './attempt.js';
import { WebhookClient } from './client.js';
import { type Delivery, requestHeaders } from './request.js';
import type { WebhookSpec } from './spec.js';
import { StreamSource } from './stream-source.js';

export type WebhookState = 'running' | 'waiting' | 'stopped' | 'closed';

export interface WebhookHost {
  readonly router: Router;
  readonly jetstream: JetStream | null;
  readonly log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  account(name: string): Account;
  /** The webhook stopped on a 410 (the node reports it in /healthz). */
  stopped(w: Webhook): void;
}

/** What the status shows and the metrics read. */
export interface WebhookCounters {
  /** Messages the receiver took (a 2xx). */
  delivered: number;
  /** Attempts that failed (an answer other than 2xx/410, a timeout, a connection error). */
  failed: number;
  /** Messages given up on after max_deliver attempts (published to the dead-letter subject). */
  deadLettered: number;
  /** Core webhooks: messages dropped because the queue was full. */
  dropped: number;
}

/** A message held by a webhook, from either source. */
export interface Held {
  readonly id: string;
  readonly subject: string;
  readonly headers: Buffer | null;
  readonly payload: Buffer;
  /** Attempts made before this one (the stream's delivery count − 1 for a redelivery). */
  attempts: number;
  /** Stream webhooks: the ack subject and stream sequence. */
  readonly ack?: string;
  readonly seq?: number;
}

let nextWebhookId = 1_900_000_000;

export class Webhook implements Subscriber {
  readonly id = nextWebhookId++;
  readonly kind = 'internal' as const;
  // Its own dead letters never come back to it (a filter of `>` would loop).
  readonly echo = false;
  readonly counters: WebhookCounters = { delivered: 0, failed: 0, deadLettered: 0, dropped: 0 };
  state: WebhookState = 'running';
  lastError = '';
  lastErrorAt = 0;
  lastDeliveredAt = 0;
  /** POSTs in flight now. */
  inFlight = 0;
  /** Messages waiting for their next attempt now. */
  retrying = 0;
  private readonly queue: Held[] = [];
  private queueBytes = 0;
  private sub: Subscription | null = null;
  private source: StreamSource | null = null;
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly account: Account;
  /** Its URL and keep-alive connections (at most `concurrency`). */
  private readonly client: WebhookClient;

  constructor(
    readonly spec: WebhookSpec,
    private readonly host: WebhookHost,
    /** Created through the API (kept in the store) or by the config. */
    readonly origin: 'config' | 'api',
  ) {
    this.account = host.account(spec.account);
    this.client = new WebhookClient(spec.url, spec.concurrency);
  }

  /**
   * Subscribes, or binds to its stream's consumer: resolves once the first
   * attempt is over, so a message published after it is delivered (a
   * stream webhook delivers what is stored from its creation on).
   */
  start(): Promise<void> {
    if (this.spec.stream === '') {
      this.sub = internalSubscription(this.spec.subject, this);
      this.account.subscribe(this.sub);
      return Promise.resolve();
    }
    this.state = 'waiting';
    this.source = new StreamSource(this.spec, this.account, this.host, {
      take: (m) => this.take(m),
      state: (s, why) => {
        if (this.state === 'stopped' || this.state === 'closed') return;
        this.state = s;
        if (why !== '') this.noteError(why);
      },
    });
    return this.source.start();
  }

  /** Messages waiting: the queue (core), or the consumer's pending and unacknowledged (stream). */
  lag(): number {
    if (this.source !== null) return this.source.lag();
    return this.queue.length;
  }

  /** Connections opened to the receiver (kept alive: one per slot while it answers). */
  connections(): number {
    return this.client.connections;
  }

  /** Messages waiting for their next attempt (NAKed, for a stream webhook). */
  retryingNow(): number {
    return this.source?.retrying() ?? this.retrying;
  }

  // ---- core subscription --------------------------------------------------

  deliver(_sub: Subscription, msg: Message): void {
    if (this.state !== 'running') return;
    const size = msg.payload.length + (msg.headers?.length ?? 0);
    if (this.queue.length >= this.spec.queue || this.queueBytes + size > this.spec.queueBytes) {
      this.counters.dropped++;
      return;
    }
    // The message's buffers may be a reused read buffer: copy what is kept.
    this.queue.push({
      id: randomUUID(),
      subject: msg.subject,
      headers: msg.headers === null ? null : Buffer.from(msg.headers),
      payload: Buffer.from(msg.payload),
      attempts: 0,
    });
    this.queueBytes += size;
    this.pump();
  }

  private pump(): void {
    while (
      this.inFlight < this.spec.concurrency &&
      this.queue.length > 0 &&
      this.state === 'running'
    ) {
      const m = this.queue.shift()!;
      this.queueBytes -= m.payload.length + (m.headers?.length ?? 0);
      this.inFlight++;
      void this.runCore(m).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** A core message: retried here, in its slot, until delivered, dead-lettered or closed. */
  private async runCore(m: Held): Promise<void> {
    for (;;) {
      const out = await this.post(m);
      // Closed meanwhile (a shutdown aborts the POST): no dead letter for that.
      if (out.kind !== 'failed' || this.state === 'closed') return;
      if (this.exhausted(m)) {
        this.deadLetter(m, out.error);
        return;
      }
      this.retrying++;
      const ok = await this.wait(retryDelay(m.attempts + 1, this.spec, out.retryAfterMs));
      this.retrying--;
      if (!ok || this.state !== 'running') return;
    }
  }

  // ---- stream consumer ------------------------------------------------------

  /** A message from the consumer: one attempt, then the ack or a NAK with the delay. */
  private take(m: Held): void {
    if (this.state !== 'running') return;
    this.inFlight++;
    void this.post(m)
      .then((out) => {
        if (this.state === 'closed') return;
        if (out.kind === 'ok') this.source?.ack(m, '+ACK');
        else if (out.kind === 'failed') {
          if (this.exhausted(m)) {
            this.deadLetter(m, out.error);
            this.source?.ack(m, '+ACK');
          } else {
            const delay = retryDelay(m.attempts + 1, this.spec, out.retryAfterMs);
            this.source?.ack(
              m,
              `-NAK ${JSON.stringify({ delay: Math.max(1, delay) * NS_PER_MS })}`,
            );
          }
        }
        // gone: the message stays unacknowledged; the consumer keeps it for a new start.
      })
      .finally(() => {
        this.inFlight--;
      });
  }

  // ---- shared ---------------------------------------------------------------

  /** One attempt; counts it and acts on 410. */
  private async post(m: Held): Promise<Outcome> {
    m.attempts++;
    const d: Delivery = {
      id: m.id,
      webhook: this.spec.name,
      subject: m.subject,
      headers: m.headers,
      payload: m.payload,
      attempt: m.attempts,
    };
    const out = await attempt(
      this.client,
      requestHeaders(d, this.spec.secret),
      m.payload,
      this.spec.timeoutMs,
    );
    if (this.state === 'closed') return out;
    if (out.kind === 'ok') {
      this.counters.delivered++;
      this.lastDeliveredAt = Date.now();
    } else if (out.kind === 'gone') {
      this.stopGone();
    } else {
      this.counters.failed++;
      this.noteError(out.error);
    }
    return out;
  }

  private exhausted(m: Held): boolean {
    return this.spec.maxDeliver > 0 && m.attempts >= this.spec.maxDeliver;
  }

  private noteError(text: string): void {
    this.lastError = text;
    this.lastErrorAt = Date.now();
  }

  /**
   * Publishes the message to the dead-letter subject, in the webhook's
   * account, with what was tried in `Weft-Dead-Letter-*` headers.
   */
  private deadLetter(m: Held, error: string): void {
    this.counters.deadLettered++;
    // A dead letter of this webhook that came back to it (its stream captures
    // the dead-letter subject and its filter matches): not sent again, or it
    // would go round for ever.
    if (m.subject === this.spec.deadLetter) {
      this.host.log.warn(
        `webhook ${this.spec.name}: its own dead letter on ${m.subject} failed again (${error}): dropped`,
      );
      return;
    }
    const extra: Record<string, string | number> = {
      'Weft-Dead-Letter-Webhook': this.spec.name,
      'Weft-Dead-Letter-Subject': m.subject,
      'Weft-Dead-Letter-Attempts': m.attempts,
      'Weft-Dead-Letter-Error': error.replace(/[\r\n]/g, ' '),
      'Weft-Dead-Letter-Reason': 'max_deliver',
    };
    if (m.seq !== undefined) {
      extra['Weft-Dead-Letter-Stream'] = this.spec.stream;
      extra['Weft-Dead-Letter-Sequence'] = m.seq;
    }
    const headers = withHeaders(m.headers, extra);
    this.host.router.publish(
      this.account,
      { subject: this.spec.deadLetter, reply: '', headers, payload: m.payload },
      this,
    );
    this.host.log.warn(
      `webhook ${this.spec.name}: a message on ${m.subject} went to ${this.spec.deadLetter} after ${m.attempts} attempts: ${error}`,
    );
  }

  /** A 410 Gone: the receiver asked to stop. Nothing more is taken; the status says why. */
  private stopGone(): void {
    if (this.state === 'stopped' || this.state === 'closed') return;
    this.state = 'stopped';
    this.noteError(`410 Gone from ${this.spec.url}: webhook stopped`);
    this.host.log.warn(
      `webhook ${this.spec.name}: ${this.spec.url} answered 410 Gone: stopped (delete and create it again to resume)`,
    );
    this.release();
    // The POSTs in flight end as they would; no socket is kept for another.
    this.client.retire();
    this.counters.dropped += this.queue.length;
    this.queue.length = 0;
    this.queueBytes = 0;
    this.host.stopped(this);
  }

  /** Resolves true after `ms`, false if the webhook closed meanwhile. */
  private wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.abort.signal.aborted) {
        resolve(false);
        return;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve(!this.abort.signal.aborted);
      }, ms);
      this.timers.add(t);
      this.abort.signal.addEventListener('abort', () => resolve(false), { once: true });
    });
  }

  private release(): void {
    if (this.sub !== null) this.account.unsubscribe(this.sub);
    this.sub = null;
    this.source?.stop();
  }

  /** Stops everything: the subscription or consumer binding, timers and POSTs in flight. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.release();
    this.abort.abort();
    // The POSTs in flight end (`webhook closed`) and every socket closes.
    this.client.close();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queueBytes = 0;
  }

  /** Removes what the webhook keeps in JetStream (its durable consumer): it is being deleted. */
  async remove(): Promise<void> {
    this.close();
    await this.source?.remove();
  }

  /** The status the API and /varz show. */
  status(): Record<string, unknown> {
    return {
      state: this.state,
      delivered: this.counters.delivered,
      failed: this.counters.failed,
      dead_lettered: this.counters.deadLettered,
      dropped: this.counters.dropped,
      in_flight: this.inFlight,
      connections: this.client.connections,
      retrying: this.retryingNow(),
      lag: this.lag(),
      last_error: this.lastError,
      ...(this.lastErrorAt > 0 ? { last_error_at: new Date(this.lastErrorAt).toISOString() } : {}),
      ...(this.lastDeliveredAt > 0
        ? { last_delivered_at: new Date(this.lastDeliveredAt).toISOString() }
        : {}),
    };
  }
}
