/**
 * The floor of a request-reply chain in Node: the same topology as
 * mesh-chain3-reqrep (a requester, NODES relay processes in a line, a
 * responder), but each relay is a bare Node TCP relay
 * (`a.on('data', (d) => b.write(d))`, Nagle off) and the requester and the
 * responder exchange 16 B. Prints the round trip's p50/p90/p99 and the
 * relays' CPU µs per round trip (/proc), to set beside ab-reqrep.mjs:
 *   NODES=3 ROUNDS=3 node bench/mesh-tools/relay-floor.mjs <requests>
 * Arms, interleaved per round: `bare` (the above), `bare-onread` (the same,
 * the relays' dialled sockets read with `onread`), `<dist>` (NODES - 1
 * bare relays in front of one Weft node of that build: the bench's NATS
 * requester and responder, as in the row) and `chain:<dist>` (a Weft chain
 * of NODES, as ab-reqrep.mjs): the difference between the last two is what
 * Weft's link hops cost beyond a bare relay's.
 *   ROUNDS=4 node bench/mesh-tools/relay-floor.mjs 20000 bare /tmp/base9/dist chain:/tmp/base9/dist
 */
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import { hopSummary } from './hop-summary.mjs';

const role = process.argv[2];

if (role === 'relay') {
  // argv: relay <downstream port>; prints its own port.
  const down = Number(process.argv[3]);
  // ONREAD=1: the dialled side reads with `onread` (one reused buffer, no
  // Readable push or 'data' event; what is relayed is copied out of it).
  const onread = process.env.ONREAD === '1';
  const server = net.createServer({ noDelay: true }, (up) => {
    const back = onread
      ? {
          buffer: Buffer.alloc(65536),
          callback: (n, b) => void up.write(Buffer.from(b.subarray(0, n))),
        }
      : undefined;
    const out = net.connect({ port: down, host: '127.0.0.1', noDelay: true, onread: back });
    up.on('data', (d) => out.write(d));
    if (!onread) out.on('data', (d) => up.write(d));
    up.on('close', () => out.destroy());
    out.on('close', () => up.destroy());
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else if (role === 'responder') {
  const server = net.createServer({ noDelay: true }, (s) => s.on('data', (d) => s.write(d)));
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else {
  const [n, ...arms] = process.argv.slice(2);
  const requests = Number(n);
  const nodes = Number(process.env.NODES ?? 3);
  const rounds = Number(process.env.ROUNDS ?? 3);
  const st = (pid) => {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return [Number(f[11]) * 1e4, Number(f[12]) * 1e4];
  };
  const start = (args) =>
    new Promise((r) => {
      const p = fork(new URL(import.meta.url).pathname, args);
      p.once('message', (port) => r({ p, port }));
    });
  /** Bare ping-pong of 16 B through `port`: sorted round trips, µs. */
  const run = (port, count) =>
    new Promise((r) => {
      const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
      const lat = new Float64Array(count);
      const msg = Buffer.alloc(16, 1);
      let i = 0;
      let t0 = 0;
      let got = 0;
      s.on('connect', () => {
        t0 = performance.now();
        s.write(msg);
      });
      s.on('data', (d) => {
        got += d.length;
        if (got < 16) return;
        got -= 16;
        const t = performance.now();
        lat[i++] = (t - t0) * 1000;
        if (i === count) {
          s.destroy();
          r(lat.sort());
          return;
        }
        t0 = t;
        s.write(msg);
      });
    });
  /** Relays in a line ending at `port`: the first's port and the processes. */
  const relays = async (count, port) => {
    const ps = [];
    for (let i = 0; i < count; i++) {
      const r = await start(['relay', String(port)]);
      ps.unshift(r.p);
      port = r.port;
    }
    return { port, ps };
  };
  /** bpftrace's hop.bt.template on `pids`: stop() resolves to its output. */
  const traceHops = (pids) => {
    const prog = readFileSync(new URL('./hop.bt.template', import.meta.url), 'utf8')
      .replaceAll('WPIDS', pids.map((p) => `args->pid == ${p}`).join(' || '))
      .replaceAll('PIDS', pids.map((p) => `pid == ${p}`).join(' || '));
    const p = spawn('bpftrace', ['-e', prog], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    const done = new Promise((r) => p.on('exit', () => r(out)));
    return () => {
      p.kill('SIGINT');
      return done;
    };
  };
  const res = {};
  for (let round = 0; round < rounds; round++)
    for (const arm of arms.length > 0 ? arms : ['bare']) {
      const procs = [];
      let stop = async () => {};
      let measure;
      let pids;
      if (arm === 'bare' || arm === 'bare-onread') {
        process.env.ONREAD = arm === 'bare-onread' ? '1' : '0';
        const resp = await start(['responder']);
        const line = await relays(nodes, resp.port);
        procs.push(resp.p, ...line.ps);
        pids = line.ps.map((p) => p.pid);
        await run(line.port, 5000);
        measure = async () => {
          const lat = await run(line.port, requests);
          const q = (x) => lat[Math.floor(lat.length * x)];
          return { p50: q(0.5), p90: q(0.9), p99: q(0.99) };
        };
      } else {
        // <dist>: relays (NODES - 1) in front of one Weft node of that build;
        // chain:<dist>: a Weft chain of NODES (as ab-reqrep.mjs).
        const chain = arm.startsWith('chain:');
        const d = resolve(chain ? arm.slice(6) : arm);
        const { startWeft, startWeftChain } = await import(`${d}/bench/servers.js`);
        const { runBench } = await import(`${d}/src/bench/runner.js`);
        const weft = chain
          ? await startWeftChain(`${d}/src/cli/main.js`, nodes, [])
          : [await startWeft(`${d}/src/cli/main.js`, [])];
        stop = () => Promise.all(weft.map((x) => x.stop()));
        const z = weft[weft.length - 1];
        let url = weft[0].url;
        pids = weft.map((x) => x.pid);
        if (!chain) {
          const line = await relays(nodes - 1, z.port);
          procs.push(...line.ps);
          pids = [...line.ps.map((p) => p.pid), ...pids];
          url = `nats://127.0.0.1:${line.port}`;
        }
        const opts = { workload: 'reqrep', server: url, subServer: z.url, size: 16, subs: 1 };
        await runBench({ ...opts, msgs: 5000 });
        measure = async () => (await runBench({ ...opts, msgs: requests })).latency;
      }
      try {
        const bpf = process.env.BPF === '1' ? traceHops(pids) : null;
        if (bpf !== null) await new Promise((r) => setTimeout(r, 1500)); // bpftrace attaches
        const b = pids.map((p) => st(p));
        const l = await measure();
        if (bpf !== null) {
          const out = await bpf();
          console.log(`${arm}: pids ${pids.join(' ')}\n${hopSummary(out)}`);
        }
        const per = pids.map((p, i) => {
          const e = st(p);
          return [(e[0] - b[i][0]) / requests, (e[1] - b[i][1]) / requests];
        });
        console.log(
          `${arm.slice(-24).padEnd(24)} r${round} u/s µs/req ${per.map((p) => `${p[0].toFixed(1)}/${p[1].toFixed(1)}`).join(' ')} p50 ${l.p50.toFixed(0)} p90 ${l.p90.toFixed(0)} p99 ${l.p99.toFixed(0)} load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
        );
        if (res[arm] === undefined) res[arm] = [];
        res[arm].push(l);
      } finally {
        for (const p of procs) p.kill();
        await stop();
      }
    }
  const med = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
  for (const [arm, v] of Object.entries(res)) {
    console.log(
      `${arm} median p50 ${med(v.map((x) => x.p50)).toFixed(0)} p99 ${med(v.map((x) => x.p99)).toFixed(0)}`,
    );
  }
}
