/**
 * Syscalls per request-reply round trip on every node of a Weft chain:
 *   NODES=3 [ROUNDS=1] node bench/mesh-tools/strace-reqrep.mjs <requests> <dist> [<dist> ...]
 * Per build: start the chain (requester on the first node, responder on the
 * last), 5,000 requests to warm up, then attach `strace -f -c` to every node
 * for <requests> round trips, and print each node's syscalls per round trip
 * (all threads: the main thread's epoll/read/write and libuv's and V8's
 * workers). Load does not change these counts, unlike the latencies. With
 * TRACE=1, writes each node's main-thread trace (`strace -tt -T`) to
 * /tmp/trace-<node>.txt instead, for reading one hop at a time; TRACE=perf
 * does the same with `perf trace` (every thread; it still adds ~20 µs
 * around each syscall on this VM, so its gaps are not hop times).
 * TRACE=bpf runs hop.bt.template (bpftrace, as root: apt-get install
 * bpftrace) on every node: time per hop from read to write, wake-up
 * latency, preemptions, summed up by hop-summary.mjs (RAW=1: histograms);
 * its overhead is small (a 98 B read measures ~1 µs under it, 16 µs under
 * perf trace).
 * TRACE=record samples each node with `perf record -g` into
 * /tmp/perf-<node>.data (with WEFT_BENCH_NODE_ARGS=--perf-basic-prof,
 * `perf report` names the JS functions).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hopSummary } from './hop-summary.mjs';

const [n, ...given] = process.argv.slice(2);
const requests = Number(n);
const dists = given.map((d) => resolve(d));
const trace = ['perf', 'bpf', 'record'].includes(process.env.TRACE)
  ? process.env.TRACE
  : process.env.TRACE === '1';
/** hop.bt.template for the given node pids (main threads) and the threads they wake. */
const bpfProgram = (pids) => {
  const list = [pids].flat();
  return readFileSync(new URL('./hop.bt.template', import.meta.url), 'utf8')
    .replaceAll('WPIDS', list.map((p) => `args->pid == ${p}`).join(' || '))
    .replaceAll('PIDS', list.map((p) => `pid == ${p}`).join(' || '));
};

const attach = (pid, name) => {
  const [cmd, args] =
    trace === 'bpf'
      ? ['bpftrace', ['-e', bpfProgram(pid)]]
      : trace === 'record'
        ? [
            'perf',
            ['record', '-F', '20000', '-g', '-o', `/tmp/perf-${name}.data`, '-p', String(pid)],
          ]
        : trace === 'perf'
          ? ['perf', ['trace', '-o', `/tmp/trace-${name}.txt`, '-p', String(pid)]]
          : trace
            ? ['strace', ['-tt', '-T', '-o', `/tmp/trace-${name}.txt`, '-p', String(pid)]]
            : ['strace', ['-f', '-c', '-p', String(pid)]];
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => {
    err += d;
  });
  p.stdout.on('data', (d) => {
    err += d;
  });
  const done = new Promise((r) => p.on('exit', () => r(err)));
  return { p, done };
};

/** `strace -c`'s table: syscall → calls. */
const table = (text) => {
  const m = new Map();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 5 && /^[\d.]+$/.test(f[0]) && f.at(-1) !== 'total') {
      m.set(f.at(-1), Number(f[3]));
    }
  }
  return m;
};

for (let round = 0; round < Number(process.env.ROUNDS ?? 1); round++)
  for (const d of dists) {
    const { startWeftChain } = await import(`${d}/bench/servers.js`);
    const { runBench } = await import(`${d}/src/bench/runner.js`);
    const nodes = await startWeftChain(`${d}/src/cli/main.js`, Number(process.env.NODES ?? 3), []);
    const a = nodes[0];
    const z = nodes[nodes.length - 1];
    const opts = { workload: 'reqrep', server: a.url, subServer: z.url, size: 16, subs: 1 };
    try {
      await runBench({ ...opts, msgs: 5000 });
      const tracers =
        trace === 'bpf'
          ? [
              attach(
                nodes.map((x) => x.pid),
                'all',
              ),
            ]
          : nodes.map((x) => attach(x.pid, x.name));
      await new Promise((r) => setTimeout(r, 1000)); // strace attaches to every thread
      const rr = await runBench({ ...opts, msgs: requests });
      await new Promise((r) => setTimeout(r, 100));
      for (const t of tracers) t.p.kill('SIGINT');
      const outs = await Promise.all(tracers.map((t) => t.done));
      console.log(
        `${d.slice(-24)}  ${requests} round trips traced (p50 ${rr.latency.p50.toFixed(0)} µs), load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
      );
      if (trace === 'bpf') {
        const names = Object.fromEntries(nodes.map((x) => [x.pid, x.name]));
        console.log(process.env.RAW ? outs[0] : hopSummary(outs[0], names));
      }
      if (trace) continue;
      nodes.forEach((x, i) => {
        const m = table(outs[i]);
        const rows = [...m.entries()]
          .map(([k, v]) => [k, v / requests])
          .filter(([, v]) => v >= 0.05)
          .sort((p, q) => q[1] - p[1])
          .map(([k, v]) => `${k} ${v.toFixed(2)}`);
        const total = [...m.values()].reduce((s, v) => s + v, 0) / requests;
        console.log(`  ${x.name}: ${total.toFixed(2)} per round trip: ${rows.join(', ')}`);
      });
    } finally {
      await Promise.all(nodes.map((x) => x.stop()));
    }
  }
