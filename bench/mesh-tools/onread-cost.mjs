/**
 * What a read costs a dialled socket, 'data' against `onread` (the slab
 * reader of src/connection/slab-reader.ts), in CPU of the reading thread:
 *   ROUNDS=10 node bench/mesh-tools/onread-cost.mjs <trips> <dist>
 * An echo server runs in a child process; this process dials it and sends
 * a 48-byte message, waits for its echo, and sends the next (ping-pong, one
 * read and one write per trip, as a mesh hop at request-reply rates). Per
 * round and arm (interleaved: data, slab): the main thread's CPU per trip
 * (/proc/self/task/<pid>/schedstat, ns) and the trip's p50; then the medians
 * and min–max per arm. ARMS=data,slab,direct adds `direct`: the slab
 * reader, and writes handed to the socket's handle below Node's Writable
 * (a WriteWrap from the deprecated process.binding('stream_wrap'); a
 * measurement of what the write path costs, not something Weft does).
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';

if (process.argv[2] === 'echo') {
  const server = net.createServer({ noDelay: true }, (s) => s.on('data', (d) => s.write(d)));
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else {
  const trips = Number(process.argv[2] ?? 20000);
  const dist = resolve(process.argv[3] ?? 'dist');
  const { SlabReader } = await import(`${dist}/src/connection/slab-reader.js`);
  const rounds = Number(process.env.ROUNDS ?? 6);
  const child = fork(new URL(import.meta.url).pathname, ['echo']);
  const port = await new Promise((r) => child.once('message', r));
  const sched = () =>
    Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  const msg = Buffer.alloc(48, 120);
  const run = (arm) =>
    new Promise((done) => {
      let sock;
      let n = 0;
      let t0 = 0;
      let c0 = 0;
      const lat = new Float64Array(trips);
      let sent = 0n;
      const direct = arm === 'direct' ? process.binding('stream_wrap').WriteWrap : null;
      const send = () => {
        if (direct === null) {
          sock.write(msg);
          return;
        }
        // Every write here completes at once (one small message in flight).
        const req = new direct();
        req.handle = sock._handle;
        req.oncomplete = () => {};
        req.async = false;
        req.bytes = 0;
        req.buffer = msg;
        const err = sock._handle.writeBuffer(req, msg);
        if (err !== 0) throw new Error(`write ${err}`);
      };
      const onChunk = () => {
        if (n >= 0 && n < trips) lat[n] = Number(process.hrtime.bigint() - sent);
        n++;
        if (n === 0) {
          t0 = performance.now();
          c0 = sched();
        }
        if (n === trips) {
          const cpu = (sched() - c0) / trips / 1e3;
          lat.sort();
          sock.destroy();
          done({ cpu, p50: lat[trips >> 1] / 1e3, ms: performance.now() - t0 });
          return;
        }
        sent = process.hrtime.bigint();
        send();
      };
      n = -2000; // warm-up trips first
      if (arm !== 'data') {
        const reader = new SlabReader();
        sock = reader.bind(
          net.connect({ port, host: '127.0.0.1', noDelay: true, onread: reader.onread }),
        );
        reader.attach(onChunk);
      } else {
        sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
        sock.on('data', onChunk);
      }
      sock.once('connect', () => {
        sent = process.hrtime.bigint();
        sock.write(msg);
      });
    });
  const arms = (process.env.ARMS ?? 'data,slab').split(',');
  const res = Object.fromEntries(arms.map((a) => [a, []]));
  for (let r = 0; r < rounds; r++)
    for (const arm of r % 2 === 0 ? arms : [...arms].reverse()) {
      const x = await run(arm);
      res[arm].push(x);
      console.log(
        `${arm.padEnd(5)} r${r} cpu ${x.cpu.toFixed(2)} µs/trip p50 ${x.p50.toFixed(1)} µs load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
      );
    }
  const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  for (const [arm, v] of Object.entries(res)) {
    const c = v.map((x) => x.cpu);
    const p = v.map((x) => x.p50);
    console.log(
      `${arm}: cpu median ${med(c).toFixed(2)} (${Math.min(...c).toFixed(2)}–${Math.max(...c).toFixed(2)}) µs/trip, p50 median ${med(p).toFixed(1)} (${Math.min(...p).toFixed(1)}–${Math.max(...p).toFixed(1)}) µs`,
    );
  }
  child.kill();
}
