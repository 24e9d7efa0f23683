/**
 * A link's FrameParser + MSG decoder in process, CPU ns per frame: 900
 * frames of 16 B with the same head in one 62 KB read, fed 5,000 times
 * after a warm-up. node bench/mesh-tools/decode-frames.mjs [dist]
 */
import { resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
const { writeMsgHead, FrameParser } = await import(`${dist}/src/mesh/frames.js`);
const subject = 'bench.pubsub.aaaaaaaaaaaaaaaa';
const dests = [{ node: 'c', plain: true, queues: [] }];
const payload = Buffer.alloc(16, 120);
const one = Buffer.alloc(200);
const end = writeMsgHead(one, 0, 4, '$G', subject, '', dests, 0, 16, '');
payload.copy(one, end);
const f = one.subarray(0, end + 16);
const N = 900;
const buf = Buffer.concat(Array(N).fill(f));
let n = 0;
const p = new FrameParser(
  {
    onMsg(fr) {
      n += fr.ttl;
    },
    onControl() {},
  },
  1 << 20,
);
for (let w = 0; w < 2000; w++) p.feed(buf);
const t = process.cpuUsage();
const R = 5000;
for (let r = 0; r < R; r++) p.feed(buf);
const u = process.cpuUsage(t);
const ns = ((u.user + u.system) * 1000) / (R * N);
console.log(dist, 'frame bytes', f.length, 'ns/frame', ns.toFixed(1), n > 0);
