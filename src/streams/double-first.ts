/**
 * The first value of an object field that will hold times in milliseconds
 * since the epoch (about 2^40: past V8's small integers), stored before
 * the field's real starting value (0) in the constructor.
 *
 * Why: V8 gives a field the representation of the first value stored in
 * it. A field that starts as 0 (a small integer) and later takes a time
 * changes representation at that store: its object's hidden class (map)
 * is replaced, and every field elsewhere that held objects of the old
 * map (the store's `index`, the index's `time`) widens its type when the
 * first object of the new map is stored — which is when the next stream
 * is made — throwing away the optimised code of the whole append path
 * (`appendRecord`, `add`, `notify`, XADD's fast path) to be compiled
 * again. Measured: bench/PROFILE.md, "Issue 16 — store4 (round 10)".
 * A field first set to a double and then to 0 keeps its double
 * representation (a small integer fits it): its map never changes.
 */
export const DOUBLE_FIRST = 0.5;
