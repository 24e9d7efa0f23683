/**
 * The tail of request-reply across a Weft chain or a nats-server cluster:
 *   NODES=2 ROUNDS=2 node bench/mesh-tools/tail-reqrep.mjs <requests> nats|<dist> [...]
 * (nats: NATS_BIN or nats-server on PATH, a cluster of 2). A bare requester
 * (main thread, on the first node) and responder (worker thread, on the
 * last), one request at a time, 16 B; prints p50/p90/p95/p98/p99/p99.9 of the
 * round trip, and with GC_DIR set (and WEFT_BENCH_NODE_ARGS="--require
 * bench/mesh-tools/gc-times.cjs") how many round trips over the p99 overlap a
 * garbage collection on a node, and how the slow ones are spread in time.
 * A target <dist>+<flag>,<flag> starts that build's nodes with these node
 * flags added to WEFT_BENCH_NODE_ARGS (e.g. dist+--min-semi-space-size=16),
 * so flags can be interleaved with the plain build; with GC_DIR each Weft
 * round also prints the collections per node (scavenges / mark-compacts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { portOf, requester, responderSrc, startTarget, WARM } from './reqrep-kit.mjs';

const [n, ...targets] = process.argv.slice(2);
const requests = Number(n);
const rounds = Number(process.env.ROUNDS ?? 1);
const natsBin = process.env.NATS_BIN ?? execFileSync('which', ['nats-server']).toString().trim();

/** User + system CPU of a process, µs (10 ms ticks). */
const cpuUs = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 1e4;
};
const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
for (let r = 0; r < rounds; r++)
  for (const spec of targets) {
    const { t, flags, nodes } = await startTarget(spec, { natsBin });
    try {
      const w = new Worker(
        "const { workerData, parentPort } = require('node:worker_threads');" +
          responderSrc('workerData.port', "parentPort.postMessage('ready')"),
        { eval: true, workerData: { port: portOf(nodes.at(-1)) } },
      );
      await new Promise((ok) => w.once('message', ok));
      // STRACE=1: syscalls per round trip of every server process, all threads
      // (counted over the warm-up too: divided by requests + WARM).
      const tracers = process.env.STRACE
        ? nodes.map((x) => {
            const p = spawn('strace', ['-f', '-c', '-p', String(x.pid)], {
              stdio: ['ignore', 'ignore', 'pipe'],
            });
            let out = '';
            p.stderr.on('data', (d) => {
              out += d;
            });
            return {
              p,
              name: x.name ?? String(x.pid),
              done: new Promise((ok) => p.on('exit', () => ok(out))),
            };
          })
        : [];
      if (tracers.length) await new Promise((ok) => setTimeout(ok, 1000));
      const cpu0 = nodes.map((x) => cpuUs(x.pid));
      const lat = new Float64Array(requests);
      const at = new Float64Array(requests);
      await requester(portOf(nodes[0]), requests, (i, t0, t1) => {
        lat[i] = Number(t1 - t0) / 1e3;
        at[i] = performance.timeOrigin + performance.now() - lat[i] / 1e3;
      });
      const cpu = nodes.map((x, i) => (cpuUs(x.pid) - cpu0[i]) / (requests + WARM));
      for (const t of tracers) t.p.kill('SIGINT');
      for (const t of tracers) {
        const rows = [];
        for (const line of (await t.done).split('\n')) {
          const f = line.trim().split(/\s+/);
          if (f.length >= 5 && /^[\d.]+$/.test(f[0]) && f.at(-1) !== 'total') {
            const v = Number(f[3]) / (requests + WARM);
            if (v >= 0.05) rows.push(`${f.at(-1)} ${v.toFixed(2)}`);
          }
        }
        console.log(`   ${t.name}: ${rows.join(', ')}`);
      }
      await w.terminate();
      const sorted = Float64Array.from(lat).sort();
      const p99 = pct(sorted, 0.99);
      const qs = [0.5, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999]
        .map((q) => `${q * 100}%=${pct(sorted, q).toFixed(0)}`)
        .join(' ');
      console.log(
        `${t === 'nats' ? 'nats' : `${t.slice(-20)}${flags ? `+${flags}` : ''}`}  ${qs}  max=${sorted.at(-1).toFixed(0)}  cpu/rt ${cpu.map((c) => c.toFixed(0)).join('+')} µs  load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
      );
      if (process.env.GC_DIR && t !== 'nats') {
        await Promise.all(nodes.map((x) => x.stop()));
        const gcs = nodes.flatMap((x) => {
          const f = `${process.env.GC_DIR}/gct-${x.pid}.json`;
          if (!existsSync(f)) return [];
          const g = JSON.parse(readFileSync(f, 'utf8'));
          rmSync(f);
          return g.map(([s, us, kind]) => [s, s + us / 1e3, x.name, kind]);
        });
        let slow = 0;
        let withGc = 0;
        for (let i = 0; i < lat.length; i++) {
          if (lat[i] < p99) continue;
          slow++;
          const s = at[i];
          const e = s + lat[i] / 1e3;
          if (gcs.some(([a, b]) => a < e && b > s)) withGc++;
        }
        const inRun = gcs.filter(([a]) => a >= at[0]);
        const kinds = nodes
          .map((x) => {
            const mine = inRun.filter((g) => g[2] === x.name);
            const major = mine.filter((g) => g[3] !== 1);
            const ms = major
              .map((g) => `k${g[3]} ${((g[1] - g[0]) * 1e3).toFixed(0)} µs`)
              .join(' ');
            return `${x.name} ${mine.length - major.length}/${major.length}${ms ? ` (${ms})` : ''}`;
          })
          .join(', ');
        const per = {};
        for (const [a, b, name] of inRun) {
          per[name] ??= [];
          per[name].push((b - a) * 1e3);
        }
        const desc = Object.entries(per)
          .map(([k, v]) => {
            const s = v.sort((x, y) => x - y);
            return `${k} ${s.length} (p50 ${s[s.length >> 1].toFixed(0)} µs, max ${s.at(-1).toFixed(0)})`;
          })
          .join(', ');
        let pairs = 0;
        for (let i = 1; i < lat.length; i++) if (lat[i] >= p99 && lat[i - 1] >= p99) pairs++;
        console.log(
          `   over p99: ${slow}, overlapping a node GC: ${withGc}, right after another slow one: ${pairs}; GCs in run: ${desc}; scavenges/other per node: ${kinds}`,
        );
      }
    } finally {
      await Promise.all(nodes.map((x) => x.stop()));
    }
  }
