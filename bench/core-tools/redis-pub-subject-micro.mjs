// node bench/core-tools/redis-pub-subject-micro.mjs <dist>: ns per PUBLISH for the channel check (PublishCache.subjectOf hit + the reserved-subject verdict), 12-byte channel in a read of 64 PUBLISHes (bench/PROFILE.md, "Issue 16 — rpub (round 13)")
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2]);
const { PublishCache } = await import(
  pathToFileURL(path.join(dist, 'src/protocols/redis/publish.js')).href
);
const { reservedSubject } = await import(
  pathToFileURL(path.join(dist, 'src/auth/reserved.js')).href
);
const ch = 'bench.123456';
const cmd = `*3\r\n$7\r\nPUBLISH\r\n$${ch.length}\r\n${ch}\r\n$16\r\n0123456789abcdef\r\n`;
const buf = Buffer.from(cmd.repeat(64));
const starts = [];
for (let i = 0; i < 64; i++) starts.push(i * cmd.length + 22);
const c = new PublishCache();
let k = 0;
function run(N) {
  for (let i = 0; i < N; i++) {
    const s = starts[i & 63];
    const subj = c.subjectOf(buf, s, s + ch.length);
    if (c.reserved === undefined ? reservedSubject(subj) : c.reserved) k++;
    k += subj.length;
  }
}
run(2e6);
const res = [];
for (let r = 0; r < 7; r++) {
  const t = process.cpuUsage();
  run(5e6);
  const u = process.cpuUsage(t);
  res.push(((u.user + u.system) * 1000) / 5e6);
}
res.sort((a, b) => a - b);
console.log(
  `${process.argv[2]}: ${res.map((x) => x.toFixed(1)).join(' ')} ns; median ${res[3].toFixed(1)} (${k})`,
);
