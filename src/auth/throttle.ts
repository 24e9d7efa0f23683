/**
 * Slows password guessing from one address without locking anyone else
 * out. After `FREE_FAILURES` failed authentications from an address, each
 * new check from it waits first, twice as long per further failure up to
 * `MAX_DELAY_MS`; a quiet `FORGET_MS` forgets the address. At most
 * `MAX_WAITING_PER_ADDRESS` checks from one address wait at once: more are
 * refused unchecked. Other addresses are never delayed. A success does not
 * clear the record: a guesser who owns one valid login must not reset it. The addresses
 * remembered are bounded (`MAX_ADDRESSES`, oldest forgotten first).
 */

export const FREE_FAILURES = 3;
export const FIRST_DELAY_MS = 250;
export const MAX_DELAY_MS = 5000;
export const FORGET_MS = 10 * 60_000;
export const MAX_WAITING_PER_ADDRESS = 32;
export const MAX_ADDRESSES = 10_000;

interface Entry {
  failures: number;
  last: number;
  waiting: number;
}

export class AuthThrottle {
  private readonly byAddress = new Map<string, Entry>();
  /** Checks that waited, and checks refused because too many waited. */
  delayed = 0;
  refused = 0;

  /** How long a check from `address` waits (0: none), or -1 when it is refused unchecked. */
  delayFor(address: string, now: number): number {
    const e = this.byAddress.get(address);
    if (e === undefined) return 0;
    if (now - e.last > FORGET_MS) {
      this.byAddress.delete(address);
      return 0;
    }
    if (e.failures < FREE_FAILURES) return 0;
    if (e.waiting >= MAX_WAITING_PER_ADDRESS) {
      this.refused++;
      return -1;
    }
    this.delayed++;
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (e.failures - FREE_FAILURES));
  }

  /** A check from `address` starts waiting (pair with `done`). */
  wait(address: string): void {
    const e = this.byAddress.get(address);
    if (e !== undefined) e.waiting++;
  }

  done(address: string): void {
    const e = this.byAddress.get(address);
    if (e !== undefined && e.waiting > 0) e.waiting--;
  }

  failed(address: string, now: number): void {
    let e = this.byAddress.get(address);
    if (e === undefined) {
      if (this.byAddress.size >= MAX_ADDRESSES) {
        const oldest = this.byAddress.keys().next().value as string;
        this.byAddress.delete(oldest);
      }
      e = { failures: 0, last: now, waiting: 0 };
    } else this.byAddress.delete(address); // re-inserted: the map stays in order of last failure
    e.failures++;
    e.last = now;
    this.byAddress.set(address, e);
  }

  get size(): number {
    return this.byAddress.size;
  }
}
