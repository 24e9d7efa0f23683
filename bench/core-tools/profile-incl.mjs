/**
 * Inclusive time of the frames matching each regex (a sample counts once):
 *   node bench/core-tools/profile-incl.mjs <file.cpuprofile> '^feed ' '^onPub' ...
 * AFTER_IDLE_MS=<ms>: only the samples after the last idle stretch of at least that long.
 */
import { readFileSync } from 'node:fs';
import { firstSample } from './profile-window.mjs';

const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfT = new Map();
const from = firstSample(p, byId);
for (let i = from; i < p.samples.length; i++)
  selfT.set(p.samples[i], (selfT.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
for (const re of process.argv.slice(3).map((r) => new RegExp(r))) {
  let t = 0;
  for (const [id, dt] of selfT) {
    let cur = id;
    while (cur !== undefined) {
      const f = byId.get(cur).callFrame;
      if (re.test(f.functionName + ' ' + f.url)) {
        t += dt;
        break;
      }
      cur = parent.get(cur);
    }
  }
  console.log(`${re}: ${(t / 1000).toFixed(0)} ms`);
}
