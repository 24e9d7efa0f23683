/**
 * Preload for a Weft node (WEFT_BENCH_NODE_ARGS="--require <this file>"):
 * records every garbage collection as [start (epoch ms), duration µs, kind]
 * and, on SIGTERM, writes them to $GC_DIR/gct-<pid>.json, so tail-reqrep.mjs
 * can tell which slow round trips overlap a collection on a node.
 */
const DIR = process.env.GC_DIR ?? '/tmp';
const fs = require('node:fs');
const { PerformanceObserver, performance } = require('node:perf_hooks');
const gcs = [];
const origin = performance.timeOrigin;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    gcs.push([origin + e.startTime, e.duration * 1000, e.detail?.kind ?? 0]);
});
obs.observe({ entryTypes: ['gc'] });
process.on('SIGTERM', () => {
  fs.writeFileSync(`${DIR}/gct-${process.pid}.json`, JSON.stringify(gcs));
  process.exit(0);
});
