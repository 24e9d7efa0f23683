// A/B of the redis-group-c10 loop's server main-thread CPU per entry
// (redis-group-lat.mjs's schedstat figure, 0.01 µs resolution) and its other
// threads', two builds interleaved ABBA, a fresh node per run; medians with
// min–max, and in how many pairs B was lower (bench/PROFILE.md, "Issue 16 —
// rgroup10 (round 15)"):
//   node bench/core-tools/redis-group-ab.mjs <distA> <distB> [rounds=8] [entries=60000] [count=10]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [a, b] = process.argv.slice(2, 4).map((d) => path.resolve(d));
const rounds = Number(process.argv[4] ?? 8);
const entries = process.argv[5] ?? '60000';
const count = process.argv[6] ?? '10';
const lat = fileURLToPath(new URL('./redis-group-lat.mjs', import.meta.url));
const got = new Map([
  [a, []],
  [b, []],
]);
for (let r = 0; r < rounds; r++) {
  for (const d of r % 2 === 0 ? [a, b] : [b, a]) {
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    const out = execFileSync(process.execPath, [lat, 'weft', entries, count], {
      env: { ...process.env, DIST: d },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const main = Number(/main thread: ([\d.]+)/.exec(out)?.[1]);
    const other = Number(/other threads: ([\d.]+)/.exec(out)?.[1]);
    got.get(d).push({ main, other });
    console.log(`${r + 1} ${d}: main ${main} other ${other} µs/entry, load ${load}`);
  }
}
const med = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `${m.toFixed(2)} (${s[0].toFixed(2)}–${s[s.length - 1].toFixed(2)})`;
};
for (const [d, xs] of got) {
  console.log(
    `${d}: main ${med(xs.map((x) => x.main))}, other ${med(xs.map((x) => x.other))}, all ${med(xs.map((x) => x.main + x.other))} µs/entry`,
  );
}
const lower = got.get(b).filter((x, i) => x.main < got.get(a)[i].main).length;
console.log(`${b} main lower in ${lower} of ${rounds} pairs`);
