/**
 * The first sample profile-self.mjs and profile-incl.mjs count: with
 * AFTER_IDLE_MS=<ms>, the one after the last idle stretch of at least that
 * long (the measured part of a run that began with set-up and a pause);
 * else 0, the whole profile.
 */
export function firstSample(p, byId) {
  const gap = Number(process.env.AFTER_IDLE_MS ?? 0);
  let from = 0;
  if (gap > 0) {
    let run = 0;
    for (let i = 0; i < p.samples.length; i++) {
      const idle = byId.get(p.samples[i]).callFrame.functionName === '(idle)';
      run = idle ? run + (p.timeDeltas[i] ?? 0) : 0;
      if (run >= gap * 1000) from = i;
    }
  }
  return from;
}
