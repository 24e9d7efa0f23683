/**
 * Writer rounds of a Kafka produce run from a syscall timeline of its node:
 *   perf record -e syscalls:sys_enter_read,syscalls:sys_exit_read,syscalls:sys_enter_write,\
 *     syscalls:sys_enter_pwrite64,syscalls:sys_exit_pwrite64,syscalls:sys_enter_pwritev,\
 *     syscalls:sys_exit_pwritev -p <node pid> -o tl.data   (during the run)
 *   perf script -i tl.data -F tid,time,event,trace > tl.txt
 *   node bench/core-tools/kafka-rounds.mjs tl.txt [request bytes] [answer bytes]
 * Rounds are the synced-mark writes (32 B, main thread); requests and
 * answers are counted from the socket's bytes (16,653 and 57 at 1 KiB,
 * 1 partition). bench/PROFILE.md, "Issue 16 — kafka1k (round 7)".
 */
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2] ?? '/tmp/k1tools/tl.txt', 'utf8')
  .trim()
  .split('\n');
const ev = lines
  .map((l) => {
    const m = /^\s*(\d+)\s+([\d.]+):\s+syscalls:(\S+):\s*(.*)$/.exec(l);
    return m && { tid: +m[1], t: +m[2] * 1e6, e: m[3], a: m[4] };
  })
  .filter(Boolean);
const main = ev[0].tid;
const pend = new Map();
const out = [];
for (const x of ev) {
  const g = (k) => {
    const m = new RegExp(k + ': (0x[0-9a-f]+)').exec(x.a);
    return m ? parseInt(m[1], 16) : undefined;
  };
  if (x.e.startsWith('sys_enter')) {
    pend.set(x.tid, {
      x,
      fd: g('fd'),
      cnt: g('count'),
      buf: (/buf: (0x[0-9a-f]+)/.exec(x.a) || [])[1],
    });
    if (x.e === 'sys_enter_write')
      out.push({
        t: x.t,
        end: x.t,
        main: x.tid === main,
        name: 'write',
        fd: g('fd'),
        n: g('count'),
      });
    continue;
  }
  const p = pend.get(x.tid);
  if (!p) continue;
  pend.delete(x.tid);
  out.push({
    t: p.x.t,
    end: x.t,
    main: x.tid === main,
    name: p.x.e.replace('sys_enter_', ''),
    fd: p.fd,
    n: parseInt(x.a.trim(), 16),
    zero: p.buf?.startsWith('0x7f'),
  });
}
out.sort((a, b) => a.t - b.t);
// identify fds: socket = main read fd with n>1000; data = pool pwrite fd; mark = main pwrite64 n=32
const sock = out.find((o) => o.main && o.name === 'read' && o.n > 1000).fd;
const datas = out.filter(
  (o) => !o.main && (o.name === 'pwrite64' || o.name === 'pwritev') && !o.zero && o.n !== 1048576,
);
const marks = out.filter((o) => o.main && o.name === 'pwrite64' && o.n === 32);
const answers = out.filter((o) => o.main && o.name === 'write' && o.fd === sock);
const reads = out.filter((o) => o.main && o.name === 'read' && o.fd === sock);
const REQ = +(process.argv[3] ?? 16653),
  ANS = +(process.argv[4] ?? 57);
const reqBytes = reads.reduce((s, o) => s + o.n, 0);
const span = (out.at(-1).t - out[0].t) / 1e6;
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[s.length >> 1] : NaN;
};
console.log(
  `span ${span.toFixed(2)} s, requests ${(reqBytes / REQ).toFixed(0)}, answers ${answers.reduce((s, o) => s + o.n, 0) / ANS}, answer writes ${answers.length}, data writes ${datas.length}, marks ${marks.length}`,
);
console.log(
  `requests per round ${(reqBytes / REQ / marks.length).toFixed(2)}, data write (O_DSYNC) median ${med(datas.map((d) => d.end - d.t)).toFixed(0)} us`,
);
// per data write: end -> next mark ; mark -> next answer; answer -> next data write start
const gaps = { endToMark: [], markToAnswer: [], answerToNextWrite: [], diskIdle: [] };
for (let i = 0; i < datas.length - 1; i++) {
  const d = datas[i];
  const m = marks.find((x) => x.t >= d.end);
  if (!m) break;
  gaps.endToMark.push(m.t - d.end);
  const a = answers.find((x) => x.t >= m.t);
  if (a) gaps.markToAnswer.push(a.t - m.t);
  const nx = datas[i + 1];
  gaps.diskIdle.push(nx.t - d.end);
  if (a) gaps.answerToNextWrite.push(nx.t - a.t);
}
for (const [k, v] of Object.entries(gaps)) console.log(`${k} median ${med(v).toFixed(0)} us`);
// A request's time in the node, by Little's law: the client's window over the request rate.
const window = Number(process.argv[5] ?? 5);
console.log(
  `request read -> answered, about: ${((window / (reqBytes / REQ / span)) * 1e6).toFixed(0)} us (${window} in flight)`,
);
