/**
 * Preloaded into a node (`--import <this file>`): V8's sampling heap
 * profiler, counting objects the GC has already freed too (what a run
 * allocates, not what it keeps). The first SIGUSR2 starts it, the second
 * writes the profile to $ALLOC_WATCH_FILE (a .heapprofile: DevTools, or
 * kafka-gc.mjs's summary by function). kafka-gc.mjs with ALLOC=1 drives it.
 * bench/PROFILE.md, "Issue 16 — kafka7 (round 13)".
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
let on = false;
process.on('SIGUSR2', () => {
  if (!on) {
    on = true;
    session.post('HeapProfiler.startSampling', {
      samplingInterval: Number(process.env.ALLOC_WATCH_INTERVAL ?? 4096),
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  on = false;
  session.post('HeapProfiler.stopSampling', (err, r) => {
    if (err === null) writeFileSync(process.env.ALLOC_WATCH_FILE, JSON.stringify(r.profile));
  });
});
