/**
 * Request-reply across a Weft chain, builds interleaved:
 *   ROUNDS=4 NODES=3 node bench/mesh-tools/ab-reqrep.mjs <requests> <dist> [<dist> ...]
 * Per round and build: start the chain (requester on the first node,
 * responder on the last), 5,000 requests to warm up, then <requests>; prints
 * user/system CPU µs per request of each node (/proc), the total, and the
 * round trip's p50/p90/p99, and each node's main-thread CPU per request
 * from /proc/<pid>/schedstat (ns, not 10 ms ticks: `main`); then the
 * medians per build. With ALLOC_DIR set
 * (and WEFT_BENCH_NODE_ARGS="--require bench/mesh-tools/alloc-sample.cjs"),
 * creates $ALLOC_DIR/go after the warm-up: the nodes sample allocations
 * from then on (alloc-sample.cjs).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const [n, ...given] = process.argv.slice(2);
const dists = given.map((d) => resolve(d));
const rounds = Number(process.env.ROUNDS ?? 3);
const st = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]) * 1e4, Number(f[12]) * 1e4];
};
/** The main thread's time on a CPU, µs (schedstat: ns). */
const sched = (pid) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e3;
const res = {};
for (let r = 0; r < rounds; r++)
  for (const d of dists) {
    const { startWeftChain } = await import(`${d}/bench/servers.js`);
    const { runBench } = await import(`${d}/src/bench/runner.js`);
    const nodes = await startWeftChain(`${d}/src/cli/main.js`, Number(process.env.NODES ?? 3), []);
    const a = nodes[0],
      z = nodes[nodes.length - 1];
    try {
      await runBench({
        workload: 'reqrep',
        server: a.url,
        subServer: z.url,
        msgs: 5000,
        size: 16,
        subs: 1,
      });
      if (process.env.ALLOC_DIR) writeFileSync(`${process.env.ALLOC_DIR}/go`, '');
      await new Promise((r) => setTimeout(r, process.env.ALLOC_DIR ? 200 : 0));
      const b = nodes.map((x) => st(x.pid));
      const b2 = nodes.map((x) => sched(x.pid));
      const rr = await runBench({
        workload: 'reqrep',
        server: a.url,
        subServer: z.url,
        msgs: Number(n),
        size: 16,
        subs: 1,
      });
      const per = nodes.map((x, i) => {
        const e = st(x.pid);
        return [(e[0] - b[i][0]) / n, (e[1] - b[i][1]) / n];
      });
      const main = nodes.map((x, i) => (sched(x.pid) - b2[i]) / n);
      const mainTot = main.reduce((s, v) => s + v, 0);
      const tot = per.reduce((s, p) => s + p[0] + p[1], 0);
      const line = `${d.slice(-20).padEnd(20)} r${r} u/s µs/req ${per.map((p) => `${p[0].toFixed(1)}/${p[1].toFixed(1)}`).join(' ')} tot ${tot.toFixed(1)} main ${main.map((v) => v.toFixed(1)).join('/')} =${mainTot.toFixed(1)} p50 ${rr.latency.p50.toFixed(0)} p90 ${rr.latency.p90?.toFixed(0)} p99 ${rr.latency.p99.toFixed(0)} load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`;
      console.log(line);
      if (res[d] === undefined) res[d] = [];
      res[d].push({ tot, mainTot, main, p50: rr.latency.p50, p99: rr.latency.p99 });
    } finally {
      await Promise.all(nodes.map((x) => x.stop()));
      if (process.env.ALLOC_DIR) rmSync(`${process.env.ALLOC_DIR}/go`, { force: true });
    }
  }
const med = (v) => {
  v = [...v].sort((x, y) => x - y);
  return v[Math.floor(v.length / 2)];
};
for (const [d, v] of Object.entries(res))
  console.log(
    d,
    'median tot',
    med(v.map((x) => x.tot)).toFixed(1),
    'main',
    med(v.map((x) => x.mainTot)).toFixed(1),
    `(${Math.min(...v.map((x) => x.mainTot)).toFixed(1)}–${Math.max(...v.map((x) => x.mainTot)).toFixed(1)})`,
    'per node',
    [0, 1, 2].map((i) => med(v.map((x) => x.main[i] ?? 0)).toFixed(1)).join('/'),
    'p50',
    med(v.map((x) => x.p50)).toFixed(0),
    `(${Math.min(...v.map((x) => x.p50)).toFixed(0)}–${Math.max(...v.map((x) => x.p50)).toFixed(0)})`,
    'p99',
    med(v.map((x) => x.p99)).toFixed(0),
    `(${Math.min(...v.map((x) => x.p99)).toFixed(0)}–${Math.max(...v.map((x) => x.p99)).toFixed(0)})`,
  );
