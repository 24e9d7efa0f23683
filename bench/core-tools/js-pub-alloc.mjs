/**
 * Bytes the node allocates per JetStream async publish (js-pub-async), by
 * allocating function (V8's sampling heap profiler, objects a GC collected
 * included), after a 20,000-message warm-up:
 *   node bench/core-tools/js-pub-alloc.mjs <dist/src/cli/main.js> [size] [msgs]
 * The node runs this file as its main (which starts the sampler on SIGUSR2
 * and writes the profile on SIGWINCH), then the real main. The generator is
 * this tree's (npm run build first).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const out = (pid) => `/tmp/weft-js-pub-alloc-${pid}.json`;

if (process.env.WEFT_ALLOC_MAIN) {
  // In the node: the sampler, then the real main.
  const { Session } = await import('node:inspector/promises');
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.enable');
  process.on('SIGUSR2', () => {
    s.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  });
  process.on('SIGWINCH', async () => {
    const { profile } = await s.post('HeapProfiler.stopSampling');
    writeFileSync(out(process.pid), JSON.stringify(profile));
  });
  await import(process.env.WEFT_ALLOC_MAIN);
} else {
  const [main, sizeS = '16', msgsS = '100000'] = process.argv.slice(2);
  const size = Number(sizeS);
  const msgs = Number(msgsS);
  const D = path.join(path.dirname(self), '..', '..', 'dist');
  const { runJetStream } = await import(path.join(D, 'src/bench/jetstream.js'));
  const { parseServerUrl } = await import(path.join(D, 'src/bench/protocol.js'));
  const { startWeft } = await import(path.join(D, 'bench/servers.js'));
  process.env.WEFT_ALLOC_MAIN = path.resolve(main);
  const s = await startWeft(self, ['--mesh-port', '-1'], 'alloc');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  try {
    const server = parseServerUrl(s.url);
    await runJetStream('js-pub-async', { server, msgs: 20000, size });
    process.kill(s.pid, 'SIGUSR2');
    await sleep(300);
    const run = await runJetStream('js-pub-async', { server, msgs, size });
    process.kill(s.pid, 'SIGWINCH');
    for (let i = 0; i < 100 && !existsSync(out(s.pid)); i++) await sleep(100);
    await sleep(300);
    const p = JSON.parse(readFileSync(out(s.pid), 'utf8'));
    const by = new Map();
    let total = 0;
    const name = (f) =>
      `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    const walk = (n, stack) => {
      const st = [name(n.callFrame), ...stack].slice(0, 3);
      if (n.selfSize > 0) {
        const k = st.join(' < ');
        by.set(k, (by.get(k) ?? 0) + n.selfSize);
        total += n.selfSize;
      }
      for (const c of n.children) walk(c, st);
    };
    walk(p.head, []);
    console.log(`${run.done} acks, ${(total / run.done).toFixed(0)} bytes allocated per message`);
    for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
      console.log(`${(v / run.done).toFixed(1).padStart(7)}  ${k}`);
    }
  } finally {
    await s.stop();
  }
}
