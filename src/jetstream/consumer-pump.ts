/**
 * A consumer's delivery loop: one round at a time, however many kicks
 * (a stored message, an ack, a pull request, a timer) arrive meanwhile; a
 * kick during a round makes it go round again, so none is lost.
 *
 * A round runs as a microtask, once per turn's worth of kicks (a socket
 * read of acks frees room for many messages: one round delivers them), and
 * synchronously while the store answers at once (`nextNow`: no promise per
 * message, bench/PROFILE.md, "Issue 16 — store"); the async loop takes
 * over only when a read must wait. What to deliver, where, and the state
 * it moves are the consumer's (consumer.ts, through `PumpHost`).
 */
import type { StoredMessage } from '../streams/store.js';

/** A message to deliver, and why: redelivered, from the start list, or next after the cursor. */
export interface NextMessage {
  m: StoredMessage;
  kind: 'redeliver' | 'start' | 'new';
}

export interface PumpCursor {
  /**
   * The next new message when it can be had at once; null when there is
   * none to deliver now, undefined when `next` must be asked.
   */
  nextNow(): StoredMessage | null | undefined;
  /** The next message to deliver, read asynchronously; null when none. */
  next(): Promise<NextMessage | null>;
  /** Takes `n` if it is still next (state may have moved during a read); false: skip it. */
  take(n: NextMessage): boolean;
  /** `take` of a new message read by `nextNow`. */
  takeNew(m: StoredMessage): boolean;
}

export interface PumpHost {
  pumpClosed(): boolean;
  /** Whether the next message has somewhere to go (the consumer remembers where). */
  target(): boolean;
  /** Delivers to the current target. */
  sendNext(m: StoredMessage): void;
  /** A round ended (no-wait pull requests with nothing more are answered). */
  roundEnded(): void;
  pumpFailed(err: unknown): void;
}

export class DeliveryPump {
  private pumping = false;
  private again = false;

  constructor(
    private readonly host: PumpHost,
    /** The consumer's cursor (consumer-next.ts). */
    private readonly cursor: PumpCursor,
  ) {}

  kick(): void {
    if (this.host.pumpClosed()) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    queueMicrotask(this.task);
  }

  private readonly task = (): void => {
    let done: boolean;
    try {
      done = this.host.pumpClosed() || this.roundsNow();
    } catch (err) {
      this.pumping = false;
      this.host.pumpFailed(err);
      return;
    }
    if (done) this.pumping = false;
    else void this.run();
  };

  /**
   * `rounds` without waiting: true when it delivered all it could, false
   * when the next message must be read asynchronously (`pumping` stays set
   * for the async loop).
   */
  private roundsNow(): boolean {
    const host = this.host;
    do {
      this.again = false;
      while (!host.pumpClosed() && host.target()) {
        const m = this.cursor.nextNow();
        if (m === undefined) return false;
        if (m === null) break;
        if (this.cursor.takeNew(m)) host.sendNext(m);
      }
      host.roundEnded();
    } while (this.again && !host.pumpClosed());
    return true;
  }

  private async run(): Promise<void> {
    try {
      await this.rounds();
    } catch (err) {
      this.pumping = false;
      this.host.pumpFailed(err);
    }
  }

  /**
   * Delivers while there is a target and a message. Clears `pumping` in the
   * same turn as its last look at `again`, so no kick is lost.
   */
  private async rounds(): Promise<void> {
    const host = this.host;
    do {
      this.again = false;
      while (!host.pumpClosed() && host.target()) {
        const m = this.cursor.nextNow();
        let next: NextMessage | null;
        if (m === undefined) {
          next = await this.cursor.next();
          if (next !== null && (host.pumpClosed() || !host.target())) break;
        } else {
          next = m === null ? null : { m, kind: 'new' };
        }
        if (next === null) break;
        if (this.cursor.take(next)) host.sendNext(next.m);
      }
      host.roundEnded();
    } while (this.again && !host.pumpClosed());
    this.pumping = false;
  }
}
