// The RESP reader alone on a group consumer's commands: XREADGROUP (9
// arguments) and XACK of 10 IDs (13) alternately, each pushed as a
// transient read (the shared read buffer) and released: CPU ns per
// command (process.cpuUsage), medians of 5. Run two builds in turn:
//   node bench/core-tools/redis-parse-micro.mjs <dist>
// (bench/PROFILE.md, "Issue 16 — rgroup6 (round 12)").
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2]);
const { RespReader } = await import(
  pathToFileURL(path.join(dist, 'src/protocols/redis/parser.js')).href
);
const xrg =
  '*9\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n$2\r\nc1\r\n$5\r\nCOUNT\r\n$2\r\n10\r\n$7\r\nSTREAMS\r\n$5\r\nbench\r\n$1\r\n>\r\n';
const ids = Array.from({ length: 10 }, (_, i) => `1733550000123-${i}`);
const xack = `*13\r\n$4\r\nXACK\r\n$5\r\nbench\r\n$1\r\ng\r\n${ids.map((s) => `$${s.length}\r\n${s}\r\n`).join('')}`;
const reads = [Buffer.from(xrg), Buffer.from(xack)];
const r = new RespReader();
let args = 0;
function run(N) {
  for (let i = 0; i < N; i++) {
    const b = Buffer.from(reads[i & 1]);
    r.push(b, true);
    const c = r.next();
    args += c.length;
    r.release();
  }
}
run(200000);
const res = [];
for (let k = 0; k < 5; k++) {
  const c0 = process.cpuUsage();
  run(400000);
  const c = process.cpuUsage(c0);
  res.push(((c.user + c.system) * 1000) / 400000);
}
res.sort((a, b) => a - b);
console.log(
  `${dist}: ${res[2].toFixed(0)} ns per command (${res[0].toFixed(0)}-${res[4].toFixed(0)}), ${args} arguments read`,
);
