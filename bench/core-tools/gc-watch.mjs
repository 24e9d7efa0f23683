/**
 * Preloaded into a node (`--import <this file>`, e.g. through
 * WEFT_BENCH_NODE_ARGS): counts its garbage collections by kind, their
 * main-thread pause (ms), writing them as JSON to $GC_WATCH_FILE every
 * 50 ms. kafka-gc.mjs reads it before and after a measured run.
 * bench/PROFILE.md, "Issue 16 — kafka7 (round 13)".
 */
import { renameSync, writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.GC_WATCH_FILE;
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};
const stats = { scavenge: 0, markCompact: 0, incremental: 0, weak: 0, pauseMs: 0, majorMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = KINDS[e.detail?.kind ?? e.kind] ?? 'weak';
    stats[kind]++;
    stats.pauseMs += e.duration;
    if (kind === 'markCompact') stats.majorMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
if (file) {
  setInterval(() => {
    const m = process.memoryUsage();
    // Whole or not at all for the reader: written aside, then renamed.
    writeFileSync(`${file}.tmp`, JSON.stringify({ ...stats, arrayBuffers: m.arrayBuffers }));
    renameSync(`${file}.tmp`, file);
  }, 50).unref();
}
