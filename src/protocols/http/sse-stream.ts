/**
 * A stream-backed SSE response (`?stream=NAME`): everything — the replay
 * from `start` or `Last-Event-ID` and the live messages after it — is read
 * through one ephemeral push consumer of the stream, created in process
 * (ack policy none, in memory, filtered on the subscribe subject). The
 * consumer's cursor orders every message once, so there is no seam between
 * replay and live: no gap, no duplicate. Each event's `id:` is the stream
 * sequence, which is what `Last-Event-ID` resumes after.
 *
 * Backpressure instead of dropping: the consumer asks `holdDelivery` before
 * each message and stops while the response is congested (more than
 * `pauseBytes` held); the writer's `onWritable` wakes it. A client that
 * takes nothing for `write_deadline` is closed (sse-writer.ts).
 *
 * The consumer delivers to a private subject (`_INBOX.sse.<random>`) that
 * this node alone subscribes (`localOnly`: the mesh neither learns nor
 * routes it). The stream must live on this node.
 */
import { randomBytes } from 'node:crypto';
import type { Guard } from '../../auth/guard.js';
import type { Account } from '../../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../core/message.js';
import { patternsOverlap } from '../../core/subject.js';
import type { Consumer } from '../../jetstream/consumer.js';
import { ephemeralName, normalizeConsumerConfig } from '../../jetstream/consumer-config.js';
import { parseAckAt } from '../../jetstream/consumer-wire.js';
import type { CapturedStream, JetStream } from '../../jetstream/service.js';
import { StreamApiError } from '../../streams/stream-errors.js';
import { encodeEvent, type SseFormat } from './sse-event.js';
import type { SseDeliveryCounters } from './sse-live.js';
import { nextSubscriberId } from './sse-live.js';
import type { SseStart } from './sse-request.js';
import type { SseWriter } from './sse-writer.js';

/** Why a stream-backed subscription cannot start: an HTTP status and a description. */
export class SseRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    description: string,
  ) {
    super(description);
  }
}

export interface StreamReadSpec {
  readonly stream: string;
  readonly subject: string;
  readonly start: SseStart;
  readonly format: SseFormat;
  /** Shown in the consumer's description (`weft sse <address>`). */
  readonly client: string;
}

export class StreamSubscription implements Subscriber {
  readonly id = nextSubscriberId();
  readonly kind = 'internal' as const;
  readonly echo = false;
  readonly localOnly = true;
  private sub: Subscription | null = null;
  private consumer: Consumer | null = null;
  private cs: CapturedStream | null = null;
  private readonly name = ephemeralName();
  private stopped = false;
  /** `$JS.ACK.<stream>.<consumer>.`: where the numbers of a delivery's reply begin. */
  private ackPrefix = 0;

  constructor(
    private readonly account: Account,
    private readonly jetstream: JetStream | null,
    private readonly writer: SseWriter,
    private readonly spec: StreamReadSpec,
    private guard: Guard | null,
    private check: boolean,
    private readonly counters: SseDeliveryCounters,
  ) {}

  /** Creates the consumer; throws SseRefused (nothing is left behind then). */
  async start(): Promise<void> {
    const js = this.jetstream?.account(this.account.name);
    const name = this.spec.stream;
    if (js === undefined) {
      throw new SseRefused(
        503,
        'jetstream_not_enabled',
        'JetStream is not enabled for the account',
      );
    }
    const cs = js.streams.get(name);
    if (cs === undefined) {
      if (js.remoteHas(name)) {
        throw new SseRefused(
          409,
          'stream_not_local',
          `stream "${name}" lives on another node: subscribe through that node`,
        );
      }
      throw new SseRefused(404, 'stream_not_found', `stream "${name}" not found`);
    }
    if (!cs.stream.config.subjects.some((x) => subjectsOverlap(x, this.spec.subject))) {
      throw new SseRefused(
        400,
        'stream_error',
        `subject "${this.spec.subject}" is not captured by stream "${name}"`,
      );
    }
    this.cs = cs;
    this.ackPrefix = `$JS.ACK.${name}.${this.name}.`.length;
    const deliver = `_INBOX.sse.${randomBytes(12).toString('hex')}`;
    const s = this.spec.start;
    const raw: Record<string, unknown> = {
      name: this.name,
      description: `weft sse ${this.spec.client}`,
      deliver_policy: s.policy,
      ack_policy: 'none',
      deliver_subject: deliver,
      filter_subject: this.spec.subject,
      mem_storage: true,
      num_replicas: 1,
    };
    if (s.policy === 'by_start_sequence') raw.opt_start_seq = s.seq;
    if (s.policy === 'by_start_time') raw.opt_start_time = s.time;
    this.sub = internalSubscription(deliver, this);
    this.account.subscribe(this.sub);
    try {
      const { consumer } = await cs.consumers.add(normalizeConsumerConfig(raw, false));
      this.consumer = consumer;
    } catch (err) {
      this.release();
      if (err instanceof StreamApiError) {
        throw new SseRefused(err.code === 404 ? 404 : 400, 'stream_error', err.message);
      }
      throw err;
    }
    if (this.stopped) {
      this.stop();
      return;
    }
    const c = this.consumer;
    c.holdDelivery = () => this.writer.congested || this.writer.closed !== null;
    this.writer.onWritable = () => c.wake();
  }

  /** False once the stream or the consumer is gone (deleted, or the stream re-created). */
  alive(): boolean {
    const cs = this.cs;
    if (cs === null || this.consumer === null) return true;
    const js = this.jetstream?.account(this.account.name);
    return (
      js?.streams.get(cs.stream.name) === cs && cs.consumers.byName.get(this.name) === this.consumer
    );
  }

  stop(): void {
    this.stopped = true;
    const c = this.consumer;
    this.consumer = null;
    if (c !== null && this.cs?.consumers.byName.get(this.name) === c) {
      void this.cs.consumers.delete(this.name).catch(() => {});
    }
    this.release();
  }

  private release(): void {
    if (this.sub !== null) this.account.unsubscribe(this.sub);
    this.sub = null;
  }

  /** A reload's permissions for the same subscription (still allowed). */
  permit(guard: Guard | null, check: boolean): void {
    this.guard = guard;
    this.check = check;
  }

  deliver(_sub: Subscription, msg: Message): void {
    if (this.sub === null) return;
    // The reply is the consumer's ack subject: `…<deliveries>.<stream seq>.<consumer seq>…`.
    const ref = parseAckAt(msg.reply, this.ackPrefix);
    if (ref === null) return;
    if (this.check && this.guard !== null && !this.guard.receive(msg.subject)) {
      this.counters.deliveriesDenied++;
      return;
    }
    this.writer.send(
      encodeEvent(
        { subject: msg.subject, reply: '', headers: msg.headers, payload: msg.payload },
        ref.sseq,
        this.spec.format,
      ),
    );
  }
}

function subjectsOverlap(a: string, b: string): boolean {
  return patternsOverlap(a.split('.'), b.split('.'));
}
