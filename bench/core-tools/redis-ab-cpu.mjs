/**
 * A/B of server CPU per PUBLISH (utime + stime from /proc, µs per publish),
 * builds interleaved round by round, with redis-server as a side too.
 *   node bench/core-tools/redis-ab-cpu.mjs <subs> <msgs> <rounds> <dist|redis> ...
 * e.g. ... redis-ab-cpu.mjs 1 1000000 3 redis /tmp/base/dist dist
 * Each `dist` is a built tree (its src/cli/main.js runs the node). The
 * generator is this tree's (bench/redis-kit.ts: PUBLISH 16 B, -P 64).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [subsS, msgsS, roundsS, ...sides] = process.argv.slice(2);
const subs = Number(subsS);
const msgs = Number(msgsS);
const rounds = Number(roundsS);
const W = fileURLToPath(new URL('../../dist/', import.meta.url));
const { startRedisServers, runPubSub } = await import(path.join(W, 'bench/redis-kit.js'));
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return [Number(x[11]) * 10, Number(x[12]) * 10];
};
const res = Object.fromEntries(sides.map((d) => [d, []]));
const rate = Object.fromEntries(sides.map((d) => [d, []]));
const total = subs === 1 ? msgs : Math.round(msgs / 2);
for (let r = 0; r < rounds; r++) {
  for (const d of sides) {
    const main = d === 'redis' ? path.join(W, 'src/cli/main.js') : path.join(d, 'src/cli/main.js');
    const s = await startRedisServers(main);
    try {
      const side = d === 'redis' ? s.redis : s.weft;
      const run = (n) => runPubSub({ addr: side.addr, total: n, subs, size: 16, depth: 64 });
      await run(50_000);
      const [u0, s0] = cpu(side.proc.pid);
      const b = await run(total);
      const [u1, s1] = cpu(side.proc.pid);
      const us = ((u1 + s1 - u0 - s0) * 1000) / total;
      const split = `user ${(((u1 - u0) * 1000) / total).toFixed(3)} sys ${(((s1 - s0) * 1000) / total).toFixed(3)}`;
      res[d].push(us);
      rate[d].push(b.perSec);
      console.log(
        `${d}: ${us.toFixed(3)} us/publish (${split}) ${Math.round(b.perSec)} /s${b.complete ? '' : ` ${b.ended}`}`,
      );
    } finally {
      await s.stop();
    }
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const d of sides)
  console.log(`median ${d}: ${med(res[d]).toFixed(3)} us/publish, ${Math.round(med(rate[d]))} /s`);
