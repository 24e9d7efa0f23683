// Server CPU per js-pub-async message by thread group — main (user, sys),
// the libuv pool (its 4 threads: the O_DSYNC writes and the fill), and the
// other threads (V8's platform workers: concurrent GC and compiles) —
// sides interleaved round by round, one node per side, each side a build
// and its own server arguments:
//   node bench/core-tools/js-pub-threads.mjs 'fsync=<main.js>' 'timer=<main.js>|--sync-interval 2m' \
//     --size 1024 --msgs 100000 --rounds 6
// The pool is told apart by what runs there: the threads that were busy in
// kernel writes (sys ≥ user in the warm-up or any round so far), the rest
// "other" (bench/PROFILE.md, "Issue 16 — jsack (round 14)"). THREADS=1 also
// prints each round's user/sys seconds per thread (tid − pid: user/sys).
// PERF=<dir>: `perf record -g` of each side's node over its first measured
// round (<dir>/<side>.data; start the nodes with
// WEFT_BENCH_NODE_ARGS=--perf-basic-prof for JavaScript names).
import { spawn } from 'node:child_process';
import { threadTimes } from './proc-threads.mjs';
import { jsSides } from './side-args.mjs';

const { runJetStream, parseServerUrl, startWeft, sides, size, msgs, rounds } = await jsSides(
  process.argv.slice(2),
);

function delta(c0, c1) {
  const d = new Map();
  for (const [t, v] of c1) {
    const b = c0.get(t) ?? { u: 0, s: 0 };
    d.set(t, { u: v.u - b.u, s: v.s - b.s });
  }
  return d;
}
const servers = [];
for (const s of sides) {
  const proc = await startWeft(s.main, ['--mesh-port', '-1', ...s.args], s.name);
  servers.push({ ...s, proc, pool: new Set() });
}
const res = {};
try {
  for (const s of servers) {
    // Warm-up; its per-thread CPU tells which threads are the pool.
    let c0;
    let c1;
    await runJetStream('js-pub-async', {
      server: parseServerUrl(s.proc.url),
      msgs: 20000,
      size,
      onPhase: (p) => {
        if (p === 'start') c0 = threadTimes(s.proc.pid);
        else c1 = threadTimes(s.proc.pid);
      },
    });
    for (const [t, v] of delta(c0, c1))
      if (t !== s.proc.pid && v.s > 0 && v.s >= v.u) s.pool.add(t);
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...servers].reverse() : servers;
    for (const s of order) {
      let c0;
      let c1;
      const perf =
        process.env.PERF && r < 2 && !s.perfDone
          ? spawn(
              'perf',
              [
                'record',
                '-F',
                '1999',
                '-g',
                '-p',
                String(s.proc.pid),
                '-o',
                `${process.env.PERF}/${s.name}.data`,
              ],
              { stdio: 'ignore' },
            )
          : null;
      if (perf !== null) {
        s.perfDone = true;
        await new Promise((r) => setTimeout(r, 300));
      }
      const out = await runJetStream('js-pub-async', {
        server: parseServerUrl(s.proc.url),
        msgs,
        size,
        onPhase: (p) => {
          if (p === 'start') c0 = threadTimes(s.proc.pid);
          else c1 = threadTimes(s.proc.pid);
        },
      });
      if (perf !== null) {
        perf.kill('SIGINT');
        await new Promise((r) => perf.once('exit', r));
      }
      const row = { tot: 0, mu: 0, ms: 0, pool: 0, other: 0, rate: out.msgsPerSec };
      const k = 1e6 / out.done;
      const d = delta(c0, c1);
      if (process.env.THREADS)
        console.log(
          [...d].map(([t, v]) => `${t - s.proc.pid}:${v.u.toFixed(2)}/${v.s.toFixed(2)}`).join(' '),
        );
      for (const [t, v] of d) if (t !== s.proc.pid && v.s > 0 && v.s >= v.u) s.pool.add(t);
      for (const [t, v] of d) {
        const c = (v.u + v.s) * k;
        row.tot += c;
        if (t === s.proc.pid) {
          row.mu += v.u * k;
          row.ms += v.s * k;
        } else if (s.pool.has(t)) row.pool += c;
        else row.other += c;
      }
      if (res[s.name] === undefined) res[s.name] = [];
      res[s.name].push(row);
      console.log(
        r + 1,
        s.name,
        Object.entries(row)
          .map(([x, y]) => `${x} ${y.toFixed(x === 'rate' ? 0 : 2)}`)
          .join(' '),
      );
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.proc.stop()));
}
const med = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (const s of servers) {
  const L = res[s.name];
  console.log(
    s.name,
    `pool threads ${s.pool.size}`,
    ['tot', 'mu', 'ms', 'pool', 'other', 'rate']
      .map((x) => {
        const v = L.map((y) => y[x]);
        const f = (n) => n.toFixed(x === 'rate' ? 0 : 2);
        return `${x} ${f(med(v))} (${f(Math.min(...v))}–${f(Math.max(...v))})`;
      })
      .join('  '),
  );
}
