/**
 * The Kafka load generator's own CPU per record, A/B between two builds'
 * src/bench/kafka-runner.js, against one Weft node (the first build's
 * main.js, `--sync-interval 2m` unless WEFT_ARGS is set). Each run is a fresh
 * child process (20,000-record warm-up, then the measured run); sides
 * alternate round by round; prints medians (min–max) of the child's
 * process.cpuUsage() µs per record. PROF=dir: the child runs with
 * --cpu-prof into dir (profile-self.mjs / profile-incl.mjs read it).
 *   node bench/core-tools/kafka-gen-ab.mjs <distA> <distB> <size> <msgs> <rounds> [partitions] [acks]
 * bench/PROFILE.md, "Issue 16 — kgen (round 11)".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { argsOf, startKafkaNode } from './kafka-node.mjs';

const me = fileURLToPath(import.meta.url);
if (process.argv[2] === 'one') {
  const [, , , dist, port, topic, size, msgs, parts, acks] = process.argv;
  const { runKafkaProduce } = await import(`${dist}/src/bench/kafka-runner.js`);
  const server = { host: '127.0.0.1', port: Number(port) };
  const o = { server, topic, partitions: Number(parts), size: Number(size), acks: Number(acks) };
  await runKafkaProduce({ ...o, msgs: 20000 });
  const c0 = process.cpuUsage();
  const r = await runKafkaProduce({ ...o, msgs: Number(msgs) });
  const c = process.cpuUsage(c0);
  if (!r.complete) throw new Error(`run ${r.ended}: ${r.errors.join('; ')}`);
  console.log(
    JSON.stringify({
      us: (c.user + c.system) / r.done,
      sys: c.system / r.done,
      rate: r.msgsPerSec,
      req: r.requests,
    }),
  );
  process.exit(0);
}
const [distA, distB, size = '1024', msgs = '100000', roundsS = '4', parts = '1', acks = '1'] =
  process.argv.slice(2);
const { createTopic } = await import(`${distA}/src/bench/kafka-runner.js`);
const { node, server } = await startKafkaNode(
  distA,
  `${distA}/src/cli/main.js`,
  argsOf(process.env.WEFT_ARGS ?? '--sync-interval 2m'),
  'warm0',
  Number(parts),
);
const sides = [
  ['A', distA],
  ['B', distB],
];
const got = { A: [], B: [] };
let t = 0;
try {
  for (let r = 0; r < Number(roundsS); r++) {
    for (const [name, dist] of r % 2 ? [...sides].reverse() : sides) {
      const topic = `t${t++}`;
      await createTopic(server, topic, Number(parts));
      const args = [me, 'one', dist, String(server.port), topic, size, msgs, parts, acks];
      if (process.env.PROF)
        args.unshift('--cpu-prof', `--cpu-prof-dir=${process.env.PROF}/${name}`);
      const out = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim());
      got[name].push(out);
      console.log(
        name,
        out.us.toFixed(2),
        'us/rec',
        Math.round(out.rate),
        '/s',
        'load',
        readFileSync('/proc/loadavg', 'utf8').split(' ')[0],
      );
    }
  }
} finally {
  await node.stop();
}
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (const n of ['A', 'B']) {
  const us = got[n].map((x) => x.us);
  const rate = got[n].map((x) => x.rate);
  const sys = got[n].map((x) => x.sys);
  console.log(
    `${n} ${size} B p${parts} acks=${acks}: ${med(us).toFixed(2)} (${Math.min(...us).toFixed(2)}–${Math.max(...us).toFixed(2)}) us/rec (sys ${med(sys).toFixed(2)}); ${Math.round(med(rate))} rec/s`,
  );
}
