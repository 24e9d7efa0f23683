/**
 * A Redis connection's replies in request order (session.ts): a reply
 * whose command has not settled (a Promise) holds the ones after it, which
 * wait here until it settles. Empty most of the time: then a reply is
 * written at once.
 */
import type { Reply } from './encoder.js';

/** A reply waiting for its turn: null until its command settles. */
export interface Slot {
  reply: Reply | null;
  /** Replies the slot holds when more than one (a run of XADDs, xadd-run.ts). */
  readonly count?: number;
}

/**
 * A reply a callback fills later, without a Promise (XADD's ack from the
 * stream's group commit): the session puts it in line as its slot and is
 * told when it is filled. Only for a command whose effect was ordered when
 * its `run` returned (XADD, `concurrent`; XACK and XREADGROUP in this turn,
 * groups/record-done.ts): it never holds the commands after it.
 */
export class LaterReply implements Slot {
  reply: Reply | null = null;
  /** Told once, when the reply is filled (set by whoever waits for it). */
  waiter: ((r: Reply) => void) | null = null;

  /** The reply is here: whoever waits is told (once). */
  fill(r: Reply): void {
    this.reply = r;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w(r);
    }
  }
}

/** What a written slot becomes (its reply is let go before the line moves on). */
const WRITTEN: Slot = { reply: null };

export class ReplyLine {
  /** Replies waiting in line behind one not settled. */
  private slots: Slot[] = [];
  /** Slots before this one are written (the line starts here; reset when it empties). */
  private head = 0;
  /** Replies in line beyond one per slot (runs of XADDs: `joined`). */
  private more = 0;

  /** Replies in line, not yet written. */
  get waiting(): number {
    return this.slots.length - this.head + this.more;
  }

  /** The last slot in line (null: none), which a run of XADDs may join. */
  get tail(): Slot | null {
    const slots = this.slots;
    return slots.length > this.head ? slots[slots.length - 1]! : null;
  }

  /** The last slot took one more reply (its `count` grew by one). */
  joined(): void {
    this.more++;
  }

  /** True when nothing waits: a reply may be written at once. */
  get empty(): boolean {
    return this.slots.length === 0;
  }

  /** A place in line for a reply to come (set its `reply` when it settles). */
  reserve(): Slot {
    const slot: Slot = { reply: null };
    this.slots.push(slot);
    return slot;
  }

  /** A `LaterReply` is its own slot in line: `filled` is told when its callback fills it. */
  wait(later: LaterReply, filled: () => void): void {
    later.waiter = filled;
    this.slots.push(later);
  }

  /** A reply that must wait for the ones before it. */
  add(reply: Reply): void {
    this.slots.push({ reply });
  }

  /** Writes the replies now at the head of the line, in order. */
  writeReady(write: (r: Reply) => void): void {
    const slots = this.slots;
    let k = this.head;
    while (k < slots.length && slots[k]!.reply !== null) {
      const s = slots[k]!;
      write(s.reply!);
      if (s.count !== undefined) this.more -= s.count - 1;
      slots[k] = WRITTEN;
      k++;
    }
    if (k === slots.length) {
      this.slots = [];
      this.head = 0;
    } else if (k > 1024 && k * 2 > slots.length) {
      // The written half goes (the line moves along an array, not copied per reply).
      this.slots = slots.slice(k);
      this.head = 0;
    } else this.head = k;
  }

  clear(): void {
    this.slots = [];
    this.head = 0;
    this.more = 0;
  }
}
