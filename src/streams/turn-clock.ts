/**
 * `Date.now()` read once per turn of the event loop: the first call in a
 * turn reads the clock, later calls in the same synchronous run (the rest
 * of one socket read's publishes) get the same value, and a microtask
 * forgets it when that run ends. A stream stamps each publish with its
 * time; `Date.now()` per publish was the hottest line of the 16 B
 * JetStream publish profile (bench/PROFILE.md, "Issue 16 — jspub3 (round
 * 9)"), and a number of that size is a heap allocation each time.
 *
 * The value is never ahead of the clock and never goes back within a turn,
 * so times stay non-decreasing as the clock's are; it is behind by at most
 * the length of the turn (one read buffer's worth of work).
 */
let cached = -1;

const forget = (): void => {
  cached = -1;
};

/** The clock (ms) as first read in this turn. */
export function turnNow(): number {
  if (cached < 0) {
    cached = Date.now();
    queueMicrotask(forget);
  }
  return cached;
}
