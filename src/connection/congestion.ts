/**
 * Producer stall: when an outbound queue that many producers feed (a mesh
 * link) passes its high-water mark, client connections that publish are
 * paused after their read batch until every congested queue has drained,
 * so a flood slows down instead of overflowing the queue (nats-server
 * stalls fast producers the same way). Link readers are never paused: two
 * nodes flooding each other would wait on each other forever.
 */
import type { Transport } from './transport.js';

export class Congestion {
  private readonly congested = new Set<object>();
  private waiting: Transport[] = [];
  /** Times a producer was paused. */
  stalls = 0;

  get active(): boolean {
    return this.congested.size > 0;
  }

  enter(queue: object): void {
    this.congested.add(queue);
  }

  leave(queue: object): void {
    if (!this.congested.delete(queue) || this.congested.size > 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const s of waiting) if (!s.destroyed) s.resume();
  }

  /** Pauses a producer's socket until no queue is congested. */
  stall(socket: Transport): void {
    if (socket.isPaused()) return;
    socket.pause();
    this.waiting.push(socket);
    this.stalls++;
  }
}
