// Preload (NODE_OPTIONS="--require .../gc-count.cjs", GC_COUNT_OUT=file): in a
// Weft server process (argv has cli/main.js), counts GCs by kind and their ms,
// samples external memory, and appends one JSON line to GC_COUNT_OUT on exit.
'use strict';
const out = process.env.GC_COUNT_OUT;
if (out && process.argv.some((a) => a.endsWith('cli/main.js'))) {
  const { PerformanceObserver, constants: c } = require('node:perf_hooks');
  const fs = require('node:fs');
  const kinds = {
    [c.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [c.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [c.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incr',
    [c.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
  };
  const n = {},
    ms = {};
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      const k = kinds[e.detail?.kind ?? e.kind] ?? 'other';
      n[k] = (n[k] ?? 0) + 1;
      ms[k] = (ms[k] ?? 0) + e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  let extMax = 0;
  setInterval(() => {
    const e = process.memoryUsage().external;
    if (e > extMax) extMax = e;
  }, 50).unref();
  const dump = () => {
    const cpu = process.cpuUsage();
    fs.appendFileSync(
      out,
      JSON.stringify({
        main: process.argv[1],
        n,
        ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v)])),
        extMaxMB: +(extMax / 1048576).toFixed(1),
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      }) + '\n',
    );
  };
  process.on('exit', dump);
}
