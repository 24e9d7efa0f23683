// Server CPU per js-pub-async message by thread (main user/sys, other threads
// user/sys), builds interleaved round by round, one node per side:
//   node bench/core-tools/js-pub-split.mjs base=<main.js> new=<main.js> --size 16 --msgs 200000 --rounds 6 [--args "..."]
// (jspub3's round-9 script, pointed at this tree's generator.)
import { threadTimes } from './proc-threads.mjs';

const D = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const { runJetStream } = await import(`${D}/src/bench/jetstream.js`);
const { parseServerUrl } = await import(`${D}/src/bench/protocol.js`);
const { startWeft } = await import(`${D}/bench/servers.js`);
const a = process.argv.slice(2);
const kv = Object.fromEntries(
  a.filter((x) => x.includes('=') && !x.startsWith('--')).map((x) => x.split('=')),
);
const opt = (n, d) => {
  const i = a.indexOf(n);
  return i < 0 ? d : a[i + 1];
};
const size = Number(opt('--size', 16)),
  msgs = Number(opt('--msgs', 200000)),
  rounds = Number(opt('--rounds', 6));
const extra = opt('--args', '').split(' ').filter(Boolean);
const names = Object.keys(kv);
const servers = [];
for (const n of names) servers.push(await startWeft(kv[n], ['--mesh-port', '-1', ...extra], n));
function snap(pid) {
  const r = { mu: 0, ms: 0, ou: 0, os: 0 };
  for (const [t, { u, s }] of threadTimes(pid)) {
    if (t === pid) {
      r.mu += u;
      r.ms += s;
    } else {
      r.ou += u;
      r.os += s;
    }
  }
  return r;
}
const res = {};
try {
  for (const s of servers)
    await runJetStream('js-pub-async', { server: parseServerUrl(s.url), msgs: 20000, size });
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...servers.keys()].reverse() : [...servers.keys()];
    for (const i of order) {
      const s = servers[i];
      let c0, c1;
      const out = await runJetStream('js-pub-async', {
        server: parseServerUrl(s.url),
        msgs,
        size,
        onPhase: (p) => {
          if (p === 'start') c0 = snap(s.pid);
          else c1 = snap(s.pid);
        },
      });
      const k = (x) => ((c1[x] - c0[x]) * 1e6) / out.done;
      const row = {
        tot: k('mu') + k('ms') + k('ou') + k('os'),
        mu: k('mu'),
        ms: k('ms'),
        ou: k('ou'),
        os: k('os'),
        rate: out.msgsPerSec,
      };
      res[names[i]] ??= [];
      res[names[i]].push(row);
      console.log(
        r + 1,
        names[i],
        Object.entries(row)
          .map(([a, b]) => `${a} ${b.toFixed(a === 'rate' ? 0 : 2)}`)
          .join(' '),
      );
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (const n of names) {
  const L = res[n];
  console.log(
    n,
    ['tot', 'mu', 'ms', 'ou', 'os', 'rate']
      .map(
        (x) =>
          `${x} ${med(L.map((y) => y[x])).toFixed(x === 'rate' ? 0 : 2)} (${Math.min(...L.map((y) => y[x])).toFixed(2)}–${Math.max(...L.map((y) => y[x])).toFixed(2)})`,
      )
      .join('  '),
  );
}
