/**
 * Ticks per source line of the functions matching a regex in a .cpuprofile
 * (V8's positionTicks; lines of the compiled JS, 1-based; a line may be in
 * a function inlined from another file):
 *   node bench/core-tools/profile-lines.mjs <file.cpuprofile> '^encodeMsgAt '
 */
import { readFileSync } from 'node:fs';

const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const re = new RegExp(process.argv[3]);
const lines = new Map();
let hits = 0;
for (const n of p.nodes) {
  const f = n.callFrame;
  if (!re.test(`${f.functionName} ${f.url}`)) continue;
  hits += n.hitCount;
  for (const t of n.positionTicks ?? []) lines.set(t.line, (lines.get(t.line) ?? 0) + t.ticks);
}
console.log(`${hits} ticks`);
for (const [l, t] of [...lines].sort((a, b) => a[0] - b[0]))
  console.log(`${String(l).padStart(5)} ${t}`);
