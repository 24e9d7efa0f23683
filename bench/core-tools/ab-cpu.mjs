/**
 * A/B of server CPU per message (utime + stime from /proc, µs), builds
 * interleaved round by round: robust on a busy machine where msgs/s is not.
 *   node bench/core-tools/ab-cpu.mjs <workload> <msgs> <size> <rounds> <dist|nats> ...
 * e.g. ... ab-cpu.mjs pub 3000000 16 4 nats /tmp/base/dist dist
 * Each `dist` is a built tree (its src/cli/main.js runs the node); `nats` is
 * nats-server. The generator is this tree's (bench/servers.ts, src/bench).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [workload, msgsS, sizeS, roundsS, ...dists] = process.argv.slice(2);
const msgs = Number(msgsS),
  size = Number(sizeS),
  rounds = Number(roundsS);
const W = fileURLToPath(new URL('../../dist/', import.meta.url));
const { startWeft, startNatsServer, which, killAll } = await import(
  path.join(W, 'bench/servers.js')
);
const { runBench } = await import(path.join(W, 'src/bench/runner.js'));
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return [Number(x[11]) * 10, Number(x[12]) * 10];
};
const readCpuMs = (pid) => {
  const [u, s] = cpu(pid);
  return u + s;
};
const res = Object.fromEntries(dists.map((d) => [d, []]));
const lat = Object.fromEntries(dists.map((d) => [d, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (const d of dists) {
      const s =
        d === 'nats'
          ? await startNatsServer(which('nats-server'))
          : await startWeft(path.join(d, 'src/cli/main.js'));
      await runBench({ workload, server: s.url, msgs: Math.ceil(msgs / 10), size, subs: 1 }).catch(
        () => {},
      );
      const c0 = readCpuMs(s.pid);
      const b = await runBench({
        workload,
        server: s.url,
        msgs,
        size,
        subs: workload === 'fanout' ? 4 : workload === 'queue' ? 4 : 1,
      });
      const c1 = readCpuMs(s.pid);
      const [u1, s1] = cpu(s.pid);
      await s.stop();
      const us = ((c1 - c0) * 1000) / msgs;
      res[d].push(us);
      const extra = b.latency
        ? ` p50 ${b.latency.p50.toFixed(0)}us p99 ${b.latency.p99.toFixed(0)}us`
        : '';
      if (b.latency) lat[d].push(b.latency.p99);
      console.log(
        `${d}: ${us.toFixed(3)} us/msg (user ${u1} sys ${s1} ms total) ${Math.round((b.sub ?? b.pub).msgsPerSec)} msgs/s${extra}${b.complete ? '' : ' INCOMPLETE'}`,
      );
    }
  }
} finally {
  killAll();
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const d of dists)
  console.log(
    `median ${d}: ${med(res[d]).toFixed(3)} us/msg` +
      (lat[d].length ? ` p99 median ${med(lat[d]).toFixed(0)}us` : ''),
  );
