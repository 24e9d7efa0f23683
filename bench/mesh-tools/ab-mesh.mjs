/**
 * Server CPU per message of each node of a Weft chain, builds interleaved:
 *   node bench/mesh-tools/ab-mesh.mjs <nodes> <size> <msgs> <pubsub|reqrep> <dist> [<dist> ...]
 * (ROUNDS=3 by default; each dist is a built tree: <dist>/bench/servers.js,
 * <dist>/src/bench/runner.js, <dist>/src/cli/main.js). Per round and build:
 * start the chain, warm up (200k 16 B), run, print µs of CPU (utime + stime,
 * /proc) per message for each node and in total, read/write syscalls per
 * 1,000 messages per node (/proc/<pid>/io), the rate and (reqrep) the round
 * trip's p50/p99 in µs; then the median total per build. TAILS=1 prints each
 * node's last log lines (with WEFT_BENCH_NODE_ARGS=--trace-gc: its GCs).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const [nodesN, size, msgs, workload, ...given] = process.argv.slice(2);
const dists = given.map((d) => resolve(d));
const rounds = Number(process.env.ROUNDS ?? 3);
const cpu = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const res = {};
const io = (pid) => {
  const t = readFileSync(`/proc/${pid}/io`, 'utf8');
  const g = (k) => Number(t.match(new RegExp(k + ': (\\d+)'))[1]);
  return [g('syscr'), g('syscw')];
};
for (let r = 0; r < rounds; r++)
  for (const d of dists) {
    const { startWeftChain } = await import(`${d}/bench/servers.js`);
    const { runBench } = await import(`${d}/src/bench/runner.js`);
    const mainJs = `${d}/src/cli/main.js`;
    const nodes = await startWeftChain(mainJs, Number(nodesN), []);
    const a = nodes[0],
      z = nodes[nodes.length - 1];
    try {
      await runBench({
        workload: 'pubsub',
        server: a.url,
        subServer: z.url,
        msgs: 200000,
        size: 16,
        subs: 1,
        timeoutMs: 30000,
      }).catch(() => {});
      const before = nodes.map((n) => cpu(n.pid));
      const ioB = nodes.map((n) => io(n.pid));
      const rr = await runBench({
        workload,
        server: a.url,
        subServer: z.url,
        msgs: Number(msgs),
        size: Number(size),
        subs: 1,
      });
      const per = nodes.map((n, i) => ((cpu(n.pid) - before[i]) * 1e6) / Number(msgs));
      const ioTxt = nodes
        .map((n, i) => {
          const x = io(n.pid);
          return `${(((x[0] - ioB[i][0]) / Number(msgs)) * 1e3).toFixed(2)}r/${(((x[1] - ioB[i][1]) / Number(msgs)) * 1e3).toFixed(2)}w`;
        })
        .join(' ');
      const tot = per.reduce((x, y) => x + y, 0);
      const lat = rr.latency
        ? ` p50 ${(rr.latency.p50).toFixed(0)} p99 ${(rr.latency.p99).toFixed(0)}`
        : '';
      const rate = (rr.sub ?? rr.pub)?.msgsPerSec ?? 0;
      const line = `${d.padEnd(22)} r${r} µs/msg ${per.map((x) => x.toFixed(3)).join(' ')} tot ${tot.toFixed(3)} io/1k ${ioTxt} ${(rate / 1e3).toFixed(0)}k/s${lat} ${rr.complete ? '' : 'INCOMPLETE'} load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`;
      console.log(line);
      if (res[d] === undefined) res[d] = [];
      res[d].push(tot);
      if (process.env.TAILS) for (const n of nodes) console.log(n.name, n.tail());
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  }
for (const [d, v] of Object.entries(res)) {
  v.sort((x, y) => x - y);
  console.log(`${d} median tot ${v[Math.floor(v.length / 2)].toFixed(3)} µs/msg`);
}
