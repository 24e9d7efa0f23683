/**
 * One consumer on a stream: where it is in the stream, what it delivered
 * and is waiting acks for, and the delivery that feeds pull requests
 * (`$JS.API.CONSUMER.MSG.NEXT`) or a push `deliver_subject`.
 *
 * Invariants: `pos.cursor` is the next stream sequence not yet delivered
 * (new messages come from `store.next(cursor, filter)`); `acks` holds, per
 * stream sequence, the deliveries awaiting an ack (never with ack policy
 * none) and the queue (first in, first out) of those due for redelivery.
 * One delivery loop (`pump`) runs at a time; everything else only changes
 * state and kicks it.
 *
 * Beside this file: the delivery loop (consumer-pump.ts), the cursor and
 * the choice of the next message (consumer-next.ts), the pending set,
 * ack floor and redelivery queue (consumer-acks.ts), the start position and
 * pending counts read from the store (consumer-position.ts), the waiting
 * pull requests and their statuses (consumer-pull.ts), the durable state
 * file, whose `persisted` an ack-ack waits for (consumer-state.ts), and the
 * state it holds, made and restored (consumer-snapshot.ts), push
 * heartbeats and flow control (push.ts), dead letters
 * (consumer-dead-letter.ts), and the wire formats of ack subjects and
 * statuses (consumer-wire.ts).
 */
import type { Account } from '../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../core/message.js';
import type { Router } from '../core/router.js';
import { EMPTY_RESULT, type MatchResult } from '../core/sublist.js';
import type { StoredMessage, StreamStore, SyncPolicy } from '../streams/store.js';
import type { Stream } from '../streams/stream.js';
import { AckPending } from './consumer-acks.js';
import { turnNow } from './consumer-clock.js';
import {
  ackWaitMs,
  type ConsumerConfig,
  DEFAULT_ACK_WAIT_NS,
  exhausted,
  NS_PER_MS,
} from './consumer-config.js';
import { deadLetterSubject, sendDeadLetter } from './consumer-dead-letter.js';
import { DirectConsumer } from './consumer-direct.js';
import { StreamCursor } from './consumer-next.js';
import { startPosition } from './consumer-position.js';
import { hasInterest, type PullRequest, PullRequests } from './consumer-pull.js';
import { DeliveryPump } from './consumer-pump.js';
import { restoreState, type StateParts, stateOf, stateOnDisk } from './consumer-snapshot.js';
import { type ConsumerState, ConsumerStateFile, type StateOnDisk } from './consumer-state.js';
import { AckReplies, ackSeqAt, appendHeaders, parseAckOf } from './consumer-wire.js';
import { PushFlow } from './push.js';

export interface ConsumerHost {
  readonly account: Account;
  readonly router: Router;
  readonly stream: Stream;
  readonly log: { error(msg: string): void };
  /** `<stream dir>/consumers`, or null for a memory stream. */
  readonly dir: string | null;
  /** The stream's sync policy, which the state file follows (default: always). */
  readonly sync?: SyncPolicy;
  /** An ephemeral consumer went inactive: the registry should delete it. */
  inactive(c: Consumer): void;
  /**
   * This consumer no longer needs these stream sequences (acked, terminated,
   * or delivered with ack policy none): interest and work-queue retention
   * may remove them.
   */
  acked(c: Consumer, seqs: readonly number[]): void;
  /**
   * Whether `acked` wants to hear (not under limits retention): no array
   * per ack otherwise. Read once: a stream update cannot change retention.
   */
  wantsAcked(): boolean;
}

let nextConsumerId = 1_500_000_000;

export interface ConsumerCounts {
  num_ack_pending: number;
  num_redelivered: number;
  num_waiting: number;
  num_pending: number;
}

export class Consumer implements Subscriber {
  readonly id = nextConsumerId++;
  readonly kind = 'internal' as const;
  readonly echo = false;
  /** The cursor, start list and count left, and what is delivered next (consumer-next.ts; read by consumer-direct.ts). */
  readonly pos: StreamCursor;
  private dseq = 0;
  /** Deliveries awaiting an ack, the ack floor, the redelivery queue (consumer-acks.ts; read by consumer-direct.ts). */
  readonly acks: AckPending;
  /** This consumer's ack subjects, built per delivery and read per ack. */
  private readonly replies: AckReplies;
  /** `host.wantsAcked()`, read once. */
  private readonly wantsAcked: boolean;
  /** Waiting pull requests (none for a push consumer). */
  private readonly pulls: PullRequests;
  private lastDelivered = 0;
  private lastAcked = 0;
  private lastActive = Date.now();
  /** The delivery loop (consumer-pump.ts). */
  private readonly pump: DeliveryPump;
  private closed = false;
  private ackSub: Subscription | null = null;
  private ticker: NodeJS.Timeout | null = null;
  /** The state file (durables of file streams; a no-op for the others). */
  private readonly state: ConsumerStateFile;
  /** Heartbeats and flow control of a push consumer that asked for them. */
  private push: PushFlow | null = null;
  /**
   * An in-process push reader's backpressure (the SSE face): while it
   * returns true nothing is delivered; the reader calls `wake` when it can
   * take more. Null: none.
   */
  holdDelivery: (() => boolean) | null = null;

  constructor(
    readonly name: string,
    private cfg: ConsumerConfig,
    readonly created: Date,
    private readonly host: ConsumerHost,
  ) {
    this.replies = new AckReplies(host.stream.name, name);
    this.wantsAcked = host.wantsAcked();
    // Hosted by this consumer's prototype methods: one call target for every
    // consumer (bench/PROFILE.md, "Issue 16 — deopt (round 9)").
    this.acks = new AckPending(this);
    this.pos = new StreamCursor(this, this.acks);
    this.pump = new DeliveryPump(this, this.pos);
    this.pulls = new PullRequests({
      account: host.account,
      router: host.router,
      origin: this,
      lastSeqs: () => ({ consumer: this.dseq, stream: Math.max(0, this.pos.cursor - 1) }),
      maxWaiting: () => this.cfg.max_waiting ?? 512,
    });
    this.state = new ConsumerStateFile(host.dir, this, host.log, host.sync);
  }

  get config(): ConsumerConfig {
    return this.cfg;
  }

  get durable(): boolean {
    return this.cfg.durable_name !== undefined;
  }

  get isPush(): boolean {
    return this.cfg.deliver_subject !== undefined;
  }

  /** Positions a new consumer by its deliver policy. */
  async position(): Promise<void> {
    const start = await startPosition(this.host.stream.messages, this.cfg);
    this.pos.cursor = start.cursor;
    this.pos.startSeqs = start.startSeqs;
    this.acks.floor = { consumer_seq: 0, stream_seq: Math.max(0, this.pos.cursor - 1) };
    await this.pos.recount();
  }

  /** Restores persisted state (a durable after a restart; consumer-snapshot.ts). */
  async restore(s: StateOnDisk): Promise<void> {
    this.dseq = restoreState(s, this.cfg, this.pos, this.acks);
    await this.pos.recount();
  }

  start(): void {
    const subject = `$JS.ACK.${this.host.stream.name}.${this.name}.>`;
    // Every ack subject is unique: its match is not worth caching.
    this.ackSub = { ...internalSubscription(subject, this), oneOff: true };
    this.host.account.subscribe(this.ackSub);
    const ms = Math.max(
      20,
      Math.min(250, (this.cfg.ack_wait ?? DEFAULT_ACK_WAIT_NS) / NS_PER_MS / 10),
    );
    this.ticker = setInterval(() => this.tick(), ms);
    this.ticker.unref();
    this.startPush();
    this.pump.kick();
  }

  private startPush(): void {
    const cfg = this.cfg;
    const hb = cfg.idle_heartbeat ?? 0;
    if (!this.isPush || (cfg.flow_control !== true && hb <= 0)) return;
    this.push = new PushFlow(
      {
        account: this.host.account,
        router: this.host.router,
        stream: this.host.stream.name,
        consumer: this.name,
        origin: this,
        deliverSubject: () => this.cfg.deliver_subject ?? '',
        active: () => this.isPush && hasInterest(this.host.account, this.cfg.deliver_subject!),
        lastSeqs: () => ({ consumer: this.dseq, stream: Math.max(0, this.pos.cursor - 1) }),
        lastDelivered: () => this.lastDelivered,
        resume: () => this.pump.kick(),
      },
      cfg.flow_control === true,
      hb,
    );
    this.push.start();
  }

  /** Delivery may go on: an in-process reader's `holdDelivery` turned false. */
  wake(): void {
    this.pump.kick();
  }

  /** Replaces the configuration (an update already checked). */
  update(cfg: ConsumerConfig): void {
    this.cfg = cfg;
    this.state.save();
    this.pump.kick();
  }

  /** Stops delivering; with `deleted`, tells waiting pulls and removes the state file. */
  async close(deleted: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ackSub !== null) this.host.account.unsubscribe(this.ackSub);
    if (this.ticker !== null) clearInterval(this.ticker);
    this.push?.stop();
    this.pulls.close(deleted);
    await this.state.close(deleted);
  }

  /** A message was stored in the stream. */
  stored(seq: number, subject: string): void {
    this.pos.stored(seq, subject);
    this.pump.kick();
  }

  // ---- info -----------------------------------------------------------

  async info(): Promise<Record<string, unknown>> {
    await this.pos.recount();
    const delivered: Record<string, unknown> = {
      consumer_seq: this.dseq,
      stream_seq: Math.max(0, this.pos.cursor - 1),
    };
    if (this.lastDelivered > 0) delivered.last_active = new Date(this.lastDelivered).toISOString();
    const floor: Record<string, unknown> = { ...this.acks.floor };
    if (this.lastAcked > 0) floor.last_active = new Date(this.lastAcked).toISOString();
    const out: Record<string, unknown> = {
      stream_name: this.host.stream.name,
      name: this.name,
      created: this.created.toISOString(),
      config: this.cfg,
      delivered,
      ack_floor: floor,
      ...this.counts(),
    };
    if (this.isPush && hasInterest(this.host.account, this.cfg.deliver_subject!)) {
      out.push_bound = true;
    }
    // Pending entries that left the pending ring's window (pending-index.ts).
    if (this.acks.evicted > 0) out.weft_pending_evicted = this.acks.evicted;
    return out;
  }

  /** The info's counts as they are (num_pending as last counted): cheap, for metrics. */
  counts(): ConsumerCounts {
    return {
      num_ack_pending: this.acks.size,
      num_redelivered: this.acks.redelivered(),
      num_waiting: this.pulls.size,
      num_pending: this.pos.left,
    };
  }

  // ---- pull requests ----------------------------------------------------

  /** A `CONSUMER.MSG.NEXT` request: `{batch, expires, no_wait, idle_heartbeat}` or a bare batch. */
  pull(reply: string, payload: Buffer): void {
    if (reply === '' || this.closed) return;
    if (this.isPush) {
      this.pulls.status(reply, '409 Consumer is push based');
      return;
    }
    if (!this.pulls.add(reply, payload)) return;
    this.lastActive = Date.now();
    this.pump.kick();
  }

  // ---- delivery -----------------------------------------------------------

  /** Set by `target`: where the next message goes, and the pull request it answers. */
  private to = '';
  private toReq: PullRequest | null = null;

  /**
   * Whether the next message has somewhere to go: a pull request's reply
   * subject or the push subject, left in `to` and `toReq` (no object per
   * message).
   */
  target(): boolean {
    if (this.isPush) {
      if (this.push?.stalled === true || this.holdDelivery?.() === true) return false;
      const to = this.cfg.deliver_subject!;
      const r = this.matchTo(to);
      if (r.plain.length === 0 && r.queues.length === 0) return false;
      this.to = to;
      this.toReq = null;
      return true;
    }
    const req = this.pulls.next();
    if (req === null) return false;
    this.to = req.reply;
    this.toReq = req;
    return true;
  }

  /** The last subject delivered to, its match, and the sublist generation it was made at. */
  private matchSubject = '';
  private matchResult: MatchResult = EMPTY_RESULT;
  private matchGen = -1;

  /**
   * Who receives a delivery to `to`: the last match again while the subject
   * and the subject index are unchanged (a push subject, a pull request's
   * reply serving its batch), so no index lookup per message.
   */
  private matchTo(to: string): MatchResult {
    const sl = this.host.account.sublist;
    if (to !== this.matchSubject || sl.generation !== this.matchGen) {
      this.matchResult = sl.match(to);
      this.matchSubject = to;
      this.matchGen = sl.generation;
    }
    return this.matchResult;
  }

  private send(to: string, req: PullRequest | null, m: StoredMessage): void {
    const now = turnNow();
    const deliveries = this.register(m, now);
    const reply = this.replies.subject(deliveries, m.seq, this.dseq, m.time, this.pos.left);
    const msg: Message =
      this.cfg.headers_only === true
        ? {
            subject: m.subject,
            reply,
            // As nats-server: the payload's size in place of the payload.
            headers: appendHeaders(m.headers, { 'Nats-Msg-Size': m.payload.length }),
            payload: Buffer.alloc(0),
            to,
          }
        : { subject: m.subject, reply, headers: m.headers, payload: m.payload, to };
    this.host.router.deliver(this.matchTo(to), msg, this);
    if (this.push !== null) {
      const hdr = msg.headers === null ? 0 : msg.headers.length;
      this.push.delivered(to.length + reply.length + hdr + msg.payload.length);
    }
    this.lastActive = now;
    if (req !== null) this.pulls.delivered(req);
    this.state.save();
  }

  /** A delivery's bookkeeping (`send`'s, and consumer-direct.ts's): its delivery count. */
  register(m: StoredMessage, now: number): number {
    this.lastDelivered = now;
    const prev = this.acks.deliveries(m.seq);
    const deliveries = prev + 1;
    this.dseq++;
    if (this.cfg.ack_policy === 'none') {
      this.acks.floor.consumer_seq = this.dseq;
      this.acks.floor.stream_seq = m.seq;
      if (this.wantsAcked) this.host.acked(this, [m.seq]);
    } else {
      const deadline = now + ackWaitMs(this.cfg, deliveries);
      this.acks.delivered(m.seq, this.dseq, deliveries, deadline, m.time, prev === 0);
    }
    return deliveries;
  }

  // ---- acks -------------------------------------------------------------

  deliver(_sub: Subscription, msg: Message): void {
    // $JS.ACK.<stream>.<consumer>.<tail…>
    const sseq = ackSeqAt(msg.subject, this.replies.prefixLength);
    const ack = parseAckOf(msg);
    if (sseq < 0 || ack === null || this.closed) return;
    // One clock read per socket read's acks (consumer-clock.ts).
    const now = turnNow();
    this.lastActive = now;
    switch (ack.kind) {
      case 'ack':
      case 'next':
        this.acked(sseq, now);
        break;
      case 'wpi': {
        const d = this.acks.deliveries(sseq);
        if (d > 0) this.acks.setDeadline(sseq, now + ackWaitMs(this.cfg, d));
        break;
      }
      case 'nak':
        this.nak(sseq, ack.delayMs, now);
        break;
      case 'term':
        if (this.acks.has(sseq)) this.dropPending(sseq, 'term');
        break;
    }
    // nats-server answers an ack that asks for a reply (`ackAck`) with an empty
    // message. Here only once the ack is on stable storage (durables of file
    // streams), so a confirmed ack is never undone by a crash; and not at all
    // for a delivery this consumer has no record of (past its cursor: the
    // delivery was lost in a crash), as that ack changed nothing.
    if (msg.reply !== '') {
      if (ack.kind === 'next') this.pull(msg.reply, Buffer.from(msg.payload.subarray(4)));
      else if (sseq < this.pos.cursor) {
        const reply = msg.reply;
        void this.state.persisted().then((ok) => {
          if (!ok) return;
          this.host.router.deliver(
            this.host.account.sublist.matchOnce(reply),
            { subject: reply, reply: '', headers: null, payload: Buffer.alloc(0) },
            this,
          );
        });
      }
    }
    this.state.save();
    this.pump.kick();
  }

  nak(sseq: number, delayMs: number, now: number): void {
    const d = this.acks.deliveries(sseq);
    if (d === 0) return;
    if (exhausted(this.cfg, d)) {
      this.dropPending(sseq, 'max_deliver');
    } else if (delayMs > 0) {
      this.acks.setDeadline(sseq, now + delayMs);
    } else {
      this.acks.queueRedelivery(sseq);
    }
  }

  acked(sseq: number, now = Date.now()): void {
    const policy = this.cfg.ack_policy;
    if (policy === 'none') return;
    // No array per ack unless retention wants the sequences.
    const done = this.wantsAcked ? [] : null;
    if (this.acks.ack(sseq, policy === 'all', done) > 0) {
      this.lastAcked = now;
      if (done !== null) this.host.acked(this, done);
    }
  }

  /**
   * Whether this consumer has yet to acknowledge stream sequence `sseq`
   * (for retention; whether its filter matches is the caller's question):
   * above the ack floor and, with explicit acks, not yet delivered or
   * still pending (nats-server's `needAck`).
   */
  needsAck(sseq: number): boolean {
    if (sseq <= this.acks.floor.stream_seq) return false;
    if (this.cfg.ack_policy !== 'explicit') return true;
    return sseq >= this.pos.cursor || this.acks.has(sseq);
  }

  /** For retention: the stream ack floor, and the next stream sequence to deliver. */
  progress(): { ackFloor: number; cursor: number } {
    return { ackFloor: this.acks.floor.stream_seq, cursor: this.pos.cursor };
  }

  /** Gives up on a message: it leaves the pending set and goes to the dead letters, if any. */
  private dropPending(sseq: number, reason: 'max_deliver' | 'term'): void {
    const deliveries = this.acks.drop(sseq);
    if (deliveries === 0) return;
    // A +TERM settles the message as an ack would (nats-server); max_deliver does
    // not. Retention may then remove it: only once the dead letter has read it.
    const settle = (): void => {
      if (reason === 'term') this.host.acked(this, [sseq]);
    };
    const subject = deadLetterSubject(this.cfg, this.host.stream);
    if (subject === null) {
      settle();
      return;
    }
    const letter = { subject, sseq, consumer: this.name, deliveries, reason };
    sendDeadLetter(this.host, this, letter, settle, () => this.closed);
  }

  /** Redeliveries due, exhausted messages, ephemeral inactivity, push interest. */
  private tick(): void {
    if (this.closed) return;
    const now = Date.now();
    let work = false;
    // Expired together: oldest first.
    for (const seq of this.acks.due(now)) {
      if (exhausted(this.cfg, this.acks.deliveries(seq))) this.dropPending(seq, 'max_deliver');
      else this.acks.queueRedelivery(seq);
      work = true;
    }
    if (this.isPush && hasInterest(this.host.account, this.cfg.deliver_subject!)) {
      this.lastActive = now;
      if (this.acks.rdq.length > 0 || this.pos.left > 0) work = true;
    }
    if (!this.isPush && this.pulls.size > 0) this.lastActive = now;
    const idle = this.cfg.inactive_threshold;
    if (
      !this.durable &&
      idle !== undefined &&
      idle > 0 &&
      now - this.lastActive > idle / NS_PER_MS
    ) {
      this.host.inactive(this);
      return;
    }
    if (work) {
      this.state.save();
      this.pump.kick();
    }
  }

  // ---- in process, without messages (consumer-direct.ts) ----------------

  private directPath: DirectConsumer | null = null;

  /** Pull and ack by stream sequence, for an in-process reader (the Redis groups). */
  get direct(): DirectConsumer {
    this.directPath ??= new DirectConsumer(this);
    return this.directPath;
  }

  // ---- the parts' host: AckProgress, NextHost, PumpHost, DirectHost (@internal) ----
  consumerSeq(): number {
    return this.dseq;
  }
  cursorSeq(): number {
    return this.pos.cursor;
  }
  streamStore(): StreamStore {
    return this.host.stream.messages;
  }
  filterSubject(): string {
    return this.cfg.filter_subject ?? '';
  }
  maxAckPending(): number {
    return this.cfg.max_ack_pending ?? -1;
  }
  pumpClosed(): boolean {
    return this.closed;
  }
  sendNext(m: StoredMessage): void {
    this.send(this.to, this.toReq, m);
  }
  roundEnded(): void {
    this.pulls.endNoWait();
  }
  pumpFailed(err: unknown): void {
    this.host.log.error(`consumer ${this.host.stream.name}/${this.name}: ${String(err)}`);
  }
  directClosed(): boolean {
    return this.closed || this.isPush;
  }
  waitingPulls(): number {
    return this.pulls.size;
  }
  touched(now: number): void {
    this.lastActive = now;
  }
  stateChanged(kick: boolean): void {
    this.state.save();
    if (kick) this.pump.kick();
  }

  // ---- persistence ------------------------------------------------------

  snapshot(): ConsumerState {
    return stateOf(this.stateParts());
  }

  /** The state as its file keeps it (consumer-snapshot.ts). */
  onDisk(): StateOnDisk {
    return stateOnDisk(this.stateParts());
  }

  private stateParts(): StateParts {
    const { cfg: config, created, pos, acks, dseq } = this;
    return { config, created, pos, acks, dseq };
  }

  /** The state file's writes, and how many were fsynced (consumer-state.ts). */
  get stateWrites(): { readonly writes: number; readonly durableWrites: number } {
    return this.state.stats;
  }

  /** Writes the state file now (a new durable of a file stream), durably. */
  write(): Promise<void> {
    return this.state.write();
  }
}
