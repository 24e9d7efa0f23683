/**
 * Bytes allocated per operation by function (self), from alloc-sample.cjs:
 *   node bench/mesh-tools/alloc-sum.mjs <alloc-PID.json> <operations>
 */
import { readFileSync } from 'node:fs';

const [f, n] = process.argv.slice(2);
const p = JSON.parse(readFileSync(f, 'utf8'));
const self = new Map();
let total = 0;
const walk = (node, stack) => {
  const fr = node.callFrame;
  const key = `${fr.functionName || '(anon)'} ${fr.url.split('/').slice(-2).join('/')}:${fr.lineNumber + 1}`;
  const bytes = node.selfSize;
  total += bytes;
  if (bytes) self.set(key, (self.get(key) ?? 0) + bytes);
  for (const c of node.children) walk(c, stack);
};
walk(p.head, []);
console.log('total bytes', total, 'per request', (total / Number(n)).toFixed(0));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log((v / Number(n)).toFixed(0).padStart(7), k);
