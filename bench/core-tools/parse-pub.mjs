/**
 * The NATS parser alone: CPU ns per 16 B PUB frame (the benchmark's subject
 * length), fed in 64 KiB reads, six measurements after a warm-up.
 *   node bench/core-tools/parse-pub.mjs <dist> [slow]   (slow: fast path off)
 */
import path from 'node:path';

const [dist, mode] = process.argv.slice(2);
const { NatsParser } = await import(path.resolve(dist, 'src/protocols/nats/parser.js'));
const frame = Buffer.from('PUB weft.bench.pub.12345.abcdefgh 16\r\n0123456789abcdef\r\n');
const N = 4_000_000;
const big = Buffer.alloc(frame.length * 20000);
for (let i = 0; i < 20000; i++) frame.copy(big, i * frame.length);
const reads = [];
for (let o = 0; o < big.length; o += 65536) reads.push(big.subarray(o, o + 65536));
const h = {
  onConnect() {},
  onPub() {},
  onSub() {},
  onUnsub() {},
  onPing() {},
  onPong() {},
  onRefused() {},
};
const p = new NatsParser(
  h,
  { maxPayload: 1 << 20, maxControlLine: 4096 },
  { fastPub: mode !== 'slow' },
);
const rounds = Math.ceil(N / 20000);
for (let w = 0; w < 6; w++) {
  const t0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) for (const c of reads) p.feed(c);
  const t = process.cpuUsage(t0);
  console.log(
    `${dist} ${mode ?? ''}: ${(((t.user + t.system) * 1000) / (rounds * 20000)).toFixed(1)} ns/frame`,
  );
}
