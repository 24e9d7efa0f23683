/**
 * Kafka produce, server CPU per record: the CPU seconds (utime and stime,
 * from /proc/<pid>/stat) a node spends on each produce row, divided by its
 * records, beside JetStream async publish of the same size through the
 * same node's NATS face (the row's yardstick, with the producer's window:
 * producerWindow). Far less sensitive to a busy
 * machine than records/s. Sides (this build, and `--base` another build)
 * run interleaved, round by round; medians with min–max.
 *
 * ```sh
 * npm run build
 * node dist/bench/kafka-cpu.js --base /tmp/base/dist/src/cli/main.js --size 1024 --msgs 50000 --rounds 3
 * # the client's window: 16 records a request (batch.size 1728 at 100 B), 5 or 40 requests in flight
 * node dist/bench/kafka-cpu.js --size 100 --batch-bytes 1728 --in-flight 5 --cases acks1-p1
 * # no fsync (the writer's rounds cheap): the face's own CPU stands out
 * node dist/bench/kafka-cpu.js --base ... --weft-args "--sync-interval 2m" --cases acks1-p1
 * ```
 *
 * "main" is the node's main thread alone (/proc/<pid>/task/<pid>/stat):
 * the face, the store's appends and the answers, without the thread
 * pool's O_DSYNC writes. "workers" is V8's worker threads (mostly the
 * GC's concurrent marking and sweeping): every thread but the main one and
 * the UV_THREADPOOL_SIZE (4) with the highest ids.
 *
 * Linux only (/proc). The load generator is src/bench/kafka-runner.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runJetStream } from '../src/bench/jetstream.js';
import { createTopic, producerWindow, runKafkaProduce } from '../src/bench/kafka-runner.js';
import { parseServerUrl } from '../src/bench/protocol.js';
import { freePort, type ServerProc, startWeft } from './servers.js';

const TICK = 100; // clock ticks per second (USER_HZ) on Linux

/** The libuv pool's threads: started last, so the highest thread ids. */
const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

/**
 * utime and stime of a process, of its main thread alone, and of V8's
 * workers (GC, compiler: every thread but the main one and the libuv
 * pool's, which have the highest ids), seconds.
 */
function cpuOf(pid: number): { user: number; sys: number; main: number; workers: number } {
  const fields = (file: string) => {
    const stat = readFileSync(file, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  const f = fields(`/proc/${pid}/stat`);
  const t = fields(`/proc/${pid}/task/${pid}/stat`);
  const others = readdirSync(`/proc/${pid}/task`)
    .map(Number)
    .filter((tid) => tid !== pid)
    .sort((a, b) => a - b);
  let workers = 0;
  for (const tid of others.slice(0, Math.max(0, others.length - POOL_THREADS))) {
    try {
      const w = fields(`/proc/${pid}/task/${tid}/stat`);
      workers += Number(w[11]) + Number(w[12]);
    } catch {
      // The thread ended.
    }
  }
  return {
    user: Number(f[11]) / TICK,
    sys: Number(f[12]) / TICK,
    main: (Number(t[11]) + Number(t[12])) / TICK,
    workers: workers / TICK,
  };
}

const { values } = parseArgs({
  options: {
    main: { type: 'string' },
    base: { type: 'string' },
    cases: { type: 'string', default: 'acks1-p1,acks1-p8,acksall-p1,acksall-p8' },
    msgs: { type: 'string', default: '50000' },
    size: { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    'batch-bytes': { type: 'string' },
    'in-flight': { type: 'string' },
    js: { type: 'boolean', default: true },
    'weft-args': { type: 'string', default: '' },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const mainJs = values.main ?? path.join(here, '..', 'src', 'cli', 'main.js');
const msgs = Number(values.msgs);
const size = Number(values.size);
const rounds = Number(values.rounds);
const batchBytes = values['batch-bytes'] === undefined ? undefined : Number(values['batch-bytes']);
const maxInFlight = values['in-flight'] === undefined ? undefined : Number(values['in-flight']);
const cases = values.cases!.split(',').map((c) => {
  const m = /^acks(1|all)-p(\d+)$/.exec(c);
  if (m === null) throw new Error(`case ${c}: expected acks1-pN or acksall-pN`);
  return { name: c, acks: (m[1] === '1' ? 1 : -1) as 1 | -1, partitions: Number(m[2]) };
});

interface Side {
  name: string;
  mainJs: string;
}
const sides: Side[] = [{ name: 'weft', mainJs }];
if (values.base) sides.push({ name: 'base', mainJs: values.base });

interface Sample {
  perSec: number;
  userUs: number;
  sysUs: number;
  mainUs: number;
  /** V8's worker threads (GC, compiler). */
  workersUs: number;
  /** The load generator's own CPU (this process), µs per record. */
  clientUs: number;
}
const samples = new Map<string, Sample[]>();
const record = (key: string, s: Sample) => {
  const list = samples.get(key) ?? [];
  list.push(s);
  samples.set(key, list);
  console.log(
    `  ${key.padEnd(28)} ${Math.round(s.perSec).toLocaleString('en-US').padStart(9)}/s  ${(s.userUs + s.sysUs).toFixed(2)} µs CPU (user ${s.userUs.toFixed(2)}, sys ${s.sysUs.toFixed(2)}, main ${s.mainUs.toFixed(2)}, workers ${s.workersUs.toFixed(2)}; client ${s.clientUs.toFixed(2)})  load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
  );
};

/** One fresh node per side and case: its stream starts empty, as the bench row's does. */
async function oneRun(side: Side, c: (typeof cases)[number]): Promise<void> {
  const kafkaPort = await freePort();
  let node: ServerProc | undefined;
  try {
    node = await startWeft(side.mainJs, [
      '--mesh-port',
      '-1',
      '--kafka-port',
      String(kafkaPort),
      ...values['weft-args']!.split(' ').filter(Boolean),
    ]);
    const server = { host: '127.0.0.1', port: kafkaPort };
    for (let i = 0; ; i++) {
      try {
        await createTopic(server, 'warm', 1);
        break;
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    // Not measured: V8 compiles both faces' hot paths, on a topic of the measured
    // partition count (a process that opens several streams compiles more:
    // bench/PROFILE.md, "shapes (round 14)").
    if (c.partitions > 1) await createTopic(server, 'warm-parts', c.partitions);
    await runKafkaProduce({
      server,
      topic: c.partitions > 1 ? 'warm-parts' : 'warm',
      partitions: c.partitions,
      msgs: 20_000 * c.partitions,
      size,
      acks: 1,
    });
    const measure = async (
      key: string,
      run: () => Promise<{ msgsPerSec: number; done: number }>,
    ) => {
      const a = cpuOf(node!.pid);
      const ca = process.cpuUsage();
      const res = await run();
      const cu = process.cpuUsage(ca);
      const b = cpuOf(node!.pid);
      const n = Math.max(1, res.done);
      record(key, {
        perSec: res.msgsPerSec,
        userUs: ((b.user - a.user) * 1e6) / n,
        sysUs: ((b.sys - a.sys) * 1e6) / n,
        mainUs: ((b.main - a.main) * 1e6) / n,
        workersUs: ((b.workers - a.workers) * 1e6) / n,
        clientUs: (cu.user + cu.system) / n,
      });
    };
    if (values.js) {
      await measure(`js-pub-async-p${c.partitions} ${side.name}`, () =>
        runJetStream('js-pub-async', {
          server: parseServerUrl(node!.url),
          msgs,
          size,
          // As the bench row's reference: as many in flight as the producer holds.
          window: producerWindow(size, c.partitions),
        }),
      );
    }
    await createTopic(server, 'bench', c.partitions);
    await measure(`${c.name} ${side.name}`, () =>
      runKafkaProduce({
        server,
        topic: 'bench',
        partitions: c.partitions,
        msgs,
        size,
        acks: c.acks,
        batchBytes,
        maxInFlight,
      }),
    );
  } finally {
    await node?.stop();
  }
}

for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) await oneRun(s, c);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const band = (xs: number[], f: (n: number) => string) =>
  `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
console.log(
  `\n${msgs} records of ${size} B, ${rounds} rounds, medians (min–max); batch.size ${batchBytes ?? 16384}, ${maxInFlight ?? 5} requests in flight`,
);
console.log(
  '| workload | server | records/s | µs CPU per record | of which sys | main thread µs | V8 workers µs |',
);
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const [key, list] of samples) {
  const [w, side] = key.split(' ');
  const int = (n: number) => Math.round(n).toLocaleString('en-US');
  const us = (n: number) => n.toFixed(2);
  console.log(
    `| ${w} | ${side} | ${band(
      list.map((x) => x.perSec),
      int,
    )} | ${band(
      list.map((x) => x.userUs + x.sysUs),
      us,
    )} | ${us(median(list.map((x) => x.sysUs)))} | ${band(
      list.map((x) => x.mainUs),
      us,
    )} | ${band(
      list.map((x) => x.workersUs),
      us,
    )} |`,
  );
}
