/**
 * Preload for a Weft node (WEFT_BENCH_NODE_ARGS="--require <this file>"):
 * once the file $ALLOC_DIR/go exists (default /tmp), samples every
 * allocation (V8's sampling heap profiler, 512 B interval, objects collected
 * by minor and major GCs included: what was allocated, not what is live),
 * and on SIGTERM writes $ALLOC_DIR/alloc-<pid>.json and the new space's
 * size to alloc.log. Sum it with alloc-sum.mjs.
 */
const DIR = process.env.ALLOC_DIR ?? '/tmp';
const inspector = require('node:inspector');
const fs = require('node:fs');
const v8 = require('node:v8');
const s = new inspector.Session();
s.connect();
let started = false;
const t = setInterval(() => {
  if (!started && fs.existsSync(`${DIR}/go`)) {
    started = true;
    s.post(
      'HeapProfiler.startSampling',
      {
        samplingInterval: 512,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      },
      (e) => {
        if (e) fs.appendFileSync(`${DIR}/alloc.err`, String(e));
      },
    );
  }
}, 50);
t.unref();
const dump = () => {
  const ns = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  fs.appendFileSync(`${DIR}/alloc.log`, `${process.pid} new_space ${ns.space_size}\n`);
  if (!started) return;
  s.post('HeapProfiler.stopSampling', (e, r) => {
    if (!e) fs.writeFileSync(`${DIR}/alloc-${process.pid}.json`, JSON.stringify(r.profile));
    process.exit(0);
  });
};
process.on('SIGTERM', dump);
