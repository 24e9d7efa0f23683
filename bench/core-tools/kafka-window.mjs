/**
 * JetStream async publish 1 KiB with 80 publishes in flight (what the Kafka
 * producer of the kafka-produce rows holds: 5 requests × 16 records) and
 * with 256 (the rows' yardstick), beside Kafka produce 1 partition acks=1,
 * on one node per round, interleaved; records/s and main-thread µs/record.
 *   node bench/core-tools/kafka-window.mjs <dist> [msgs] [rounds]
 * bench/PROFILE.md, "Issue 16 — kafka4 (round 10)".
 */
import { cpuSeconds, startKafkaNode } from './kafka-node.mjs';

const dist = process.argv[2];
const msgs = Number(process.argv[3] ?? 60000);
const rounds = Number(process.argv[4] ?? 3);
const { runJetStream } = await import(`${dist}/src/bench/jetstream.js`);
const { createTopic, runKafkaProduce } = await import(`${dist}/src/bench/kafka-runner.js`);
const { parseServerUrl } = await import(`${dist}/src/bench/protocol.js`);
const cpuOf = (pid) => cpuSeconds(pid, pid);
const out = {};
for (let r = 0; r < rounds; r++) {
  const { node, server } = await startKafkaNode(dist, `${dist}/src/cli/main.js`, []);
  await runKafkaProduce({ server, topic: 'warm', partitions: 1, msgs: 20000, size: 1024, acks: 1 });
  await createTopic(server, 'bench', 1);
  const cases = [
    [
      'js w256',
      () =>
        runJetStream('js-pub-async', {
          server: parseServerUrl(node.url),
          msgs,
          size: 1024,
          window: 256,
        }),
    ],
    [
      'js w80',
      () =>
        runJetStream('js-pub-async', {
          server: parseServerUrl(node.url),
          msgs,
          size: 1024,
          window: 80,
        }),
    ],
    [
      'kafka p1',
      () => runKafkaProduce({ server, topic: 'bench', partitions: 1, msgs, size: 1024, acks: 1 }),
    ],
  ];
  if (r % 2) cases.reverse();
  for (const [name, fn] of cases) {
    const c0 = cpuOf(node.pid);
    const t0 = performance.now();
    await fn();
    const s = (performance.now() - t0) / 1000;
    const c = cpuOf(node.pid) - c0;
    out[name] ??= [];
    out[name].push([msgs / s, (c * 1e6) / msgs]);
  }
  await node.stop();
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [k, v] of Object.entries(out))
  console.log(
    k,
    'records/s',
    v.map((x) => Math.round(x[0])).join(' '),
    'median',
    Math.round(med(v.map((x) => x[0]))),
    '| main µs',
    med(v.map((x) => x[1])).toFixed(2),
  );
