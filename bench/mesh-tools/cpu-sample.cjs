/**
 * Preload for a Weft node (WEFT_BENCH_NODE_ARGS="--require <this file>"):
 * once the file $ALLOC_DIR/go exists (default /tmp; ab-reqrep.mjs makes it
 * after its warm-up), starts the CPU profiler (100 µs interval), and on
 * SIGTERM writes $ALLOC_DIR/cpu-<pid>.cpuprofile: the measured part only,
 * without the start-up (bench/core-tools/profile-self.mjs sums it).
 */
const DIR = process.env.ALLOC_DIR ?? '/tmp';
const inspector = require('node:inspector');
const fs = require('node:fs');
const s = new inspector.Session();
s.connect();
let started = false;
const t = setInterval(() => {
  if (!started && fs.existsSync(`${DIR}/go`)) {
    started = true;
    s.post('Profiler.enable', () =>
      s.post('Profiler.setSamplingInterval', { interval: 100 }, () => s.post('Profiler.start')),
    );
  }
}, 50);
t.unref();
process.on('SIGTERM', () => {
  if (!started) return;
  s.post('Profiler.stop', (e, r) => {
    if (!e) fs.writeFileSync(`${DIR}/cpu-${process.pid}.cpuprofile`, JSON.stringify(r.profile));
    process.exit(0);
  });
});
