/**
 * A first-in first-out queue in a ring: `push` and `shift` move two
 * indices, and the ring doubles when full (then stays that size), so a
 * queue that is filled and drained all the time allocates nothing once it
 * has grown to its high-water mark. An array used as a queue (`push`, a
 * head index, `splice` to cut the head) grew and copied its elements over
 * and over: the publish path's `Stream.notifyQ`, bench/PROFILE.md "Issue
 * 16 — jspub3 (round 9)". Unbounded here: the owner bounds what it holds.
 */
export class Fifo<T> {
  private ring: (T | undefined)[];
  /** Index of the oldest element. */
  private head = 0;
  private count = 0;

  constructor(capacity = 16) {
    let c = 1;
    while (c < capacity) c *= 2;
    this.ring = new Array<T | undefined>(c).fill(undefined);
  }

  get length(): number {
    return this.count;
  }

  push(v: T): void {
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) & (this.ring.length - 1)] = v;
    this.count++;
  }

  /** Removes and returns the oldest element (undefined when empty). */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const h = this.head;
    const v = this.ring[h];
    this.ring[h] = undefined;
    this.head = (h + 1) & (this.ring.length - 1);
    this.count--;
    return v;
  }

  private grow(): void {
    const old = this.ring;
    const n = old.length;
    const ring = new Array<T | undefined>(n * 2).fill(undefined);
    for (let i = 0; i < n; i++) ring[i] = old[(this.head + i) & (n - 1)];
    this.ring = ring;
    this.head = 0;
  }
}
