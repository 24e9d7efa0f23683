// js-pub-async on a FRESH node per side and round (the page cache and the
// balloon's free-page reporting make a node's later runs slower than its
// first: HELPERS.md), sides in a rotating order (each side each place in turn), each a build and its own
// server arguments:
//   node bench/core-tools/js-pub-fill.mjs 'fill=<main.js>' 'off=<other main.js>|<args>' \
//     --size 1024 --msgs 100000 --rounds 6 [--window 256]
// Per round and side: msgs/s, server CPU µs per message (main thread user+sys,
// the rest), and /dev/vda's sectors written (MB), write requests and flushes
// over the measured run (the disk is shared: other processes' I/O counts too).
// Prints medians (min–max) per side. bench/PROFILE.md, "Issue 16 — jsfill (round 15)".
import { readFileSync } from 'node:fs';
import { threadTimes } from './proc-threads.mjs';
import { jsSides } from './side-args.mjs';

const { runJetStream, parseServerUrl, startWeft, opt, sides, size, msgs, rounds } = await jsSides(
  process.argv.slice(2),
);
const window = Number(opt('--window', 256));
const dev = opt('--dev', 'vda');

/** /proc/diskstats of `dev`: sectors written, write requests, flushes. */
function disk() {
  const l = readFileSync('/proc/diskstats', 'utf8')
    .split('\n')
    .find((x) => x.trim().split(/\s+/)[2] === dev)
    .trim()
    .split(/\s+/);
  return { sect: Number(l[9]), w: Number(l[7]), fl: Number(l[18] ?? 0) };
}
function cpu(pid) {
  let main = 0;
  let rest = 0;
  for (const [t, v] of threadTimes(pid)) {
    if (t === pid) main += v.u + v.s;
    else rest += v.u + v.s;
  }
  return { main, rest };
}

const res = {};
for (let r = 0; r < rounds; r++) {
  const n = sides.length;
  // Rotated: each side takes each place in turn (with two, they alternate).
  const order = sides.map((_, i) => sides[(i + r) % n]);
  for (const s of order) {
    const proc = await startWeft(s.main, ['--mesh-port', '-1', ...s.args], s.name);
    try {
      const url = parseServerUrl(proc.url);
      await runJetStream('js-pub-async', { server: url, msgs: 20000, size, window });
      let c0;
      let c1;
      let d0;
      let d1;
      const out = await runJetStream('js-pub-async', {
        server: url,
        msgs,
        size,
        window,
        onPhase: (p) => {
          if (p === 'start') {
            c0 = cpu(proc.pid);
            d0 = disk();
          } else {
            c1 = cpu(proc.pid);
            d1 = disk();
          }
        },
      });
      const k = 1e6 / out.done;
      const row = {
        rate: out.msgsPerSec,
        cpu: (c1.main + c1.rest - c0.main - c0.rest) * k,
        main: (c1.main - c0.main) * k,
        rest: (c1.rest - c0.rest) * k,
        MB: (d1.sect - d0.sect) / 2048,
        writes: d1.w - d0.w,
        flushes: d1.fl - d0.fl,
      };
      if (res[s.name] === undefined) res[s.name] = [];
      res[s.name].push(row);
      console.log(
        r + 1,
        s.name.padEnd(8),
        Object.entries(row)
          .map(
            ([x, y]) =>
              `${x} ${y.toFixed(x === 'rate' || x === 'writes' || x === 'flushes' || x === 'MB' ? 0 : 2)}`,
          )
          .join(' '),
      );
    } finally {
      await proc.stop();
    }
  }
}
const med = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f = (xs, d) =>
  `${med(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
console.log(
  `\n${msgs} × ${size} B, window ${window}, ${rounds} rounds, fresh node per side and round`,
);
console.log('| side | msgs/s | µs CPU/msg | main | rest | MB written | writes | flushes |');
console.log('|---|--:|--:|--:|--:|--:|--:|--:|');
for (const s of sides) {
  const rs = res[s.name];
  const col = (k, d) =>
    f(
      rs.map((x) => x[k]),
      d,
    );
  console.log(
    `| ${s.name} | ${col('rate', 0)} | ${col('cpu', 2)} | ${med(rs.map((x) => x.main)).toFixed(2)} | ${med(rs.map((x) => x.rest)).toFixed(2)} | ${med(rs.map((x) => x.MB)).toFixed(0)} | ${med(rs.map((x) => x.writes)).toFixed(0)} | ${med(rs.map((x) => x.flushes)).toFixed(0)} |`,
  );
}
