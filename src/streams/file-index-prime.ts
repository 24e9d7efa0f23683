/**
 * Primes the file index's code once per process: runs `MessageIndex.add`,
 * `drop` and the getters a stream uses at its start on a scratch index,
 * before the first store opens.
 *
 * Why: V8 keeps type feedback for a function only from about its 8th call
 * on, and optimised code treats a branch with no feedback as never taken
 * (it deoptimises when it is). The branches of `add` a stream takes only at
 * its start — an empty index, a subject not seen before, its first run of
 * sequences — are taken in the process's first stream before `add` has
 * feedback, and then never again in it; the next stream takes them at its
 * first append and throws away the optimised append path compiled with
 * `add` inlined (the store's `appendRecord`, the JetStream capture, XADD's
 * fast path), to be compiled again: ~100 compiles and a few hundred ms of
 * compiler time per process, paid by the second stream (bench/PROFILE.md,
 * "Issue 16 — store4 (round 10)"). Run here, each of those branches is
 * taken with feedback being kept, at a cost of ~50 adds.
 */
import { MessageIndex, newSegment, type Segment } from './file-index.js';

let primed = false;

export function primeIndex(): void {
  if (primed) return;
  primed = true;
  const segments = new Map<number, Segment>();
  const seg = newSegment(1, 1, '', -1);
  segments.set(seg.id, seg);
  const ix = new MessageIndex(segments);
  const time = Date.now();
  let seq = 0;
  // The first round gives `add` its feedback vector; each later one starts
  // empty, on a subject not seen before, as a new stream does.
  for (let round = 0; round < 4; round++) {
    const subject = `prime.${round}`;
    void ix.firstSeq;
    void ix.firstTime;
    const from = seq + 1;
    for (let k = 0; k < 12; k++) ix.add(++seq, subject, time + k, seg, seq * 64, 64);
    void ix.firstSeq;
    void ix.firstTime;
    for (let s = from; s <= seq; s++) ix.drop(s);
  }
}
