/**
 * The timeline of js-pub-async's group-commit rounds, from system calls:
 * starts one node (or nats-server -js), warms it up, runs js-pub-async, and
 * for `traceMs` in the middle of the run records with bpftrace every read,
 * write, pwrite/pwritev and epoll wait of the server (all threads) and of
 * the client (this process), with their start and duration. Then prints:
 * records a round (a round = one segment pwrite/pwritev from a pool thread;
 * the zero fill's writes, multiples of 64 KiB, are counted apart), the
 * write's time, write end -> acks' socket write, write end -> next write,
 * the client's turnaround, read sizes, and how busy the disk was.
 *
 *   node bench/core-tools/js-pub-timeline.mjs <dist> <weft|nats> <size> <msgs> <traceMs> <out.txt> [from-ms n]
 *
 * Needs root and bpftrace. `from-ms n` also prints n events from from-ms
 * into the trace. bench/PROFILE.md, "Issue 16 — jspub (round 12)".
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [dist, side, sizeArg, msgsArg, traceMs, out, from = '0', printN = '0'] =
  process.argv.slice(2);
const size = Number(sizeArg);
const BT = `
tracepoint:syscalls:sys_enter_read, tracepoint:syscalls:sys_enter_readv,
tracepoint:syscalls:sys_enter_write, tracepoint:syscalls:sys_enter_writev,
tracepoint:syscalls:sys_enter_pwrite64, tracepoint:syscalls:sys_enter_pwritev, tracepoint:syscalls:sys_enter_pwritev2
/pid == $1 || pid == $2/ { @fd[tid] = args->fd; @t0[tid] = nsecs; }
tracepoint:syscalls:sys_exit_read, tracepoint:syscalls:sys_exit_readv,
tracepoint:syscalls:sys_exit_write, tracepoint:syscalls:sys_exit_writev,
tracepoint:syscalls:sys_exit_pwrite64, tracepoint:syscalls:sys_exit_pwritev, tracepoint:syscalls:sys_exit_pwritev2
/(pid == $1 || pid == $2) && @t0[tid] != 0/
{ printf("%llu %s %d %d %s %d %llu\\n", @t0[tid], pid == $1 ? "S" : "C", tid, @fd[tid], probe, args->ret, nsecs - @t0[tid]); delete(@t0[tid]); delete(@fd[tid]); }
tracepoint:syscalls:sys_enter_epoll_pwait, tracepoint:syscalls:sys_enter_epoll_wait /pid == $1 || pid == $2/ { @e0[tid] = nsecs; }
tracepoint:syscalls:sys_exit_epoll_pwait, tracepoint:syscalls:sys_exit_epoll_wait
/(pid == $1 || pid == $2) && @e0[tid] != 0/
{ printf("%llu %s %d -1 epoll %d %llu\\n", @e0[tid], pid == $1 ? "S" : "C", tid, args->ret, nsecs - @e0[tid]); delete(@e0[tid]); }
interval:ms:$3 { exit(); }
`;

if (side !== 'analyse') {
  const { startWeft, startNatsJetStream, which } = await import(`${dist}/bench/servers.js`);
  const { warmUpJetStream } = await import(`${dist}/bench/jetstream.js`);
  const { runJetStream } = await import(`${dist}/src/bench/jetstream.js`);
  const { parseServerUrl } = await import(`${dist}/src/bench/protocol.js`);
  const btFile = path.join(os.tmpdir(), `js-pub-timeline-${process.pid}.bt`);
  writeFileSync(btFile, BT);
  const s =
    side === 'nats'
      ? await startNatsJetStream(which('nats-server'))
      : await startWeft(`${dist}/src/cli/main.js`, ['--mesh-port', '-1']);
  try {
    await warmUpJetStream(s.url, 20_000);
    let bt = null;
    let btExit = null;
    const res = await runJetStream('js-pub-async', {
      server: parseServerUrl(s.url),
      msgs: Number(msgsArg),
      size,
      onPhase: (p) => {
        if (p !== 'start') return;
        // Output to a file, not a pipe: reading a pipe here would add work to the client.
        bt = spawn('bpftrace', ['-o', out, btFile, String(s.pid), String(process.pid), traceMs], {
          stdio: 'ignore',
        });
        // Listened for at once: bpftrace may exit before the run ends.
        btExit = once(bt, 'exit');
      },
    });
    console.log(`${side} ${size} B: ${Math.round(res.msgsPerSec)} acks/s (${res.ended})`);
    if (btExit !== null) await btExit;
  } finally {
    await s.stop();
  }
}

// ---- analysis ----
const ev = [];
for (const line of readFileSync(out, 'utf8').split('\n')) {
  const p = line.split(' ');
  if (p.length < 7 || !/^\d+$/.test(p[0])) continue;
  const sc = p[4].replace('tracepoint:syscalls:sys_exit_', '');
  // µs, relative values only (bpftrace's nsecs: CLOCK_MONOTONIC).
  ev.push({
    t: Number(BigInt(p[0]) / 100n) / 10,
    side: p[1],
    tid: Number(p[2]),
    fd: Number(p[3]),
    sc,
    ret: Number(p[5]),
    dur: Number(p[6]) / 1000,
  });
}
ev.sort((a, b) => a.t - b.t);
// A record of a `size`-byte publish on the bench's subject (for the counts).
const recB = size + 53;
const t0 = ev[0].t;
const tStart = t0 + 100e3; // skip the first 100 ms
const sMain = ev.find((e) => e.side === 'S' && e.sc === 'read' && e.ret > 100).tid;
const isW = (e) => e.side === 'S' && (e.sc === 'pwrite64' || e.sc === 'pwritev') && e.tid !== sMain;
const isFill = (e) => isW(e) && e.ret % 65536 === 0;
const isRound = (e) => isW(e) && !isFill(e);
const sRead = (e) => e.side === 'S' && e.tid === sMain && e.sc === 'read' && e.ret > 8;
const sAck = (e) =>
  e.side === 'S' && e.tid === sMain && (e.sc === 'write' || e.sc === 'writev') && e.ret > 8;
const cRead = (e) => e.side === 'C' && e.sc === 'read' && e.ret > 8;
const cWrite = (e) => e.side === 'C' && (e.sc === 'write' || e.sc === 'writev') && e.ret > 8;
const rounds = [];
for (const e of ev) {
  if (isRound(e)) rounds.push({ s: e.t, e: e.t + e.dur, r: Math.round(e.ret / recB) });
  else if (sAck(e)) {
    const last = rounds.at(-1);
    if (last && last.ack === undefined && e.t >= last.e) last.ack = e.t;
  }
}
const rs = rounds.filter((r) => r.s >= tStart && r.ack !== undefined);
const q = (xs, f) => [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))];
const stat = (name, xs) =>
  xs.length > 0 &&
  console.log(
    `${name.padEnd(36)} p10 ${q(xs, 0.1).toFixed(0)}  p50 ${q(xs, 0.5).toFixed(0)}  p90 ${q(xs, 0.9).toFixed(0)}  mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)}`,
  );
if (rs.length > 1) {
  const span = (rs.at(-1).e - rs[0].s) / 1e6;
  console.log(
    `rounds ${rs.length} in ${span.toFixed(3)} s, ${Math.round(rs.reduce((a, r) => a + r.r, 0) / span)} records/s`,
  );
  stat(
    'records a round',
    rs.map((r) => r.r),
  );
  stat(
    'write µs',
    rs.map((r) => r.e - r.s),
  );
  stat(
    'write end -> acks socket write µs',
    rs.map((r) => r.ack - r.e),
  );
  stat(
    'write end -> next write start µs',
    rs.slice(1).map((r, i) => r.s - rs[i].e),
  );
}
const after = ev.filter((e) => e.t >= tStart);
const cev = after.filter((e) => cRead(e) || cWrite(e));
const turn = [];
for (let i = 1; i < cev.length; i++)
  if (cRead(cev[i - 1]) && cWrite(cev[i])) turn.push(cev[i].t - (cev[i - 1].t + cev[i - 1].dur));
stat('client: acks read -> pubs write µs', turn);
stat(
  'server read bytes',
  after.filter(sRead).map((e) => e.ret),
);
stat(
  'client write bytes',
  cev.filter(cWrite).map((e) => e.ret),
);
stat(
  'server acks write bytes',
  after.filter(sAck).map((e) => e.ret),
);
const spanAll = (ev.at(-1).t - tStart) / 1e6;
const sum = (xs) => xs.reduce((a, e) => a + e.dur, 0) / 1e6;
const ws = after.filter(isW);
if (ws.length > 0)
  console.log(
    `disk busy ${((100 * sum(ws)) / spanAll).toFixed(1)} % (rounds ${((100 * sum(ws.filter(isRound))) / spanAll).toFixed(1)} %, zero fill ${((100 * sum(ws.filter(isFill))) / spanAll).toFixed(1)} % in ${ws.filter(isFill).length} writes)`,
  );
let k = 0;
for (const e of ev) {
  if (e.t - t0 < Number(from) * 1000 || k++ >= Number(printN)) continue;
  const who = e.side === 'S' ? (e.tid === sMain ? 'S main' : `S ${e.tid}`) : 'C';
  console.log(
    `${(e.t - t0).toFixed(1).padStart(10)} ${who.padEnd(8)} ${String(e.fd).padStart(3)} ${e.sc.padEnd(9)} ${String(e.ret).padStart(7)} ${e.dur.toFixed(1)}`,
  );
}
