/**
 * Preload for a Weft node (WEFT_BENCH_NODE_ARGS="--require <this file>"):
 * once the file $ALLOC_DIR/go exists (ab-reqrep.mjs makes it after its
 * warm-up), records every garbage collection (kind, duration in µs, from
 * a PerformanceObserver); on SIGTERM writes $ALLOC_DIR/gc-<pid>.json: the
 * measured part only.
 */
const DIR = process.env.ALLOC_DIR ?? '/tmp';
const fs = require('node:fs');
const { PerformanceObserver, constants } = require('node:perf_hooks');
const gcs = [];
let started = false;
const obs = new PerformanceObserver((list) => {
  if (!started) return;
  for (const e of list.getEntries()) gcs.push([e.detail?.kind ?? e.kind, e.duration * 1000]);
});
obs.observe({ entryTypes: ['gc'] });
const t = setInterval(() => {
  if (!started && fs.existsSync(`${DIR}/go`)) started = true;
}, 50);
t.unref();
const KIND = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};
process.on('SIGTERM', () => {
  if (started) {
    const out = gcs.map(([k, us]) => ({ kind: KIND[k] ?? String(k), us: Math.round(us) }));
    fs.writeFileSync(`${DIR}/gc-${process.pid}.json`, JSON.stringify(out));
  }
  process.exit(0);
});
