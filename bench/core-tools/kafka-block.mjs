/**
 * compare.js's Kafka produce sequence on one node, run by run: for each
 * size and partition count, JetStream async publish (the producer's window),
 * then the acks=1 and acks=all Kafka rows, then JetStream again (the order
 * before the rows got their own brackets); each run's rate, the node's CPU µs
 * per record and its RSS. Shows how a write-heavy run's rate drifts within
 * a block: bench/PROFILE.md, "the Kafka rows' bracket".
 *   ONLY=1024-8,... node bench/core-tools/kafka-block.mjs [dist]
 */
import { readFileSync } from 'node:fs';
import { cpuSeconds, startKafkaNode } from './kafka-node.mjs';

const dist = process.argv[2] ?? `${process.cwd()}/dist`;
const only = (process.env.ONLY ?? '').split(',').filter(Boolean);
const { createTopic, runKafkaProduce, producerWindow } = await import(
  `${dist}/src/bench/kafka-runner.js`
);
const { runJetStream } = await import(`${dist}/src/bench/jetstream.js`);
const { parseServerUrl } = await import(`${dist}/src/bench/protocol.js`);
const { node, server } = await startKafkaNode(dist, `${dist}/src/cli/main.js`, []);
const nats = parseServerUrl(node.url);
const rssMiB = () =>
  Math.round(
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${node.pid}/status`, 'utf8'))[1]) / 1024,
  );
await runKafkaProduce({ server, topic: 'warm', partitions: 1, msgs: 20000, size: 100, acks: 1 });
await runJetStream('js-pub-async', { server: nats, msgs: 20000, size: 100, window: 256 });

async function measure(label, records, run) {
  const a = cpuSeconds(node.pid);
  const r = await run();
  const us = ((cpuSeconds(node.pid) - a) * 1e6) / records;
  console.log(
    `${label.padEnd(24)} ${String(Math.round(r.msgsPerSec)).padStart(8)} /s  ${us.toFixed(2)} µs CPU a record  RSS ${rssMiB()} MiB`,
  );
}

let n = 0;
for (const [size, parts] of [
  [100, 1],
  [100, 8],
  [1024, 1],
  [1024, 8],
]) {
  if (only.length > 0 && !only.includes(`${size}-${parts}`)) continue;
  const msgs = size === 100 ? 1_000_000 : 250_000;
  const window = producerWindow(size, parts);
  const js = () => runJetStream('js-pub-async', { server: nats, msgs, size, window });
  await measure(`js ${size} B p${parts}`, msgs, js);
  for (const acks of [1, -1]) {
    const topic = `t${n++}`;
    await createTopic(server, topic, parts);
    await measure(`kafka ${size} B p${parts} acks ${acks}`, msgs, () =>
      runKafkaProduce({ server, topic, partitions: parts, msgs, size, acks }),
    );
  }
  await measure(`js ${size} B p${parts}`, msgs, js);
}
await node.stop();
