// Preload (NODE_OPTIONS="--require .../ext-alloc.cjs") for a Weft server (argv[1] ends in cli/main.js):
// counts JS-made Buffers whose ArrayBuffer is >= 4 KiB, by allocator and two stack
// frames, and writes the top 15 by bytes to /tmp/jsread-alloc-<pid>.txt on exit.
// Socket reads (made in C++) are not seen: they are the rest of external memory.
'use strict';
if ((process.argv[1] ?? '').endsWith('cli/main.js')) {
  const fs = require('node:fs');
  const by = new Map();
  const wrap = (name) => {
    const orig = Buffer[name];
    Buffer[name] = function (...a) {
      const b = orig.apply(this, a);
      if (b.buffer.byteLength >= 4096 && b.byteOffset === 0) {
        const st = new Error().stack
          .split('\n')
          .slice(2, 4)
          .map((s) =>
            s
              .trim()
              .replace(/^at /, '')
              .replace(/\(.*\/dist\//, '('),
          )
          .join(' < ');
        const k = name + ' ' + st;
        const e = by.get(k) ?? [0, 0];
        e[0]++;
        e[1] += b.buffer.byteLength;
        by.set(k, e);
      }
      return b;
    };
  };
  for (const n of ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat', 'from']) wrap(n);
  process.on('exit', () => {
    const rows = [...by]
      .sort((a, b) => b[1][1] - a[1][1])
      .slice(0, 15)
      .map(([k, [n, bytes]]) => `${(bytes / 1048576).toFixed(1)} MB ${n}x ${k}`);
    fs.writeFileSync('/tmp/jsread-alloc-' + process.pid + '.txt', rows.join('\n') + '\n');
  });
}
