/**
 * Fast-producer stall: a publisher that outruns one of its subscribers is
 * slowed to the subscriber's pace, instead of pushing the subscriber past
 * `max_pending` (closed as a slow consumer, what it held lost). nats-server
 * does the same (its producers wait in `deliverMsg` on a consumer's stall
 * channel, 2–5 ms at a time since 2.10).
 *
 * A client connection whose pending bytes pass half its `max_pending` is
 * *behind*. A producer whose read queued to a connection that is behind is
 * paused after that read, until the connection falls back to half (its
 * socket took the bytes: `caughtUp`) or the stall's time passes, whichever
 * comes first. The time grows from STALL_MIN_MS at half to STALL_MAX_MS at
 * `max_pending`. So a subscriber that reads slowly paces its publisher, and
 * one that takes nothing at all still reaches `max_pending` and is closed:
 * a stall is bounded, and the publisher goes on between stalls.
 *
 * Only client publishers whose face marks its reads (`producer`) are
 * stalled; mesh links never are (two nodes flooding each other would wait on
 * each other: congestion.ts stalls local producers for a congested link
 * instead), and a connection never waits on itself.
 *
 * Bound: each paused socket waits on one connection (`waiting`), so the
 * map holds at most one entry per open connection; its lists are emptied
 * when the connection catches up, closes, or a stall's time passes.
 */
import type { Transport } from './transport.js';

/** The shortest stall: a producer feeding a connection just past half its max_pending. */
export const STALL_MIN_MS = 2;
/** The longest stall: a producer feeding a connection at its max_pending. */
export const STALL_MAX_MS = 5;

/** A connection producers may wait on. */
export interface Lagging {
  readonly closed: boolean;
  /** True while producers wait on it: it tells `caughtUp` once back to half. */
  producersWait: boolean;
}

/** How long a producer waits on a connection holding `pending` of `max` bytes. */
export function stallMs(pending: number, max: number): number {
  const over = Math.min(1, Math.max(0, (pending - max / 2) / (max / 2)));
  return STALL_MIN_MS + (STALL_MAX_MS - STALL_MIN_MS) * over;
}

export class ProducerStall {
  /** The connection whose read is being parsed now (a publisher), or null. */
  producer: object | null = null;
  /** Times a producer was paused for a connection that was behind. */
  stalls = 0;
  /** Stalls that ended at their time, the connection still behind. */
  timeouts = 0;
  /** A connection a read queued to while it was behind, the read's producer, and the stall's time. */
  private notedBy: object | null = null;
  private noted: Lagging | null = null;
  private notedMs = 0;
  /** Paused producers' sockets, by the connection they wait on. */
  private readonly waiting = new Map<Lagging, Transport[]>();

  /** `c` (holding `pending` of `max` bytes, past half) was queued to: the producer waits on it. */
  behind(c: Lagging, pending: number, max: number): void {
    const p = this.producer;
    if (p === null || p === c || (this.notedBy === p && this.noted !== null)) return;
    this.notedBy = p;
    this.noted = c;
    this.notedMs = stallMs(pending, max);
  }

  /** After producer `p`'s read: pauses its socket if the read fed a connection that is behind. */
  afterRead(p: object, socket: Transport): void {
    if (this.notedBy !== p) return;
    const c = this.noted!;
    this.notedBy = null;
    this.noted = null;
    if (c.closed || socket.destroyed || socket.isPaused()) return;
    socket.pause();
    this.stalls++;
    let list = this.waiting.get(c);
    if (list === undefined) {
      list = [];
      this.waiting.set(c, list);
      c.producersWait = true;
    }
    list.push(socket);
    setTimeout(this.timeUp, this.notedMs, c, socket);
  }

  /** `c` is back to half its max_pending, or closed: the producers waiting on it go on. */
  caughtUp(c: Lagging): void {
    const list = this.waiting.get(c);
    c.producersWait = false;
    if (list === undefined) return;
    this.waiting.delete(c);
    for (const s of list) if (!s.destroyed) s.resume();
  }

  /** Producers waiting now (a gauge). */
  get waitingNow(): number {
    let n = 0;
    for (const list of this.waiting.values()) n += list.length;
    return n;
  }

  private readonly timeUp = (c: Lagging, socket: Transport): void => {
    const list = this.waiting.get(c);
    const i = list === undefined ? -1 : list.indexOf(socket);
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) {
      this.waiting.delete(c);
      c.producersWait = false;
    }
    this.timeouts++;
    if (!socket.destroyed) socket.resume();
  };
}
