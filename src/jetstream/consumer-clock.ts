/**
 * One clock read per run of synchronous work for the consumers' per-message
 * bookkeeping (a delivery's ack deadline, `last_active`, the ack floor's
 * `last_active`): `Date.now()` twice per message was ~1 % of a pull
 * consumer's busy time (bench/PROFILE.md, "Issue 16 — pull2").
 *
 * The first read in a run of synchronous work (one socket read's acks, one
 * round of the delivery loop) reads the clock and queues a microtask that
 * forgets it; later reads in the same run get the same value. So a value is
 * at most as old as the work done since the read, which is what one read
 * per batch would give: an ack deadline may start that much early (a
 * delivery is not on the wire before its run ends either), never late.
 * Timers (redelivery ticks, inactivity, the state file's sync interval)
 * read the clock themselves.
 */

let now = 0;
let fresh = false;
/** Reads of the clock (for tests). */
export const turnClockStats = { reads: 0 };

const expire = (): void => {
  fresh = false;
};

/** `Date.now()`, read at most once per run of synchronous work. */
export function turnNow(): number {
  if (!fresh) {
    now = Date.now();
    fresh = true;
    turnClockStats.reads++;
    queueMicrotask(expire);
  }
  return now;
}
