/**
 * Preloaded into a node (`--import <this file>`, e.g. through
 * WEFT_BENCH_NODE_ARGS): counts its garbage collections by kind, their
 * main-thread pause (ms), and from V8's GCProfiler the scavenges' cost and
 * the bytes they kept (what survives a scavenge is what it copies: its
 * cost), writing them as JSON to $GC_WATCH_FILE every 50 ms. kafka-gc.mjs reads it before and after a measured run.
 * bench/PROFILE.md, "Issue 16 — kafka7 (round 13)".
 */
import { renameSync, writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';

const file = process.env.GC_WATCH_FILE;
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};
const stats = {
  scavenge: 0,
  markCompact: 0,
  incremental: 0,
  weak: 0,
  pauseMs: 0,
  majorMs: 0,
  minorMs: 0,
  /** Bytes the scavenges kept: left in the new space, and promoted to the old. */
  survivedBytes: 0,
  promotedBytes: 0,
  /** The scavenges' own cost as V8 counts it (µs, the GC's time, not the wall's). */
  scavengeCostUs: 0,
};
const used = (side, name) =>
  side.heapSpaceStatistics.find((x) => x.spaceName === name)?.spaceUsedSize ?? 0;
const gcProfiler = new GCProfiler();
gcProfiler.start();
/** Adds up the scavenges V8's GCProfiler saw since the last call. */
function scavenges() {
  const r = gcProfiler.stop();
  gcProfiler.start();
  for (const g of r?.statistics ?? []) {
    if (g.gcType !== 'Scavenge') continue;
    stats.survivedBytes += used(g.afterGC, 'new_space');
    stats.promotedBytes += Math.max(
      0,
      used(g.afterGC, 'old_space') - used(g.beforeGC, 'old_space'),
    );
    stats.scavengeCostUs += g.cost;
  }
}
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = KINDS[e.detail?.kind ?? e.kind] ?? 'weak';
    stats[kind]++;
    stats.pauseMs += e.duration;
    if (kind === 'markCompact') stats.majorMs += e.duration;
    if (kind === 'scavenge') stats.minorMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
if (file) {
  setInterval(() => {
    scavenges();
    const m = process.memoryUsage();
    // Whole or not at all for the reader: written aside, then renamed.
    writeFileSync(`${file}.tmp`, JSON.stringify({ ...stats, arrayBuffers: m.arrayBuffers }));
    renameSync(`${file}.tmp`, file);
  }, 50).unref();
}
