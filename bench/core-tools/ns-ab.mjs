/**
 * The two halves of a micro A/B in child processes (kafka-decode-ab.mjs,
 * kafka-batch-ab.mjs): a child times `pass` (one pass over `n` units of
 * `per` records) four times and prints the best of the last three in CPU
 * ns per record; the parent runs one child per build and round, the order
 * alternating, and prints each build's median and min–max.
 */
import { execFileSync } from 'node:child_process';

/** In the child: prints `{ ns, sink }`, the best CPU ns per record of passes 2–4. */
export function printBestNs(n, per, pass) {
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let r = 0; r < 4; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) sink += pass(i);
    const u = process.cpuUsage(t);
    // The best of the last three passes (the first warms the compiler).
    if (r > 0) best = Math.min(best, ((u.user + u.system) * 1000) / (n * per));
  }
  console.log(JSON.stringify({ ns: best, sink }));
}

/** In the parent: runs `script` as `<baseDist> <dist> <size> <rounds> child` per build and round. */
export function runAb(script, baseDist, thisDist, sizeS, roundsS) {
  const out = { base: [], this: [] };
  for (let r = 0; r < Number(roundsS); r++) {
    const order = r % 2 === 0 ? ['base', 'this'] : ['this', 'base'];
    for (const side of order) {
      const dist = side === 'base' ? baseDist : thisDist;
      const res = JSON.parse(
        execFileSync(process.execPath, [script, baseDist, dist, sizeS, roundsS, 'child'], {
          encoding: 'utf8',
        }),
      );
      out[side].push(res.ns);
    }
  }
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  for (const [k, xs] of Object.entries(out))
    console.log(
      `${k.padEnd(5)} ${sizeS} B: ${med(xs).toFixed(1)} ns/record (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`,
    );
}
