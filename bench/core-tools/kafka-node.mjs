/**
 * What the Kafka measuring tools share: a fresh node with a Kafka port
 * (extra flags as given), ready once its first topic could be made; and
 * a process's or thread's CPU seconds from /proc.
 */
import { readFileSync } from 'node:fs';

/**
 * Starts `mainJs` with a Kafka port and makes topic `topic` (`partitions`
 * partitions), retrying while the face is not listening yet (5 s at most).
 * Returns the node (from `<dist>/bench/servers.js` `startWeft`) and the
 * `{host, port}` a Kafka client dials.
 */
export async function startKafkaNode(dist, mainJs, extraArgs, topic = 'warm', partitions = 1) {
  const { startWeft, freePort } = await import(`${dist}/bench/servers.js`);
  const { createTopic } = await import(`${dist}/src/bench/kafka-runner.js`);
  const port = await freePort();
  const node = await startWeft(mainJs, [
    '--mesh-port',
    '-1',
    '--kafka-port',
    String(port),
    ...extraArgs,
  ]);
  const server = { host: '127.0.0.1', port };
  for (let i = 0; ; i++) {
    try {
      await createTopic(server, topic, partitions);
      break;
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { node, server };
}

/** The flags in an environment variable's value, split on spaces. */
export const argsOf = (value) => (value ?? '').split(' ').filter(Boolean);

/** CPU seconds (user + system) of a process, or of one of its threads with `tid`. */
export function cpuSeconds(pid, tid) {
  const f = readFileSync(
    tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
    'utf8',
  );
  const g = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(g[11]) + Number(g[12])) / 100;
}

/**
 * The measured run of kafka-drive and kafka-threads: `msgs` records of `size`
 * bytes produced to topic `bench` (`parts` partitions, `acks`; numbers or
 * their command-line text), or with $JS set JetStream async publish of the
 * same size with the producer's window (the row's yardstick). Returns the
 * runner's result.
 */
export async function runMeasured(dist, node, server, { msgs, size, parts, acks }) {
  const { runKafkaProduce, producerWindow } = await import(`${dist}/src/bench/kafka-runner.js`);
  const [m, z, p, a] = [msgs, size, parts, acks].map(Number);
  if (process.env.JS) {
    const { runJetStream } = await import(`${dist}/src/bench/jetstream.js`);
    const { parseServerUrl } = await import(`${dist}/src/bench/protocol.js`);
    return runJetStream('js-pub-async', {
      server: parseServerUrl(node.url),
      msgs: m,
      size: z,
      window: producerWindow(z, p),
    });
  }
  return runKafkaProduce({ server, topic: 'bench', partitions: p, msgs: m, size: z, acks: a });
}
