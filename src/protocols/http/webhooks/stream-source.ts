/**
 * A stream webhook's source: a durable push consumer on its stream, made
 * in-process (`webhook_<name>`), delivering to a subject only this node's
 * webhook listens on (`$WEFT.HOOK.deliver.<name>`, reserved: no client
 * may subscribe to it or publish there; local only: the mesh does not
 * carry it).
 *
 * The consumer does the bookkeeping that survives a restart: what was
 * delivered, what is unacknowledged, how often each message was tried
 * (the ack subject's delivery count is the attempt number). Its
 * `max_ack_pending` is the webhook's concurrency, so no more messages are
 * held than POSTs may be in flight; its `ack_wait` (2 × timeout + 200ms)
 * outlasts a POST, so a message is not redelivered while it is being
 * POSTed (and if it is, the copy is ignored); `max_deliver` is left
 * unlimited: the webhook counts attempts and sends the dead letter itself.
 */
import type { Account } from '../../../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../../core/message.js';
import type { Consumer } from '../../../jetstream/consumer.js';
import { NS_PER_MS, normalizeConsumerConfig } from '../../../jetstream/consumer-config.js';
import { parseAckAt } from '../../../jetstream/consumer-wire.js';
import type { CapturedStream } from '../../../jetstream/service.js';
import type { WebhookSpec } from './spec.js';
import type { Held, WebhookHost, WebhookState } from './webhook.js';

/** How often a webhook waiting for its stream (or whose consumer went away) looks again, ms. */
export const STREAM_RETRY_MS = 1000;

/** The reserved prefix of the subjects webhooks' consumers deliver to. */
export const DELIVER_PREFIX = '$WEFT.HOOK.deliver.';

/** The name of a webhook's durable consumer. */
export function consumerName(webhook: string): string {
  return `webhook_${webhook}`;
}

export interface SourceSink {
  take(m: Held): void;
  state(s: WebhookState, why: string): void;
}

let nextSourceId = 1_950_000_000;

export class StreamSource implements Subscriber {
  readonly id = nextSourceId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  readonly localOnly = true;
  private readonly name: string;
  private readonly deliverSubject: string;
  private readonly ackPrefix: number;
  private bound: { cs: CapturedStream; consumer: Consumer } | null = null;
  private sub: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Stream sequences being POSTed now. */
  private readonly inFlight = new Set<number>();
  /** Stream sequences NAKed, waiting for their redelivery. */
  private readonly naked = new Set<number>();
  private stopped = false;
  private binding = false;

  constructor(
    private readonly spec: WebhookSpec,
    private readonly account: Account,
    private readonly host: WebhookHost,
    private readonly sink: SourceSink,
  ) {
    this.name = consumerName(spec.name);
    this.deliverSubject = `${DELIVER_PREFIX}${spec.name}`;
    this.ackPrefix = `$JS.ACK.${spec.stream}.${this.name}.`.length;
  }

  /** Starts; resolves once the first attempt to bind is over (bound, or waiting for the stream). */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.check(), STREAM_RETRY_MS);
    this.timer.unref();
    return this.check();
  }

  /** Binds when unbound; unbinds when the stream or consumer went away (deleted, re-created). */
  private check(): Promise<void> {
    if (this.stopped || this.binding) return Promise.resolve();
    const b = this.bound;
    if (b !== null) {
      const cs = this.host.jetstream?.account(this.spec.account)?.streams.get(this.spec.stream);
      if (cs === b.cs && b.cs.consumers.byName.get(this.name) === b.consumer) {
        return Promise.resolve();
      }
      this.bound = null;
      this.inFlight.clear();
      this.naked.clear();
    }
    this.binding = true;
    return this.bind().finally(() => {
      this.binding = false;
    });
  }

  private async bind(): Promise<void> {
    const js = this.host.jetstream;
    const where = `stream ${this.spec.stream} in account ${this.spec.account}`;
    if (js === null) {
      this.sink.state('waiting', `JetStream is off: ${where} cannot be read`);
      return;
    }
    const cs = js.account(this.spec.account)?.streams.get(this.spec.stream);
    if (cs === undefined) {
      this.sink.state('waiting', `${where} not found (looking again every ${STREAM_RETRY_MS}ms)`);
      return;
    }
    const subjects = cs.stream.config.subjects;
    const whole = subjects.length === 1 && subjects[0] === this.spec.subject;
    try {
      const config = normalizeConsumerConfig(
        {
          durable_name: this.name,
          description: `webhook ${this.spec.name}`,
          deliver_subject: this.deliverSubject,
          deliver_policy: 'new',
          ack_policy: 'explicit',
          ack_wait: (2 * this.spec.timeoutMs + 200) * NS_PER_MS,
          max_deliver: -1,
          max_ack_pending: this.spec.concurrency,
          ...(whole ? {} : { filter_subject: this.spec.subject }),
        },
        true,
      );
      const { consumer } = await cs.consumers.add(config);
      if (this.stopped) return;
      this.bound = { cs, consumer };
      if (this.sub === null) {
        this.sub = internalSubscription(this.deliverSubject, this);
        this.account.subscribe(this.sub);
      }
      this.sink.state('running', '');
    } catch (err) {
      this.sink.state('waiting', `consumer on ${where} not made: ${(err as Error).message}`);
    }
  }

  /** A delivery from the consumer (reply: its ack subject). */
  deliver(_sub: Subscription, msg: Message): void {
    if (this.stopped || this.bound === null) return;
    const ref = parseAckAt(msg.reply, this.ackPrefix);
    if (ref === null || this.inFlight.has(ref.sseq)) return;
    this.inFlight.add(ref.sseq);
    this.naked.delete(ref.sseq);
    this.sink.take({
      id: `${this.spec.stream}.${ref.sseq}`,
      subject: msg.subject,
      headers: msg.headers === null ? null : Buffer.from(msg.headers),
      payload: Buffer.from(msg.payload),
      attempts: ref.deliveries - 1,
      ack: msg.reply,
      seq: ref.sseq,
    });
  }

  /** Answers the consumer for a message: `+ACK` or `-NAK {"delay":ns}`. */
  ack(m: Held, body: string): void {
    if (m.seq === undefined || m.ack === undefined) return;
    this.inFlight.delete(m.seq);
    if (body.startsWith('-NAK')) this.naked.add(m.seq);
    this.host.router.publish(
      this.account,
      { subject: m.ack, reply: '', headers: null, payload: Buffer.from(body) },
      this,
    );
  }

  /** Messages not yet delivered plus those awaiting an ack. */
  lag(): number {
    const c = this.bound?.consumer.counts();
    return c === undefined ? 0 : c.num_pending + c.num_ack_pending;
  }

  retrying(): number {
    return this.naked.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.sub !== null) this.account.unsubscribe(this.sub);
    this.sub = null;
  }

  /** Deletes the durable consumer (the webhook is deleted). */
  async remove(): Promise<void> {
    this.stop();
    const cs = this.host.jetstream?.account(this.spec.account)?.streams.get(this.spec.stream);
    if (cs?.consumers.byName.has(this.name)) await cs.consumers.delete(this.name).catch(() => {});
  }
}
