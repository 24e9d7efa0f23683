/**
 * The Kafka part of `npm run bench` (issue 14): Weft's Kafka face driven by
 * a raw-protocol producer and consumer over Weft's own codec
 * (src/bench/kafka-runner.ts; kafkajs is too slow to be the yardstick),
 * compared in the same run with JetStream async publish and a pull consumer
 * of the same records through the NATS face of the same node
 * (src/bench/jetstream.ts). Both faces run under Weft's default sync policy:
 * a publish or produce is acknowledged once fsynced (group commit).
 *
 * There is no Kafka broker on these machines; Apache Kafka's and Redpanda's
 * published figures are quoted in BENCHMARKS.md for context.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { type JsResult, runJetStream } from '../src/bench/jetstream.js';
import { type CodecResult, runKafkaCodecBench } from '../src/bench/kafka-codec-bench.js';
import { RawKafkaClient } from '../src/bench/kafka-conn.js';
import { type KafkaGroupResult, runKafkaGroupConsume } from '../src/bench/kafka-group.js';
import {
  createTopic,
  type KafkaAddress,
  type KafkaResult,
  producerWindow,
  runKafkaConsume,
  runKafkaProduce,
} from '../src/bench/kafka-runner.js';
import { parseServerUrl } from '../src/bench/protocol.js';
import { markdownTable } from '../src/bench/report.js';
import { int, si } from '../src/bench/stats.js';
import { freePort, type ServerProc, startWeft } from './servers.js';

export const KAFKA_IDS: string[] = ['kafka-produce', 'kafka-consume', 'kafka-group', 'kafka-codec'];

interface ProduceCase {
  key: string;
  size: number;
  acks: 1 | -1;
  partitions: number;
}

const PRODUCE_CASES: ProduceCase[] = [];
for (const size of [100, 1024]) {
  for (const acks of [1, -1] as const) {
    for (const partitions of [1, 8])
      PRODUCE_CASES.push({
        key: `kafka-produce-${size}-acks${acks === 1 ? '1' : 'all'}-p${partitions}`,
        size,
        acks,
        partitions,
      });
  }
}

/** The row label of a Kafka produce or consume key (the key itself when unknown). */
export function kafkaLabel(key: string): string {
  const produce = /^kafka-produce-(\d+)-acks(1|all)-p(\d+)$/.exec(key);
  if (produce) {
    const size = produce[1] === '1024' ? '1 KiB' : `${produce[1]} B`;
    return `Kafka produce ${size}, acks=${produce[2]}, ${produce[3]} partition(s)`;
  }
  const consume = /^kafka-consume-(\d+)-p(\d+)$/.exec(key);
  if (consume) return `Kafka fetch ${consume[1]} B, ${consume[2]} partition(s)`;
  return key;
}

/** The share of --kafka-msgs a size produces (1 KiB rows move 10× the bytes). */
const SCALE: Record<number, number> = { 100: 1, 1024: 0.25 };

export interface KafkaMeasured {
  msgs: number;
  produce: Record<string, KafkaResult>;
  consume: Record<string, KafkaResult>;
  js: Record<string, JsResult>;
  group?: KafkaGroupResult;
  codec: CodecResult[];
  notes: string[];
}

export interface KafkaRunOptions {
  mainJs: string;
  msgs: number;
  only: string[];
  problems: string[];
  log: (line: string) => void;
  status: (text: string) => void;
  clearStatus: () => void;
  live: boolean;
}

const topicOf = (c: ProduceCase) =>
  `bench-${c.size}-${c.acks === 1 ? 'acks1' : 'acksall'}-p${c.partitions}`;

export async function runKafkaCompare(o: KafkaRunOptions): Promise<KafkaMeasured> {
  const m: KafkaMeasured = { msgs: o.msgs, produce: {}, consume: {}, js: {}, codec: [], notes: [] };
  if (o.only.includes('kafka-codec')) {
    m.codec = runKafkaCodecBench();
    for (const r of m.codec) o.log(`kafka-codec ${r.name.padEnd(46)} ${si(r.perSec)} ${r.unit}/s`);
  }
  const consuming = o.only.includes('kafka-consume') || o.only.includes('kafka-group');
  if (!o.only.includes('kafka-produce') && !consuming) return m;
  let weft: ServerProc | undefined;
  try {
    const kafkaPort = await freePort();
    weft = await startWeft(
      o.mainJs,
      ['--mesh-port', '-1', '--kafka-port', String(kafkaPort)],
      'weft-kafka',
    );
    const server: KafkaAddress = { host: '127.0.0.1', port: kafkaPort };
    await kafkaListening(server);
    const nats = parseServerUrl(weft.url);
    o.log(`Kafka: weft on ${weft.url}, Kafka face on ${kafkaPort} (pid ${weft.pid})`);
    const progress = (prefix: string) =>
      o.live ? (d: number, t: number) => o.status(`${prefix}${int(d)}/${int(t)}`) : undefined;
    // Not measured: V8 compiles the hot paths of both faces.
    await createTopic(server, 'bench-warmup', 1);
    await runKafkaProduce({
      server,
      topic: 'bench-warmup',
      partitions: 1,
      msgs: Math.min(20_000, o.msgs),
      size: 100,
      acks: 1,
    });
    await runJetStream('js-pub-async', {
      server: nats,
      msgs: Math.min(20_000, o.msgs),
      size: 100,
      window: 256,
    }).catch(() => {});
    // Produce runs when either id is asked for: the consume rows read what they wrote.
    const jsRun = async (
      workload: 'js-pub-async' | 'js-consume-pull',
      size: number,
      msgs: number,
      key: string,
      window = 256,
    ) => {
      const r = await runJetStream(workload, {
        server: nats,
        msgs,
        size,
        window,
        onProgress: progress(`${key}: `),
      });
      o.clearStatus();
      m.js[key] = r;
      o.log(`${key.padEnd(34)} ${si(r.msgsPerSec)} msgs/s  ${r.ended}`);
      if (!r.complete) o.problems.push(`${key}: ${r.ended} ${r.errors.slice(0, 3).join('; ')}`);
    };
    // Each Kafka produce row is compared with JetStream runs just before and
    // just after it (the mean of the two), so J0 K1 J1 K2 J2: the middle run
    // closes one bracket and opens the next. Tight brackets because the rate of
    // a write-heavy run drifts within a block on this machine, for both faces
    // alike (JetStream 1 KiB on 8 partitions' window: 305k before two Kafka rows,
    // 164k after them; bench/PROFILE.md, "the Kafka rows' bracket"): a row must
    // be measured in the conditions its yardstick was. The JetStream reference
    // of each size and partition count publishes with as many in flight as the
    // producer holds there (producerWindow).
    for (const [size, partitions] of [
      [100, 1],
      [100, 8],
      [1024, 1],
      [1024, 8],
    ] as const) {
      const msgs = Math.max(1000, Math.round(o.msgs * (SCALE[size] ?? 1)));
      const cases = PRODUCE_CASES.filter(
        (c) =>
          c.size === size &&
          c.partitions === partitions &&
          (o.only.includes('kafka-produce') || (c.size === 100 && c.acks === 1)),
      );
      if (cases.length === 0) continue;
      const ref = `js-pub-async-${size}-p${partitions}`;
      const window = producerWindow(size, partitions);
      const bracketed = o.only.includes('kafka-produce');
      if (bracketed) await jsRun('js-pub-async', size, msgs, `${ref}-0`, window);
      for (const [i, c] of cases.entries()) {
        // Produce runs for kafka-consume too: the consume rows read what the 100 B acks=1 rows wrote.
        await createTopic(server, topicOf(c), c.partitions);
        const r = await runKafkaProduce({
          server,
          topic: topicOf(c),
          partitions: c.partitions,
          msgs,
          size: c.size,
          acks: c.acks,
          onProgress: progress(`${c.key}: `),
        });
        o.clearStatus();
        m.produce[c.key] = r;
        o.log(`${c.key.padEnd(34)} ${describe(r)}`);
        if (!r.complete) o.problems.push(`${c.key}: ${problem(r)}`);
        if (!bracketed) continue;
        await jsRun('js-pub-async', size, msgs, `${ref}-${i + 1}`, window);
        m.js[`${c.key}-before`] = m.js[`${ref}-${i}`]!;
        m.js[`${c.key}-after`] = m.js[`${ref}-${i + 1}`]!;
      }
    }
    if (consuming) {
      await jsRun('js-consume-pull', 100, o.msgs, 'js-consume-pull-100-before');
      for (const partitions of o.only.includes('kafka-consume') ? [1, 8] : []) {
        const key = `kafka-consume-100-p${partitions}`;
        const r = await runKafkaConsume({
          server,
          topic: topicOf({ key, size: 100, acks: 1, partitions }),
          partitions,
          msgs: o.msgs,
          size: 100,
          onProgress: progress(`${key}: `),
        });
        o.clearStatus();
        m.consume[key] = r;
        o.log(`${key.padEnd(34)} ${describe(r)}`);
        if (!r.complete) o.problems.push(`${key}: ${problem(r)}`);
      }
      if (o.only.includes('kafka-group')) {
        // A group of 3 over the 8-partition topic (the coordinator's first rebalance waits kafka.group_initial_rebalance_delay, 3 s).
        const g = await runKafkaGroupConsume({
          server,
          topic: topicOf({ key: '', size: 100, acks: 1, partitions: 8 }),
          partitions: 8,
          members: 3,
          group: 'bench-group',
          msgs: o.msgs,
          size: 100,
          onProgress: progress('kafka-group-3: '),
        });
        o.clearStatus();
        m.group = g;
        o.log(
          `${'kafka-group-3-p8'.padEnd(34)} ${describe(g)}  (joined in ${(g.joinMs / 1000).toFixed(2)} s)`,
        );
        if (!g.complete) o.problems.push(`kafka-group-3-p8: ${problem(g)}`);
      }
      await jsRun('js-consume-pull', 100, o.msgs, 'js-consume-pull-100-after');
    }
    if (weft.exited()) o.problems.push(`Kafka: weft exited\n${weft.tail()}`);
  } catch (err) {
    o.problems.push(`Kafka: ${(err as Error).message}`);
  } finally {
    o.clearStatus();
    await weft?.stop();
  }
  return m;
}

/** Waits until the Kafka listener takes connections (it may open after the NATS port). */
async function kafkaListening(server: KafkaAddress, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      (await RawKafkaClient.open(server.host, server.port, 'weft-bench-probe')).close();
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(
          `the Kafka face did not listen on ${server.port}: ${(err as Error).message}`,
        );
      await sleep(50);
    }
  }
}

/** The mean rate of a JetStream row's before and after runs (complete only if both are). */
function jsMean(
  m: KafkaMeasured,
  key: string,
): { msgsPerSec: number; complete: boolean; ended: string } | undefined {
  const runs = [m.js[`${key}-before`], m.js[`${key}-after`]].filter(
    (r): r is JsResult => r !== undefined,
  );
  if (runs.length === 0) return undefined;
  return {
    msgsPerSec: runs.reduce((a, r) => a + r.msgsPerSec, 0) / runs.length,
    complete: runs.every((r) => r.complete),
    ended: runs.find((r) => !r.complete)?.ended ?? 'done',
  };
}

function problem(r: KafkaResult): string {
  const codes = Object.entries(r.errorCodes).map(([c, n]) => `${int(n)} × error ${c}`);
  return [`${r.ended}, ${int(r.done)} of ${int(r.msgs)}`, ...codes, ...r.errors].join('; ');
}

function describe(r: KafkaResult): string {
  return `${si(r.msgsPerSec)} msgs/s  ${r.mbPerSec.toFixed(1)} MB/s  in ${(r.elapsedMs / 1000).toFixed(2)} s, ${int(r.requests)} requests${r.complete ? '' : ` [${problem(r)}]`}`;
}

export function renderKafkaTable(m: KafkaMeasured, only: string[]): string {
  const codec =
    m.codec.length === 0
      ? []
      : [
          '',
          '| Kafka codec, in process (no I/O) | rate |',
          '|---|---:|',
          ...m.codec.map((r) => `| ${r.name} | ${si(r.perSec)} ${r.unit}/s |`),
        ];
  if (!['kafka-produce', 'kafka-consume', 'kafka-group'].some((id) => only.includes(id)))
    return codec.slice(1).join('\n');
  const rows: string[][] = [];
  const cell = (r: { msgsPerSec: number; complete: boolean; ended: string } | undefined) =>
    r === undefined ? '—' : `${si(r.msgsPerSec)}${r.complete ? '' : ` ⚠ ${r.ended}`}`;
  const vs = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a <= 0 || b <= 0
      ? '—'
      : `${(a / b).toFixed(2)}× ${a / b >= 1 ? '✓' : '✗'}`;
  if (only.includes('kafka-produce')) {
    for (const c of PRODUCE_CASES) {
      const r = m.produce[c.key];
      const js = jsMean(m, c.key);
      const msgs = Math.max(1000, Math.round(m.msgs * (SCALE[c.size] ?? 1)));
      rows.push([
        `produce ${c.size} B, acks=${c.acks === 1 ? '1' : 'all'}, ${c.partitions} partition${c.partitions > 1 ? 's' : ''}, ${int(msgs)} records`,
        cell(r),
        r ? r.mbPerSec.toFixed(1) : '—',
        cell(js),
        vs(r?.msgsPerSec, js?.msgsPerSec),
      ]);
    }
  }
  if (only.includes('kafka-consume')) {
    for (const p of [1, 8]) {
      const r = m.consume[`kafka-consume-100-p${p}`];
      const js = jsMean(m, 'js-consume-pull-100');
      rows.push([
        `consume (Fetch) 100 B, ${p} partition${p > 1 ? 's' : ''}, ${int(m.msgs)} records`,
        cell(r),
        r ? r.mbPerSec.toFixed(1) : '—',
        cell(js),
        vs(r?.msgsPerSec, js?.msgsPerSec),
      ]);
    }
  }
  if (only.includes('kafka-group') && m.group) {
    const js = jsMean(m, 'js-consume-pull-100');
    rows.push([
      `consume, group of 3 members, 8 partitions, ${int(m.msgs)} records (joined in ${(m.group.joinMs / 1000).toFixed(1)} s)`,
      cell(m.group),
      m.group.mbPerSec.toFixed(1),
      cell(js),
      vs(m.group.msgsPerSec, js?.msgsPerSec),
    ]);
  }
  const header = [
    'Kafka workload (records/s)',
    'Kafka face',
    'MB/s',
    'JetStream, NATS face',
    'Kafka ÷ JetStream (target ≥ 1×)',
  ];
  return [
    ...markdownTable(header, rows),
    '',
    'One Weft node (file storage, sync policy: its default, fsync before every ack with group commit) serves both',
    'faces. Producer: Produce v7, batch.size 16 KiB, linger.ms 5, sticky partitioner, 5 requests in flight.',
    'Consumer: Fetch v11 from offset 0, one fetch in flight, 50 MiB / 1 MiB per partition, CRC checked, no commits;',
    'the group: JoinGroup v5 / SyncGroup v3 with a range assignment, heartbeat and OffsetCommit v5 every second.',
    'JetStream (the mean of a run just before and one just after the Kafka row it is compared with): async publish',
    'of the same size with as many in flight as the producer holds (5 requests × one 16 KiB batch per partition:',
    '760 / 6,080 at 100 B, 80 / 640 at 1 KiB on 1 / 8 partitions); pull consumer (batch 500) acking each message.',
    ...codec,
  ].join('\n');
}
