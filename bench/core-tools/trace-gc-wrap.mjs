// A stand-in server main for dist/bench/js-cpu.js --main (or compare.js) that
// runs the real one (TRACE_GC_MAIN) under --trace-gc with its stdout in
// TRACE_GC_OUT (the benches read and drop a server's stdout). CPU/msg read
// through it is 0 (the bench measures this process): use it for GC lines only.
//   TRACE_GC_MAIN=/tmp/base10d/dist/src/cli/main.js TRACE_GC_OUT=/tmp/gc.txt \
//     node dist/bench/js-cpu.js --main bench/core-tools/trace-gc-wrap.mjs --only js-pub-async --size 1024 --rounds 1
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const fd = fs.openSync(process.env.TRACE_GC_OUT ?? '/tmp/trace-gc.txt', 'a');
const c = spawn(
  process.execPath,
  ['--trace-gc', process.env.TRACE_GC_MAIN, ...process.argv.slice(2)],
  {
    stdio: ['ignore', fd, 'inherit'],
  },
);
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => c.kill(s));
c.on('exit', (code) => process.exit(code ?? 0));
